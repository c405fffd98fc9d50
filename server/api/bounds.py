"""How much work one request may ask for, so no write transaction holds the store's lock long.

Each new LINE series is a row to find or create, and each point is packed into chunks; on SQLite
one request is one write transaction, during which every other writer waits. The caps keep one
request well under about a second of work; a request over them answers 413 naming the cap.
The remote client's batches (``trackboard.wire``) stay under them by construction.
"""

from __future__ import annotations

import os
from typing import Any, Iterable

from trackboard.records import Point, StepValues

from .errors import ApiError

MAX_SERIES_PER_REQUEST = int(os.environ.get("TRACKBOARD_MAX_SERIES_PER_REQUEST", 1000))
MAX_POINTS_PER_REQUEST = int(os.environ.get("TRACKBOARD_MAX_POINTS_PER_REQUEST", 1_000_000))


def check_line_work(series: int, points: int) -> None:
    """413 when a request touches more LINE series or points than one request may."""
    if series > MAX_SERIES_PER_REQUEST:
        raise ApiError(413, f"the request touches {series} LINE series; at most {MAX_SERIES_PER_REQUEST} per request")
    if points > MAX_POINTS_PER_REQUEST:
        raise ApiError(413, f"the request holds {points} LINE points; at most {MAX_POINTS_PER_REQUEST} per request")


def batch_line_work(entries: Iterable[Any]) -> tuple[int, int]:
    """(series, points) of a batch's LINE entries, from their packed columns, before decoding."""
    series = points = 0
    for entry in entries:
        for column in entry.series or ():
            series += 1
            points += len(column.values) * 3 // 32  # base64 of 8-byte floats
    return series, points


def canonical_line_work(data: Any) -> tuple[int, int]:
    """(series, points) of normalised LINE data (a tuple of Series, a Point or StepValues)."""
    if isinstance(data, Point):
        return 1, 1
    if isinstance(data, StepValues):
        return len(data.values), len(data.values)
    return len(data), sum(len(series.values) for series in data)
