"""A LINE log read for a chart of ``buckets`` columns: each series' first, last, lowest and highest
point of every bucket. What ``Store.downsampled`` returns and what the dashboard draws.

A series with at most ``BLOCK * buckets`` points in range is read whole and cut into ``buckets`` runs
of equal length (``downsample_index``). A longer one is read from its chunks' block summaries
(``summaries``): buckets are then runs of a power of two times ``BLOCK`` positions, aligned on the
series' positions, at most ``buckets`` of them, and only the chunks without a usable summary (cut by
the step range, or written before 0004) are decoded. A poll of a long, growing series reads a few
kilobytes per chunk instead of its points.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import sqlalchemy as sa

from . import schema as t
from .points import decode, downsample_index, times_at
from .summaries import BLOCK, Blocks, Shown, bucket_points, bucket_size, decode_summaries, in_order, summarise, usable_summary


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
    nan = int(np.isnan(values).sum())
    return Shown(index if positions is None else positions[index], steps[index], values[index], len(values),
                 nan, int((~np.isfinite(values)).sum()) - nan, float(steps[-1]) if len(steps) else None,
                 float(values[-1]) if len(values) else None, bool(len(index) < len(values)))


def read_charts(conn: sa.Connection, log_id: str, step_min: float | None, step_max: float | None, buckets: int,
                with_times: bool = False) -> list[Chart]:
    """Each series of a LINE log (in order) as a chart of ``buckets`` columns, within the step range;
    ``with_times``: with the times and epochs of the shown points (decoded for those points only)."""
    c = t.chunks.c
    low = -math.inf if step_min is None else step_min
    high = math.inf if step_max is None else step_max
    # One read of every chunk's bounds, and of the summaries of the chunks wholly in range.
    summary = c.summary if step_min is None and step_max is None else \
        sa.case((sa.and_(c.step_min >= low, c.step_max <= high), c.summary), else_=sa.null())
    series_rows = conn.execute(
        sa.select(t.series.c.id, t.series.c.name, t.series.c.count)
        .where(t.series.c.log_id == log_id).order_by(t.series.c.position)
    ).all()
    chunk_query = (sa.select(c.series_id, c.seq, c.count, c.step_min, c.step_max, summary.label("summary"))
                   .where(c.series_id.in_([row.id for row in series_rows])).order_by(c.series_id, c.seq))
    chunks_of: dict[int, list] = {}
    for row in conn.execute(chunk_query):
        chunks_of.setdefault(row.series_id, []).append(row)
    out = []
    for series_id, name, count in series_rows:
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
            chart.times, chart.epochs = _times_at(conn, series_id, chosen, shown.positions)
        out.append(chart)
    return out


def _points_of(conn: sa.Connection, series_id: int, chosen: list, low: float, high: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Steps, values and positions of the points within [low, high] of the chosen (chunk row, offset) pairs."""
    if not chosen:
        return np.empty(0), np.empty(0), np.empty(0, dtype=np.int64)
    c = t.chunks.c
    query = sa.select(c.seq, c.step_data, c.value_data, sa.null().label("epoch_data")).where(c.series_id == series_id)
    # Chunks carry their step bounds, so a zoomed read skips whole chunks in SQL.
    if low > -math.inf:
        query = query.where(c.step_max >= low)
    if high < math.inf:
        query = query.where(c.step_min <= high)
    offset_of = {chunk.seq: offset for chunk, offset in chosen}
    parts = [(decode(row, with_times=False), offset_of[row.seq])
             for row in conn.execute(query.order_by(c.seq)) if row.seq in offset_of]
    steps = np.concatenate([p.steps for p, _ in parts])
    values = np.concatenate([p.values for p, _ in parts])
    positions = np.concatenate([offset + np.arange(len(p)) for p, offset in parts])
    keep = (steps >= low) & (steps <= high)
    if keep.all():
        return steps, values, positions
    return steps[keep], values[keep], positions[keep]


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


def _times_at(conn: sa.Connection, series_id: int, chosen: list, positions: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Times and epochs of the points at sorted ``positions``, read from the chosen chunks holding them."""
    if not len(positions):
        return np.empty(0), np.empty(0, dtype=np.int64)
    starts = np.array([offset for _, offset in chosen], dtype=np.int64)
    holding = np.unique(np.searchsorted(starts, positions, side="right") - 1)  # indices into ``chosen``
    first, last = chosen[holding[0]][0].seq, chosen[holding[-1]][0].seq
    c = t.chunks.c
    # A range of seqs rather than an IN list: one bound per end, whatever the series' length.
    query = (sa.select(c.seq, c.time_data, c.epoch_data)
             .where(c.series_id == series_id, c.seq >= first, c.seq <= last).order_by(c.seq))
    offset_of = {chosen[i][0].seq: int(starts[i]) for i in holding.tolist()}
    rows = [(offset_of[row.seq], row.time_data, row.epoch_data) for row in conn.execute(query) if row.seq in offset_of]
    return times_at(rows, positions)

