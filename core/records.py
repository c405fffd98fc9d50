"""What the caller's thread hands to the background writer: canonical, already validated data."""

from __future__ import annotations

from typing import Any, NamedTuple

from .logtype import LogType


class Series(NamedTuple):
    """Points to append to one series of a LINE log.

    ``name`` is None for a log's single unnamed series. ``steps`` None means "continue from the
    series' last step"; ``times`` None means "the record's time"; ``epochs`` may hold None items.
    """

    name: str | None
    steps: list[int | float] | None
    values: list[float]
    times: list[float] | None
    epochs: list[int | None] | None


class ImagePayload(NamedTuple):
    """An image's metadata (the canonical log data) and its bytes (None: the blob already exists)."""

    meta: dict[str, Any]
    content: bytes | None


class Record(NamedTuple):
    """One ``experiment.log`` call, normalised."""

    experiment_id: str
    name: str
    type: LogType
    data: Any  # LINE: tuple[Series, ...]; IMAGE: ImagePayload; others: canonical JSON-like data
    replace: bool
    time: float
