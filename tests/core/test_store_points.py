"""LINE points in chunks: encoding, downsampling, and range reads through Store.get_points."""

from __future__ import annotations

import math
import sqlite3
from types import SimpleNamespace

import numpy as np
import pytest

from tbhelpers import chart_of
from trackboard.errors import InvalidLogError, NotFoundError
from trackboard.store import schema as t
from trackboard.store.points import CHUNK_POINTS, NO_EPOCH, Points, decode, downsample_index, encode
from trackboard.store.sql import epochs_list, steps_list, times_list
from trackboard.store.summaries import bucket_size


def make_points(steps, values, times=None, epochs=None) -> Points:
    n = len(values)
    return Points(
        np.asarray(steps, dtype=np.float64),
        np.asarray(values, dtype=np.float64),
        np.asarray(times if times is not None else np.arange(n) * 0.5 + 1.7e9, dtype=np.float64),
        np.asarray(epochs if epochs is not None else [NO_EPOCH] * n, dtype=np.int64),
    )


def roundtrip(points: Points, **kwargs) -> Points:
    return decode(SimpleNamespace(**encode(points)), **kwargs)


# -- chunk encoding -----------------------------------------------------------------------------


def test_integral_steps_roundtrip_exactly():
    rng = np.random.default_rng(1)
    steps = np.concatenate([np.arange(1000), rng.integers(-(2**53), 2**53, 100), [0, 0, -5, 2**53, -(2**53)]])
    points = make_points(steps, rng.standard_normal(len(steps)))
    back = roundtrip(points)
    assert np.array_equal(back.steps, points.steps)
    assert encode(points)["step_data"][:1] == b"i"


def test_fractional_steps_roundtrip_exactly():
    steps = [0.0, 0.5, 1.0, 1.25, -3.75, 1e-300, 2.0**52 + 0.5, 7.0]
    points = make_points(steps, np.arange(len(steps)))
    back = roundtrip(points)
    assert back.steps.tolist() == steps
    assert encode(points)["step_data"][:1] == b"f"


def test_values_keep_nan_and_inf_bit_for_bit():
    values = np.array([1.0, math.nan, math.inf, -math.inf, -0.0, 5e-324, 1.7976931348623157e308])
    values[1] = np.frombuffer(np.uint64(0x7FF8000000000123).tobytes(), dtype=np.float64)[0]  # NaN payload
    back = roundtrip(make_points(np.arange(len(values)), values))
    assert back.values.view(np.uint64).tolist() == values.view(np.uint64).tolist()


def test_times_are_kept_to_the_microsecond():
    times = np.array([0.0, 1.7e9 + 0.1234564, 1.7e9 + 0.1234566, 1.7e9 - 10.0, 12.000_000_4])
    back = roundtrip(make_points(np.arange(5), np.zeros(5), times=times))
    assert back.times.tolist() == (np.round(times * 1e6) / 1e6).tolist()
    assert np.all(roundtrip(make_points(np.arange(5), np.zeros(5), times=times), with_times=False).times == 0)


def test_no_epochs_are_stored_as_null():
    points = make_points(np.arange(10), np.zeros(10))
    encoded = encode(points)
    assert encoded["epoch_data"] is None
    back = decode(SimpleNamespace(**encoded))
    assert np.all(back.epochs == NO_EPOCH)
    assert not back.has_epochs()


def test_epochs_with_gaps_roundtrip():
    epochs = [0, 0, NO_EPOCH, 1, 1, 2, NO_EPOCH, -1]
    points = make_points(np.arange(8), np.zeros(8), epochs=epochs)
    back = roundtrip(points)
    assert back.epochs.tolist() == epochs
    assert back.has_epochs()


def test_chunk_metadata():
    points = make_points([5, 3, 9, 4], [1, 2, 3, 4])
    encoded = encode(points)
    assert encoded["count"] == 4 and encoded["step_min"] == 3 and encoded["step_max"] == 9


def test_counting_steps_compress_to_almost_nothing():
    n = CHUNK_POINTS
    points = make_points(np.arange(n), np.zeros(n), times=1.7e9 + np.arange(n) * 0.01)
    encoded = encode(points)
    assert len(encoded["step_data"]) < 512  # 4096 steps in well under a byte each
    assert len(encoded["time_data"]) < 2000
    assert len(encoded["value_data"]) == 8 * n


# -- downsampling ------------------------------------------------------------------------------


def test_downsample_small_example():
    values = np.array([0.0, 5, 1, 2, 9, 3, 4, 8, 7, -1, 6, 2])
    assert downsample_index(values, 1).tolist() == [0, 4, 9, 11]  # first, max, min, last
    assert downsample_index(values, 2).tolist() == [0, 4, 7, 8, 9, 11]  # runs of 8: the first power of two giving <= 2
    assert downsample_index(values, 3).tolist() == list(range(12))  # at most 4 per bucket: nothing to drop


