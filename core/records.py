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


class StepValues(NamedTuple):
    """One point for each of several named series, at one shared step and epoch.

    The compact form of the per-step dict a training loop logs (``{'loss': 0.3, 'acc': 0.9}``):
    one object instead of a Series per metric, because the queue may hold millions of them.
    """

    values: dict[str, float | int]
    step: int | None
    epoch: int | None


class ImagePayload(NamedTuple):
    """An image's metadata (the canonical log data) and its bytes (None: the blob already exists)."""

    meta: dict[str, Any]
    content: bytes | None


class Record(NamedTuple):
    """One ``experiment.log`` call, normalised."""

    experiment_id: str
    name: str
    type: LogType
    data: Any  # LINE: tuple[Series, ...] or StepValues; IMAGE: ImagePayload; others: canonical JSON-like data
    replace: bool
    time: float
