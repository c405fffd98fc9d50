"""Run queries in SQL: a parsed filter (``trackboard.query``) becomes SQLAlchemy expressions.

A missing field is NULL and SQL's NULL rules apply: a comparison with a missing field is not true,
and neither is its ``not``. A comparison on a parameter, VALUE log or LINE series becomes "the id is
in (the rows of ``parameter_values`` / ``logs`` / ``series`` where ...)", an uncorrelated subquery
over an index; sort fields are LEFT JOINed. Parameters and VALUE logs have a number and a text
column (``store/derived.py``): a number literal compares the first, a string the second. The
dialect differences live in ``_like`` and ``_number``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.sql import operators as _ops

from ..logtype import LogType
from ..query import And, Compare, Field, Node, Not, Order, check_max_results, parse_filter, parse_order_by
from ..status import DEFAULT_INTERVAL_S, STALE_BEATS
from . import schema as t
from .derived import PARAMETERS, flatten

E = t.experiments
BATCH = 500  # ids per IN (...) when reading summaries


# -- fields -----------------------------------------------------------------------------------


@dataclass
class _Rows:
    """Where a ``params.`` / ``values.`` / ``last.`` field lives: at most one row per experiment."""

    experiment_id: Any
    number: Any
    text: Any
    source: Any  # the FROM clause
    where: list  # which rows hold the field


def _rows(field: Field, dialect: str) -> _Rows:
    if field.kind == "params":
        p = t.parameter_values.alias()
        return _Rows(p.c.experiment_id, p.c.number, p.c.text, p, [p.c.key == field.key])
    logs = t.logs.alias()
    if field.kind == "values":
        return _Rows(logs.c.experiment_id, logs.c.value_number, logs.c.value_text, logs,
                     [logs.c.name == field.key, logs.c.type == LogType.VALUE.value])
    series = t.series.alias()
    column = {"last": series.c.last_value, "min": series.c.min_value, "max": series.c.max_value}[field.kind]
    names = [sa.and_(logs.c.name == log_name, series.c.name == series_name) for log_name, series_name in _splits(field)]
    return _Rows(logs.c.experiment_id, _number(column, dialect), None,
                 logs.join(series, series.c.log_id == logs.c.id), [logs.c.type == LogType.LINE.value, sa.or_(*names)])


def _splits(field: Field) -> list[tuple[str, str]]:
    """(log, series) readings of ``last.a.b``: the unnamed series of a log "a.b", or the series "b" of
    a log "a"; the longest log name first (it wins when both exist)."""
    path = field.path
    return [(".".join(path[:cut]), ".".join(path[cut:])) for cut in range(len(path), 0, -1)]


def _experiment_columns(field: Field) -> tuple[Any, Any]:
    """(number, text) of a field that is a column of the experiment itself."""
    if field.kind == "name":
        return None, E.c.name
    if field.kind == "status":
        return None, read_status_sql()
    if field.kind == "created_at":
        return E.c.created_at, None
    # Finished runs: until they finished; running ones: until their last write.
    return sa.func.coalesce(E.c.finished_at, E.c.updated_at) - E.c.created_at, None


def read_status_sql() -> Any:
    """The status as ``status.read_status`` reads it, in SQL: a RUNNING run whose heartbeat is stale is
    CRASHED. (A process gone from this host is seen by ``read_status`` alone, on the rows returned.)"""
    limit = sa.func.coalesce(E.c.heartbeat_interval, DEFAULT_INTERVAL_S) * STALE_BEATS
    stale = sa.and_(E.c.status == "RUNNING", E.c.heartbeat_at.isnot(None), E.c.heartbeat_at < time.time() - limit)
    return sa.case((stale, sa.literal("CRASHED")), else_=E.c.status)


def _number(column: Any, dialect: str) -> Any:
    # SQLite stores NaN as NULL, PostgreSQL keeps it (and sorts it above every number): read it as NULL.
    if dialect == "postgresql":
        return sa.func.nullif(column, sa.literal(float("nan"), sa.Float))
    return column


def _like(text: Any, pattern: str, dialect: str) -> Any:
    """Case-sensitive LIKE on both dialects (``%`` any text, ``_`` one character, ``\\`` escapes)."""
    if dialect != "sqlite":
        return text.like(pattern)
    # SQLite's LIKE ignores ASCII case; GLOB does not: translate the pattern.
    out, escaped = [], False
    for char in pattern:
        if escaped:
            out.append(_glob_literal(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append("*")
        elif char == "_":
            out.append("?")
        else:
            out.append(_glob_literal(char))
    if escaped:
        out.append(_glob_literal("\\"))
    return text.op("GLOB", is_comparison=True)("".join(out))


def _glob_literal(char: str) -> str:
    return f"[{char}]" if char in "*?[" else char


# -- filters ----------------------------------------------------------------------------------
#
# Each comparison is compiled for its polarity: under an even number of NOTs it must be TRUE, under
# an odd number FALSE (NOT of NULL is NULL, so a missing field satisfies neither). Both become
# "the experiment's id is in (the rows where ...)", one uncorrelated subquery the database runs
# once over an index, instead of a lookup per experiment. NOT is pushed inwards (De Morgan).


def compile_filter(node: Node | None, dialect: str, positive: bool = True) -> Any:
    """The WHERE expression of a parsed filter (``sa.true()`` for none)."""
    if node is None:
        return sa.true()
    if isinstance(node, Not):
        return compile_filter(node.operand, dialect, not positive)
    if isinstance(node, Compare):
        return _compare(node, dialect, positive)
    both = (compile_filter(node.left, dialect, positive), compile_filter(node.right, dialect, positive))
    return sa.and_(*both) if isinstance(node, And) == positive else sa.or_(*both)


def _compare(node: Compare, dialect: str, positive: bool) -> Any:
    field, op, value = node.field, node.op, node.value
    if field.kind == "tags":
        having = sa.select(t.tags.c.experiment_id)
        if op == "contains":
            having = having.where(t.tags.c.tag == value)
        wanted = positive == (op == "contains")
        return E.c.id.in_(having) if wanted else E.c.id.not_in(having)
    if field.kind in ("name", "status", "created_at", "duration"):
        number, text = _experiment_columns(field)
        rows = None
    else:
        rows = _rows(field, dialect)
        number, text = rows.number, rows.text
    if op == "isnull":
        present = sa.or_(*(column.isnot(None) for column in (number, text) if column is not None))
        if rows is None:
            return ~present if positive else present
        having = sa.select(rows.experiment_id).select_from(rows.source).where(*rows.where, present)
        return E.c.id.not_in(having) if positive else E.c.id.in_(having)
    parts = _parts(op, value, number, text, dialect)
    if positive:
        condition = sa.or_(*(test for _, test in parts)) if parts else sa.false()
    else:  # FALSE needs the value present and the test false
        condition = sa.and_(*(sa.and_(column.isnot(None), sa.not_(test)) for column, test in parts)) if parts else sa.true()
    if rows is None:
        return condition
    return E.c.id.in_(sa.select(rows.experiment_id).select_from(rows.source).where(*rows.where, condition))


def _parts(op: str, value: Any, number: Any, text: Any, dialect: str) -> list[tuple[Any, Any]]:
    """(column, test) pairs whose OR is the comparison: a number literal reads the number column,
    a string the text column."""
    if op == "like":
        return [(text, _like(text, value, dialect))] if text is not None else []
    if op == "in":
        numbers = [item for item in value if not isinstance(item, str)]
        texts = [item for item in value if isinstance(item, str)]
        parts = []
        if numbers and number is not None:
            parts.append((number, number.in_(numbers)))
        if texts and text is not None:
            parts.append((text, text.in_(texts)))
        return parts
    column = text if isinstance(value, str) else number
    return [] if column is None else [(column, column.operate(_OPERATORS[op], value))]


_OPERATORS = {"=": _ops.eq, "!=": _ops.ne, "<": _ops.lt, "<=": _ops.le, ">": _ops.gt, ">=": _ops.ge}


# -- sorting ----------------------------------------------------------------------------------


def sorted_source(orders: Sequence[Order], dialect: str) -> tuple[Any, list[Any]]:
    """(FROM clause, ORDER BY terms): each sort field LEFT JOINed once (at most one row per experiment);
    missing values last whatever the direction; then oldest first, then id."""
    source, terms = E, []
    for order in orders:
        field = order.field
        if field.kind in ("name", "status", "created_at", "duration"):
            keys = [column for column in _experiment_columns(field) if column is not None]
        elif field.kind in ("params", "values"):
            rows = _rows(field, dialect)
            source = source.outerjoin(rows.source, sa.and_(rows.experiment_id == E.c.id, *rows.where))
            keys = [rows.number, rows.text]
        else:
            candidates = []
            for log_name, series_name in _splits(field):
                logs, series = t.logs.alias(), t.series.alias()
                source = source.outerjoin(logs, sa.and_(logs.c.experiment_id == E.c.id, logs.c.name == log_name,
                                                        logs.c.type == LogType.LINE.value))
                source = source.outerjoin(series, sa.and_(series.c.log_id == logs.c.id, series.c.name == series_name))
                column = {"last": series.c.last_value, "min": series.c.min_value, "max": series.c.max_value}[field.kind]
                candidates.append(_number(column, dialect))
            keys = [candidates[0] if len(candidates) == 1 else sa.func.coalesce(*candidates)]
        for key in keys:
            terms.append((key.desc() if order.descending else key.asc()).nulls_last())
    return source, [*terms, E.c.created_at.asc(), E.c.id.asc()]


# -- queries ----------------------------------------------------------------------------------


def search_query(project_id: str, filter: str | None, order_by: str | Sequence[str] | None,
                 max_results: int | None, dialect: str) -> sa.Select:
    """The SELECT of a project's experiments that match ``filter``, sorted by ``order_by``."""
    node = parse_filter(filter)
    source, terms = sorted_source(parse_order_by(order_by), dialect)
    query = (sa.select(*E.c).select_from(source)
             .where(E.c.project_id == project_id, compile_filter(node, dialect)).order_by(*terms))
    check_max_results(max_results)
    if max_results is not None:
        query = query.limit(max_results)
    return query


