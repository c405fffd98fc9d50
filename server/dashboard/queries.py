"""Set-based reads for the dashboard (SQLAlchemy Core, one query per kind of thing).

The store's own methods read one experiment at a time; a project page of a thousand experiments
needs every experiment's VALUE logs, last LINE values and parameters, so each of those is one query
over the whole project (joined on the project id, never an ``IN`` list of a thousand ids).

The pages poll these reads, so their statements are built once (``functools.cache``) and take what
varies as bound parameters: building a statement and its cache key cost about as much again as
running it. A page's reads run in one transaction (one snapshot, one connection checkout).
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any, Iterable, Iterator, NamedTuple

import numpy as np
import sqlalchemy as sa

from trackboard.logtype import LogType
from trackboard.status import with_read_status
from trackboard.store.search import read_status_sql
from trackboard.store import schema as t
from trackboard.store.engine import read_transaction
from trackboard.store.points import decode, decode_many
from trackboard.store.sql import epochs_list, steps_list

PARAMETERS = "parameters"  # the TABLE log that holds hyperparameters (see Project.create_experiment)
ENVIRONMENT = "environment"  # the TABLE log of the run's context (see trackboard.capture)
SYSTEM_PREFIX = "system/"  # its system metrics' LINE logs

_VALUE = LogType.VALUE.value
_LINE = LogType.LINE.value
_TABLE = LogType.TABLE.value


# -- projects ---------------------------------------------------------------------------------


def project_summaries(engine: sa.Engine) -> list[dict]:
    """Every project with its experiment counts and latest activity, oldest project first."""
    e = t.experiments
    counts = (
        sa.select(
            e.c.project_id,
            sa.func.count().label("experiments"),
            # Stale heartbeats are CRASHED here too, as on every other surface.
            sa.func.sum(sa.case((read_status_sql() == "RUNNING", 1), else_=0)).label("running"),
            sa.func.max(e.c.updated_at).label("last_update"),
        )
        .group_by(e.c.project_id)
        .subquery()
    )
    query = (
        sa.select(t.projects, counts.c.experiments, counts.c.running, counts.c.last_update)
        .select_from(t.projects.outerjoin(counts, counts.c.project_id == t.projects.c.id))
        .order_by(t.projects.c.created_at)
    )
    with read_transaction(engine) as conn:
        rows = [dict(row) for row in conn.execute(query).mappings()]
    for row in rows:
        row["experiments"] = row["experiments"] or 0
        row["running"] = row["running"] or 0
    return rows


class Chosen(NamedTuple):
    """The experiments a set-based read is about: a project's (``page``: newest first, ``offset``/
    ``limit``) or a list of ids. Its statements are built once per kind, with these as parameters."""

    kind: str  # "project", "page" or "ids"
    params: dict

    @staticmethod
    def of_project(project_id: str, offset: int = 0, limit: int | None = None) -> "Chosen":
        if not offset and limit is None:
            return Chosen("project", {"project_id": project_id})
        # OFFSET needs a LIMIT in SQLite: "no limit" is one past any count of rows.
        return Chosen("page", {"project_id": project_id, "offset": offset, "limit": 2**62 if limit is None else limit})

    @staticmethod
    def of_ids(experiment_ids: list[str]) -> "Chosen":
        return Chosen("ids", {"ids": list(experiment_ids)})


_NEWEST = (t.experiments.c.created_at.desc(), t.experiments.c.id)


@functools.cache
def _ids_of(kind: str) -> Any:
    """What ``IN`` compares experiment ids with, for this kind of ``Chosen``."""
    if kind == "ids":
        return sa.bindparam("ids", expanding=True)
    chosen = sa.select(t.experiments.c.id).where(t.experiments.c.project_id == sa.bindparam("project_id"))
    if kind == "page":
        chosen = chosen.order_by(*_NEWEST).offset(sa.bindparam("offset")).limit(sa.bindparam("limit"))
    return chosen


def project_experiments(conn: sa.Connection, chosen: Chosen, fields: set[str] | None = None) -> list[dict]:
    """Rows of the chosen experiments, newest first: metadata, VALUE logs, last LINE values, parameters.

    Four queries whatever the number of experiments. ``lines`` maps a column name (the log name,
    or ``log · series`` for a named series) to ``[last step, last value]``. ``Chosen.of_project``
    pages the rows (the page paints the newest first, then asks for the rest); ``fields`` keeps
    only those columns (``v:<value>``, ``l:<line column>``, ``p:<parameter>``).
    """
    experiments = conn.execute(_experiments_query(chosen.kind), chosen.params).mappings().all()
    values = _values(conn, chosen)
    lines = _last_values(conn, chosen)
    params = _parameters(conn, chosen)
    return [_row(experiment, values, lines, params, fields) for experiment in experiments]


@functools.cache
def _experiments_query(kind: str) -> sa.Select:
    return sa.select(t.experiments).where(t.experiments.c.id.in_(_ids_of(kind))).order_by(*_NEWEST)


def count_experiments(conn: sa.Connection, project_id: str) -> int:
    return conn.execute(_count_query(), {"project_id": project_id}).scalar_one()


@functools.cache
def _count_query() -> sa.Select:
    return sa.select(sa.func.count()).where(t.experiments.c.project_id == sa.bindparam("project_id"))


def experiments_by_id(conn: sa.Connection, experiment_ids: list[str]) -> list[dict]:
    """The same rows as ``project_experiments`` for a handful of chosen experiments, in that order,
    read in the caller's transaction (a view reading their logs too reads all of it in one snapshot)."""
    chosen = Chosen.of_ids(experiment_ids)
    found = {row["id"]: row for row in conn.execute(_experiments_query(chosen.kind), chosen.params).mappings()}
    values = _values(conn, chosen)
    lines = _last_values(conn, chosen)
    params = _parameters(conn, chosen)
    names = _line_log_names(conn, experiment_ids)
    environments = _parameters(conn, chosen, ENVIRONMENT)
    rows = [_row(found[i], values, lines, params) for i in experiment_ids if i in found]
    for row in rows:
        row["line_logs"] = names.get(row["id"], [])
        row["environment"] = environments.get(row["id"], {})
    return rows


