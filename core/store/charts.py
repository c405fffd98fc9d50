"""A LINE log read for a chart of ``buckets`` columns: each series' first, last, lowest and highest
point of every bucket. What ``Store.downsampled`` returns and what the dashboard draws.

Buckets are runs of a power of two points (``points.run_size``), at most ``buckets`` of them. A series
with at most ``BLOCK * buckets`` points in range is read from its points (``downsample_index``). A
longer one is read from its chunks' block summaries (``summaries``): its runs are then a power of two
times ``BLOCK`` positions, and only the chunks without a usable summary (cut by the step range, or
written before 0004) are decoded. A poll of a long, growing series reads a few kilobytes per chunk
instead of its points.

A whole series' leading full chunks never change while it keeps its lineage, and runs never straddle
a chunk (a run is at most ``BLOCK`` points on the points' path, a divisor of ``CHUNK_POINTS``): what
a read found of them (their points, their runs' extremes, their block summaries) is kept, and the
next poll computes only what came after.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from . import schema as t
from .kept import KeptChunks, KeptSteps
from .points import CHUNK_POINTS, Points, decode, decode_many, downsample_index, run_extremes, run_size, times_at
from .summaries import (BLOCK, Blocks, Shown, bucket_points, bucket_size, decode_each, decode_summaries, in_order, summarise,
                        usable_summary)


@dataclass
class Chart:
    """One series of a chart: what it shows (``shown``), and the times and epochs of the shown
    points when they were asked for (else None)."""

    name: str
    total: int  # points in the whole series
    shown: Shown
    times: np.ndarray | None = None
    epochs: np.ndarray | None = None


def keep_points(steps: np.ndarray, values: np.ndarray, buckets: int, positions: np.ndarray | None = None) -> Shown:
    """What a chart of ``buckets`` columns shows of these points (``downsample_index``); ``positions``
    are theirs in the series (default: 0, 1, ...)."""
    index = downsample_index(values, buckets)
    return Shown(index if positions is None else positions[index], steps[index], values[index], len(values),
                 _nan_count(values), _inf_count(values), float(steps[-1]) if len(steps) else None,
                 float(values[-1]) if len(values) else None, bool(len(index) < len(values)))


def read_charts(conn: sa.Connection, log_id: str, step_min: float | None, step_max: float | None, buckets: int,
                with_times: bool = False, kept: KeptChunks | None = None) -> list[Chart]:
    """Each series of a LINE log (in order) as a chart of ``buckets`` columns, within the step range;
    ``with_times``: with the times and epochs of the shown points (decoded for those points only).
    A read of whole series takes what ``kept`` holds of their full chunks, and keeps there what it decodes."""
    series_rows = conn.execute(
        sa.select(t.series.c.id, t.series.c.name, t.series.c.count, t.series.c.lineage)
        .where(t.series.c.log_id == log_id).order_by(t.series.c.position)
    ).all()
    if step_min is None and step_max is None:
        return _whole_charts(conn, series_rows, buckets, with_times, kept)
    return _ranged_charts(conn, series_rows, step_min, step_max, buckets, with_times)


# -- whole series: a kept prefix of full chunks, and what came after it ------------------------

@dataclass
class _Runs:
    """The extremes of a prefix's runs of ``size`` points: their positions, steps and values."""

    size: int
    positions: np.ndarray
    steps: np.ndarray
    values: np.ndarray

    def nbytes(self) -> int:
        return self.positions.nbytes + self.steps.nbytes + self.values.nbytes


@dataclass
class _Prefix:
    """What is kept of a series' leading full chunks: their (seq, offset) pairs, and their points'
    steps, values (an array per chunk: growing the prefix copies nothing), non-finite counts and the
    extremes of their runs of one size (a chart read from points), or their block summaries (from
    summaries)."""

    chunks: list[tuple[int, int]]
    points: int
    steps: KeptSteps | None = None
    values: list[np.ndarray] | None = None
    nan: int = 0
    inf: int = 0
    runs: _Runs | None = None
    blocks: Blocks | None = None

    def nbytes(self) -> int:
        parts = (self.steps.nbytes if self.steps is not None else 0, sum(v.nbytes for v in self.values or ()),
                 self.runs.nbytes() if self.runs is not None else 0, self.blocks.nbytes() if self.blocks is not None else 0)
        return sum(parts) + 16 * len(self.chunks)

    def runs_of(self, size: int) -> _Runs:
        """The extremes of this prefix's runs of ``size`` points (a pass over its points once per size)."""
        if self.values is None:
            empty = np.empty(0)
            return _Runs(size, np.empty(0, dtype=np.int64), empty, empty)
        if self.runs is None or self.runs.size != size:
            values = np.concatenate(self.values)
            index = run_extremes(values, size)
            self.runs = _Runs(size, index, self.steps.take(index), values[index])
        return self.runs

    def all_points(self) -> tuple[np.ndarray, np.ndarray]:
        """Every step and value of the prefix, as arrays."""
        if self.values is None:
            return np.empty(0), np.empty(0)
        return self.steps.array(), np.concatenate(self.values)


