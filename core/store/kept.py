"""What chart reads decoded of each series' full chunks, kept for the next read of that series.

A live dashboard reads the same series again and again while it grows: every poll used to read and
decode every chunk (points or block summaries) for the few points that arrived since. A full chunk
(``CHUNK_POINTS`` points) is never written again while its series keeps its ``lineage``: appends
only rewrite the partly filled last chunk, a rewind gives the series a new lineage, and a replaced
or deleted log's series are new rows with new lineages. So a read keeps what it decoded of a
series' leading full chunks under (kind, series, lineage), and the next read of that series reads
only the chunks after them (``charts``).

One per ``Store`` (per process: each server worker keeps its own), bounded in bytes, least recently
used first out. Steps that go up by a constant stride (nearly every series) are kept as their first
step and stride, so kept points cost 8 bytes each, their values.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any, Hashable

import numpy as np

MAX_BYTES = 64 * 1024 * 1024  # some eight million points of values


class BoundedItems:
    """Items by key with their size in bytes; ``max_bytes`` bounds the total, least recently used
    first out. Also what the server's dashboard keeps its chart answers in."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()  # the server's routes run on a thread pool

    def get(self, key: Hashable) -> Any:
        """The item kept under ``key``, or None."""
        with self._lock:
            kept = self._items.get(key)
            if kept is None:
                return None
            self._items.move_to_end(key)
            return kept[0]

    def keep(self, key: Hashable, item: Any, size: int) -> None:
        """Keep ``item`` (``size`` bytes) under ``key``, in place of what was there."""
        with self._lock:
            old = self._items.pop(key, None)
            if old is not None:
                self._bytes -= old[1]
            if size > self.max_bytes:
                return
            self._items[key] = (item, size)
            self._bytes += size
            while self._bytes > self.max_bytes:
                _, (_, dropped) = self._items.popitem(last=False)
                self._bytes -= dropped

    def __len__(self) -> int:
        return len(self._items)

    @property
    def nbytes(self) -> int:
        return self._bytes


class KeptChunks(BoundedItems):
    """What chart reads kept of each series' full chunks (``charts._Prefix`` by kind, series, lineage)."""

    def __init__(self, max_bytes: int = MAX_BYTES) -> None:
        super().__init__(max_bytes)


class KeptSteps:
    """Steps as kept: ``first + stride * i`` when they go up by one stride (two numbers), else the array."""

    def __init__(self, first: float, stride: float, count: int, steps: np.ndarray | None) -> None:
        self.first, self.stride, self.count, self.steps = first, stride, count, steps

    @classmethod
    def of(cls, steps: np.ndarray) -> "KeptSteps":
        n = len(steps)
        if n > 1:
            first, stride = float(steps[0]), float(steps[1] - steps[0])
            # Compared point by point: only steps that this formula gives back exactly are not kept.
            if stride > 0 and np.array_equal(steps, first + stride * np.arange(n, dtype=np.float64)):
                return cls(first, stride, n, None)
        return cls(0.0, 0.0, n, steps)

    def array(self) -> np.ndarray:
        if self.steps is not None:
            return self.steps
        return self.first + self.stride * np.arange(self.count, dtype=np.float64)

    def take(self, index: np.ndarray) -> np.ndarray:
        """The steps at ``index`` (without making the whole array)."""
        if self.steps is not None:
            return self.steps[index]
        return self.first + self.stride * np.asarray(index, dtype=np.float64)

    def extended(self, steps: np.ndarray) -> "KeptSteps":
        """These steps followed by ``steps``: still two numbers when they go on by the stride (a look at
        the new steps only)."""
        if self.steps is None and len(steps):
            following = self.first + self.stride * np.arange(self.count, self.count + len(steps), dtype=np.float64)
            if np.array_equal(steps, following):
                return KeptSteps(self.first, self.stride, self.count + len(steps), None)
        return KeptSteps.of(np.concatenate([self.array(), steps]))

    def last(self) -> float:
        return float(self.take(np.array([self.count - 1]))[0])

    @property
    def nbytes(self) -> int:
        return 0 if self.steps is None else self.steps.nbytes
