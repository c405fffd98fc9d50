"""The store: projects, experiments, logs, LINE points and artifacts over SQLAlchemy Core.

Both the embedded store and the tracking server use this class; only ``engine.py`` knows about
SQL dialects. Writes of logged records arrive in batches from the background writer (``apply``),
each batch in one transaction.
"""

from __future__ import annotations

import json
import math
import mimetypes
import os
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import sqlalchemy as sa

from ..errors import AlreadyExistsError, InvalidLogError, LogTypeConflictError, NotFoundError
from ..logtype import LogType
from ..status import with_read_status
from ..records import Columns, PendingPoints, Record, has_named_series
from . import derived, search
from . import schema as t
from .blobs import BlobStore, open_blob_store
from .engine import backup_before_upgrade, create_engine, read_transaction, write_transaction
from .migrations import ensure_schema
from .charts import read_charts
from .kept import KeptChunks
from .points import CHUNK_POINTS, NO_EPOCH, Points, decode, decode_many
from .summaries import encode_chunk

DATABASE_FILE = "trackboard.db"  # the embedded store's database, in its directory
SINGLE = ""  # the series name of a LINE log with one unnamed series


def new_id() -> str:
    return str(uuid.uuid4())


def new_lineage() -> str:
    """A series' lineage (schema.series): new with the row and at every rewind."""
    return uuid.uuid4().hex


def dumps(data: Any) -> str:
    # NaN/inf are written as bare tokens here (Python's json reads them back); the wire format
    # and exports turn them into strings so they never become invalid JSON.
    return json.dumps(data, separators=(",", ":"), allow_nan=True)


