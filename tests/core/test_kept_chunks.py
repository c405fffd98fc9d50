"""Chart reads keep what they decoded of each series' full chunks (``store/kept.py``), and the next
read of a whole series reads only the chunks after them. Every answer must still be the one a
pass over every stored point gives, whatever happened to the series in between: appends that fill
chunks, a rewind (with or without a read before the refill), a replace, a delete and a new log of
the same name; by the points (short series) and by the block summaries (long ones)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa

from tbhelpers import chart_of
from trackboard.store import schema as t
from trackboard.store.kept import KeptChunks, KeptSteps
from trackboard.store.points import CHUNK_POINTS
from trackboard.store.summaries import BLOCK

# One series past BLOCK * 40 points (read from its summaries at 40 buckets), one under BLOCK * 1000.
BUCKETS = [40, 1000]


def log(experiment, start: int, n: int, seed: int, name: str = "train", **kwargs) -> None:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal(n).round(3)  # ties: the first lowest and highest must win
    values[rng.random(n) < 0.01] = math.nan
    steps = np.arange(start, start + n)
    experiment.log(name, {"steps": steps, "times": 1.7e9 + steps * 0.25, "a": values, "b": -values}, "line", **kwargs)
    experiment.flush()


def assert_charts(store, experiment, name: str = "train") -> None:
    """Every series, at every bucket count, equals a pass over every stored point (times included)."""
    full = store.get_points(experiment.id, name)
    for buckets in BUCKETS:
        got = store.downsampled(experiment.id, name, buckets)
        assert list(got) == list(full)
        for series, points in full.items():
            assert (len(points) > BLOCK * buckets) is (buckets == BUCKETS[0]) or len(points) < CHUNK_POINTS
            want = chart_of(points, (None, None), buckets)
            for field in ("steps", "values", "times", "epochs"):
                assert np.array_equal(getattr(got[series], field), getattr(want, field), equal_nan=True), \
                    (buckets, series, field)


def test_a_growing_series_reads_only_the_chunks_after_those_kept(experiment, store):
    log(experiment, 0, 3 * CHUNK_POINTS + 100, seed=0)
    assert_charts(store, experiment)
    assert len(store.kept_chunks) == 4  # a and b, by points and by summaries: their 3 full chunks each
    for seed, n in enumerate((50, CHUNK_POINTS, 2 * CHUNK_POINTS + 7, 1)):  # fills 0, 1 and 2 chunks
        start = len(store.get_points(experiment.id, "train")["a"])
        log(experiment, start, n, seed=seed + 1)
        assert_charts(store, experiment)
    # What was kept is what the next reads use: a full chunk changed behind the store's back (no
    # code of trackboard does that) is not read again; a store with nothing kept reads it.
    first = store.downsampled(experiment.id, "train", 1000)["a"].values[:4]
    assert not (first == 0).all()
    with store.engine.begin() as conn:
        conn.execute(t.chunks.update().where(t.chunks.c.seq == 0).values(value_data=np.zeros(CHUNK_POINTS).tobytes()))
    assert np.array_equal(store.downsampled(experiment.id, "train", 1000)["a"].values[:4], first, equal_nan=True)
    store.kept_chunks = KeptChunks()
    assert store.downsampled(experiment.id, "train", 1000)["a"].values[:4].tolist() == [0.0] * 4


@pytest.mark.parametrize("read_between", [True, False])
def test_a_rewind_refilled_with_other_values_is_read_again(experiment, store, read_between):
    log(experiment, 0, 4 * CHUNK_POINTS + 10, seed=0)
    assert_charts(store, experiment)
    # Back into the second chunk, then refilled past where it was, with other values: the chunks
    # full before the rewind are full again, with the same steps and counts.
    experiment.rewind(CHUNK_POINTS + 500)
    if read_between:
        assert_charts(store, experiment)
    log(experiment, CHUNK_POINTS + 501, 4 * CHUNK_POINTS, seed=9)
    assert_charts(store, experiment)


def test_a_growing_series_counts_and_ends_are_those_of_every_point(experiment, store):
    """By the points, the kept prefix brings its run extremes and non-finite counts: a poll after
    each append (through chunk fills and run sizes that double) shows what a pass over every
    point shows, NaN and +-inf in the prefix and in the tail counted once."""
    from trackboard.store.charts import read_charts
    from trackboard.store.engine import read_transaction
    from trackboard.store.points import downsample_index

    rng = np.random.default_rng(3)
    step = 0
    for n in (2 * CHUNK_POINTS + 5, 700, CHUNK_POINTS, 3, 5 * CHUNK_POINTS, 1):
        values = rng.standard_normal(n)
        values[rng.random(n) < 0.02] = math.nan
        values[rng.random(n) < 0.005] = math.inf
        values[rng.random(n) < 0.005] = -math.inf
        experiment.log("train", {"steps": np.arange(step, step + n), "a": values}, "line")
        experiment.flush()
        step += n
        with read_transaction(store.engine) as conn:
            log_id = conn.execute(sa.select(t.logs.c.id).where(t.logs.c.name == "train")).scalar_one()
            shown = read_charts(conn, log_id, None, None, 1000, kept=store.kept_chunks)[0].shown
        every = store.get_points(experiment.id, "train")["a"]
        assert step <= BLOCK * 1000  # by the points
        keep = downsample_index(every.values, 1000)
        assert shown.positions.tolist() == keep.tolist()
        assert np.array_equal(shown.steps, every.steps[keep]) and np.array_equal(shown.values, every.values[keep], equal_nan=True)
        assert (shown.nan, shown.inf) == (int(np.isnan(every.values).sum()), int(np.isinf(every.values).sum()))
        assert (shown.in_range, shown.last_step, shown.downsampled) == (step, float(every.steps[-1]), len(keep) < step)
        assert shown.last_value == every.values[-1] or (math.isnan(shown.last_value) and math.isnan(every.values[-1]))
    assert len(store.kept_chunks) == 1  # the prefix was kept, and used


def test_replaced_deleted_and_recreated_logs_are_read_again(experiment, store):
    log(experiment, 0, 3 * CHUNK_POINTS, seed=0)
    assert_charts(store, experiment)
    log(experiment, 0, 3 * CHUNK_POINTS, seed=1, replace=True)  # same steps and counts, other values
    assert_charts(store, experiment)
    experiment.delete_log("train")
    log(experiment, 0, 3 * CHUNK_POINTS, seed=2)
    assert_charts(store, experiment)


def test_chunks_without_a_summary_are_summarised_then_kept(experiment, store):
    log(experiment, 0, 5 * CHUNK_POINTS + 3, seed=0)
    with store.engine.begin() as conn:  # a store from before 0004
        conn.execute(t.chunks.update().where(t.chunks.c.seq % 2 == 0).values(summary=None))
    assert_charts(store, experiment)
    log(experiment, 5 * CHUNK_POINTS + 3, CHUNK_POINTS, seed=1)
    assert_charts(store, experiment)


def test_series_from_before_lineages_are_read_whole_every_time(experiment, store):
    log(experiment, 0, 2 * CHUNK_POINTS + 1, seed=0)
    with store.engine.begin() as conn:
        conn.execute(t.series.update().values(lineage=None))
    assert_charts(store, experiment)
    assert len(store.kept_chunks) == 0


def test_every_series_row_gets_a_lineage_and_a_rewind_a_new_one(experiment, store):
    def lineages() -> dict:
        with store.engine.connect() as conn:
            return dict(conn.execute(sa.select(t.series.c.name, t.series.c.lineage)).all())

    log(experiment, 0, 100, seed=0)
    before = lineages()
    assert len(set(before.values())) == 2 and None not in before.values()
    log(experiment, 100, 100, seed=1)
    assert lineages() == before  # appends keep it
    experiment.rewind(50)
    after = lineages()
    assert set(after.values()).isdisjoint(before.values())


def test_kept_items_are_bounded_in_bytes_least_recently_used_first_out():
    kept = KeptChunks(max_bytes=100)
    kept.keep("a", "A", 40)
    kept.keep("b", "B", 40)
    assert kept.get("a") == "A"  # now the most recently used
    kept.keep("c", "C", 40)
    assert kept.get("b") is None and kept.get("a") == "A" and kept.get("c") == "C"
    assert kept.nbytes == 80
    kept.keep("a", "A2", 30)  # replaces, with its new size
    assert kept.get("a") == "A2" and kept.nbytes == 70
    kept.keep("huge", "H", 101)  # larger than the bound: not kept, and nothing else dropped for it
    assert kept.get("huge") is None and len(kept) == 2


@pytest.mark.parametrize("steps", [np.arange(5.0, 9000.0, 3.0), np.array([1.0, 2.0, 4.0]), np.array([0.1 * i for i in range(50)]),
                                   np.array([7.0]), np.array([3.0, 2.0, 1.0])])
def test_kept_steps_give_back_exactly_the_steps(steps):
    kept = KeptSteps.of(steps)
    assert np.array_equal(kept.array(), steps)
    if len(steps) > 2 and np.all(np.diff(steps) == 3.0):
        assert kept.nbytes == 0  # a stride: two numbers
