"""Per-step metric points, gathered on the training thread and logged as LINE in batches.

A hook appends ``(step, value, epoch, time)`` to a list per metric (well under a microsecond a
value); when the oldest point is ``max_age`` old, every 20 000 points, and whenever the adapter
says so (end of an epoch, of training), each metric's points become one
``log(name, {'steps', 'values', 'epochs', 'times'})``.

The age depends on the experiment (``max_age_for``). A trackboard experiment has its own writer,
so its buffer only saves the training thread the per-call cost (a step of 3 metrics costs about
a third of logging them one call each, see bench_core's adapter-buffer rows): 0.25 s keeps the
dashboard barely behind the writer's own 0.1 s. A foreign experiment (picsellia's SDK, any object
with ``log``) may send one request a call: it gets one call per metric every 2 seconds.

Values the framework already turned into Python numbers are kept as they are. A tensor is only
detached here; it is converted to a number when the batch is logged, off the per-step path.
"""

from __future__ import annotations

import threading
from typing import Any, Iterable, Mapping

MAX_POINTS = 20_000
NATIVE_MAX_AGE_S = 0.25  # a trackboard experiment: the dashboard lags the step by at most this + 0.1 s
FOREIGN_MAX_AGE_S = 2.0  # an experiment that may send one request per call
MAX_AGE_S = FOREIGN_MAX_AGE_S  # LineBuffer's default


def max_age_for(native: bool) -> float:
    """How long points wait in the buffer for a trackboard (``native``) or a foreign experiment."""
    return NATIVE_MAX_AGE_S if native else FOREIGN_MAX_AGE_S

Points = dict[str, list]  # {'steps': [...], 'values': [...], 'epochs': [...], 'times': [...]}


class LineBuffer:
    """Points per metric name, waiting to be logged. Safe to fill from several threads.

    >>> buffer = LineBuffer(max_age=1.0)
    >>> buffer.add({"loss": 0.5, "acc": 1}, step=3, epoch=0, now=100.0)  # (refused, due)
    (None, False)
    >>> buffer.add({"loss": 0.4, "note": "text"}, step=4, epoch=0, now=101.0)
    (['note'], True)
    >>> buffer.drain()["loss"]
    {'steps': [3, 4], 'values': [0.5, 0.4], 'times': [100.0, 101.0], 'epochs': [0, 0]}

    ``in_step_order=True`` puts each batch of points in step order, for hooks that a thread pool
    may run out of order (where steps never go back by design):

    >>> buffer = LineBuffer(in_step_order=True)
    >>> for step in (2, 1, 3):
    ...     _ = buffer.add({"loss": float(step)}, step=step, epoch=0, now=0.0)
    >>> buffer.drain()["loss"]["steps"]
    [1, 2, 3]
    """

    def __init__(self, max_points: int = MAX_POINTS, max_age: float = MAX_AGE_S, in_step_order: bool = False) -> None:
        self._max_points = max_points
        self._max_age = max_age
        # For hooks run by a thread pool (Keras' async dispatch), which may finish out of order.
        self._in_step_order = in_step_order
        self._series: dict[str, tuple[list, list, list, list]] = {}
        self._count = 0
        self._oldest: float | None = None
        self._lock = threading.Lock()

    def add(
        self, metrics: Mapping[str, Any], step: int | float, epoch: int | None, now: float,
        exclude: frozenset[str] = frozenset(),
    ) -> tuple[list[str] | None, bool]:
        """Queue one point per metric but those in ``exclude``.

        Returns the names whose value is not a number (not queued; None when all are numbers) and
        whether the queued points are due to be logged (too many, or the oldest too old).
        """
        refused = None
        with self._lock:
            series = self._series
            for name, value in metrics.items():
                if name in exclude:
                    continue
                kind = type(value)
                if kind is not float and kind is not int:
                    value = _as_number(value)
                    if value is None:
                        refused = [*(refused or ()), name]
                        continue
                points = series.get(name)
                if points is None:
                    points = series[name] = ([], [], [], [])
                points[0].append(step)
                points[1].append(value)
                points[2].append(epoch)
                points[3].append(now)
                self._count += 1
            oldest = self._oldest
            if oldest is None and self._count:
                oldest = self._oldest = now
            due = self._count >= self._max_points or (oldest is not None and now - oldest >= self._max_age)
        return refused, due

    def __len__(self) -> int:
        return self._count

    @property
    def max_age(self) -> float:
        """Seconds the oldest point may wait before the points are due."""
        return self._max_age

    def drain(self) -> dict[str, Points]:
        """Take every queued point, as one series per metric (tensors converted now)."""
        with self._lock:
            series, self._series = self._series, {}
            self._count, self._oldest = 0, None
        out = {}
        for name, (steps, values, epochs, times) in series.items():
            if self._in_step_order and any(a > b for a, b in zip(steps, steps[1:], strict=False)):
                order = sorted(range(len(steps)), key=steps.__getitem__)  # stable: equal steps keep their order
                steps, values, epochs, times = ([column[i] for i in order] for column in (steps, values, epochs, times))
            points: Points = {"steps": steps, "values": _numbers(values), "times": times}
            if any(epoch is not None for epoch in epochs):
                points["epochs"] = epochs
            out[name] = points
        return out


def _as_number(value: Any) -> Any:
    """A value to queue for ``value``, or None when it is not a number.

    bools count as 0/1; numpy scalars are unwrapped; one-element tensors are detached and kept
    (converted in ``drain``) so a hook never waits for the device.
    """
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)):
        return float(value)
    if hasattr(value, "detach") and hasattr(value, "numel"):  # torch
        return value.detach() if value.numel() == 1 else None
    item = getattr(value, "item", None)  # numpy / jax scalars and 0-d arrays
    if callable(item) and getattr(value, "size", 1) == 1:
        number = item()
        return float(number) if isinstance(number, (int, float)) else None
    return None


def _numbers(values: Iterable[Any]) -> list[float]:
    return [value if type(value) is float or type(value) is int else float(value) for value in values]
