"""The few reads and writes the API needs beyond ``Store``'s methods: rows by id, renames, uploads.

picsellia addresses logs and artifacts by id and renames things in place; the store addresses them
by (experiment, name). These small statements bridge the two over the same tables and the same
transaction helpers, so they run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

import os
import secrets
import time
from typing import Any

import sqlalchemy as sa

from trackboard.errors import AlreadyExistsError, NotFoundError
from trackboard.store import schema as t
from trackboard.store.engine import read_transaction, write_transaction
from trackboard.store.sql import Store


def _first(store: Store, query) -> dict | None:
    with read_transaction(store.engine) as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


def _column(store: Store, query) -> list:
    with read_transaction(store.engine) as conn:
        return list(conn.execute(query).scalars())


def _update(store: Store, table: sa.Table, row_id: str, values: dict, taken: str) -> None:
    if not values:
        return
    try:
        with write_transaction(store.engine) as conn:
            conn.execute(table.update().where(table.c.id == row_id).values(values))
    except sa.exc.IntegrityError:
        raise AlreadyExistsError(taken) from None


# -- projects and experiments ---------------------------------------------------------------


def update_project(store: Store, project_id: str, name: str | None, description: str | None) -> None:
    values = {key: value for key, value in (("name", name), ("description", description)) if value is not None}
    _update(store, t.projects, project_id, values, f"a project named {name!r} already exists")


def update_experiment(store: Store, experiment_id: str, name: str | None, description: str | None) -> None:
    values = {key: value for key, value in (("name", name), ("description", description)) if value is not None}
    _update(store, t.experiments, experiment_id, values, f"an experiment named {name!r} already exists in this project")


def experiment_ids(store: Store, project_id: str) -> list[str]:
    return _column(store, sa.select(t.experiments.c.id).where(t.experiments.c.project_id == project_id)
                   .order_by(t.experiments.c.created_at))


# -- logs -----------------------------------------------------------------------------------


def log_by_id(store: Store, log_id: str) -> dict:
    """``{id, experiment_id, name, type}`` of a log (NotFoundError if there is none)."""
    row = _first(store, sa.select(t.logs.c.id, t.logs.c.experiment_id, t.logs.c.name, t.logs.c.type)
                 .where(t.logs.c.id == log_id))
    if row is None:
        raise NotFoundError(f"no log with id {log_id!r}")
    return row


def log_head(store: Store, experiment_id: str, name: str) -> dict | None:
    """``{id, type}`` of the log ``name``, or None."""
    return _first(store, sa.select(t.logs.c.id, t.logs.c.type)
                  .where(t.logs.c.experiment_id == experiment_id, t.logs.c.name == name))


def log_ids(store: Store, experiment_id: str) -> list[str]:
    return _column(store, sa.select(t.logs.c.id).where(t.logs.c.experiment_id == experiment_id)
                   .order_by(t.logs.c.created_at, t.logs.c.name))


def last_steps(store: Store, log_id: str) -> dict[str, float | None]:
    """Each series' last step (``""``: the unnamed series) of a LINE log."""
    with read_transaction(store.engine) as conn:
        rows = conn.execute(sa.select(t.series.c.name, t.series.c.last_step).where(t.series.c.log_id == log_id))
        return {name: last for name, last in rows}


def rename_log(store: Store, log_id: str, name: str) -> None:
    _update(store, t.logs, log_id, {"name": name}, f"a log named {name!r} already exists in this experiment")


# -- artifacts -------------------------------------------------------------------------------


def artifact_by_id(store: Store, artifact_id: str) -> dict:
    row = _first(store, t.artifacts.select().where(t.artifacts.c.id == artifact_id))
    if row is None:
        raise NotFoundError(f"no artifact with id {artifact_id!r}")
    return row


def artifact_ids(store: Store, experiment_id: str) -> list[str]:
    return _column(store, sa.select(t.artifacts.c.id).where(t.artifacts.c.experiment_id == experiment_id)
                   .order_by(t.artifacts.c.created_at))


def update_artifact(store: Store, artifact_id: str, values: dict[str, Any]) -> None:
    _update(store, t.artifacts, artifact_id, values, "an artifact of that name already exists in this experiment")


# -- uploads (object name -> blob) -------------------------------------------------------------


def create_upload(store: Store, object_name: str, experiment_id: str | None, kind: str, filename: str) -> None:
    with write_transaction(store.engine) as conn:
        conn.execute(t.uploads.insert().values(
            object_name=object_name, experiment_id=experiment_id, kind=kind, filename=filename, created_at=time.time()
        ))


def get_upload(store: Store, object_name: str) -> dict:
    row = _first(store, t.uploads.select().where(t.uploads.c.object_name == object_name))
    if row is None:
        raise NotFoundError("no object of that name; ask generate_object_name for one")
    return row


def complete_upload(store: Store, object_name: str, sha256: str, size: int) -> bool:
    """Record the upload's bytes; False when another upload to that name came first (a URL works once)."""
    with write_transaction(store.engine) as conn:
        result = conn.execute(t.uploads.update()
                              .where(t.uploads.c.object_name == object_name, t.uploads.c.sha256.is_(None))
                              .values(sha256=sha256, size=size))
    return result.rowcount == 1


def experiments_with_blob(store: Store, sha256: str) -> set[str]:
    """Ids of the experiments whose artifacts or IMAGE logs hold the blob ``sha256``."""
    artifacts = sa.select(t.artifacts.c.experiment_id).where(t.artifacts.c.sha256 == sha256)
    images = sa.select(t.logs.c.experiment_id).where(t.logs.c.type == "IMAGE",
                                                     t.logs.c.data.contains(f'"sha256":"{sha256}"'))
    with read_transaction(store.engine) as conn:
        return {row[0] for row in conn.execute(artifacts.union(images))}


def artifacts_with_blob(store: Store, sha256: str) -> list[dict]:
    """(experiment_id, size, filename) of the artifacts whose content is the blob ``sha256``."""
    query = sa.select(t.artifacts.c.experiment_id, t.artifacts.c.size, t.artifacts.c.filename).where(
        t.artifacts.c.sha256 == sha256)
    with read_transaction(store.engine) as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


# -- the URL signing key ---------------------------------------------------------------------

SIGNING_KEY = "url_signing_key"


def signing_key(store: Store) -> bytes:
    """The key that signs upload and download URLs, shared by every worker of this store.

    ``TRACKBOARD_SERVER_SECRET`` wins; otherwise a random key is made once and kept in the store.
    """
    configured = os.environ.get("TRACKBOARD_SERVER_SECRET")
    if configured:
        return configured.encode()
    query = sa.select(t.server_settings.c.value).where(t.server_settings.c.key == SIGNING_KEY)
    with read_transaction(store.engine) as conn:
        value = conn.execute(query).scalar()
    if value is None:
        try:
            with write_transaction(store.engine) as conn:
                conn.execute(t.server_settings.insert().values(key=SIGNING_KEY, value=secrets.token_hex(32)))
        except sa.exc.IntegrityError:
            pass  # another worker made it first: use theirs
        with read_transaction(store.engine) as conn:
            value = conn.execute(query).scalar()
    return value.encode()