_EMPTY = _Prefix([], 0)


def _whole_charts(conn: sa.Connection, series_rows: list, buckets: int, with_times: bool,
                  kept: KeptChunks | None) -> list[Chart]:
    """Charts of whole series. A series of more than ``BLOCK * buckets`` points is read from its
    block summaries, a shorter one from its points; either way only the chunks after its kept prefix
    are read (all of them the first time), and the prefix grows by the chunks found full."""
    plans = []
    for row in series_rows:
        by_blocks = row.count > BLOCK * buckets
        key = None if kept is None or row.lineage is None else ("blocks" if by_blocks else "points", row.id, row.lineage)
        plans.append((row, by_blocks, key, (kept.get(key) if key is not None else None) or _EMPTY))
    c = t.chunks.c
    tails: dict[int, list] = {}
    for by_blocks, columns in ((False, (c.step_data, c.value_data)), (True, (c.summary,))):
        after = [(row.id, prefix.chunks[-1][0] + 1 if prefix.chunks else None) for row, b, _, prefix in plans if b == by_blocks]
        for part in _rows_after(conn, after, columns):
            tails.setdefault(part.series_id, []).append(part)
    out = []
    for row, by_blocks, key, prefix in plans:
        rows = tails.get(row.id, [])
        offsets = (prefix.points + np.cumsum([0] + [r.count for r in rows[:-1]])).tolist()
        full = 0  # the leading rows that are full chunks: they join the kept prefix
        while full < len(rows) and rows[full].count >= CHUNK_POINTS:
            full += 1
        grown = None
        if full and key is not None:
            grown = _Prefix(prefix.chunks + [(r.seq, offset) for r, offset in zip(rows[:full], offsets)],
                            prefix.points + sum(r.count for r in rows[:full]))
        if by_blocks:
            blocks = Blocks.concat([prefix.blocks or Blocks.concat([]), *_tail_blocks(conn, row.id, rows, offsets)])
            shown = bucket_points(blocks, bucket_size(int(blocks.count.sum()), buckets))
            if grown is not None:
                grown.blocks = blocks.take(slice(0, int(np.searchsorted(blocks.start, grown.points)))).copy()
        else:
            runs = prefix.runs
            shown = _shown_after(prefix, decode_many(rows, with_times=False), buckets, grown)
            if grown is None and prefix.runs is not runs and key is not None:
                kept.keep(key, prefix, prefix.nbytes())  # with its runs' extremes: counted again
        if grown is not None:
            kept.keep(key, grown, grown.nbytes())
        chart = Chart(row.name, int(row.count), shown)
        if with_times:
            chunks = prefix.chunks + [(r.seq, offset) for r, offset in zip(rows, offsets)]
            chart.times, chart.epochs = _times_at(conn, row.id, chunks, shown.positions)
        out.append(chart)
    return out


