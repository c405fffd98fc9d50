"""``trackboard ls PROJECT``: a project's runs as a table with a header (or CSV), filtered and sorted
by the run query language.

Default columns: name, status, created, duration, every VALUE log, id. ``--columns`` takes fields of
the query language (``name,params.lr,values.accuracy,min.`val/loss```) plus ``id``.
"""

from __future__ import annotations

import csv
import math
import time
from datetime import datetime, timezone
from typing import Any, Sequence, TextIO

from .errors import QueryError
from .frames import duration
from .query import Field, parse_columns, parse_field

DEFAULT = ("name", "status", "created_at", "duration")
HEADINGS = {"created_at": "created"}


def run_table(project, filter: str | None = None, order_by: Sequence[str] | None = None,
              columns: str | None = None, max_results: int | None = None) -> tuple[list[str], list[list[Any]]]:
    """(header, rows of raw values) of the project's matching runs."""
    wanted = None if columns is None else [_column(text) for text in parse_columns(columns)]
    rows = project._search(filter, order_by, max_results)
    summaries = project._backend.experiment_summaries([row["id"] for row in rows])
    if wanted is None:
        values = dict.fromkeys(key for row in rows for key in summaries[row["id"]]["values"])
        wanted = [Field(kind) for kind in DEFAULT] + [Field("values", (key,)) for key in values] + [Field("id")]
    header = [HEADINGS.get(str(field), str(field)) for field in wanted]
    return header, [[cell(field, row, summaries[row["id"]]) for field in wanted] for row in rows]


def _column(text: str) -> Field:
    if text.strip() == "id":
        return Field("id")
    try:
        return parse_field(text)
    except QueryError as error:
        raise QueryError(f"column {text!r}: {error}") from None


def cell(field: Field, row: dict, summary: dict) -> Any:
    """The value of one field for one run (None when it is missing)."""
    kind = field.kind
    if kind in ("id", "name", "status", "created_at"):
        return row[kind]
    if kind == "duration":
        return duration(row)
    if kind == "tags":
        return summary["tags"]
    if kind == "params":
        return summary["params"].get(field.key)
    if kind == "values":
        return summary["values"].get(field.key)
    by_label = {(item["log"], item["series"]): item for item in summary["series"]}
    for cut in range(len(field.path), 0, -1):  # the longest log name first, as in queries
        item = by_label.get((".".join(field.path[:cut]), ".".join(field.path[cut:])))
        if item is not None:
            return item[kind]
    return None


# -- output -----------------------------------------------------------------------------------


def write_table(header: list[str], rows: list[list[Any]], out: TextIO) -> None:
    """Aligned columns for people: local times, short durations, numbers in 6 significant digits."""
    text = [[_display(kind, value) for kind, value in zip(header, row)] for row in rows]
    widths = [max([len(title), *(len(line[i]) for line in text)]) for i, title in enumerate(header)]
    for line in [header, *text]:
        print("  ".join(value.ljust(width) for value, width in zip(line, widths)).rstrip(), file=out)


def write_csv(header: list[str], rows: list[list[Any]], out: TextIO) -> None:
    """CSV for programs: ISO 8601 UTC times, durations in seconds, tags joined with ';'."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow([_csv_value(kind, value) for kind, value in zip(header, row)])


def _display(kind: str, value: Any) -> str:
    if value is None:
        return "-"
    if kind == "created":
        return time.strftime("%Y-%m-%d %H:%M", time.localtime(value))
    if kind == "duration":
        return short_duration(value)
    if isinstance(value, list):
        return ",".join(str(item) for item in value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def _csv_value(kind: str, value: Any) -> Any:
    if value is None:
        return ""
    if kind == "created":
        return datetime.fromtimestamp(value, timezone.utc).isoformat()
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    return value


def short_duration(seconds: float) -> str:
    """
    >>> short_duration(12.34), short_duration(185), short_duration(3725), short_duration(90000)
    ('12.3s', '3m05s', '1h02m', '25h00m')
    """
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