_STATUS_ONLY = ("heartbeat_at", "heartbeat_interval", "pid", "hostname")  # read by read_status, not shown


def _row(experiment: Any, values: dict, lines: dict, params: dict, fields: set[str] | None = None) -> dict:
    row = with_read_status(dict(experiment))  # CRASHED derived, as on every surface
    for key in _STATUS_ONLY:
        row.pop(key, None)
    row["values"] = _only(values.get(row["id"], {}), "v:", fields)
    row["lines"] = _only(lines.get(row["id"], {}), "l:", fields)
    row["params"] = _only(params.get(row["id"], {}), "p:", fields)
    return row


def _only(columns: dict, prefix: str, fields: set[str] | None) -> dict:
    return columns if fields is None else {k: v for k, v in columns.items() if prefix + k in fields}


def _loads_all(texts: list[str]) -> list[Any]:
    """Many JSON texts decoded in one call (a thousand small ``json.loads`` cost four times more)."""
    return json.loads("[" + ",".join(texts) + "]") if texts else []


def _values(conn: sa.Connection, chosen: Chosen) -> dict[str, dict[str, Any]]:
    rows = conn.execute(_values_query(chosen.kind), chosen.params).all()
    out: dict[str, dict[str, Any]] = {}
    for (experiment_id, name, _), value in zip(rows, _loads_all([data for _, _, data in rows])):
        out.setdefault(experiment_id, {})[name] = value
    return out


@functools.cache
def _values_query(kind: str) -> sa.Select:
    return sa.select(t.logs.c.experiment_id, t.logs.c.name, t.logs.c.data).where(
        t.logs.c.experiment_id.in_(_ids_of(kind)), t.logs.c.type == _VALUE
    ).order_by(t.logs.c.created_at)