def _shown_after(prefix: _Prefix, tail: Points, buckets: int, grown: _Prefix | None) -> Shown:
    """What a chart shows of a series read from its points: the kept ``prefix`` and the ``tail`` of
    points after it. Only the tail is looked at point by point (the prefix's run extremes and
    non-finite counts are kept with it); ``grown``, the prefix the leading full chunks of the tail
    extend, gets its points, counts and run extremes here."""
    head = prefix.points
    n = head + len(tail)
    if grown is not None:
        joined = grown.points - head
        new_steps, new_values = tail.steps[:joined].copy(), tail.values[:joined].copy()
        grown.steps = prefix.steps.extended(new_steps) if prefix.steps is not None else KeptSteps.of(new_steps)
        grown.values = [*(prefix.values or ()), new_values]
        grown.nan, grown.inf = prefix.nan + _nan_count(new_values), prefix.inf + _inf_count(new_values)
    size = run_size(n, buckets)  # at most BLOCK here: a divisor of a prefix of full chunks
    if n <= 4 * buckets or head % size:  # kept whole (nothing to leave out), or chunks of another size
        steps, values = prefix.all_points()
        return keep_points(np.concatenate([steps, tail.steps]), np.concatenate([values, tail.values]), buckets)
    inside = prefix.runs_of(size)
    after = run_extremes(tail.values, size) if len(tail) else np.empty(0, dtype=np.int64)
    if grown is not None:
        into = after[after < grown.points - head]  # runs never straddle a chunk: these lie in the grown prefix
        grown.runs = _Runs(size, np.concatenate([inside.positions, head + into]),
                           np.concatenate([inside.steps, tail.steps[into]]), np.concatenate([inside.values, tail.values[into]]))
    positions = np.concatenate([inside.positions, head + after])
    nan, inf = prefix.nan + _nan_count(tail.values), prefix.inf + _inf_count(tail.values)
    last_step = float(tail.steps[-1]) if len(tail) else prefix.steps.last()
    last_value = float(tail.values[-1]) if len(tail) else float(prefix.values[-1][-1])
    return Shown(positions, np.concatenate([inside.steps, tail.steps[after]]), np.concatenate([inside.values, tail.values[after]]),
                 n, nan, inf, last_step, last_value, bool(len(positions) < n))


def _nan_count(values: np.ndarray) -> int:
    return int(np.isnan(values).sum())


def _inf_count(values: np.ndarray) -> int:
    return int(np.isinf(values).sum())


def _rows_after(conn: sa.Connection, after: list[tuple[int, int | None]], columns: tuple) -> list:
    """The chunk rows (series_id, seq, count and ``columns``) of each (series, first seq) pair, from
    that seq on (None: all of them), in series and seq order."""
    c = t.chunks.c
    out = []
    for start in range(0, len(after), _SERIES_PER_STATEMENT):
        part = after[start:start + _SERIES_PER_STATEMENT]
        every = [series_id for series_id, seq in part if seq is None]
        where = [c.series_id.in_(every)] if every else []
        where += [sa.and_(c.series_id == series_id, c.seq >= seq) for series_id, seq in part if seq is not None]
        query = sa.select(c.series_id, c.seq, c.count, *columns).where(sa.or_(*where)).order_by(c.series_id, c.seq)
        out += conn.execute(query).all()
    return out


_SERIES_PER_STATEMENT = 400  # (series, seq) conditions per statement, well under SQLite's bound-parameter limit


def _tail_blocks(conn: sa.Connection, series_id: int, rows: list, offsets: list[int]) -> list[Blocks]:
    """Block summaries of these chunk rows (with ``summary``): the stored ones decoded, the others
    computed from the chunks' points."""
    stored = [i for i, (row, offset) in enumerate(zip(rows, offsets)) if usable_summary(row.summary, offset)]
    parts: list = [None] * len(rows)
    for i, blocks in zip(stored, decode_each([(rows[i].summary, offsets[i]) for i in stored])):
        parts[i] = blocks
    missing = [i for i, part in enumerate(parts) if part is None]
    if missing:
        c = t.chunks.c
        seqs = [rows[i].seq for i in missing]
        query = sa.select(c.seq, c.count, c.step_data, c.value_data).where(
            c.series_id == series_id, c.seq >= seqs[0], c.seq <= seqs[-1])
        by_seq = {row.seq: row for row in conn.execute(query)}
        for i in missing:
            points = decode_many([by_seq[rows[i].seq]], with_times=False)
            parts[i] = summarise(offsets[i] + np.arange(len(points)), points.steps, points.values)
    return parts


# -- a step range: every chunk's bounds, then the chunks in range -------------------------------

