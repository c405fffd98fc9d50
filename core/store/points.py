"""Packing LINE points into compact chunk buffers, and downsampling series for display.

Steps, times and epochs are delta-encoded integers compressed in zlib's format (an x-axis that
counts up by one compresses to almost nothing); values are raw float64 so NaN and +-inf survive bit
for bit. Steps that are not all whole numbers fall back to raw float64.

The deflate is ISA-L's (``isal``): the same zlib streams, written 3 to 4 times and read twice as
fast as by zlib (a chunk's 4,096 times: 342 us to write with zlib, 98 with ISA-L). Every append
rewrites its series' partly filled last chunk, and every chart read inflates steps.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from isal import isal_zlib

CHUNK_POINTS = 4096
NO_EPOCH = np.iinfo(np.int64).min  # epochs are optional per point


@dataclass
class Points:
    """Points of one series as parallel arrays (times in seconds, epochs NO_EPOCH when absent)."""

    steps: np.ndarray
    values: np.ndarray
    times: np.ndarray
    epochs: np.ndarray

    def __len__(self) -> int:
        return len(self.values)

    @classmethod
    def empty(cls) -> "Points":
        return cls(np.empty(0), np.empty(0), np.empty(0), np.empty(0, dtype=np.int64))

    @classmethod
    def concat(cls, parts: list["Points"]) -> "Points":
        if not parts:
            return cls.empty()
        if len(parts) == 1:
            return parts[0]
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("steps", "values", "times", "epochs")))

    def slice(self, start: int, stop: int) -> "Points":
        return Points(self.steps[start:stop], self.values[start:stop], self.times[start:stop], self.epochs[start:stop])

    def take(self, index: np.ndarray) -> "Points":
        return Points(self.steps[index], self.values[index], self.times[index], self.epochs[index])

    def has_epochs(self) -> bool:
        return bool(len(self.epochs)) and bool((self.epochs != NO_EPOCH).any())


def _pack_ints(array: np.ndarray) -> bytes:
    deltas = np.diff(array.astype(np.int64), prepend=np.int64(0))
    return isal_zlib.compress(deltas.tobytes(), 1)


def _unpack_ints(blob: bytes) -> np.ndarray:
    return np.cumsum(np.frombuffer(isal_zlib.decompress(blob), dtype=np.int64))


def encode(points: Points) -> dict:
    """Column values of one chunk row."""
    steps = points.steps
    integral = bool(np.all(steps == np.round(steps)))
    step_data = b"i" + _pack_ints(steps) if integral else b"f" + steps.astype(np.float64).tobytes()
    micros = np.round(points.times * 1e6).astype(np.int64)
    has_epochs = points.has_epochs()
    return {
        "count": len(points),
        "step_min": float(steps.min()),
        "step_max": float(steps.max()),
        "step_data": step_data,
        "value_data": points.values.astype(np.float64).tobytes(),
        "time_data": _pack_ints(micros),
        "epoch_data": _pack_ints(points.epochs) if has_epochs else None,
    }


def decode(row, with_times: bool = True) -> Points:
    """Points of one chunk row (anything with the chunk columns as attributes)."""
    step_data = bytes(row.step_data)
    if step_data[:1] == b"i":
        steps = _unpack_ints(step_data[1:]).astype(np.float64)
    else:
        steps = np.frombuffer(step_data[1:], dtype=np.float64)
    values = np.frombuffer(bytes(row.value_data), dtype=np.float64)
    n = len(values)
    times = _unpack_ints(bytes(row.time_data)) / 1e6 if with_times else np.zeros(n)
    epochs = _unpack_ints(bytes(row.epoch_data)) if row.epoch_data is not None else np.full(n, NO_EPOCH, dtype=np.int64)
    return Points(steps, values, times, epochs)


def decode_many(rows: list, with_times: bool = True) -> Points:
    """The points of consecutive chunk rows of one series, as one set of arrays.

    The same as concatenating ``decode`` of each row, but each chunk is decoded straight into
    its place in the result (a million points are some 250 chunks: no per-chunk arrays to join).
    Whole steps and times are summed from their deltas in float64, which is exact: every partial
    sum is a stored step or time, a whole number within +-2**53. Without times, the times and
    epochs are left empty (the rows need no time or epoch columns): what a chart needs.
    """
    n = sum(row.count for row in rows)
    steps, values = np.empty(n), np.empty(n)
    times = np.empty(n if with_times else 0)
    epochs = None
    start = 0
    for row in rows:
        where = slice(start, start + row.count)
        step_data = memoryview(row.step_data)
        if step_data[:1] == b"i":
            np.cumsum(np.frombuffer(isal_zlib.decompress(step_data[1:]), dtype=np.int64), dtype=np.float64, out=steps[where])
        else:
            steps[where] = np.frombuffer(step_data[1:], dtype=np.float64)
        values[where] = np.frombuffer(row.value_data, dtype=np.float64)
        if with_times:
            np.cumsum(np.frombuffer(isal_zlib.decompress(row.time_data), dtype=np.int64), dtype=np.float64, out=times[where])
            if row.epoch_data is not None:
                if epochs is None:
                    epochs = np.full(n, NO_EPOCH, dtype=np.int64)
                epochs[where] = _unpack_ints(bytes(row.epoch_data))
        start += row.count
    times /= 1e6
    if epochs is None:
        epochs = np.full(len(times), NO_EPOCH, dtype=np.int64)
    return Points(steps, values, times, epochs)


def times_at(rows: list, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The times and epochs of the points at sorted series ``positions``, from the chunk rows
    ``(offset, time_data, epoch_data)`` that hold them (``offset``: the position of a chunk's
    first point), in position order.

    A delta-encoded column is a prefix sum: each chunk's deltas are summed, one chunk at a time
    (small arrays that stay in cache: no column of every point is made).
    """
    times = np.empty(len(positions))
    epochs = np.full(len(positions), NO_EPOCH, dtype=np.int64)
    starts = np.searchsorted(positions, np.fromiter((row[0] for row in rows), np.int64, len(rows)))
    stops = np.append(starts[1:], len(positions))
    time_sums, epoch_sums = _RunningSums(), _RunningSums()
    for (offset, time_data, epoch_data), start, stop in zip(rows, starts.tolist(), stops.tolist()):
        if stop > start:
            chosen = slice(start, stop)
            local = positions[chosen] - offset
            times[chosen] = time_sums.of(time_data)[local]
            if epoch_data is not None:
                epochs[chosen] = epoch_sums.of(epoch_data)[local]
    times /= 1e6
    return times, epochs


