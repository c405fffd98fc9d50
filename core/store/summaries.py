"""Per-chunk block summaries: a long LINE series downsampled for display without decoding its points.

Every chunk row carries, in ``chunks.summary``, its points cut into blocks of ``BLOCK`` consecutive
points, each block kept as its first, last, lowest and highest point (step and value, and where the
lowest and highest are) with its count of points, of NaN and of infinite values. A chart of a long
series then reads a few kilobytes per chunk instead of its points: ``bucket_points`` joins blocks
into buckets of a power of two times ``BLOCK`` positions, aligned on the series' positions, and
keeps each bucket's first, last, lowest and highest point, which are among its blocks'.

Chunks written before the column existed (``summary`` NULL), chunks cut by a zoomed step range and
chunks that do not start on a block boundary are decoded and summarised on the fly by ``summarise``,
so the answer does not depend on which chunks had a summary.

As in ``downsample_index``, NaN never wins lowest or highest (a bucket of NaN only keeps its first
point there), and ties go to the first point.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .points import Points, encode, run_size

BLOCK = 64  # points per block; CHUNK_POINTS is a multiple, so full chunks start on a block boundary
_FORMAT = b"S" + bytes([BLOCK.bit_length() - 1])  # format tag and log2(BLOCK): a change reads as "no summary"
_FLOATS = ("first_step", "first_value", "last_step", "last_value", "low_step", "low_value", "high_step", "high_value")
_INTS = ("count", "nan", "inf", "low_at", "high_at")  # stored as uint16, positions within the chunk
_FIELDS = ("start", "end", "low_at", "high_at", "count", "nan", "inf")  # Blocks' arrays after ``floats``


@dataclass
class Blocks:
    """Block summaries as parallel arrays: ``floats`` rows are ``_FLOATS``; positions are the series'."""

    floats: np.ndarray  # (8, blocks) float64
    start: np.ndarray  # position of each block's first point
    end: np.ndarray  # position of its last point
    low_at: np.ndarray
    high_at: np.ndarray
    count: np.ndarray
    nan: np.ndarray
    inf: np.ndarray

    def __len__(self) -> int:
        return self.floats.shape[1]

    def nbytes(self) -> int:
        return self.floats.nbytes + sum(getattr(self, f).nbytes for f in _FIELDS)

    def copy(self) -> "Blocks":
        """Blocks that own their arrays (not views into a larger decoded group)."""
        return Blocks(self.floats.copy(), *(getattr(self, f).copy() for f in _FIELDS))

    def column(self, name: str) -> np.ndarray:
        return self.floats[_FLOATS.index(name)]

    def take(self, index: np.ndarray) -> "Blocks":
        return Blocks(self.floats[:, index], *(getattr(self, f)[index] for f in _FIELDS))

    @classmethod
    def concat(cls, parts: list["Blocks"]) -> "Blocks":
        if len(parts) == 1:
            return parts[0]
        if not parts:
            return cls(np.empty((len(_FLOATS), 0)), *(np.empty(0, dtype=np.int64) for _ in _FIELDS))
        return cls(np.concatenate([p.floats for p in parts], axis=1),
                   *(np.concatenate([getattr(p, f) for p in parts]) for f in _FIELDS))


def _first_minimum(keys: np.ndarray, group_starts: np.ndarray) -> np.ndarray:
    """The index of the first smallest key in each group (groups are runs starting at ``group_starts``)."""
    lows = np.minimum.reduceat(keys, group_starts)
    group = np.repeat(np.arange(len(group_starts)), np.diff(np.append(group_starts, len(keys))))
    hits = np.flatnonzero(keys == lows[group])
    first = np.ones(len(hits), dtype=bool)
    first[1:] = group[hits[1:]] != group[hits[:-1]]
    return hits[first]


def _low_keys(values: np.ndarray) -> np.ndarray:
    return np.where(np.isnan(values), np.inf, values)


def _high_keys(values: np.ndarray) -> np.ndarray:
    return -np.where(np.isnan(values), -np.inf, values)  # the first highest is the first lowest of these