def summaries(conn: sa.Connection, experiment_ids: Sequence[str]) -> dict[str, dict]:
    """Per experiment: ``tags``, ``params`` (flattened), ``values`` and ``series`` (log, series, last, min, max, count)."""
    out = {experiment_id: {"tags": [], "params": {}, "values": {}, "series": []} for experiment_id in experiment_ids}
    for batch in _batches(list(out)):
        for row in conn.execute(sa.select(t.tags.c.experiment_id, t.tags.c.tag)
                                .where(t.tags.c.experiment_id.in_(batch)).order_by(t.tags.c.tag)):
            out[row.experiment_id]["tags"].append(row.tag)
        logs = (sa.select(t.logs.c.experiment_id, t.logs.c.name, t.logs.c.type, t.logs.c.data)
                .where(t.logs.c.experiment_id.in_(batch),
                       sa.or_(t.logs.c.type == LogType.VALUE.value,
                              sa.and_(t.logs.c.name == PARAMETERS, t.logs.c.type == LogType.TABLE.value)))
                .order_by(t.logs.c.created_at, t.logs.c.name))
        for row in conn.execute(logs):
            data = json.loads(row.data)
            if row.type == LogType.VALUE.value:
                out[row.experiment_id]["values"][row.name] = data
            elif isinstance(data, dict):
                out[row.experiment_id]["params"] = flatten(data)
        series = (sa.select(t.logs.c.experiment_id, t.logs.c.name.label("log"), t.series.c.name, t.series.c.last_value,
                            t.series.c.min_value, t.series.c.max_value, t.series.c.count)
                  .select_from(t.logs.join(t.series, t.series.c.log_id == t.logs.c.id))
                  .where(t.logs.c.experiment_id.in_(batch))
                  .order_by(t.logs.c.created_at, t.logs.c.name, t.series.c.position))
        for row in conn.execute(series):
            out[row.experiment_id]["series"].append(
                {"log": row.log, "series": row.name, "last": row.last_value, "min": row.min_value,
                 "max": row.max_value, "count": row.count})
    return out


def _batches(items: list, size: int = BATCH) -> Iterable[list]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def check_tags(tags: Iterable[Any]) -> list[str]:
    """Tags are non-empty strings of at most 256 characters (raises InvalidLogError)."""
    from ..normalise import check_name

    return [check_name(tag, "a tag") for tag in tags]