def _last_values(conn: sa.Connection, chosen: Chosen) -> dict[str, dict[str, list]]:
    out: dict[str, dict[str, list]] = {}
    for experiment_id, log_name, series_name, last_step, last_value in conn.execute(_last_values_query(chosen.kind), chosen.params):
        if last_value is None and last_step is not None:
            last_value = math.nan  # SQLite stores a NaN float as NULL; the point exists, so it was NaN
        out.setdefault(experiment_id, {})[series_column(log_name, series_name)] = [last_step, last_value]
    return out


@functools.cache
def _last_values_query(kind: str) -> sa.Select:
    # series.last_step / last_value are kept by every append, so no chunk is read here.
    # System metrics (system/, trackboard.capture) are not results to rank runs by: no columns.
    return (
        sa.select(t.logs.c.experiment_id, t.logs.c.name, t.series.c.name, t.series.c.last_step, t.series.c.last_value)
        .select_from(t.series.join(t.logs, t.logs.c.id == t.series.c.log_id))
        .where(t.logs.c.experiment_id.in_(_ids_of(kind)), t.logs.c.type == _LINE,
               sa.not_(t.logs.c.name.startswith(SYSTEM_PREFIX, autoescape=True)))
        .order_by(t.logs.c.created_at, t.series.c.position)
    )


def _parameters(conn: sa.Connection, chosen: Chosen, name: str = PARAMETERS) -> dict[str, dict[str, Any]]:
    """Each experiment's TABLE ``name`` (the hyperparameters by default), flattened."""
    rows = conn.execute(_parameters_query(chosen.kind), {**chosen.params, "table_name": name}).all()
    return {experiment_id: flatten(table) for (experiment_id, _), table in zip(rows, _loads_all([data for _, data in rows]))}


@functools.cache
def _parameters_query(kind: str) -> sa.Select:
    return sa.select(t.logs.c.experiment_id, t.logs.c.data).where(
        t.logs.c.experiment_id.in_(_ids_of(kind)), t.logs.c.name == sa.bindparam("table_name"), t.logs.c.type == _TABLE
    )


def _line_log_names(conn: sa.Connection, experiment_ids: list[str]) -> dict[str, list[str]]:
    query = sa.select(t.logs.c.experiment_id, t.logs.c.name).where(
        t.logs.c.experiment_id.in_(experiment_ids), t.logs.c.type == _LINE
    ).order_by(t.logs.c.created_at)
    out: dict[str, list[str]] = {}
    for experiment_id, name in conn.execute(query):
        out.setdefault(experiment_id, []).append(name)
    return out


def series_column(log_name: str, series_name: str) -> str:
    """The column of one series in a table of runs: ``loss``, or ``loss · train`` for a named one."""
    return log_name if not series_name else f"{log_name} · {series_name}"


def flatten(table: Any, prefix: str = "") -> dict[str, Any]:
    """A TABLE mapping with nested keys joined by dots; lists kept as compact JSON text.

    >>> flatten({"optimizer": {"lr": 0.1, "betas": [0.9, 0.99]}, "epochs": 3})
    {'optimizer.lr': 0.1, 'optimizer.betas': '[0.9,0.99]', 'epochs': 3}
    """
    if not isinstance(table, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, name + "."))
        elif isinstance(value, list):
            out[name] = json.dumps(value, separators=(",", ":"), allow_nan=True)
        else:
            out[name] = value
    return out


# -- one experiment ---------------------------------------------------------------------------


def log_versions(conn: sa.Connection, experiment_id: str) -> list[dict]:
    """Each log's name, type and a version that changes whenever the log does.

    LINE appends do not touch ``logs.updated_at`` (they only grow the series), so a LINE log's
    version also counts its points and ends with its last step: the live page polls this list and
    refetches only the panels whose version moved.
    """
    rows = conn.execute(_log_versions_query(), {"experiment_id": experiment_id}).all()
    return [
        {"name": name, "type": kind, "version": f"{updated_at!r}:{count}:{last_step!r}",
         **({"points": int(count)} if kind == _LINE else {})}
        for name, kind, updated_at, count, last_step in rows
    ]


