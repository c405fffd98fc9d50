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
from pathlib import Path
from typing import Any, Iterable, NamedTuple

import numpy as np
import sqlalchemy as sa

from ..errors import AlreadyExistsError, InvalidLogError, LogTypeConflictError, NotFoundError
from ..logtype import LogType
from ..records import Columns, Record, add_to_columns, has_named_series
from . import derived, search
from . import schema as t
from .blobs import BlobStore
from .engine import create_engine, read_transaction, write_transaction
from .points import CHUNK_POINTS, NO_EPOCH, Points, decode, downsample_index, encode

DATABASE_FILE = "trackboard.db"  # the embedded store's database, in its directory
SINGLE = ""  # the series name of a LINE log with one unnamed series


def new_id() -> str:
    return str(uuid.uuid4())


def dumps(data: Any) -> str:
    # NaN/inf are written as bare tokens here (Python's json reads them back); the wire format
    # and exports turn them into strings so they never become invalid JSON.
    return json.dumps(data, separators=(",", ":"), allow_nan=True)


class Store:
    """All persistent state of trackboard, in one database plus a blob directory."""

    def __init__(self, url: str, blob_root: str | os.PathLike) -> None:
        self.url = url
        self.engine = create_engine(url)
        self.blobs = BlobStore(blob_root)
        with write_transaction(self.engine) as conn:  # serialises concurrent first opens
            t.metadata.create_all(conn)

    @classmethod
    def at_directory(cls, directory: str | os.PathLike) -> "Store":
        """The embedded store in ``directory`` (created if missing)."""
        root = Path(directory).expanduser().resolve()
        root.mkdir(parents=True, exist_ok=True)
        return cls(f"sqlite:///{root / DATABASE_FILE}", root / "blobs")

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
        return self._one(t.projects.select().where(t.projects.c.id == project_id), f"no project with id {project_id!r}")

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

    def get_experiment(self, project_id: str, name: str) -> dict:
        query = t.experiments.select().where(t.experiments.c.project_id == project_id, t.experiments.c.name == name)
        return self._one(query, f"no experiment named {name!r} in this project")

    def get_experiment_by_id(self, experiment_id: str) -> dict:
        query = t.experiments.select().where(t.experiments.c.id == experiment_id)
        return self._one(query, f"no experiment with id {experiment_id!r}")

    def find_experiment_by_source(self, project_id: str, source: str) -> dict | None:
        """The experiment imported from ``source`` into this project, or None."""
        query = t.experiments.select().where(t.experiments.c.project_id == project_id, t.experiments.c.source == source)
        with read_transaction(self.engine) as conn:
            row = conn.execute(query).mappings().first()
        return None if row is None else dict(row)

    def list_experiments(self, project_id: str) -> list[dict]:
        query = t.experiments.select().where(t.experiments.c.project_id == project_id)
        return self._all(query.order_by(t.experiments.c.created_at))

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
        conn.execute(t.experiments.delete().where(t.experiments.c.id == experiment_id))

    # -- run queries, tags and notes (the SQL is in store/search.py) ---------------------------

    def search_experiments(self, project_id: str, filter: str | None = None, order_by=None,
                           max_results: int | None = None) -> list[dict]:
        """Rows of the project's experiments matching ``filter`` (the run query language), sorted."""
        query = search.search_query(project_id, filter, order_by, max_results, self.engine.dialect.name)
        with read_transaction(self.engine) as conn:
            result = conn.execute(query)
            keys = list(result.keys())
            return [dict(zip(keys, row)) for row in result]  # cheaper than .mappings() for 10,000 rows

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
            row = conn.execute(_log_query(experiment_id, name)).first()
            if row is None:
                raise NotFoundError(f"no log named {name!r} in this experiment")
            if row.type != LogType.LINE.value:
                raise InvalidLogError(f"log {name!r} is a {row.type}, not a LINE")
            return self._read_series(conn, row.id, step_min, step_max)

    def downsampled(
        self, experiment_id: str, name: str, buckets: int = 1000,
        step_min: float | None = None, step_max: float | None = None,
    ) -> dict[str, Points]:
        """Like ``get_points``, keeping first, last, min and max of ``buckets`` runs per series."""
        series = self.get_points(experiment_id, name, step_min, step_max)
        return {key: points.take(downsample_index(points.values, buckets)) for key, points in series.items()}

    def _read_series(self, conn: sa.Connection, log_id: str, step_min, step_max) -> dict[str, Points]:
        series_rows = conn.execute(
            sa.select(t.series.c.id, t.series.c.name).where(t.series.c.log_id == log_id).order_by(t.series.c.position)
        ).all()
        out = {}
        for series_row in series_rows:
            query = t.chunks.select().where(t.chunks.c.series_id == series_row.id)
            if step_min is not None:
                query = query.where(t.chunks.c.step_max >= step_min)
            if step_max is not None:
                query = query.where(t.chunks.c.step_min <= step_max)
            points = Points.concat([decode(chunk) for chunk in conn.execute(query.order_by(t.chunks.c.seq))])
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