class Store:
    """All persistent state of trackboard, in one database plus a blob directory."""

    def __init__(self, url: str, blobs: str | os.PathLike | BlobStore, *, upgrade: bool = False) -> None:
        """Open the store at ``url``: an empty database gets the current schema; an older one is
        upgraded when ``upgrade`` (after a backup copy of an SQLite file), else SchemaVersionError.
        ``blobs`` is a directory, ``s3://bucket/prefix`` or a BlobStore."""
        self.url = url
        self.engine = create_engine(url)
        self.blobs = blobs if isinstance(blobs, BlobStore) else open_blob_store(blobs)
        self.kept_chunks = KeptChunks()  # what chart reads decoded of full chunks, for the next read
        ensure_schema(self.engine, upgrade=upgrade, before_upgrade=partial(backup_before_upgrade, self.engine))

    @classmethod
    def at_directory(cls, directory: str | os.PathLike) -> "Store":
        """The embedded store in ``directory`` (created if missing, upgraded if older)."""
        root = Path(directory).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{root / DATABASE_FILE}", root / "blobs", upgrade=True)

    def after_fork(self) -> None:
        """Drop connections inherited from a parent process (they must not be shared)."""
        self.engine.dispose(close=False)

    def close(self) -> None:
        self.engine.dispose()

    # -- projects -----------------------------------------------------------------------------

    def create_project(self, name: str, description: str | None = None, project_id: str | None = None) -> dict:
        """A new project; ``project_id`` lets a client that was offline keep the id it chose."""
        row = {"id": project_id or new_id(), "name": name, "description": description, "created_at": time.time()}
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(t.projects.insert().values(row))
        except sa.exc.IntegrityError:
            raise AlreadyExistsError(f"a project named {name!r} already exists") from None
        return row

    def get_project(self, name: str) -> dict:
        return self._one(t.projects.select().where(t.projects.c.name == name), f"no project named {name!r}")

    def get_project_by_id(self, project_id: str) -> dict:
        with read_transaction(self.engine) as conn:
            return project_row(conn, project_id)

    def list_projects(self) -> list[dict]:
        return self._all(t.projects.select().order_by(t.projects.c.created_at))

    def delete_project(self, project_id: str) -> None:
        with write_transaction(self.engine) as conn:
            for experiment in conn.execute(sa.select(t.experiments.c.id).where(t.experiments.c.project_id == project_id)):
                self._delete_experiment(conn, experiment.id)
            conn.execute(t.projects.delete().where(t.projects.c.id == project_id))

    # -- experiments --------------------------------------------------------------------------

    def create_experiment(
        self, project_id: str, name: str, description: str | None = None, experiment_id: str | None = None,
        created_at: float | None = None, source: str | None = None,
    ) -> dict:
        """A new RUNNING experiment; ``experiment_id`` lets a client that was offline keep the id it chose.

        Importers give the source run's start time (``created_at``) and id (``source``).
        """
        now = time.time()
        row = {
            "id": experiment_id or new_id(), "project_id": project_id, "name": name, "description": description,
            "status": "RUNNING", "created_at": now if created_at is None else created_at, "updated_at": now,
            "finished_at": None, "source": source,
        }
        try:
            with write_transaction(self.engine) as conn:
                conn.execute(t.experiments.insert().values(row))
        except sa.exc.IntegrityError:
            raise AlreadyExistsError(f"an experiment named {name!r} already exists in this project") from None
        return row

    # Experiment rows carry their status as read (CRASHED derived, see core/status.py).
    def get_experiment(self, project_id: str, name: str) -> dict:
        query = t.experiments.select().where(t.experiments.c.project_id == project_id, t.experiments.c.name == name)
        return with_read_status(self._one(query, f"no experiment named {name!r} in this project"))

    def get_experiment_by_id(self, experiment_id: str) -> dict:
        with read_transaction(self.engine) as conn:
            return experiment_row(conn, experiment_id)

    def find_experiment_by_source(self, project_id: str, source: str) -> dict | None:
        """The experiment imported from ``source`` into this project, or None."""
        query = t.experiments.select().where(t.experiments.c.project_id == project_id, t.experiments.c.source == source)
        with read_transaction(self.engine) as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def list_experiments(self, project_id: str) -> list[dict]:
        query = t.experiments.select().where(t.experiments.c.project_id == project_id)
        return [with_read_status(row) for row in self._all(query.order_by(t.experiments.c.created_at))]

    def beat(self, experiment_ids: list[str], pid: int, hostname: str, interval: float) -> None:
        """Record that process ``pid`` on ``hostname`` still runs these experiments (a heartbeat)."""
        if not experiment_ids:
            return
        with write_transaction(self.engine) as conn:
            conn.execute(
                t.experiments.update().where(t.experiments.c.id.in_(experiment_ids))
                .values(heartbeat_at=time.time(), heartbeat_interval=interval, pid=pid, hostname=hostname)
            )

    def rewind(self, experiment_id: str, step: float) -> int:
        """Drop the LINE points with a step greater than ``step`` from every LINE log of the
        experiment, in one transaction; returns how many were dropped."""
        self.get_experiment_by_id(experiment_id)
        dropped = 0
        with write_transaction(self.engine) as conn:
            line_logs = sa.select(t.logs.c.id).where(t.logs.c.experiment_id == experiment_id,
                                                     t.logs.c.type == LogType.LINE.value)
            later = sa.exists().where(t.chunks.c.series_id == t.series.c.id, t.chunks.c.step_max > step)
            affected = conn.execute(
                t.series.select().where(t.series.c.log_id.in_(line_logs), later)
            ).mappings().all()
            for row in affected:
                dropped += _rewind_series(conn, dict(row), step)
            derived.recompute_extremes(conn, [row["id"] for row in affected])  # min./max. queries see the cut
            if affected:
                conn.execute(t.experiments.update().where(t.experiments.c.id == experiment_id)
                             .values(updated_at=time.time()))
        return dropped

    def set_status(self, experiment_id: str, status: str, finished_at: float | None = None) -> None:
        """Set the status; a final one records ``finished_at`` (default: now)."""
        now = time.time()
        finished = None if status == "RUNNING" else (now if finished_at is None else finished_at)
        with write_transaction(self.engine) as conn:
            conn.execute(
                t.experiments.update().where(t.experiments.c.id == experiment_id)
                .values(status=status, updated_at=now, finished_at=finished)
            )

    def delete_experiment(self, experiment_id: str) -> None:
        with write_transaction(self.engine) as conn:
            self._delete_experiment(conn, experiment_id)

    def _delete_experiment(self, conn: sa.Connection, experiment_id: str) -> None:
        log_ids = sa.select(t.logs.c.id).where(t.logs.c.experiment_id == experiment_id)
        self._delete_points(conn, log_ids)
        conn.execute(t.logs.delete().where(t.logs.c.experiment_id == experiment_id))
        conn.execute(t.artifacts.delete().where(t.artifacts.c.experiment_id == experiment_id))
        derived.forget_experiment(conn, experiment_id)
        conn.execute(t.uploads.delete().where(t.uploads.c.experiment_id == experiment_id))
        conn.execute(t.experiments.delete().where(t.experiments.c.id == experiment_id))

    # -- run queries, tags and notes (the SQL is in store/search.py) ---------------------------

    def search_experiments(self, project_id: str, filter: str | None = None, order_by=None,
                           max_results: int | None = None) -> list[dict]:
        """Rows of the project's experiments matching ``filter`` (the run query language), sorted."""
        query = search.search_query(project_id, filter, order_by, max_results, self.engine.dialect.name)
        with read_transaction(self.engine) as conn:
            result = conn.execute(query)
            keys = list(result.keys())
            return [with_read_status(dict(zip(keys, row))) for row in result]  # cheaper than .mappings()

    def experiment_summaries(self, experiment_ids: list[str]) -> dict[str, dict]:
        """Tags, flattened parameters, VALUE logs and LINE series extremes of these experiments."""
        with read_transaction(self.engine) as conn:
            return search.summaries(conn, experiment_ids)

    def get_tags(self, experiment_id: str) -> list[str]:
        self.get_experiment_by_id(experiment_id)
        query = sa.select(t.tags.c.tag).where(t.tags.c.experiment_id == experiment_id).order_by(t.tags.c.tag)
        with read_transaction(self.engine) as conn:
            return list(conn.execute(query).scalars())

    def add_tags(self, experiment_id: str, tags: list[str]) -> None:
        wanted = dict.fromkeys(search.check_tags(tags))
        self.get_experiment_by_id(experiment_id)
        with write_transaction(self.engine) as conn:
            have = set(conn.execute(sa.select(t.tags.c.tag).where(t.tags.c.experiment_id == experiment_id)).scalars())
            rows = [{"experiment_id": experiment_id, "tag": tag} for tag in wanted if tag not in have]
            if rows:
                conn.execute(t.tags.insert(), rows)

    def remove_tags(self, experiment_id: str, tags: list[str]) -> None:
        unwanted = search.check_tags(tags)
        self.get_experiment_by_id(experiment_id)
        with write_transaction(self.engine) as conn:
            conn.execute(t.tags.delete().where(t.tags.c.experiment_id == experiment_id, t.tags.c.tag.in_(unwanted)))

    def update_experiment(self, experiment_id: str, name: str | None = None, description: str | None = None) -> dict:
        """Rename and/or describe an experiment (None leaves a field as it is); returns the row."""
        values = {key: value for key, value in (("name", name), ("description", description)) if value is not None}
        self.get_experiment_by_id(experiment_id)
        if values:
            try:
                with write_transaction(self.engine) as conn:
                    conn.execute(t.experiments.update().where(t.experiments.c.id == experiment_id).values(values))
            except sa.exc.IntegrityError:
                raise AlreadyExistsError(f"an experiment named {name!r} already exists in this project") from None
        return self.get_experiment_by_id(experiment_id)

    # -- logs: writes -------------------------------------------------------------------------

    def apply(self, records: Iterable[Record]) -> list[tuple[Record, Exception]]:
        """Write a batch of records in one transaction; returns the records refused and why.

        LINE appends to the same series are merged so that each series is written once per batch.
        """
        with write_transaction(self.engine) as conn:
            return _Batch(self, conn).apply(records)

    def apply_once(self, key: str, records: Iterable[Record]) -> list[tuple[Record, Exception]] | None:
        """Like ``apply``, unless a batch with this idempotency ``key`` was applied before (then None).

        The key is recorded in the batch's own transaction, so a batch that is retried because its
        answer was lost is applied exactly once.
        """
        seen = sa.select(t.applied_batches.c.key).where(t.applied_batches.c.key == key)
        try:
            with write_transaction(self.engine) as conn:
                if conn.execute(seen).first() is not None:
                    return None
                failures = _Batch(self, conn).apply(records)
                conn.execute(t.applied_batches.insert().values(key=key, created_at=time.time()))
                return failures
        except sa.exc.IntegrityError:
            # Without SQLite's write lock (PostgreSQL) two retries can race: the loser finds the key taken.
            with read_transaction(self.engine) as conn:
                if conn.execute(seen).first() is not None:
                    return None
            raise

    def delete_log(self, experiment_id: str, name: str) -> None:
        with write_transaction(self.engine) as conn:
            row = conn.execute(_log_query(experiment_id, name)).first()
            if row is None:
                raise NotFoundError(f"no log named {name!r} in this experiment")
            self._delete_points(conn, [row.id])
            conn.execute(t.logs.delete().where(t.logs.c.id == row.id))
            if name == derived.PARAMETERS:
                derived.replace_parameters(conn, experiment_id, None, None)
            conn.execute(t.experiments.update().where(t.experiments.c.id == experiment_id).values(updated_at=time.time()))

    def _delete_points(self, conn: sa.Connection, log_ids) -> None:
        series_ids = sa.select(t.series.c.id).where(t.series.c.log_id.in_(log_ids))
        conn.execute(t.chunks.delete().where(t.chunks.c.series_id.in_(series_ids)))
        conn.execute(t.series.delete().where(t.series.c.log_id.in_(log_ids)))
        conn.execute(t.image_history.delete().where(t.image_history.c.log_id.in_(log_ids)))

    # -- logs: reads --------------------------------------------------------------------------

    def log_kinds(self, experiment_id: str) -> dict[str, tuple[LogType, bool | None]]:
        """name -> (type, True if a LINE log has named series / False if unnamed / None)."""
        query = (
            sa.select(t.logs.c.name, t.logs.c.type, sa.func.max(t.series.c.name))
            .select_from(t.logs.outerjoin(t.series, t.series.c.log_id == t.logs.c.id))
            .where(t.logs.c.experiment_id == experiment_id)
            .group_by(t.logs.c.id, t.logs.c.name, t.logs.c.type)
        )
        with read_transaction(self.engine) as conn:
            return {
                name: (LogType(kind), None if series_name is None else series_name != SINGLE)
                for name, kind, series_name in conn.execute(query)
            }

    def last_step(self, experiment_id: str, exclude_prefix: str | None = None) -> float | None:
        """The largest last step of the experiment's LINE series (None before any point).

        What "the experiment's current step" is for the system metrics, read when they are sampled.
        """
        query = (
            sa.select(sa.func.max(t.series.c.last_step))
            .select_from(t.series.join(t.logs, t.series.c.log_id == t.logs.c.id))
            .where(t.logs.c.experiment_id == experiment_id, t.logs.c.type == LogType.LINE.value)
        )
        if exclude_prefix:
            query = query.where(sa.not_(t.logs.c.name.startswith(exclude_prefix, autoescape=True)))
        with read_transaction(self.engine) as conn:
            return conn.execute(query).scalar()

    def image_history(self, experiment_id: str, name: str) -> list[dict]:
        """Every image logged under the IMAGE log ``name``, oldest first: its metadata, ``seq`` and
        ``created_at`` (a log from before the history was kept: its one image, as seq 0)."""
        with read_transaction(self.engine) as conn:
            row = conn.execute(_log_query(experiment_id, name)).first()
            if row is None or row.type != LogType.IMAGE.value:
                raise NotFoundError(f"no IMAGE log named {name!r} in this experiment")
            h = t.image_history
            query = sa.select(h.c.seq, h.c.data, h.c.created_at).where(h.c.log_id == row.id).order_by(h.c.seq)
            history = [{**json.loads(data), "seq": seq, "created_at": when} for seq, data, when in conn.execute(query)]
        return history or [{**json.loads(row.data), "seq": 0, "created_at": row.updated_at}]

    def series_counts(self, experiment_id: str) -> dict[str, int]:
        """How many points each LINE log with one unnamed series holds (an importer's resume point)."""
        query = (
            sa.select(t.logs.c.name, t.series.c.count)
            .select_from(t.logs.join(t.series, t.series.c.log_id == t.logs.c.id))
            .where(t.logs.c.experiment_id == experiment_id, t.series.c.name == SINGLE)
        )
        with read_transaction(self.engine) as conn:
            return {name: count for name, count in conn.execute(query)}

    def list_logs(self, experiment_id: str) -> list[dict]:
        """Each log's name, type and timestamps (not its data), in creation order."""
        query = (
            sa.select(t.logs.c.id, t.logs.c.name, t.logs.c.type, t.logs.c.created_at, t.logs.c.updated_at)
            .where(t.logs.c.experiment_id == experiment_id).order_by(t.logs.c.created_at, t.logs.c.name)
        )
        return [{**row, "type": LogType(row["type"])} for row in self._all(query)]

    def get_log(self, experiment_id: str, name: str) -> tuple[LogType, Any]:
        """The type and canonical data of a log."""
        with read_transaction(self.engine) as conn:
            row = conn.execute(_log_query(experiment_id, name)).first()
            if row is None:
                raise NotFoundError(f"no log named {name!r} in this experiment")
            log_type = LogType(row.type)
            if log_type is not LogType.LINE:
                return log_type, json.loads(row.data)
            return log_type, line_data(self._read_series(conn, row.id, None, None))

    def get_points(
        self, experiment_id: str, name: str, step_min: float | None = None, step_max: float | None = None
    ) -> dict[str, Points]:
        """A LINE log's points per series ("" for the unnamed one), optionally within a step range."""
        with read_transaction(self.engine) as conn:
            return self._read_series(conn, _line_log_id(conn, experiment_id, name), step_min, step_max)

    def downsampled(
        self, experiment_id: str, name: str, buckets: int = 1000,
        step_min: float | None = None, step_max: float | None = None,
    ) -> dict[str, Points]:
        """Like ``get_points``, keeping the points a chart of ``buckets`` columns shows: the first,
        last, lowest and highest of each bucket (NaN never lowest or highest), in step range and series
        order. Buckets are runs of a power of two points, at most ``buckets`` of them
        (``points.run_size``); past ``64 * buckets`` points in range they are read from the chunks'
        summaries (``charts``). Only the kept points' times and epochs are decoded."""
        if buckets < 1:
            raise ValueError(f"buckets must be at least 1, not {buckets}")
        with read_transaction(self.engine) as conn:
            charts = read_charts(conn, _line_log_id(conn, experiment_id, name), step_min, step_max, buckets,
                                 with_times=True, kept=self.kept_chunks)
        return {chart.name: Points(chart.shown.steps, chart.shown.values, chart.times, chart.epochs) for chart in charts}

    def _read_series(self, conn: sa.Connection, log_id: str, step_min, step_max) -> dict[str, Points]:
        """Every point of each series within the step range."""
        series_rows = conn.execute(
            sa.select(t.series.c.id, t.series.c.name).where(t.series.c.log_id == log_id).order_by(t.series.c.position)
        ).all()
        out = {}
        c = t.chunks.c
        for series_row in series_rows:
            query = sa.select(c.count, c.step_data, c.value_data, c.time_data, c.epoch_data).where(c.series_id == series_row.id)
            if step_min is not None:
                query = query.where(c.step_max >= step_min)
            if step_max is not None:
                query = query.where(c.step_min <= step_max)
            points = decode_many(conn.execute(query.order_by(c.seq)).all())
            if step_min is not None or step_max is not None:
                low = -math.inf if step_min is None else step_min
                high = math.inf if step_max is None else step_max
                points = points.take(np.flatnonzero((points.steps >= low) & (points.steps <= high)))
            out[series_row.name] = points
        return out

    # -- artifacts ----------------------------------------------------------------------------

    def add_artifact(self, experiment_id: str, name: str, path: str | os.PathLike, filename: str | None = None) -> dict:
        sha256, size = self.blobs.put_file(path)
        filename = filename or Path(path).name
        return self.add_artifact_blob(experiment_id, name, filename, sha256, size)

    def add_artifact_blob(self, experiment_id: str, name: str, filename: str, sha256: str, size: int) -> dict:
        row = {
            "id": new_id(), "experiment_id": experiment_id, "name": name, "filename": filename,
            "sha256": sha256, "size": size, "created_at": time.time(),
            "content_type": mimetypes.guess_type(filename)[0] or "application/octet-stream",
        }
        with write_transaction(self.engine) as conn:
            conn.execute(t.artifacts.delete().where(t.artifacts.c.experiment_id == experiment_id, t.artifacts.c.name == name))
            conn.execute(t.artifacts.insert().values(row))
        return row

    def get_artifact(self, experiment_id: str, name: str) -> dict:
        query = t.artifacts.select().where(t.artifacts.c.experiment_id == experiment_id, t.artifacts.c.name == name)
        return self._one(query, f"no artifact named {name!r} in this experiment")

    def list_artifacts(self, experiment_id: str) -> list[dict]:
        query = t.artifacts.select().where(t.artifacts.c.experiment_id == experiment_id)
        return self._all(query.order_by(t.artifacts.c.created_at))

    def delete_artifact(self, experiment_id: str, name: str) -> None:
        self.get_artifact(experiment_id, name)
        with write_transaction(self.engine) as conn:
            conn.execute(t.artifacts.delete().where(t.artifacts.c.experiment_id == experiment_id, t.artifacts.c.name == name))

    # -- helpers ------------------------------------------------------------------------------

    def _one(self, query, missing: str) -> dict:
        with read_transaction(self.engine) as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFoundError(missing)
        return dict(row)

    def _all(self, query) -> list[dict]:
        with read_transaction(self.engine) as conn:
            return [dict(row) for row in conn.execute(query).mappings()]


