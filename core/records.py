"""What the caller's thread hands to the background writer: canonical, already validated data."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from .logtype import LogType


class Series(NamedTuple):
    """Points to append to one series of a LINE log, as float64 columns (no per-point objects).

    ``name`` is None for a log's single unnamed series. ``steps`` None means "continue from the
    series' last step"; ``times`` None means "the record's time"; in ``epochs`` NaN means "no epoch".
    """

    name: str | None
    steps: np.ndarray | None
    values: np.ndarray
    times: np.ndarray | None
    epochs: np.ndarray | None


class Point(NamedTuple):
    """One point of a log's single unnamed series (``step`` None: the series' last step + 1).

    The compact form of ``log("loss", x, LINE)`` and ``{'steps': s, 'values': v, 'epochs': e}``:
    plain numbers, queued as a plain tuple (see ``to_queue``) because the queue may hold millions.
    """

    step: int | None
    value: float
    epoch: int | None = None


class StepValues(NamedTuple):
    """One point for each of several named series, at one shared step and epoch.

    The compact form of the per-step dicts a training loop logs (``{'loss': 0.3, 'acc': 0.9}``,
    ``{'loss': [0.3], 'acc': [0.9]}``): one object instead of a Series per metric, because the
    queue may hold millions of them. ``names`` and ``values`` are parallel tuples.
    """

    names: tuple[str, ...]
    values: tuple[float | int, ...]
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
_new_tuple = tuple.__new__
_LINE = LogType.LINE


def to_queue(experiment_id: str, name: str, log_type: LogType, data: Any, replace: bool, time: float) -> Queued:
    """The item one ``log()`` call puts on the writer's queue (``from_queue`` gives the Record back).

    >>> item = to_queue("e1", "loss", LogType.LINE, Point(3, 0.5), False, 1.0)
    >>> type(item) is tuple, from_queue(item) == Record("e1", "loss", LogType.LINE, Point(3, 0.5), False, 1.0)
    (True, True)
    """
    kind = data.__class__
    if kind is Point:
        return (experiment_id, name, data.step, None, data.value, data.epoch, replace, time)
    if kind is StepValues:  # names and values are tuples: a tuple holding a dict stays tracked
        return (experiment_id, name, data.step, data.names, data.values, data.epoch, replace, time)
    return _new_tuple(Record, (experiment_id, name, log_type, data, replace, time))  # Record(...), without its Python __new__


def from_queue(item: Queued) -> Record:
    if item.__class__ is not tuple:
        return item
    experiment_id, name, step, names, values, epoch, replace, time = item
    # The NamedTuples made without their Python __new__: the writer runs this for every point.
    data = _new_tuple(Point, (step, values, epoch)) if names is None else _new_tuple(StepValues, (names, values, step, epoch))
    return _new_tuple(Record, (experiment_id, name, _LINE, data, replace, time))


def points_of(data: Any) -> int:
    """How many points normalised LINE ``data`` holds (1 for other types' data)."""
    kind = data.__class__
    if kind is Point:
        return 1
    if kind is StepValues:
        return len(data.names)
    if kind is tuple:
        return sum(len(series.values) for series in data)
    return 1


def weight(item: Queued) -> int:
    """How many points a queued item holds (the writer's queue is bounded in points)."""
    if item.__class__ is tuple:
        names = item[3]
        return 1 if names is None else len(names)
    return points_of(item.data) if item.type is LogType.LINE else 1


class Columns:
    """Points queued for one series: steps (NaN: to be assigned), values, times, epochs (NaN: none).

    Single points are appended to lists, whole series as arrays, in the order they came; the store
    and the wire both gather LINE records into these and read them back with ``arrays()``.
    """

    __slots__ = ("steps", "values", "times", "epochs", "parts")

    def __init__(self) -> None:
        self.steps: list = []
        self.values: list = []
        self.times: list = []
        self.epochs: list = []
        self.parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []

    def __len__(self) -> int:
        return len(self.values) + sum(len(part[1]) for part in self.parts)

    def extend(self, series: Series, when: float) -> int:
        values = series.values
        n = len(values)
        steps = series.steps if series.steps is not None else np.full(n, np.nan)
        times = series.times if series.times is not None else np.full(n, when)
        epochs = series.epochs if series.epochs is not None else np.full(n, np.nan)
        self.add(steps, values, times, epochs)
        return n

    def append(self, step: float | None, value: float, time: float, epoch: int | None) -> None:
        """Append one point (step None: to be assigned; epoch None: none)."""
        self.steps.append(step)
        self.values.append(value)
        self.times.append(time)
        self.epochs.append(epoch)

    def add(self, steps: np.ndarray, values: np.ndarray, times: np.ndarray, epochs: np.ndarray) -> None:
        """Append points given as float64 columns (NaN steps: to be assigned; NaN epochs: none)."""
        self._close_lists()
        self.parts.append((steps, values, times, epochs))

    def _close_lists(self) -> None:
        if self.values:
            self.parts.append(tuple(np.array(column, dtype=np.float64)  # None -> NaN
                                    for column in (self.steps, self.values, self.times, self.epochs)))
            self.steps, self.values, self.times, self.epochs = [], [], [], []

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(steps, values, times, epochs) as float64 arrays; NaN steps/epochs: assigned later / none."""
        self._close_lists()
        if len(self.parts) == 1:
            return self.parts[0]
        if not self.parts:
            return tuple(np.empty(0) for _ in range(4))
        return tuple(np.concatenate([part[i] for part in self.parts]) for i in range(4))


def has_named_series(data: Any) -> bool:
    """Whether LINE data (as normalised) holds named series rather than the one unnamed series."""
    kind = data.__class__
    return kind is StepValues or (kind is not Point and data[0].name is not None)


class PendingPoints:
    """The points queued for the series of one LINE log (series name -> Columns), in the order
    they came.

    Consecutive per-step dicts of the same names (StepValues: the normaliser hands out one names
    tuple per key set) are kept as rows, one per step, and turned into columns by one numpy call
    when read: appending a step of ten metrics is then four list appends, not forty.
    """

    __slots__ = ("_series", "_names", "_rows", "_steps", "_epochs", "_times")

    ROWS_FOR_NUMPY = 8  # fewer rows than this go to the columns' lists one point at a time

    def __init__(self) -> None:
        self._series: dict[str | None, Columns] = {}
        self._names: tuple[str, ...] | None = None  # the names of the rows being gathered
        self._rows: list[tuple[float, ...]] = []
        self._steps: list[int | None] = []
        self._epochs: list[int | None] = []
        self._times: list[float] = []

    def __len__(self) -> int:
        """How many series have points."""
        return len(self._series)

    def add(self, data: Any, when: float) -> int:
        """Append the points of normalised LINE ``data`` logged at ``when``; returns how many."""
        kind = data.__class__
        if kind is StepValues:
            names = data.names
            if names is not self._names and names != self._names:
                self._close_rows()
                self._names = names
                for name in names:  # the series, in the order they came (their points come later)
                    if name not in self._series:
                        self._series[name] = Columns()
            self._rows.append(data.values)
            self._steps.append(data.step)
            self._epochs.append(data.epoch)
            self._times.append(when)
            return len(names)
        self._close_rows()
        columns = self._series
        if kind is Point:
            series = columns.get(None)
            if series is None:
                series = columns[None] = Columns()
            series.append(data.step, data.value, when, data.epoch)
            return 1
        added = 0
        for part in data:
            series = columns.get(part.name)
            if series is None:
                series = columns[part.name] = Columns()
            added += series.extend(part, when)
        return added

    def items(self):
        """(series name, Columns) of every series with points, in the order they first came."""
        self._close_rows()
        return self._series.items()

    def _close_rows(self) -> None:
        if not self._rows:
            return
        columns, names = self._series, self._names
        if len(self._rows) < self.ROWS_FOR_NUMPY:
            for values, step, epoch, when in zip(self._rows, self._steps, self._epochs, self._times):
                for name, value in zip(names, values):
                    columns[name].append(step, value, when, epoch)
        else:
            values = np.array(self._rows, dtype=np.float64)  # (steps, names)
            steps, epochs = (np.array(column, dtype=np.float64) for column in (self._steps, self._epochs))  # None -> NaN
            times = np.array(self._times, dtype=np.float64)
            for j, name in enumerate(names):
                columns[name].add(steps, np.ascontiguousarray(values[:, j]), times, epochs)
        self._rows, self._steps, self._epochs, self._times = [], [], [], []