def _log_query(experiment_id: str, name: str):
    return t.logs.select().where(t.logs.c.experiment_id == experiment_id, t.logs.c.name == name)


def steps_list(steps: np.ndarray) -> list:
    """Steps as Python numbers, whole ones as ints (the canonical form)."""
    if len(steps) and np.all(np.mod(steps, 1) == 0):
        return steps.astype(np.int64).tolist()
    return [int(s) if s.is_integer() else s for s in steps.tolist()]


def series_data(points: Points) -> dict[str, list]:
    """The canonical ``{'steps', 'values', 'times'[, 'epochs']}`` of one series."""
    data = {"steps": steps_list(points.steps), "values": points.values.tolist(), "times": points.times.tolist()}
    if points.has_epochs():
        data["epochs"] = [None if e == NO_EPOCH else e for e in points.epochs.tolist()]
    return data


def line_data(series: dict[str, Points]) -> dict:
    """A LINE log's canonical data: one series, or ``{series name: series}``."""
    if list(series) == [SINGLE]:
        return series_data(series[SINGLE])
    return {name: series_data(points) for name, points in series.items()}


class _Batch:
    """One transaction's worth of records: checks conflicts, merges LINE appends, writes."""

    def __init__(self, store: Store, conn: sa.Connection) -> None:
        self.store, self.conn = store, conn
        self.logs: dict[tuple[str, str], Any] = {}  # (experiment id, name) -> log row or None
        self.series: dict[str, dict[str, Any]] = {}  # log id -> {series name: series row}
        self.named: dict[str, bool | None] = {}  # log id -> LINE log has named series?
        # log id -> series name -> (steps, values, times, epochs) lists of the points to append
        self.pending: dict[str, dict[str | None, Columns]] = {}
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
        for log_id, by_series in self.pending.items():
            for series_name, columns in by_series.items():
                self._append(log_id, SINGLE if series_name is None else series_name, columns)
        self.parameters.write(self.conn)
        for experiment_id, when in self.touched.items():
            self.conn.execute(
                t.experiments.update().where(t.experiments.c.id == experiment_id).values(updated_at=max(when, time.time()))
            )
        return failures

    def _log_row(self, experiment_id: str, name: str):
        key = (experiment_id, name)
        if key not in self.logs:
            self.logs[key] = self.conn.execute(_log_query(experiment_id, name)).first()
        return self.logs[key]

    def _series_rows(self, log_id: str) -> dict[str, Any]:
        if log_id not in self.series:
            rows = self.conn.execute(t.series.select().where(t.series.c.log_id == log_id)).mappings()
            self.series[log_id] = {row["name"]: dict(row) for row in rows}
        return self.series[log_id]

    def _apply_one(self, record: Record) -> None:
        row = self._log_row(record.experiment_id, record.name)
        self.touched[record.experiment_id] = record.time
        if row is not None and row.type != record.type.value and not record.replace:
            raise LogTypeConflictError(
                f"{record.type.value} {record.name!r}: a {row.type} log of that name exists; "
                "pass replace=True to replace it"
            )
        if record.type is LogType.LINE and not record.replace and row is not None:
            self._queue_append(row.id, record)
            return
        # Anything else replaces the log (creating it if needed).
        if row is None and record.experiment_id not in self.experiments:
            exists = self.conn.execute(sa.select(t.experiments.c.id).where(t.experiments.c.id == record.experiment_id)).first()
            if exists is None:
                raise NotFoundError(f"{record.type.value} {record.name!r}: experiment {record.experiment_id} does not exist (deleted?)")
            self.experiments.add(record.experiment_id)
        data = None  # every check that can refuse the record comes before the old log is touched
        if record.type is LogType.IMAGE:
            meta, content = record.data
            if content is not None:
                self.store.blobs.put_bytes(content)
            elif not self.store.blobs.exists(meta["sha256"]):
                raise NotFoundError(f"IMAGE {record.name!r}: no stored image with sha256 {meta['sha256']}")
            data = dumps(meta)
        elif record.type is not LogType.LINE:
            data = dumps(record.data)
        # An image logged again under its name joins the log's history (replace=True starts it over).
        more_images = record.type is LogType.IMAGE and row is not None and row.type == LogType.IMAGE.value and not record.replace
        if row is not None and not more_images:
            self.pending.pop(row.id, None)
            self.store._delete_points(self.conn, [row.id])
        values = {"type": record.type.value, "data": data, "updated_at": record.time,
                  **derived.value_columns(record.type, record.data)}
        if row is None:
            log_id = new_id()
            self.conn.execute(t.logs.insert().values(
                id=log_id, experiment_id=record.experiment_id, name=record.name, created_at=record.time, **values
            ))
        else:
            log_id = row.id
            self.conn.execute(t.logs.update().where(t.logs.c.id == log_id).values(values))
        if record.type is LogType.IMAGE:
            self._add_image(log_id, data, record.time, existed=more_images)
        self.logs[(record.experiment_id, record.name)] = _LogRow(log_id, record.type.value)
        self.series[log_id] = {}
        self.named[log_id] = None
        if record.name == derived.PARAMETERS:  # run queries read parameters from their own rows
            self.parameters.replace(record.experiment_id, record.type, record.data)
        if record.type is LogType.LINE:
            self._queue_append(log_id, record)

    def _add_image(self, log_id: str, data: str, when: float, existed: bool) -> None:
        h = t.image_history
        seq = 0
        if existed:
            last = self.conn.execute(sa.select(sa.func.max(h.c.seq)).where(h.c.log_id == log_id)).scalar()
            seq = 1 if last is None else last + 1  # no rows: a log from before the history; its image was seq 0
        self.conn.execute(h.insert().values(log_id=log_id, seq=seq, data=data, created_at=when))

    def _queue_append(self, log_id: str, record: Record) -> None:
        named = has_named_series(record.data)
        known = self.named.get(log_id, ...)
        if known is ...:
            existing = self._series_rows(log_id)
            known = self.named[log_id] = None if not existing else SINGLE not in existing
        if known is None:
            self.named[log_id] = named
        elif known is not named:
            shape = "named series" if known else "one unnamed series"
            raise InvalidLogError(
                f"LINE {record.name!r}: the log holds {shape}; log the same shape or pass replace=True"
            )
        queued = self.pending.get(log_id)
        if queued is None:
            queued = self.pending[log_id] = {}
        add_to_columns(queued, record.data, record.time)

    def _append(self, log_id: str, name: str, columns: Columns) -> None:
        points = _points(*columns)
        rows = self._series_rows(log_id)
        row = rows.get(name)
        if row is None:
            row = {"log_id": log_id, "name": name, "position": len(rows), "count": 0, "chunk_count": 0,
                   "last_step": None, "last_value": None, "min_value": None, "max_value": None}
            row["id"] = self.conn.execute(t.series.insert().values(row)).inserted_primary_key[0]
            rows[name] = row
        points.steps = _assign_steps(points.steps, row["last_step"])
        added, last_step, last_value = len(points), float(points.steps[-1]), float(points.values[-1])
        low, high = derived.extremes(points.values, row["min_value"], row["max_value"])  # for run queries
        seq = row["chunk_count"]
        if seq:
            tail = self.conn.execute(
                t.chunks.select().where(t.chunks.c.series_id == row["id"], t.chunks.c.seq == seq - 1)
            ).first()
            if tail.count < CHUNK_POINTS:  # top up the partly filled last chunk
                points = Points.concat([decode(tail), points])
                seq -= 1
                self.conn.execute(t.chunks.delete().where(t.chunks.c.series_id == row["id"], t.chunks.c.seq == seq))
        new_chunks = [
            {"series_id": row["id"], "seq": seq + i, **encode(points.slice(start, start + CHUNK_POINTS))}
            for i, start in enumerate(range(0, len(points), CHUNK_POINTS))
        ]
        self.conn.execute(t.chunks.insert(), new_chunks)
        row.update(count=row["count"] + added, chunk_count=seq + len(new_chunks), last_step=last_step, last_value=last_value,
                   min_value=low, max_value=high)
        self.conn.execute(t.series.update().where(t.series.c.id == row["id"]).values(
            count=row["count"], chunk_count=row["chunk_count"], last_step=last_step, last_value=last_value,
            min_value=low, max_value=high,
        ))


class _LogRow(NamedTuple):
    id: str
    type: str


def _points(steps: list, values: list, times: list, epochs: list) -> Points:
    """Arrays of queued points; None steps are assigned later, None epochs mean "no epoch"."""
    epoch_array = np.array(epochs, dtype=np.float64)
    missing = np.isnan(epoch_array)
    return Points(
        np.array(steps, dtype=np.float64),  # None -> NaN: "continue from the last step"
        np.array(values, dtype=np.float64),
        np.array(times, dtype=np.float64),
        np.where(missing, NO_EPOCH, np.nan_to_num(epoch_array)).astype(np.int64),
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