class _RunningSums:
    """The running sums of a delta-encoded column, chunk after chunk. A chunk whose bytes are the
    previous chunk's is not inflated again: the points of one call share their time, so a call of
    a hundred thousand points writes some twenty chunks with the same time column."""

    def __init__(self) -> None:
        self.data: bytes | None = None
        self.sums = np.empty(0, dtype=np.int64)

    def of(self, data: bytes) -> np.ndarray:
        if data != self.data:
            self.data, self.sums = data, np.cumsum(np.frombuffer(isal_zlib.decompress(data), dtype=np.int64))
        return self.sums


def run_size(points: int, buckets: int) -> int:
    """Points per bucket: the smallest power of two that cuts ``points`` into at most ``buckets`` runs.

    A power of two, and runs aligned on the first point: a run's bounds do not move while a live
    series grows (until it doubles), so a poll's chart does not shift under the viewer, what was
    computed of a series' leading chunks stays valid (``charts``), and the runs of a longer series
    are whole numbers of the chunk summaries' blocks (``summaries.bucket_size``).

    >>> run_size(12, 2), run_size(64_000, 1_000), run_size(64_001, 1_000)
    (8, 64, 128)
    """
    size = 1
    while -(-points // size) > buckets:
        size *= 2
    return size


def downsample_index(values: np.ndarray, buckets: int) -> np.ndarray:
    """Indices to keep so a chart of ``buckets`` columns looks like the full series.

    Points are split into runs of ``run_size`` points, at most ``buckets`` of them; each run keeps
    its first, last, lowest and highest point (NaN never wins min or max, but still shows as first
    or last). At most four points a bucket: a short series is kept whole.

    >>> downsample_index(np.array([0., 5, 1, 2, 9, 3, 4, 8, 7, 6, 2, 1]), 2).tolist()
    [0, 4, 7, 8, 11]
    """
    n = len(values)
    if buckets <= 0 or n <= 4 * buckets:
        return np.arange(n)
    return run_extremes(values, run_size(n, buckets))


def run_extremes(values: np.ndarray, size: int) -> np.ndarray:
    """The sorted indices of the first, last, lowest and highest value of each run of ``size``
    values from the first one (the last run may be shorter), each index once."""
    n = len(values)
    whole = n // size  # runs of exactly ``size`` points; a shorter last run is done apart
    runs = values[: whole * size].reshape(whole, size)
    offsets = np.arange(whole) * size
    if np.isnan(runs).any():  # rare: NaN must not win, so it is masked (a copy of the values)
        low = np.where(np.isnan(runs), np.inf, runs).argmin(axis=1)
        high = np.where(np.isnan(runs), -np.inf, runs).argmax(axis=1)
    else:
        low, high = runs.argmin(axis=1), runs.argmax(axis=1)
    rows = np.stack([offsets, offsets + size - 1, low + offsets, high + offsets], axis=1)
    if whole * size < n:
        start = whole * size
        rows = np.vstack([rows, [start, n - 1, start + _nan_arg(values[start:], np.inf, np.argmin),
                                 start + _nan_arg(values[start:], -np.inf, np.argmax)]])
    # Runs are disjoint and in order: each run's four indices sorted make the whole sorted, and
    # a repeat (a first point that is also the lowest) can only be next to its twin.
    rows.sort(axis=1)
    index = rows.ravel()
    fresh = np.ones(len(index), dtype=bool)
    fresh[1:] = index[1:] != index[:-1]
    return index[fresh]


def _nan_arg(values: np.ndarray, fill: float, arg) -> int:
    return int(arg(np.where(np.isnan(values), fill, values)))