@functools.cache
def _log_versions_query() -> sa.Select:
    points = sa.func.coalesce(sa.func.sum(t.series.c.count), 0)
    return (
        sa.select(t.logs.c.name, t.logs.c.type, t.logs.c.updated_at, points.label("points"),
                  sa.func.max(t.series.c.last_step).label("last_step"))
        .select_from(t.logs.outerjoin(t.series, t.series.c.log_id == t.logs.c.id))
        .where(t.logs.c.experiment_id == sa.bindparam("experiment_id"))
        .group_by(t.logs.c.id, t.logs.c.name, t.logs.c.type, t.logs.c.updated_at, t.logs.c.created_at)
        .order_by(t.logs.c.created_at, t.logs.c.name)
    )


def experiment_values(conn: sa.Connection, experiment_id: str) -> dict[str, Any]:
    """The VALUE logs of one experiment, name -> scalar, in creation order."""
    return _values(conn, Chosen.of_ids([experiment_id])).get(experiment_id, {})


ARTIFACT_FIELDS = ("name", "filename", "size", "content_type", "created_at", "sha256")


def artifact_rows(conn: sa.Connection, experiment_id: str) -> list[dict]:
    """What the experiment page lists of each artifact, oldest first."""
    return [dict(row) for row in conn.execute(_artifacts_query(), {"experiment_id": experiment_id}).mappings()]


@functools.cache
def _artifacts_query() -> sa.Select:
    a = t.artifacts.c
    return (sa.select(*(a[key] for key in ARTIFACT_FIELDS)).where(a.experiment_id == sa.bindparam("experiment_id"))
            .order_by(a.created_at))


def read_series(
    conn: sa.Connection, log_id: str, step_min: float | None, step_max: float | None
) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """(series name, steps, values, total points) of a LINE log, optionally within a step range.

    Like ``Store.get_points`` but decodes only steps and values: wall-clock times and epochs are
    not shown on charts, and skipping them is a third of the decoding of a million-point series.
    """
    out = []
    series_rows = conn.execute(
        sa.select(t.series.c.id, t.series.c.name, t.series.c.count)
        .where(t.series.c.log_id == log_id).order_by(t.series.c.position)
    ).all()
    for series_id, name, count in series_rows:
        query = sa.select(t.chunks.c.count, t.chunks.c.step_data, t.chunks.c.value_data).where(
            t.chunks.c.series_id == series_id
        )
        # Chunks carry their step bounds, so a zoomed read skips whole chunks in SQL.
        if step_min is not None:
            query = query.where(t.chunks.c.step_max >= step_min)
        if step_max is not None:
            query = query.where(t.chunks.c.step_min <= step_max)
        points = decode_many(conn.execute(query.order_by(t.chunks.c.seq)).all(), with_times=False)
        steps, values = points.steps, points.values
        keep = in_step_range(steps, step_min, step_max)
        if keep is not None:
            steps, values = steps[keep], values[keep]
        out.append((name, steps, values, int(count)))
    return out


def in_step_range(steps: np.ndarray, step_min: float | None, step_max: float | None) -> np.ndarray | None:
    """A mask of the steps within ``[step_min, step_max]``, or None when there is no range."""
    if step_min is None and step_max is None:
        return None
    low = -math.inf if step_min is None else step_min
    high = math.inf if step_max is None else step_max
    return (steps >= low) & (steps <= high)


