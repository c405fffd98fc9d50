"""Per-chunk block summaries (store/summaries.py): joined into buckets they keep exactly the first,
last, lowest and highest point of each power-of-two run of positions, like a pass over every point."""

from __future__ import annotations

import numpy as np
import pytest

from tbhelpers import bucket_extremes
from trackboard.store.points import CHUNK_POINTS
from trackboard.store.summaries import (BLOCK, Blocks, bucket_points, bucket_size, decode_summary,
                                        encode_summary, summarise)


def reference(positions: np.ndarray, steps: np.ndarray, values: np.ndarray, size: int):
    """Every point, bucket by bucket: first, last, first lowest and first highest (NaN never wins)."""
    kept = bucket_extremes(positions, values, size)
    return steps[kept], values[kept]


def awkward_values(rng, n: int) -> np.ndarray:
    values = rng.normal(size=n).round(1)  # rounded: many ties, which go to the first point
    values[rng.random(n) < 0.05] = np.nan
    values[rng.random(n) < 0.01] = np.inf
    values[rng.random(n) < 0.01] = -np.inf
    values[: min(n, 3 * BLOCK + 5)] = np.nan  # whole blocks of NaN
    return values


@pytest.mark.parametrize("seed", range(6))
def test_stored_summaries_bucket_like_every_point(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2 * CHUNK_POINTS, 6 * CHUNK_POINTS))
    steps, values = np.arange(n) * 2.0 + 7, awkward_values(rng, n)
    blocks = Blocks.concat([decode_summary(encode_summary(steps[o:o + CHUNK_POINTS], values[o:o + CHUNK_POINTS]), o)
                            for o in range(0, n, CHUNK_POINTS)])
    for size in (BLOCK, 2 * BLOCK, 8 * BLOCK, 2 * CHUNK_POINTS):
        shown = bucket_points(blocks, size)
        want_steps, want_values = reference(np.arange(n), steps, values, size)
        assert shown.steps.tolist() == want_steps.tolist()
        np.testing.assert_array_equal(shown.values, want_values)
    assert (shown.in_range, shown.nan, shown.inf) == (n, np.isnan(values).sum(), np.isinf(values).sum())
    assert shown.last_step == steps[-1]
    np.testing.assert_array_equal(shown.last_value, values[-1])


def test_points_cut_by_a_range_are_summarised_at_their_positions():
    rng = np.random.default_rng(7)
    n = 5 * CHUNK_POINTS
    steps, values = np.arange(n, dtype=float), awkward_values(rng, n)
    positions = np.flatnonzero(rng.random(n) < 0.6)  # gaps anywhere, as a range over unordered steps leaves
    blocks = summarise(positions, steps[positions], values[positions])
    shown = bucket_points(blocks, 4 * BLOCK)
    want_steps, want_values = reference(positions, steps[positions], values[positions], 4 * BLOCK)
    assert shown.steps.tolist() == want_steps.tolist()
    np.testing.assert_array_equal(shown.values, want_values)
    assert shown.in_range == len(positions)


def test_a_summary_is_only_used_where_its_blocks_line_up():
    steps, values = np.arange(100.0), np.ones(100)
    summary = encode_summary(steps, values)
    assert decode_summary(summary, 3 * BLOCK) is not None
    assert decode_summary(summary, 3 * BLOCK + 1) is None  # a chunk not on a block boundary: decoded instead
    assert decode_summary(None, 0) is None  # a chunk written before the column existed
    assert decode_summary(b"S\x09" + summary[2:], 0) is None  # another block size


def test_the_bucket_size_keeps_at_most_the_buckets_asked_for():
    assert bucket_size(64_001, 1_000) == 128
    assert bucket_size(285_000, 1_000) == 512
    for points in (64_001, 100_000, 1_000_000, 7_777_777):
        size = bucket_size(points, 1_000)
        assert -(-points // size) <= 1_000 < 2 * -(-points // size) + 2