def _ranged_charts(conn: sa.Connection, series_rows: list, step_min: float | None, step_max: float | None,
                   buckets: int, with_times: bool) -> list[Chart]:
    c = t.chunks.c
    low = -math.inf if step_min is None else step_min
    high = math.inf if step_max is None else step_max
    # One read of every chunk's bounds, and of the summaries of the chunks wholly in range.
    summary = sa.case((sa.and_(c.step_min >= low, c.step_max <= high), c.summary), else_=sa.null())
    chunk_query = (sa.select(c.series_id, c.seq, c.count, c.step_min, c.step_max, summary.label("summary"))
                   .where(c.series_id.in_([row.id for row in series_rows])).order_by(c.series_id, c.seq))
    chunks_of: dict[int, list] = {}
    for row in conn.execute(chunk_query):
        chunks_of.setdefault(row.series_id, []).append(row)
    out = []
    for series_id, name, count, _ in series_rows:
        chunks = chunks_of.get(series_id, [])
        offsets = np.cumsum([0] + [chunk.count for chunk in chunks[:-1]]).tolist()
        chosen = [(chunk, offset) for chunk, offset in zip(chunks, offsets)
                  if chunk.step_max >= low and chunk.step_min <= high]
        shown = None
        if sum(chunk.count for chunk, _ in chosen) > BLOCK * buckets:
            blocks = _blocks(conn, series_id, chosen, low, high)
            points = int(blocks.count.sum())
            if points > BLOCK * buckets:  # else a range that cuts into many chunks (steps not in order)
                shown = bucket_points(blocks, bucket_size(points, buckets))
        if shown is None:
            steps, values, positions = _points_of(conn, series_id, chosen, low, high)
            shown = keep_points(steps, values, buckets, positions)
        chart = Chart(name, int(count), shown)
        if with_times:
            chart.times, chart.epochs = _times_at(conn, series_id, [(chunk.seq, offset) for chunk, offset in chosen],
                                                  shown.positions)
        out.append(chart)
    return out


def _points_of(conn: sa.Connection, series_id: int, chosen: list, low: float, high: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps, values and positions of the points within [low, high] of the chosen (chunk row, offset) pairs."""
    if not chosen:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    c = t.chunks.c
    # Chunks carry their step bounds, so a zoomed read skips whole chunks in SQL.
    query = sa.select(c.seq, c.count, c.step_data, c.value_data).where(c.series_id == series_id)
    if low > -math.inf:
        query = query.where(c.step_max >= low)
    if high < math.inf:
        query = query.where(c.step_min <= high)
    offset_of = {chunk.seq: offset for chunk, offset in chosen}
    rows = [row for row in conn.execute(query.order_by(c.seq)) if row.seq in offset_of]
    points = decode_many(rows, with_times=False)
    positions = np.concatenate([offset_of[row.seq] + np.arange(row.count) for row in rows])
    keep = (points.steps >= low) & (points.steps <= high)
    if keep.all():
        return points.steps, points.values, positions
    return points.steps[keep], points.values[keep], positions[keep]


def _blocks(conn: sa.Connection, series_id: int, chosen: list, low: float, high: float) -> Blocks:
    """Block summaries of the points within [low, high] of the chosen (chunk row, offset) pairs:
    the stored ones of chunks wholly in range, computed from the points for the others."""
    usable, missing = [], []
    for chunk, offset in chosen:
        inside = chunk.step_min >= low and chunk.step_max <= high
        if inside and usable_summary(chunk.summary, offset):
            usable.append((chunk.summary, offset))
        else:
            missing.append((chunk.seq, offset))
    parts = [decode_summaries(usable)] if usable else []
    if missing:
        c = t.chunks.c
        rows = conn.execute(sa.select(c.seq, c.step_data, c.value_data, sa.null().label("epoch_data")).where(
            c.series_id == series_id, c.seq.in_([seq for seq, _ in missing]))).all()
        by_seq = {row.seq: row for row in rows}
        for seq, offset in missing:
            points = decode(by_seq[seq], with_times=False)
            keep = np.flatnonzero((points.steps >= low) & (points.steps <= high))
            parts.append(summarise(offset + keep, points.steps[keep], points.values[keep]))
    return in_order(parts)


def _times_at(conn: sa.Connection, series_id: int, chunks: list[tuple[int, int]], positions: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Times and epochs of the points at sorted ``positions``, read from the chunks (seq, offset of
    its first point) holding them."""
    if not len(positions):
        return np.empty(0), np.empty(0, dtype=np.int64)
    starts = np.array([offset for _, offset in chunks], dtype=np.int64)
    holding = np.unique(np.searchsorted(starts, positions, side="right") - 1)  # indices into ``chunks``
    first, last = chunks[holding[0]][0], chunks[holding[-1]][0]
    c = t.chunks.c
    # A range of seqs rather than an IN list: one bound per end, whatever the series' length.
    query = (sa.select(c.seq, c.time_data, c.epoch_data)
             .where(c.series_id == series_id, c.seq >= first, c.seq <= last).order_by(c.seq))
    offset_of = {chunks[i][0]: int(starts[i]) for i in holding.tolist()}
    rows = [(offset_of[row.seq], row.time_data, row.epoch_data) for row in conn.execute(query) if row.seq in offset_of]
    return times_at(rows, positions)
