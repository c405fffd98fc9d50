"""Run queries in SQL: a parsed filter (``trackboard.query``) becomes SQLAlchemy expressions.

Every field is a correlated scalar subquery on an indexed lookup (``parameter_values`` by
(experiment, key), ``logs`` by (experiment, name), ``series`` by (log, name)), so a missing field is
NULL and SQL's own NULL rules apply: a comparison with a missing field is not true, and neither is
its ``not``. Parameters and VALUE logs have a number and a text column (``store/derived.py``); a
number literal compares the first, a string the second. The dialect differences live in
``_like`` and ``_number`` below.
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Sequence

import sqlalchemy as sa
from sqlalchemy.sql import operators as _ops

from ..logtype import LogType
from ..query import Compare, Field, Node, Not, Or, Order, check_max_results, parse_filter, parse_order_by
from . import schema as t
from .derived import PARAMETERS, flatten

E = t.experiments
BATCH = 500  # ids per IN (...) when reading summaries


# -- fields -----------------------------------------------------------------------------------


def columns(field: Field, dialect: str) -> tuple[Any, Any]:
    """(number expression, text expression) of a field; either may be None when it cannot hold that type."""
    kind = field.kind
    if kind in ("name", "status"):
        return None, E.c[kind]
    if kind == "created_at":
        return E.c.created_at, None
    if kind == "duration":
        # Finished runs: until they finished; running ones: until their last write.
        return sa.func.coalesce(E.c.finished_at, E.c.updated_at) - E.c.created_at, None
    if kind == "params":
        p = t.parameter_values
        where = (p.c.experiment_id == E.c.id, p.c.key == field.key)
        return (sa.select(p.c.number).where(*where).scalar_subquery(),
                sa.select(p.c.text).where(*where).scalar_subquery())
    if kind == "values":
        where = (t.logs.c.experiment_id == E.c.id, t.logs.c.name == field.key, t.logs.c.type == LogType.VALUE.value)
        return (sa.select(t.logs.c.value_number).where(*where).scalar_subquery(),
                sa.select(t.logs.c.value_text).where(*where).scalar_subquery())
    column = {"last": t.series.c.last_value, "min": t.series.c.min_value, "max": t.series.c.max_value}[kind]
    # `last.a.b` is the unnamed series of a log "a.b" or the series "b" of a log "a": try the longest
    # log name first.
    candidates = []
    for cut in range(len(field.path), 0, -1):
        log_name, series_name = ".".join(field.path[:cut]), ".".join(field.path[cut:])
        candidates.append(
            sa.select(_number(column, dialect))
            .select_from(t.logs.join(t.series, t.series.c.log_id == t.logs.c.id))
            .where(t.logs.c.experiment_id == E.c.id, t.logs.c.name == log_name,
                   t.logs.c.type == LogType.LINE.value, t.series.c.name == series_name)
            .scalar_subquery()
        )
    return (candidates[0] if len(candidates) == 1 else sa.func.coalesce(*candidates)), None


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


def compile_filter(node: Node | None, dialect: str) -> Any:
    """The WHERE expression of a parsed filter (``sa.true()`` for none)."""
    if node is None:
        return sa.true()
    if isinstance(node, Not):
        return sa.not_(compile_filter(node.operand, dialect))
    if isinstance(node, Or):
        return sa.or_(compile_filter(node.left, dialect), compile_filter(node.right, dialect))
    if isinstance(node, Compare):
        return _compare(node, dialect)
    return sa.and_(compile_filter(node.left, dialect), compile_filter(node.right, dialect))


def _compare(node: Compare, dialect: str) -> Any:
    field, op, value = node.field, node.op, node.value
    if field.kind == "tags":
        any_tag = sa.select(t.tags.c.tag).where(t.tags.c.experiment_id == E.c.id)
        if op == "isnull":
            return ~any_tag.exists()
        return any_tag.where(t.tags.c.tag == value).exists()
    number, text = columns(field, dialect)
    if op == "isnull":
        return sa.and_(*(column.is_(None) for column in (number, text) if column is not None))
    if op == "like":
        return _like(text, value, dialect)
    if op == "in":
        numbers = [item for item in value if not isinstance(item, str)]
        texts = [item for item in value if isinstance(item, str)]
        parts = []
        if numbers and number is not None:
            parts.append(number.in_(numbers))
        if texts and text is not None:
            parts.append(text.in_(texts))
        return sa.or_(*parts) if parts else sa.false()
    column = text if isinstance(value, str) else number
    return column.operate(_OPERATORS[op], value)


_OPERATORS = {"=": _ops.eq, "!=": _ops.ne, "<": _ops.lt, "<=": _ops.le, ">": _ops.gt, ">=": _ops.ge}


def order_clauses(orders: Sequence[Order], dialect: str) -> list[Any]:
    """ORDER BY terms: missing values last whatever the direction; then oldest first, then id."""
    terms = []
    for order in orders:
        for column in columns(order.field, dialect):
            if column is not None:
                terms.append((column.desc() if order.descending else column.asc()).nulls_last())
    return [*terms, E.c.created_at.asc(), E.c.id.asc()]


# -- queries ----------------------------------------------------------------------------------


def search_query(project_id: str, filter: str | None, order_by: str | Sequence[str] | None,
                 max_results: int | None, dialect: str) -> sa.Select:
    """The SELECT of a project's experiments that match ``filter``, sorted by ``order_by``."""
    node = parse_filter(filter)
    orders = parse_order_by(order_by)
    query = (sa.select(E).where(E.c.project_id == project_id, compile_filter(node, dialect))
             .order_by(*order_clauses(orders, dialect)))
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