@pytest.mark.parametrize("n, buckets", [(0, 10), (1, 1), (40, 10), (10, 0)])
def test_small_series_are_kept_whole(n, buckets):
    assert downsample_index(np.arange(n, dtype=np.float64), buckets).tolist() == list(range(n))


def check_buckets(values: np.ndarray, buckets: int, keep: np.ndarray, size: int | None = None) -> None:
    """``keep`` holds the first, last, lowest and highest of every run of ``size`` values (default:
    runs of the smallest power of two that makes at most ``buckets`` of them)."""
    n = len(values)
    assert keep.tolist() == sorted(set(keep.tolist())), "indices must be sorted and unique"
    assert keep[0] == 0 and keep[-1] == n - 1
    assert len(keep) <= 4 * buckets
    if size is None:
        size = 1
        while -(-n // size) > buckets:
            size *= 2
    kept = set(keep.tolist())
    for start in range(0, n, size):
        run = values[start:start + size]
        stop = start + len(run)
        assert start in kept and stop - 1 in kept, f"first/last of run {start}"
        finite = run[~np.isnan(run)]
        kept_values = values[[i for i in range(start, stop) if i in kept]]
        if len(finite):
            assert np.nanmin(kept_values) == finite.min(), f"min of run {start}"
            assert np.nanmax(kept_values) == finite.max(), f"max of run {start}"


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n, buckets", [(4001, 1000), (100_000, 1000), (12_345, 7), (999, 100)])
def test_downsample_keeps_first_last_min_max_per_bucket(seed, n, buckets):
    rng = np.random.default_rng(seed)
    values = np.cumsum(rng.standard_normal(n))
    values[rng.integers(0, n, n // 50)] = np.nan
    values[rng.integers(0, n, 3)] = np.inf
    check_buckets(values, buckets, downsample_index(values, buckets))


def test_nan_never_wins_min_or_max_but_is_kept_at_the_edges():
    values = np.array([np.nan, 1.0, 5.0, 2.0, 3.0, np.nan, -1.0, 0.0, 4.0, np.nan])
    keep = downsample_index(values, 2)
    assert 0 in keep and 9 in keep  # first and last, NaN or not
    assert 2 in keep and 6 in keep and 8 in keep


# -- through the store -------------------------------------------------------------------------


def chunk_counts(store_dir, log_name, series_name=""):
    with sqlite3.connect(store_dir / "trackboard.db") as conn:
        return [row[0] for row in conn.execute(
            "SELECT c.count FROM chunks c JOIN series s ON c.series_id = s.id JOIN logs l ON s.log_id = l.id "
            "WHERE l.name = ? AND s.name = ? ORDER BY c.seq", (log_name, series_name),
        )]


def log_in_chunks(experiment, name, steps, values, per_call=10_000):
    for start in range(0, len(values), per_call):
        experiment.log(name, {"steps": steps[start:start + per_call], "values": values[start:start + per_call]}, "line")
    experiment.flush()


def test_100k_points_span_full_chunks_and_range_reads_are_exact(experiment, store, store_dir):
    n = 100_000
    values = np.sin(np.arange(n) / 100.0)
    log_in_chunks(experiment, "big", list(range(n)), values.tolist())
    counts = chunk_counts(store_dir, "big")
    assert len(counts) == math.ceil(n / CHUNK_POINTS) and len(counts) > 20
    assert counts[:-1] == [CHUNK_POINTS] * (len(counts) - 1) and sum(counts) == n

    everything = store.get_points(experiment.id, "big")[""]
    assert everything.steps.tolist() == list(range(n)) and np.array_equal(everything.values, values)

    middle = store.get_points(experiment.id, "big", 50_000, 50_099)[""]
    assert middle.steps.tolist() == list(range(50_000, 50_100))
    assert np.array_equal(middle.values, values[50_000:50_100])

    across = store.get_points(experiment.id, "big", CHUNK_POINTS - 5, CHUNK_POINTS + 5)[""]
    assert across.steps.tolist() == list(range(CHUNK_POINTS - 5, CHUNK_POINTS + 6))

    assert store.get_points(experiment.id, "big", step_min=99_990)[""].steps.tolist() == list(range(99_990, n))
    assert store.get_points(experiment.id, "big", step_max=9)[""].steps.tolist() == list(range(10))
    assert len(store.get_points(experiment.id, "big", 2e6, 3e6)[""]) == 0
    assert store.get_points(experiment.id, "big", 10.5, 12.5)[""].steps.tolist() == [11, 12]


def test_range_read_of_a_resumed_run_with_backward_steps(experiment, store):
    steps = list(range(10_000)) + list(range(5_000, 15_000))
    values = [0.0] * 10_000 + [1.0] * 10_000
    log_in_chunks(experiment, "resumed", steps, values, per_call=3_000)
    got = store.get_points(experiment.id, "resumed", 6_000, 6_002)[""]
    assert got.steps.tolist() == [6_000, 6_001, 6_002, 6_000, 6_001, 6_002]
    assert got.values.tolist() == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0]


def test_small_appends_top_up_the_tail_chunk(experiment, store_dir):
    for batch in range(10):
        experiment.log("l", list(map(float, range(1000))), "line")
        experiment.flush()
    assert chunk_counts(store_dir, "l") == [CHUNK_POINTS, CHUNK_POINTS, 10_000 - 2 * CHUNK_POINTS]
    assert experiment.get_log("l").data["steps"] == list(range(10_000))


def test_chunk_boundary(experiment, store_dir):
    experiment.log("l", [0.0] * CHUNK_POINTS, "line")
    experiment.flush()
    assert chunk_counts(store_dir, "l") == [CHUNK_POINTS]
    experiment.log("l", 1.0, "line")
    experiment.flush()
    assert chunk_counts(store_dir, "l") == [CHUNK_POINTS, 1]
    assert experiment.get_log("l").data["steps"][-1] == CHUNK_POINTS


def test_downsampled_from_the_store(experiment, store):
    n = 100_000
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.standard_normal(n))
    log_in_chunks(experiment, "walk", list(range(n)), values.tolist())
    down = store.downsampled(experiment.id, "walk", buckets=1000)[""]
    assert 1000 <= len(down) <= 4000
    assert down.steps[0] == 0 and down.steps[-1] == n - 1
    assert down.values.min() == values.min() and down.values.max() == values.max()
    assert np.all(np.diff(down.steps) > 0)
    # Past 64 points per bucket, buckets are runs of a power of two times 64 points (here 128).
    check_buckets(values, 1000, down.steps.astype(np.int64), size=bucket_size(n, 1000))
    window = store.downsampled(experiment.id, "walk", buckets=10, step_min=1000, step_max=1999)[""]
    assert window.steps[0] == 1000 and window.steps[-1] == 1999
    assert window.values.min() == values[1000:2000].min()


def test_named_series_points(experiment, store):
    experiment.log("m", {"steps": [1, 2], "loss": [1.0, 0.5], "acc": [0.1, math.nan]}, "line")
    experiment.flush()
    series = store.get_points(experiment.id, "m")
    assert list(series) == ["loss", "acc"]
    assert series["loss"].values.tolist() == [1.0, 0.5]
    assert math.isnan(series["acc"].values[1])


def test_nan_inf_and_fractional_steps_through_the_store(experiment, store):
    experiment.log("l", {"steps": [0.5, 1, 1.5], "values": [math.nan, math.inf, -math.inf], "epochs": [None, 1, None]},
                   "line")
    experiment.flush()
    points = store.get_points(experiment.id, "l")[""]
    assert points.steps.tolist() == [0.5, 1.0, 1.5]
    assert math.isnan(points.values[0]) and points.values[1] == math.inf and points.values[2] == -math.inf
    assert points.epochs.tolist() == [NO_EPOCH, 1, NO_EPOCH]


def test_get_points_errors(experiment, store):
    experiment.log("v", 1, "value")
    experiment.flush()
    with pytest.raises(InvalidLogError):
        store.get_points(experiment.id, "v")
    with pytest.raises(NotFoundError):
        store.get_points(experiment.id, "missing")


@pytest.mark.parametrize("step_range", [(None, None), (1_000, 7_999), (None, 100)])
def test_downsampled_keeps_what_a_chart_shows_with_the_points_own_times(experiment, store, step_range):
    """Store.downsampled keeps the points a chart shows: ``downsample_index``'s runs of equal length
    up to 64 points per bucket, past that each run of a power of two times 64 positions' first, last,
    lowest and highest (read from the chunks' summaries, or summarised where the range cuts a
    chunk). It decodes the times and epochs of the kept points only: they must be those of a full read."""
    n = 3 * CHUNK_POINTS + 123
    rng = np.random.default_rng(7)
    values = rng.standard_normal(n)
    values[::997] = np.nan
    experiment.log("d", {"steps": list(range(n)), "values": values.tolist(),
                         "times": (1.7e9 + np.cumsum(rng.random(n))).tolist(),
                         "epochs": [None if i % 5 == 0 else i // 1000 for i in range(n)]}, "line")
    experiment.flush()
    expected = chart_of(store.get_points(experiment.id, "d")[""], step_range, 100)
    got = store.downsampled(experiment.id, "d", 100, *step_range)[""]
    for field in ("steps", "values", "times", "epochs"):
        assert np.array_equal(getattr(got, field), getattr(expected, field), equal_nan=True), field


def test_downsampled_of_steps_not_in_order_and_of_chunks_without_a_summary(experiment, store):
    """A resumed run's steps go back: a step range then holds points of several chunks, cut
    anywhere; a store from before 0004 has chunks without a summary. Both are decoded for the chart,
    which keeps the same points as a pass over every point."""
    first, second = np.arange(30_000), np.arange(10_000, 40_000)
    rng = np.random.default_rng(11)
    values = rng.standard_normal(len(first) + len(second))
    log_in_chunks(experiment, "resumed", np.concatenate([first, second]).tolist(), values.tolist(), per_call=7_000)
    with store.engine.begin() as conn:
        conn.execute(t.chunks.update().where(t.chunks.c.seq % 3 == 0).values(summary=None))
    full = store.get_points(experiment.id, "resumed")[""]
    # The last range overlaps two chunks of 4,096 points but holds 521 points: read as points.
    for step_range, buckets in (((None, None), 100), ((12_000.5, 27_000), 50), ((12_000, None), 1_000),
                                ((29_990, 30_500), 10)):
        expected = chart_of(full, step_range, buckets)
        got = store.downsampled(experiment.id, "resumed", buckets, *step_range)[""]
        for field in ("steps", "values", "times", "epochs"):
            assert np.array_equal(getattr(got, field), getattr(expected, field), equal_nan=True), (step_range, field)


def test_downsampled_times_of_chunks_logged_in_one_call(experiment, store):
    """One call writes several chunks with the same time and epoch columns (decoded once), the
    next call other ones: every kept point still has its own time and epoch."""
    n = 5 * CHUNK_POINTS
    values = np.random.default_rng(2).standard_normal(2 * n)
    experiment.log("calls", {"steps": list(range(n)), "values": values[:n].tolist(), "epochs": [3] * n}, "line")
    experiment.flush()
    experiment.log("calls", {"values": values[n:].tolist(), "epochs": [4] * n}, "line")
    experiment.flush()
    full = store.get_points(experiment.id, "calls")[""]
    assert len(set(full.times.tolist())) == 2
    got = store.downsampled(experiment.id, "calls", 100)[""]
    expected = chart_of(full, (None, None), 100)
    for field in ("steps", "values", "times", "epochs"):
        assert np.array_equal(getattr(got, field), getattr(expected, field)), field
    assert set(got.epochs.tolist()) == {3, 4}


def test_downsampled_needs_a_bucket(experiment, store):
    experiment.log("l", [1.0, 2.0], "line")
    experiment.flush()
    with pytest.raises(ValueError, match="buckets"):
        store.downsampled(experiment.id, "l", buckets=0)


# -- the canonical lists of get_log -------------------------------------------------------------


def test_steps_list_gives_whole_steps_as_ints_and_keeps_the_others():
    assert steps_list(np.array([0.0, 1.0, 2.0 ** 53, -7.0])) == [0, 1, 2 ** 53, -7]
    mixed = steps_list(np.array([0.5, 1.0, -0.0, 2.5]))
    assert mixed == [0.5, 1, 0, 2.5] and [type(s) for s in mixed] == [float, int, int, float]
    assert steps_list(np.array([1.0, np.inf])) == [1, np.inf]  # no int for inf: kept as a float
    assert steps_list(np.empty(0)) == []


def test_times_list_shares_one_float_per_run_and_keeps_every_bit():
    times = np.array([1.7e9] * 40 + [0.0] * 20 + [-0.0] * 20 + [np.nan] * 20 + [1.7e9 + 0.25] * 30)
    got = times_list(times)
    assert len(got) == len(times) and all(type(t) is float for t in got)
    assert np.array_equal(np.array(got).view(np.int64), times.view(np.int64))  # -0.0 and NaN bits too
    assert len({id(t) for t in got}) == 5
    distinct = 1.7e9 + np.arange(1000) * 0.5
    assert times_list(distinct) == distinct.tolist()
    assert times_list(np.empty(0)) == [] and times_list(np.array([3.5])) == [3.5]


def test_epochs_list_has_none_where_a_point_has_no_epoch():
    assert epochs_list(np.array([NO_EPOCH, 0, 3, NO_EPOCH], dtype=np.int64)) == [None, 0, 3, None]


def test_get_log_of_points_logged_in_a_few_calls(experiment, store):
    """Many points per call share their time: the data is the same as element by element."""
    n = 3 * CHUNK_POINTS + 17
    rng = np.random.default_rng(5)
    values = rng.standard_normal(n)
    steps = np.arange(n) * 2
    log_in_chunks(experiment, "few", steps.tolist(), values.tolist(), per_call=5_000)
    data = experiment.get_log("few").data
    points = store.get_points(experiment.id, "few")[""]
    assert data["steps"] == steps.tolist() and data["values"] == values.tolist()
    assert data["times"] == points.times.tolist() and len(set(data["times"])) == 3
    assert "epochs" not in data