def project_row(conn: sa.Connection, project_id: str) -> dict:
    """A project's row, read in an open transaction (a dashboard page reads it with the rest)."""
    row = conn.execute(_BY_ID[t.projects.name], {"id": project_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"no project with id {project_id!r}")
    return dict(row)


def experiment_row(conn: sa.Connection, experiment_id: str) -> dict:
    """An experiment's row with its status as read, in an open transaction."""
    row = conn.execute(_BY_ID[t.experiments.name], {"id": experiment_id}).mappings().first()
    if row is None:
        raise NotFoundError(f"no experiment with id {experiment_id!r}")
    return with_read_status(dict(row))


# Built once: every request of a server and every dashboard poll reads a row by id.
_BY_ID = {table.name: table.select().where(table.c.id == sa.bindparam("id")) for table in (t.projects, t.experiments)}


def _rewind_series(conn: sa.Connection, row: dict, step: float) -> int:
    """Rewrite one series without its points after ``step``; returns how many were dropped."""
    chunks = conn.execute(t.chunks.select().where(t.chunks.c.series_id == row["id"]).order_by(t.chunks.c.seq)).all()
    # Chunks before the first one reaching past ``step`` stay as they are.
    first = next(i for i, chunk in enumerate(chunks) if chunk.step_max > step)
    tail = Points.concat([decode(chunk) for chunk in chunks[first:]])
    kept = tail.take(np.flatnonzero(tail.steps <= step))
    conn.execute(t.chunks.delete().where(t.chunks.c.series_id == row["id"], t.chunks.c.seq >= first))
    new_chunks = [
        {"series_id": row["id"], "seq": first + i, **encode_chunk(kept.slice(start, start + CHUNK_POINTS))}
        for i, start in enumerate(range(0, len(kept), CHUNK_POINTS))
    ]
    if new_chunks:
        conn.execute(t.chunks.insert(), new_chunks)
    last = kept if len(kept) else (decode(chunks[first - 1]) if first else None)
    dropped = len(tail) - len(kept)
    conn.execute(t.series.update().where(t.series.c.id == row["id"]).values(
        count=row["count"] - dropped, chunk_count=first + len(new_chunks), lineage=new_lineage(),
        last_step=float(last.steps[-1]) if last is not None else None,
        last_value=float(last.values[-1]) if last is not None else None,
    ))
    return dropped


def _line_log_id(conn: sa.Connection, experiment_id: str, name: str) -> str:
    row = conn.execute(_log_query(experiment_id, name)).first()
    if row is None:
        raise NotFoundError(f"no log named {name!r} in this experiment")
    if row.type != LogType.LINE.value:
        raise InvalidLogError(f"log {name!r} is a {row.type}, not a LINE")
    return row.id


def _log_query(experiment_id: str, name: str):
    return t.logs.select().where(t.logs.c.experiment_id == experiment_id, t.logs.c.name == name)


def steps_list(steps: np.ndarray) -> list:
    """Steps as Python numbers, whole ones as ints (the canonical form)."""
    with np.errstate(invalid="ignore"):  # a non-finite step has no int: the comparison says so
        whole = steps.astype(np.int64)
    if len(steps) and (whole == steps).all():
        return whole.tolist()
    return [int(s) if s.is_integer() else s for s in steps.tolist()]


def times_list(times: np.ndarray) -> list[float]:
    """``times.tolist()``, with each run of equal times (bit for bit) sharing one Python float.

    The points of one call share their time, so the times of a million points logged in a few
    calls become a few objects, made and freed at once, instead of a million.
    """
    bits = np.ascontiguousarray(times, dtype=np.float64).view(np.int64)
    differ = bits[1:] != bits[:-1]
    if np.count_nonzero(differ) * 16 >= len(times):  # runs of fewer than 16 on average: not worth it
        return times.tolist()
    starts = np.concatenate(([0], np.flatnonzero(differ) + 1))
    out: list[float] = []
    for when, count in zip(times[starts].tolist(), np.diff(np.append(starts, len(times))).tolist()):
        out += [when] * count
    return out


def epochs_list(epochs: np.ndarray) -> list[int | None]:
    """Epochs as Python ints, None where a point has none."""
    out = epochs.astype(object)
    out[epochs == NO_EPOCH] = None
    return out.tolist()


def series_data(points: Points) -> dict[str, list]:
    """The canonical ``{'steps', 'values', 'times'[, 'epochs']}`` of one series."""
    data = {"steps": steps_list(points.steps), "values": points.values.tolist(), "times": times_list(points.times)}
    if points.has_epochs():
        data["epochs"] = epochs_list(points.epochs)
    return data


def line_data(series: dict[str, Points]) -> dict:
    """A LINE log's canonical data: one series, or ``{series name: series}``."""
    if list(series) == [SINGLE]:
        return series_data(series[SINGLE])
    return {name: series_data(points) for name, points in series.items()}


class _Log:
    """A log as a batch sees it: what is stored, and what the batch will write at its end."""

    __slots__ = ("id", "type", "stored_type", "created_at", "updated_at", "data", "dirty",
                 "clear_points", "named", "series", "pending", "images", "restart_images")

    def __init__(self, log_id: str, log_type: str, stored_type: str | None) -> None:
        self.id, self.type, self.stored_type = log_id, log_type, stored_type
        self.created_at = self.updated_at = 0.0
        self.data: Any = None  # the canonical data to store as JSON (None for LINE)
        self.dirty = False  # the row is inserted (stored_type None) or updated at the end
        self.clear_points = False  # the stored series of this log are deleted at the end
        self.images: list[tuple[dict, float]] = []  # IMAGE: (metadata, time) to add to its history
        self.restart_images = False  # the stored image history is deleted first (the IMAGE log was replaced)
        self.named: bool | None = ... if stored_type == LogType.LINE.value else None  # ...: not yet read
        self.series: dict[str, dict] | None = None if stored_type == LogType.LINE.value else {}
        self.pending = PendingPoints()  # series name -> points to append


class _Batch:
    """One transaction's worth of records: checks each record in order against what the batch has
    seen, then writes the outcome with a handful of statements (a log replaced many times in the
    batch is written once, with its last data; all appends to a series become one chunk write)."""

    def __init__(self, store: Store, conn: sa.Connection) -> None:
        self.store, self.conn = store, conn
        self.logs: dict[tuple[str, str], _Log] = {}  # (experiment id, name) -> log
        self.loaded: set[str] = set()  # experiments whose stored logs are in self.logs
        self.touched: dict[str, float] = {}  # experiment id -> latest record time
        self.experiments: set[str] = set()  # experiment ids known to exist
        self.parameters = derived.ParameterRows()  # for run queries, written once at the end

    def apply(self, records: Iterable[Record]) -> list[tuple[Record, Exception]]:
        failures = []
        for record in records:
            try:
                self._apply_one(record)
            except (LogTypeConflictError, InvalidLogError, NotFoundError) as error:
                failures.append((record, error))
        self._write()
        self.parameters.write(self.conn)
        return failures

    # -- checking records, in order --------------------------------------------------------------

    def _log(self, experiment_id: str, name: str) -> _Log | None:
        if experiment_id not in self.loaded:
            query = sa.select(t.logs.c.id, t.logs.c.name, t.logs.c.type).where(t.logs.c.experiment_id == experiment_id)
            for row in self.conn.execute(query):
                self.logs[(experiment_id, row.name)] = _Log(row.id, row.type, row.type)
            self.loaded.add(experiment_id)
        return self.logs.get((experiment_id, name))

    def _series_of(self, experiment_id: str, log: _Log) -> dict[str, dict]:
        if log.series is None:  # one read for every stored LINE log of the experiment
            by_log: dict[str, dict[str, dict]] = {}
            query = (sa.select(t.series).join(t.logs, t.logs.c.id == t.series.c.log_id)
                     .where(t.logs.c.experiment_id == experiment_id))
            for row in self.conn.execute(query).mappings():
                by_log.setdefault(row["log_id"], {})[row["name"]] = dict(row)
            for (owner, _), other in self.logs.items():
                if owner == experiment_id and other.series is None:
                    other.series = by_log.get(other.id, {})
        return log.series

    def _apply_one(self, record: Record) -> None:
        experiment_id = record.experiment_id
        log = self._log(experiment_id, record.name)
        self.touched[experiment_id] = record.time
        log_type = _TYPE_NAMES[record.type]  # Enum's .value is slow for a per-record path
        if log is not None and log.type != log_type and not record.replace:
            raise LogTypeConflictError(
                f"{log_type} {record.name!r}: a {log.type} log of that name exists; pass replace=True to replace it"
            )
        if record.type is LogType.LINE and not record.replace and log is not None:
            self._queue_append(log, record)
            return
        # Anything else replaces the log (creating it if needed).
        if log is None and experiment_id not in self.experiments:
            exists = self.conn.execute(sa.select(t.experiments.c.id).where(t.experiments.c.id == experiment_id)).first()
            if exists is None:
                raise NotFoundError(f"{log_type} {record.name!r}: experiment {experiment_id} does not exist (deleted?)")
            self.experiments.add(experiment_id)
        data = None  # every check that can refuse the record comes before the log is changed
        if record.type is LogType.IMAGE:
            meta, content = record.data
            if content is not None:
                self.store.blobs.put_bytes(content)
            elif not self.store.blobs.exists(meta["sha256"]):
                raise NotFoundError(f"IMAGE {record.name!r}: no stored image with sha256 {meta['sha256']}")
            data = meta
        elif record.type is not LogType.LINE:
            data = record.data  # turned into JSON at the end, once, if no later record replaces it
        # An image logged again under its name joins the log's history (replace=True starts it over).
        more_images = record.type is LogType.IMAGE and log is not None and log.type == log_type and not record.replace
        if log is None:
            log = self.logs[(experiment_id, record.name)] = _Log(new_id(), log_type, None)
            log.created_at = record.time
        elif log.stored_type == LogType.LINE.value:
            log.clear_points = True
        if not more_images:
            log.images, log.restart_images = [], log.stored_type == LogType.IMAGE.value
        if record.type is LogType.IMAGE:
            log.images.append((meta, record.time))
        log.type, log.data, log.updated_at, log.dirty = log_type, data, record.time, True
        log.series, log.pending, log.named = {}, PendingPoints(), None
        if record.name == derived.PARAMETERS:  # run queries read parameters from their own rows
            self.parameters.replace(experiment_id, record.type, record.data)
        if record.type is LogType.LINE:
            self._queue_append(log, record)

    def _queue_append(self, log: _Log, record: Record) -> None:
        named = has_named_series(record.data)
        known = log.named
        if known is ...:
            existing = self._series_of(record.experiment_id, log)
            known = log.named = None if not existing else SINGLE not in existing
        if known is None:
            log.named = named
        elif known is not named:
            shape = "named series" if known else "one unnamed series"
            raise InvalidLogError(
                f"LINE {record.name!r}: the log holds {shape}; log the same shape or pass replace=True"
            )
        log.pending.add(record.data, record.time)

    # -- writing the outcome ---------------------------------------------------------------------

    def _write(self) -> None:
        conn = self.conn
        cleared = [log.id for log in self.logs.values() if log.clear_points]
        if cleared:
            self.store._delete_points(conn, cleared)
        inserts = [
            {"id": log.id, "experiment_id": experiment_id, "name": name, "type": log.type, "data": _json(log),
             "created_at": log.created_at, "updated_at": log.updated_at, **_derived_columns(log)}
            for (experiment_id, name), log in self.logs.items() if log.dirty and log.stored_type is None
        ]
        if inserts:
            conn.execute(t.logs.insert(), inserts)
        updates = [
            {"b_id": log.id, "b_type": log.type, "b_data": _json(log), "b_updated_at": log.updated_at,
             **{f"b_{key}": value for key, value in _derived_columns(log).items()}}
            for log in self.logs.values() if log.dirty and log.stored_type is not None
        ]
        if updates:
            conn.execute(_UPDATE_LOG, updates)
        appends = []
        for (experiment_id, _), log in self.logs.items():
            if log.pending:
                rows = self._series_of(experiment_id, log)
                for series_name, columns in log.pending.items():
                    appends.append((self._series_row(log.id, rows, SINGLE if series_name is None else series_name),
                                    columns))
        if appends:
            self._append(appends)
        self._write_image_history()
        for experiment_id, when in self.touched.items():
            conn.execute(
                t.experiments.update().where(t.experiments.c.id == experiment_id).values(updated_at=max(when, time.time()))
            )

    def _write_image_history(self) -> None:
        """Every image of the batch as a row of its log's history (the dashboard's step slider)."""
        h = t.image_history
        restarted = [log.id for log in self.logs.values() if log.restart_images]
        for start in range(0, len(restarted), _KEYS_PER_STATEMENT):
            self.conn.execute(h.delete().where(h.c.log_id.in_(restarted[start:start + _KEYS_PER_STATEMENT])))
        growing = [log for log in self.logs.values() if log.images]
        continued = [log.id for log in growing if log.stored_type is not None and not log.restart_images]
        last: dict[str, int | None] = dict.fromkeys(continued)
        for start in range(0, len(continued), _KEYS_PER_STATEMENT):
            query = (sa.select(h.c.log_id, sa.func.max(h.c.seq)).where(h.c.log_id.in_(continued[start:start + _KEYS_PER_STATEMENT]))
                     .group_by(h.c.log_id))
            last.update(self.conn.execute(query).all())
        rows = []
        for log in growing:
            if log.id not in last:
                first = 0  # a new history
            else:  # no rows yet: a log from before the history was kept, whose image was number 0
                first = 1 if last[log.id] is None else last[log.id] + 1
            rows += [{"log_id": log.id, "seq": first + i, "data": dumps(meta), "created_at": when,
                      "blob_sha256": meta["sha256"], "blob_size": meta["size"]}
                     for i, (meta, when) in enumerate(log.images)]
        if rows:
            self.conn.execute(h.insert(), rows)

    def _series_row(self, log_id: str, rows: dict[str, dict], name: str) -> dict:
        row = rows.get(name)
        if row is None:  # a new series: the one statement per row, once in a series' life
            row = {"log_id": log_id, "name": name, "position": len(rows), "count": 0, "chunk_count": 0,
                   "last_step": None, "last_value": None, "min_value": None, "max_value": None,
                   "lineage": new_lineage()}
            row["id"] = self.conn.execute(t.series.insert().values(row)).inserted_primary_key[0]
            rows[name] = row
        return row

    def _append(self, appends: list[tuple[dict, Columns]]) -> None:
        """Every series' new points as chunks: one read of the tails, one delete, one insert, one update."""
        conn = self.conn
        tails = {}
        keys = [(row["id"], row["chunk_count"] - 1) for row, _ in appends if row["chunk_count"]]
        for start in range(0, len(keys), _KEYS_PER_STATEMENT):
            where = sa.tuple_(t.chunks.c.series_id, t.chunks.c.seq).in_(keys[start:start + _KEYS_PER_STATEMENT])
            for tail in conn.execute(t.chunks.select().where(where)):
                if tail.count < CHUNK_POINTS:  # partly filled: rewritten with the new points
                    tails[tail.series_id] = tail
        new_chunks, changed = [], []
        for row, columns in appends:
            points = _points(*columns.arrays())
            points.steps = _assign_steps(points.steps, row["last_step"])
            added, last_step, last_value = len(points), float(points.steps[-1]), float(points.values[-1])
            low, high = derived.extremes(points.values, row["min_value"], row["max_value"])  # for run queries
            seq = row["chunk_count"]
            tail = tails.get(row["id"])
            if tail is not None:
                points = Points.concat([decode(tail), points])
                seq -= 1
            starts = range(0, len(points), CHUNK_POINTS)
            new_chunks.extend({"series_id": row["id"], "seq": seq + i, **encode_chunk(points.slice(start, start + CHUNK_POINTS))}
                              for i, start in enumerate(starts))
            row.update(count=row["count"] + added, chunk_count=seq + len(starts), last_step=last_step,
                       last_value=last_value, min_value=low, max_value=high)
            changed.append({"b_id": row["id"], "b_count": row["count"], "b_chunk_count": row["chunk_count"],
                            "b_last_step": last_step, "b_last_value": last_value, "b_min_value": low,
                            "b_max_value": high})
        rewritten = [(series_id, tail.seq) for series_id, tail in tails.items()]
        for start in range(0, len(rewritten), _KEYS_PER_STATEMENT):
            conn.execute(t.chunks.delete().where(
                sa.tuple_(t.chunks.c.series_id, t.chunks.c.seq).in_(rewritten[start:start + _KEYS_PER_STATEMENT])))
        conn.execute(t.chunks.insert(), new_chunks)
        conn.execute(_UPDATE_SERIES, changed)


_TYPE_NAMES = {member: member.value for member in LogType}


def _json(log: _Log) -> str | None:
    return None if log.type == LogType.LINE.value else dumps(log.data)


def _derived_columns(log: _Log) -> dict:
    """Columns kept beside a log's data: a VALUE's scalar (what run queries compare) and an IMAGE's
    blob (what storage accounting and gc read); NULL for other types."""
    log_type = LogType(log.type)
    image = log.data if log_type is LogType.IMAGE else None
    return {**derived.value_columns(log_type, log.data),
            "blob_sha256": None if image is None else image["sha256"], "blob_size": None if image is None else image["size"]}


_KEYS_PER_STATEMENT = 400  # (series, seq) pairs per IN list, well under SQLite's bound-parameter limit

_UPDATE_LOG = t.logs.update().where(t.logs.c.id == sa.bindparam("b_id")).values(
    type=sa.bindparam("b_type"), data=sa.bindparam("b_data"), updated_at=sa.bindparam("b_updated_at"),
    value_number=sa.bindparam("b_value_number"), value_text=sa.bindparam("b_value_text"),
    blob_sha256=sa.bindparam("b_blob_sha256"), blob_size=sa.bindparam("b_blob_size"))

_UPDATE_SERIES = t.series.update().where(t.series.c.id == sa.bindparam("b_id")).values(
    count=sa.bindparam("b_count"), chunk_count=sa.bindparam("b_chunk_count"),
    last_step=sa.bindparam("b_last_step"), last_value=sa.bindparam("b_last_value"),
    min_value=sa.bindparam("b_min_value"), max_value=sa.bindparam("b_max_value"))


def _points(steps: np.ndarray, values: np.ndarray, times: np.ndarray, epochs: np.ndarray) -> Points:
    """Points of queued columns; NaN steps are assigned later, NaN epochs mean "no epoch"."""
    return Points(
        np.array(steps, dtype=np.float64),  # a copy: steps are assigned in place
        values,
        times,
        np.where(np.isnan(epochs), NO_EPOCH, np.nan_to_num(epochs)).astype(np.int64),
    )


def _assign_steps(steps: np.ndarray, last_step: float | None) -> np.ndarray:
    """Fill NaN (not given) steps with the previous step + 1, starting after ``last_step``."""
    auto = np.isnan(steps)
    if not auto.any():
        return steps
    previous = -1.0 if last_step is None else last_step
    if auto.all():
        return previous + 1 + np.arange(len(steps), dtype=np.float64)
    for i in range(len(steps)):
        if auto[i]:
            steps[i] = previous + 1
        previous = steps[i]
    return steps
