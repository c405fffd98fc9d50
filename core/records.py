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


class Point(NamedTuple):
    """One point of a log's single unnamed series (``step`` None: the series' last step + 1).

    The compact form of ``log("loss", x, LINE)``: two plain numbers, queued as a plain tuple
    (see ``to_queue``) because the queue may hold millions of them.
    """

    step: int | None
    value: float


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
    data: Any  # LINE: tuple[Series, ...], Point or StepValues; IMAGE: ImagePayload; others: canonical JSON-like data
    replace: bool
    time: float


# -- the writer's queue -------------------------------------------------------------------------
#
# The queue may hold millions of records between two commits. A NamedTuple, or any tuple holding an
# enum member, stays tracked by the garbage collector: millions of them, promoted to its oldest
# generation, set off full collections of the whole process (a quarter of a second each in a
# process that imported torch). The collector stops tracking a plain tuple once it holds nothing
# tracked (at its first young collection, or its second when it holds tuples), so a compact LINE
# point (the per-step hot path) is queued as one, and the writer thread turns it back into a
# Record as the sink reads it.

Queued = Record | tuple


def to_queue(experiment_id: str, name: str, log_type: LogType, data: Any, replace: bool, time: float) -> Queued:
    """The item one ``log()`` call puts on the writer's queue (``from_queue`` gives the Record back).

    >>> item = to_queue("e1", "loss", LogType.LINE, Point(3, 0.5), False, 1.0)
    >>> type(item) is tuple, from_queue(item) == Record("e1", "loss", LogType.LINE, Point(3, 0.5), False, 1.0)
    (True, True)
    """
    kind = data.__class__
    if kind is Point:
        return (experiment_id, name, data.step, None, data.value, None, replace, time)
    if kind is StepValues:  # names and values as tuples: a tuple holding a dict stays tracked
        values = data.values
        return (experiment_id, name, data.step, tuple(values), tuple(values.values()), data.epoch, replace, time)
    return Record(experiment_id, name, log_type, data, replace, time)


def from_queue(item: Queued) -> Record:
    if item.__class__ is not tuple:
        return item
    experiment_id, name, step, names, values, epoch, replace, time = item
    data = Point(step, values) if names is None else StepValues(dict(zip(names, values)), step, epoch)
    return Record(experiment_id, name, LogType.LINE, data, replace, time)


# Points queued for one series, as parallel lists: steps (None: to be assigned), values, times,
# epochs (None: no epoch). The store and the wire both gather LINE records into these.
Columns = tuple[list, list, list, list]


def has_named_series(data: Any) -> bool:
    """Whether LINE data (as normalised) holds named series rather than the one unnamed series."""
    kind = data.__class__
    return kind is StepValues or (kind is not Point and data[0].name is not None)


def add_to_columns(columns: dict[str | None, Columns], data: Any, when: float) -> int:
    """Append the points of normalised LINE ``data`` logged at ``when``; returns how many."""
    kind = data.__class__
    if kind is Point:
        steps, values, times, epochs = columns.get(None) or columns.setdefault(None, ([], [], [], []))
        steps.append(data.step)
        values.append(data.value)
        times.append(when)
        epochs.append(None)
        return 1
    if kind is StepValues:
        step, epoch = data.step, data.epoch
        for name, value in data.values.items():
            steps, values, times, epochs = columns.get(name) or columns.setdefault(name, ([], [], [], []))
            steps.append(step)
            values.append(value)
            times.append(when)
            epochs.append(epoch)
        return len(data.values)
    added = 0
    for series in data:
        steps, values, times, epochs = columns.get(series.name) or columns.setdefault(series.name, ([], [], [], []))
        n = len(series.values)
        values.extend(series.values)
        steps.extend(series.steps or [None] * n)
        times.extend(series.times or [when] * n)
        epochs.extend(series.epochs or [None] * n)
        added += n
    return added