def series_csv_rows(engine: sa.Engine, logs: dict[str, str]) -> Iterator[list]:
    """[experiment, series, step, value, time, epoch] of every point of each LINE log (name -> log id).

    Read one chunk at a time, so a million-point series streams out. Non-finite values are written
    as ``nan``, ``inf`` and ``-inf`` (what pandas and numpy read back).
    """
    for experiment_name, log_id in logs.items():
        with read_transaction(engine) as conn:
            series_rows = conn.execute(
                sa.select(t.series.c.id, t.series.c.name).where(t.series.c.log_id == log_id).order_by(t.series.c.position)
            ).all()
            for series_id, series_name in series_rows:
                query = sa.select(t.chunks).where(t.chunks.c.series_id == series_id).order_by(t.chunks.c.seq)
                for row in conn.execute(query):
                    points = decode(row)
                    epochs = epochs_list(points.epochs)
                    steps = steps_list(points.steps)
                    for step, value, when, epoch in zip(steps, points.values.tolist(), points.times.tolist(), epochs):
                        yield [experiment_name, series_name, step, _csv_number(value), when, "" if epoch is None else epoch]


def _csv_number(value: float) -> float | str:
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return value


def find_log(engine: sa.Engine, experiment_id: str, name: str) -> dict | None:
    """The log row (id, type, data) of ``name``, or None."""
    query = sa.select(t.logs.c.id, t.logs.c.type, t.logs.c.data).where(
        t.logs.c.experiment_id == experiment_id, t.logs.c.name == name
    )
    with read_transaction(engine) as conn:
        row = conn.execute(query).mappings().first()
    return None if row is None else dict(row)


class NamedLog(NamedTuple):
    """A log found by name, with a version of what its chart shows (see ``logs_named``)."""

    id: str
    type: str
    version: tuple


def logs_named(conn: sa.Connection, experiment_ids: Iterable[str], name: str) -> dict[str, NamedLog]:
    """experiment id -> its log ``name`` (id, type, version), for the experiments that have one.

    The version changes with every write to the log: it holds the experiment's ``updated_at`` (set
    by every batch of records and by a rewind), the log's (set when it is replaced) and each
    series' id, point count and last step. One query for any number of experiments.
    """
    found: dict[str, tuple[str, str, tuple, list]] = {}
    for row in conn.execute(_logs_named_query(), {"ids": list(experiment_ids), "name": name}):
        entry = found.setdefault(row.experiment_id, (row.id, row.type, (row.written_at, row.updated_at), []))
        if row.series_id is not None:
            entry[3].append((row.series_id, row.count, row.last_step))
    return {experiment_id: NamedLog(log_id, kind, (*written, tuple(series)))
            for experiment_id, (log_id, kind, written, series) in found.items()}


@functools.cache
def _logs_named_query() -> sa.Select:
    return (
        sa.select(t.logs.c.experiment_id, t.logs.c.id, t.logs.c.type, t.logs.c.updated_at,
                  t.experiments.c.updated_at.label("written_at"), t.series.c.id.label("series_id"),
                  t.series.c.count, t.series.c.last_step)
        .select_from(t.logs.join(t.experiments, t.experiments.c.id == t.logs.c.experiment_id)
                     .outerjoin(t.series, t.series.c.log_id == t.logs.c.id))
        .where(t.logs.c.experiment_id.in_(sa.bindparam("ids", expanding=True)), t.logs.c.name == sa.bindparam("name"))
        .order_by(t.logs.c.experiment_id, t.series.c.position)
    )


def line_logs_of(conn: sa.Connection, experiment_ids: Iterable[str], name: str) -> dict[str, NamedLog]:
    """experiment id -> its LINE log ``name`` (see ``logs_named``), for the experiments that have one."""
    return {key: log for key, log in logs_named(conn, experiment_ids, name).items() if log.type == _LINE}


def existing_experiments(engine: sa.Engine, experiment_ids: list[str]) -> set[str]:
    """Which of these ids are experiments."""
    query = sa.select(t.experiments.c.id).where(t.experiments.c.id.in_(experiment_ids))
    with read_transaction(engine) as conn:
        return set(conn.execute(query).scalars())