def _extremes(values: np.ndarray, starts: np.ndarray, regular: bool) -> tuple[np.ndarray, np.ndarray]:
    """Indices of each group's first lowest and first highest value; ``regular``: the groups are
    every ``BLOCK`` points from the first (a stored chunk), done as one argmin over a reshape."""
    n = len(values)
    if regular:
        whole = (n // BLOCK) * BLOCK
        runs, offsets = values[:whole].reshape(-1, BLOCK), np.arange(0, whole, BLOCK)
        nan = np.isnan(runs)
        if nan.any():
            low, high = np.where(nan, np.inf, runs).argmin(axis=1), np.where(nan, -np.inf, runs).argmax(axis=1)
        else:
            low, high = runs.argmin(axis=1), runs.argmax(axis=1)
        low, high = low + offsets, high + offsets
        if whole < n:
            rest = values[whole:]
            low = np.append(low, whole + int(np.argmin(_low_keys(rest))))
            high = np.append(high, whole + int(np.argmin(_high_keys(rest))))
        return low, high
    return _first_minimum(_low_keys(values), starts), _first_minimum(_high_keys(values), starts)


def summarise(positions: np.ndarray, steps: np.ndarray, values: np.ndarray) -> Blocks:
    """Block summaries of points at increasing ``positions``: a block holds the points whose
    positions share ``position // BLOCK``."""
    if not len(values):
        return Blocks.concat([])
    regular = not positions[0] % BLOCK and positions[-1] - positions[0] == len(positions) - 1
    if regular:
        starts = np.arange(0, len(values), BLOCK)
    else:
        block = positions // BLOCK
        starts = np.flatnonzero(np.concatenate([[True], block[1:] != block[:-1]]))
    ends = np.append(starts[1:], len(values)) - 1
    low, high = _extremes(values, starts, regular)
    floats = np.empty((len(_FLOATS), len(starts)))
    for row, at in enumerate((starts, ends, low, high)):
        floats[2 * row], floats[2 * row + 1] = steps[at], values[at]
    nan, inf = np.isnan(values), np.isinf(values)
    zeros = np.zeros(len(starts), dtype=np.int64)
    return Blocks(floats, positions[starts], positions[ends], positions[low], positions[high], ends - starts + 1,
                  np.add.reduceat(nan, starts) if nan.any() else zeros,
                  np.add.reduceat(inf, starts) if inf.any() else zeros)


def encode_summary(steps: np.ndarray, values: np.ndarray) -> bytes:
    """The ``chunks.summary`` bytes of one chunk's points (positions counted from the chunk's first)."""
    blocks = summarise(np.arange(len(values)), steps, values)
    ints = np.stack([getattr(blocks, name) for name in _INTS]).astype("<u2")
    return _FORMAT + np.uint32(len(blocks)).tobytes() + blocks.floats.astype("<f8").tobytes() + ints.tobytes()


def encode_chunk(points: Points) -> dict:
    """Column values of one chunk row, its summary included (``points.encode`` and ``encode_summary``;
    none past 65,535 points, which its uint16 positions cannot hold: such a chunk is decoded)."""
    summary = encode_summary(points.steps, points.values) if len(points) <= 0xFFFF else None
    return {**encode(points), "summary": summary}


def usable_summary(summary: bytes | memoryview | None, offset: int) -> bool:
    """Whether a stored summary can stand for its chunk's points: not NULL, this format, and the
    chunk starts on a block boundary (``offset``: its first point's position in the series), so its
    blocks line up with the series'."""
    return summary is not None and not offset % BLOCK and bytes(summary[:2]) == _FORMAT


def decode_summaries(summaries: list[tuple[bytes, int]]) -> Blocks:
    """The blocks of usable stored summaries, each with the position of its chunk's first point,
    with positions moved to the series', in position order (``decode_each``, joined)."""
    return in_order(decode_each(summaries))


def decode_each(summaries: list[tuple[bytes, int]]) -> list[Blocks]:
    """The blocks of each usable stored summary (``(summary, offset of its chunk's first point)``),
    in the order given, positions in the series'. Summaries of one length (every full chunk's) are
    decoded together as one array."""
    out: list[Blocks] = [Blocks.concat([])] * len(summaries)
    by_length: dict[int, list[int]] = {}
    for i, (summary, _) in enumerate(summaries):
        by_length.setdefault(len(summary), []).append(i)
    for length, indices in by_length.items():
        chunks = len(indices)
        count = (length - 6) // (8 * len(_FLOATS) + 2 * len(_INTS))  # blocks per chunk
        raw = np.frombuffer(b"".join(bytes(summaries[i][0]) for i in indices), dtype=np.uint8).reshape(chunks, length)
        split = 6 + 8 * len(_FLOATS) * count
        floats = raw[:, 6:split].copy().view("<f8").reshape(chunks, len(_FLOATS), count)
        ints = raw[:, split:].copy().view("<u2").reshape(chunks, len(_INTS), count).astype(np.int64)
        offsets = np.array([summaries[i][1] for i in indices], dtype=np.int64)[:, None]
        counts = ints[:, 0]
        start = offsets + np.cumsum(counts, axis=1) - counts
        fields = (start, start + counts - 1, ints[:, 3] + offsets, ints[:, 4] + offsets, counts, ints[:, 1], ints[:, 2])
        for row, i in enumerate(indices):
            out[i] = Blocks(floats[row], *(field[row] for field in fields))
    return out


def in_order(parts: list[Blocks]) -> Blocks:
    """Blocks of disjoint position ranges, joined in position order."""
    blocks = Blocks.concat(parts)
    if len(parts) > 1 and (np.diff(blocks.start) < 0).any():
        blocks = blocks.take(np.argsort(blocks.start, kind="stable"))
    return blocks


def decode_summary(summary: bytes | memoryview | None, offset: int) -> Blocks | None:
    """The blocks of one chunk's stored summary (see ``decode_summaries``), or None when it is not usable."""
    return decode_summaries([(summary, offset)]) if usable_summary(summary, offset) else None


@dataclass
class Shown:
    """What a chart shows of one series: the kept points (and their positions in the series), and
    counts over every point in range."""

    positions: np.ndarray
    steps: np.ndarray
    values: np.ndarray
    in_range: int
    nan: int
    inf: int
    last_step: float | None
    last_value: float | None
    downsampled: bool  # some point in range is not shown


def bucket_size(points: int, buckets: int) -> int:
    """Positions per bucket: ``points.run_size``, and at least a ``BLOCK`` (a block lies in one bucket)."""
    return max(BLOCK, run_size(points, buckets))


def bucket_points(blocks: Blocks, size: int) -> Shown:
    """First, last, lowest and highest point of each run of ``size`` positions (``size`` a multiple of
    ``BLOCK``, so each block lies in one bucket), in position order, each point once."""
    if not len(blocks):
        return Shown(np.empty(0, dtype=np.int64), np.empty(0), np.empty(0), 0, 0, 0, None, None, False)
    bucket = blocks.start // size
    starts = np.flatnonzero(np.concatenate([[True], bucket[1:] != bucket[:-1]]))
    ends = np.append(starts[1:], len(blocks)) - 1
    low = _first_minimum(_low_keys(blocks.column("low_value")), starts)
    high = _first_minimum(_high_keys(blocks.column("high_value")), starts)
    f = blocks.floats
    positions = np.concatenate([blocks.start[starts], blocks.end[ends], blocks.low_at[low], blocks.high_at[high]])
    steps = np.concatenate([f[0, starts], f[2, ends], f[4, low], f[6, high]])
    values = np.concatenate([f[1, starts], f[3, ends], f[5, low], f[7, high]])
    positions, keep = np.unique(positions, return_index=True)  # in position order, a point chosen twice once
    return Shown(positions, steps[keep], values[keep], int(blocks.count.sum()), int(blocks.nan.sum()),
                 int(blocks.inf.sum()), float(f[2, -1]), float(f[3, -1]), True)
