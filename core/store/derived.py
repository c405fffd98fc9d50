"""Columns and rows that exist so run queries run in SQL, kept by the store's write path.

* ``logs.value_number`` / ``logs.value_text``: a VALUE log's scalar (numbers and bools as a number).
* ``parameter_values``: the ``parameters`` TABLE flattened, one row per key (nested keys joined with
  "."); a write batch collects them (``ParameterRows``) and writes them in two statements.
* ``series.min_value`` / ``series.max_value``: a LINE series' extremes (NaN ignored).

NaN is stored as NULL everywhere here, so SQLite (which turns NaN into NULL) and PostgreSQL (which
keeps it) answer a query alike. The write path pays no extra statement per log (two per batch for
parameters); ``rebuild`` recomputes everything for a store written before these existed.
"""

from __future__ import annotations

import json
import math
from typing import Any, Mapping

import numpy as np
import sqlalchemy as sa

from ..logtype import LogType
from . import schema as t

PARAMETERS = "parameters"  # the TABLE log that ``params.<key>`` reads


def flatten(mapping: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level, keys joined with ".".

    >>> flatten({"lr": 0.1, "optimizer": {"name": "adam", "betas": [0.9, 0.99]}})
    {'lr': 0.1, 'optimizer.name': 'adam', 'optimizer.betas': [0.9, 0.99]}
    """
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten(value, name + "."))
        else:
            out[name] = value
    return out


def number_and_text(value: Any) -> tuple[float | None, str | None]:
    """How a scalar is compared: numbers (and bools) as a number, strings as text, others as JSON text."""
    if isinstance(value, bool):
        return float(value), None
    if isinstance(value, (int, float)):
        number = float(value)
        return (None if math.isnan(number) else number), None
    if isinstance(value, str):
        return None, value
    if value is None:
        return None, None
    return None, json.dumps(value, separators=(",", ":"), allow_nan=True)


def value_columns(log_type: LogType, data: Any) -> dict[str, Any]:
    """``logs`` columns for a log written with ``data`` (NULL unless it is a VALUE)."""
    if log_type is not LogType.VALUE:
        return {"value_number": None, "value_text": None}
    number, text = number_and_text(data)
    return {"value_number": number, "value_text": text}


def replace_parameters(conn: sa.Connection, experiment_id: str, log_type: LogType | None, data: Any) -> None:
    """Rewrite an experiment's ``parameter_values`` after its ``parameters`` log was written or deleted."""
    conn.execute(t.parameter_values.delete().where(t.parameter_values.c.experiment_id == experiment_id))
    rows = parameter_rows(experiment_id, log_type, data)
    if rows:
        conn.execute(t.parameter_values.insert(), rows)


class ParameterRows:
    """The ``parameter_values`` of one write batch: collected per record, written in two statements."""

    def __init__(self) -> None:
        self.tables: dict[str, tuple[LogType, Any]] = {}  # experiment id -> its latest parameters log

    def replace(self, experiment_id: str, log_type: LogType, data: Any) -> None:
        self.tables[experiment_id] = (log_type, data)

    def write(self, conn: sa.Connection) -> None:
        if not self.tables:
            return
        ids = list(self.tables)
        for start in range(0, len(ids), 500):
            conn.execute(t.parameter_values.delete().where(t.parameter_values.c.experiment_id.in_(ids[start:start + 500])))
        rows = [row for experiment_id, (log_type, data) in self.tables.items()
                for row in parameter_rows(experiment_id, log_type, data)]
        if rows:
            conn.execute(t.parameter_values.insert(), rows)


def parameter_rows(experiment_id: str, log_type: LogType | None, data: Any) -> list[dict]:
    """The ``parameter_values`` rows of a ``parameters`` log (none unless it is a TABLE mapping)."""
    if log_type is not LogType.TABLE or not isinstance(data, Mapping):
        return []
    rows = []
    for key, value in flatten(data).items():
        number, text = number_and_text(value)
        rows.append({"experiment_id": experiment_id, "key": key[:1024], "number": number, "text": text})
    return rows


def extremes(values: np.ndarray, low: float | None, high: float | None) -> tuple[float | None, float | None]:
    """A series' (min, max) after appending ``values`` to one whose extremes were (``low``, ``high``)."""
    finite = values[~np.isnan(values)]
    if not len(finite):
        return low, high
    new_low, new_high = float(finite.min()), float(finite.max())
    return (new_low if low is None else min(low, new_low)), (new_high if high is None else max(high, new_high))


def forget_experiment(conn: sa.Connection, experiment_id: str) -> None:
    """Delete an experiment's tags and parameter rows (before the experiment row itself)."""
    conn.execute(t.tags.delete().where(t.tags.c.experiment_id == experiment_id))
    conn.execute(t.parameter_values.delete().where(t.parameter_values.c.experiment_id == experiment_id))


def rebuild(conn: sa.Connection) -> None:
    """Recompute every derived column and row from the logs (for a store written before they existed)."""
    for row in conn.execute(sa.select(t.logs.c.id, t.logs.c.data).where(t.logs.c.type == LogType.VALUE.value)).all():
        conn.execute(t.logs.update().where(t.logs.c.id == row.id)
                     .values(value_columns(LogType.VALUE, json.loads(row.data))))
    query = sa.select(t.logs.c.experiment_id, t.logs.c.data).where(
        t.logs.c.name == PARAMETERS, t.logs.c.type == LogType.TABLE.value)
    for row in conn.execute(query).all():
        replace_parameters(conn, row.experiment_id, LogType.TABLE, json.loads(row.data))
    recompute_extremes(conn, conn.execute(sa.select(t.series.c.id)).scalars().all())


def recompute_extremes(conn: sa.Connection, series_ids) -> None:
    """Read the chunks of these series again for their extremes (after points were dropped, e.g. a rewind)."""
    from .points import decode

    for series_id in series_ids:
        low = high = None
        # The point columns only: migrations call this on older schemas than schema.py's.
        c = t.chunks.c
        points = sa.select(c.step_data, c.value_data, c.time_data, c.epoch_data).where(c.series_id == series_id)
        for chunk in conn.execute(points):
            low, high = extremes(decode(chunk).values, low, high)
        conn.execute(t.series.update().where(t.series.c.id == series_id).values(min_value=low, max_value=high))
