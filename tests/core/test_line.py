"""LINE: appends to curves; steps auto-increment per series; several series; replace=True."""

from __future__ import annotations

import math
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
import torch

from tbhelpers import assert_refused, assert_same, roundtrip
from trackboard import LogType
from trackboard.errors import InvalidLogError, LogDataTypeError, TrackboardError


def line(experiment, name):
    return experiment.get_log(name).data


def without_times(data):
    """A LINE's canonical data without the wall-clock times (checked separately)."""
    if "values" in data:
        return {k: v for k, v in data.items() if k != "times"}
    return {name: without_times(series) for name, series in data.items()}


# -- accepted forms -------------------------------------------------------------------------


def test_number_per_call_auto_increments_from_zero(experiment):
    for value in (3, 1.25, 1.4):
        experiment.log("loss", value, LogType.LINE)
    data = line(experiment, "loss")
    assert set(data) == {"steps", "values", "times"}
    assert_same(data["steps"], [0, 1, 2])
    assert_same(data["values"], [3.0, 1.25, 1.4])


def test_list_of_numbers(experiment):
    experiment.log("TotalLoss", [3, 1.25, 1.4, 0.35, 0.95], LogType.LINE)
    data = line(experiment, "TotalLoss")
    assert_same(data["steps"], [0, 1, 2, 3, 4])
    assert_same(data["values"], [3.0, 1.25, 1.4, 0.35, 0.95])


def test_tuple_of_numbers(experiment):
    experiment.log("l", (1, 2.5), "line")
    assert_same(without_times(line(experiment, "l")), {"steps": [0, 1], "values": [1.0, 2.5]})


def test_appends_continue_the_steps(experiment):
    experiment.log("l", [1.0, 2.0, 3.0], "line")
    experiment.flush()
    experiment.log("l", 4.0, "line")
    experiment.log("l", [5.0, 6.0], "line")
    data = line(experiment, "l")
    assert_same(data["steps"], [0, 1, 2, 3, 4, 5])
    assert_same(data["values"], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])


def test_appends_continue_across_clients(store_dir, experiment):
    from trackboard import Client

    experiment.log("l", [1.0, 2.0], "line")
    experiment.flush()
    other = Client(directory=store_dir).get_experiment_by_id(experiment.id)
    other.log("l", 3.0, "line")
    assert_same(line(other, "l")["steps"], [0, 1, 2])


def test_custom_steps(experiment):
    experiment.log("l", {"steps": [10, 20, 30], "values": [1, 2, 3]}, "line")
    data = line(experiment, "l")
    assert_same(data["steps"], [10, 20, 30])
    assert_same(data["values"], [1.0, 2.0, 3.0])


def test_auto_steps_continue_after_custom_steps(experiment):
    experiment.log("l", {"steps": [10, 20], "values": [1, 2]}, "line")
    experiment.log("l", 3.0, "line")
    experiment.flush()
    experiment.log("l", [4.0, 5.0], "line")
    assert_same(line(experiment, "l")["steps"], [10, 20, 21, 22, 23])


def test_auto_steps_continue_after_fractional_step(experiment):
    experiment.log("l", {"steps": [0.5], "values": [1]}, "line")
    experiment.log("l", 2.0, "line")
    assert_same(line(experiment, "l")["steps"], [0.5, 1.5])


def test_one_point_with_scalar_step(experiment):
    experiment.log("l", {"steps": 7, "values": 0.5}, "line")
    experiment.log("l", {"steps": [8], "values": [0.25]}, "line")
    assert_same(without_times(line(experiment, "l")), {"steps": [7, 8], "values": [0.5, 0.25]})


def test_fractional_steps_are_kept_and_whole_steps_are_ints(experiment):
    experiment.log("l", {"steps": [0, 0.5, 1.0, 1.5, 2], "values": [1, 2, 3, 4, 5]}, "line")
    steps = line(experiment, "l")["steps"]
    assert_same(steps, [0, 0.5, 1, 1.5, 2])


def test_equal_and_backward_steps_are_kept(experiment):
    experiment.log("l", {"steps": [5, 5, 3, 4, 4], "values": [1, 2, 3, 4, 5]}, "line")
    experiment.log("l", {"steps": [0], "values": [6]}, "line")
    data = line(experiment, "l")
    assert_same(data["steps"], [5, 5, 3, 4, 4, 0])
    assert_same(data["values"], [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])


def test_negative_and_large_steps(experiment):
    steps = [-(2**53), -1, 0, 2**40, 2**53]
    experiment.log("l", {"steps": steps, "values": [1, 2, 3, 4, 5]}, "line")
    assert_same(line(experiment, "l")["steps"], steps)


def test_several_series_auto_increment_independently(experiment):
    experiment.log("m", {"loss": [1.0, 0.9, 0.8], "acc": [0.5]}, "line")
    experiment.log("m", {"loss": 0.7, "acc": 0.6}, "line")
    data = line(experiment, "m")
    assert list(data) == ["loss", "acc"]
    assert_same(without_times(data), {
        "loss": {"steps": [0, 1, 2, 3], "values": [1.0, 0.9, 0.8, 0.7]},
        "acc": {"steps": [0, 1], "values": [0.5, 0.6]},
    })


def test_new_series_joins_an_existing_named_log(experiment):
    experiment.log("m", {"loss": [1.0, 0.9]}, "line")
    experiment.log("m", {"acc": [0.5]}, "line")
    data = line(experiment, "m")
    assert list(data) == ["loss", "acc"]
    assert_same(data["acc"]["steps"], [0])


def test_several_series_with_shared_steps(experiment):
    experiment.log("m", {"steps": [100, 200], "loss": [1.0, 0.5], "acc": [0.1, 0.2]}, "line")
    experiment.log("m", {"steps": 300, "loss": 0.25, "acc": 0.3}, "line")
    assert_same(without_times(line(experiment, "m")), {
        "loss": {"steps": [100, 200, 300], "values": [1.0, 0.5, 0.25]},
        "acc": {"steps": [100, 200, 300], "values": [0.1, 0.2, 0.3]},
    })


def test_several_series_as_series_mappings(experiment):
    experiment.log("m", {
        "train": {"steps": [0, 10], "values": [1, 2]},
        "val": {"steps": [10], "values": [3]},
    }, "line")
    assert_same(without_times(line(experiment, "m")), {
        "train": {"steps": [0, 10], "values": [1.0, 2.0]},
        "val": {"steps": [10], "values": [3.0]},
    })


def test_series_mapping_steps_win_over_shared_steps(experiment):
    experiment.log("m", {"steps": [1], "a": [1.0], "b": {"steps": [5], "values": [2.0]}}, "line")
    data = line(experiment, "m")
    assert_same(data["a"]["steps"], [1])
    assert_same(data["b"]["steps"], [5])


def test_per_step_dict_with_step_and_epoch(experiment):
    for step in range(3):
        experiment.log("m", {"steps": step * 10, "epochs": step // 2, "loss": 1.0 / (step + 1), "acc": step}, "line")
    data = line(experiment, "m")
    assert_same(data["loss"]["steps"], [0, 10, 20])
    assert_same(data["loss"]["epochs"], [0, 0, 1])
    assert_same(data["acc"]["values"], [0.0, 1.0, 2.0])
    assert_same(data["acc"]["epochs"], [0, 0, 1])


def test_epochs_per_point_with_gaps(experiment):
    experiment.log("l", {"steps": [0, 1, 2], "values": [1, 2, 3], "epochs": [0, None, 1]}, "line")
    experiment.log("l", 4.0, "line")
    data = line(experiment, "l")
    assert_same(data["epochs"], [0, None, 1, None])


def test_no_epochs_key_without_epochs(experiment):
    experiment.log("l", [1.0, 2.0], "line")
    assert "epochs" not in line(experiment, "l")


def test_times_default_to_the_wall_clock(experiment):
    before = time.time()
    experiment.log("l", [1.0, 2.0], "line")
    after = time.time()
    times = line(experiment, "l")["times"]
    assert len(times) == 2
    for t in times:
        assert isinstance(t, float)
        assert before - 1e-6 <= t <= after + 1e-6


def test_given_times_are_kept_to_the_microsecond(experiment):
    given = [1_700_000_000.1234564, 1_700_000_000.5, 0.0]
    experiment.log("l", {"steps": [0, 1, 2], "values": [1, 2, 3], "times": given}, "line")
    times = line(experiment, "l")["times"]
    assert times == [round(t * 1e6) / 1e6 for t in given]


def test_nan_and_inf_values_are_kept(experiment):
    experiment.log("l", [1.0, math.nan, math.inf, -math.inf], "line")
    experiment.log("l", math.nan, "line")
    experiment.log("m", {"a": math.inf, "b": math.nan}, "line")
    values = line(experiment, "l")["values"]
    assert values[0] == 1.0 and math.isnan(values[1]) and values[2] == math.inf and values[3] == -math.inf
    assert math.isnan(values[4])
    multi = line(experiment, "m")
    assert multi["a"]["values"] == [math.inf] and math.isnan(multi["b"]["values"][0])


def test_values_are_floats(experiment):
    experiment.log("l", [1, 2, 3], "line")
    assert all(type(v) is float for v in line(experiment, "l")["values"])


def test_replace_replaces_the_whole_log(experiment):
    experiment.log("l", [1.0, 2.0, 3.0], "line")
    experiment.log("l", [9.0], "line", replace=True)
    assert_same(without_times(line(experiment, "l")), {"steps": [0], "values": [9.0]})
    experiment.log("l", 10.0, "line")
    assert_same(line(experiment, "l")["steps"], [0, 1])


def test_replace_in_the_same_batch_drops_earlier_points(experiment):
    experiment.log("l", [1.0, 2.0], "line")
    experiment.log("l", [3.0], "line", replace=True)
    experiment.log("l", [4.0], "line")
    assert_same(without_times(line(experiment, "l")), {"steps": [0, 1], "values": [3.0, 4.0]})


def test_replace_may_change_the_shape(experiment):
    experiment.log("l", [1.0, 2.0], "line")
    experiment.log("l", {"a": [1.0]}, "line", replace=True)
    assert list(line(experiment, "l")) == ["a"]
    experiment.log("l", [5.0], "line", replace=True)
    assert_same(without_times(line(experiment, "l")), {"steps": [0], "values": [5.0]})


def test_shape_change_without_replace_is_refused(experiment):
    experiment.log("l", [1.0, 2.0], "line")
    experiment.flush()
    error = assert_refused(experiment, "l", {"a": [1.0]}, "LINE", error=InvalidLogError, problem="replace=True")
    assert "series" in str(error)
    experiment.log("m", {"a": [1.0]}, "line")
    assert_refused(experiment, "m", [1.0], "LINE", error=InvalidLogError, problem="replace=True")


def test_shape_change_is_refused_for_a_fresh_handle(client, experiment):
    experiment.log("l", [1.0, 2.0], "line")
    experiment.flush()
    fresh = client.get_experiment_by_id(experiment.id)
    assert_refused(fresh, "l", {"a": 1.0}, "LINE", error=InvalidLogError)


def test_large_list_in_one_call(experiment):
    values = np.random.default_rng(0).standard_normal(100_000)
    experiment.log("big", values, "line")
    data = line(experiment, "big")
    assert data["values"] == values.tolist()
    assert data["steps"] == list(range(100_000))


# -- numpy and torch --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value, expected",
    [
        (np.float32(0.5), [0.5]),
        (np.float64(0.25), [0.25]),
        (np.int64(3), [3.0]),
        (np.array(1.5), [1.5]),
        (np.array([1, 2, 3], dtype=np.int32), [1.0, 2.0, 3.0]),
        (np.array([0.5, 0.25], dtype=np.float32), [0.5, 0.25]),
        (np.array([1.0, 2.0], dtype=np.float16), [1.0, 2.0]),
        (np.array([3], dtype=np.uint8), [3.0]),
        (torch.tensor(0.5), [0.5]),
        (torch.tensor([1.0, 2.0]), [1.0, 2.0]),
        (torch.tensor([1, 2]), [1.0, 2.0]),
        (torch.tensor([0.5], requires_grad=True) * 1, [0.5]),
        (torch.tensor([1.5, 2.5], dtype=torch.bfloat16), [1.5, 2.5]),
        ([np.float32(0.5), torch.tensor(2.0), 3], [0.5, 2.0, 3.0]),
    ],
    ids=lambda value: type(value).__name__,
)
def test_numpy_and_torch_values(experiment, value, expected):
    experiment.log("l", value, "line")
    assert_same(line(experiment, "l")["values"], expected)


def test_numpy_and_torch_steps_and_epochs(experiment):
    experiment.log("l", {
        "steps": np.array([3, 4], dtype=np.int64),
        "values": torch.tensor([1.0, 2.0]),
        "epochs": torch.tensor([0, 1]),
        "times": np.array([1.5, 2.5]),
    }, "line")
    experiment.log("l", {"steps": [np.int64(5)], "values": [np.float32(3.0)]}, "line")
    experiment.log("m", {"steps": torch.tensor(7), "loss": np.float32(0.5), "acc": torch.tensor(0.25)}, "line")
    data = line(experiment, "l")
    assert_same(data["steps"], [3, 4, 5])
    assert_same(data["values"], [1.0, 2.0, 3.0])
    assert_same(data["epochs"], [0, 1, None])
    assert data["times"][:2] == [1.5, 2.5]
    multi = line(experiment, "m")
    assert_same(without_times(multi), {"loss": {"steps": [7], "values": [0.5]},
                                       "acc": {"steps": [7], "values": [0.25]}})


def test_roundtrip_of_every_shape(experiment):
    roundtrip(experiment, "a", [1.0, math.nan, math.inf], "LINE")
    roundtrip(experiment, "b", {"steps": [0, 0.5, -3], "values": [1, 2, 3], "epochs": [None, 1, 2]}, "LINE")
    roundtrip(experiment, "c", {"x": [1.0], "y": {"steps": [4, 5], "values": [1, 2], "times": [1.0, 2.0]}}, "LINE")


# -- rejections -------------------------------------------------------------------------------


class Opaque:
    pass


REFUSED = {
    "none": None,
    "string": "0.5",
    "bytes": b"\x00",
    "bool": True,
    "bool in list": [1.0, True],
    "numpy bool": np.bool_(True),
    "bool array": np.array([True, False]),
    "string in list": [1.0, "a"],
    "none in list": [1.0, None],
    "object": Opaque(),
    "complex": 1 + 1j,
    "complex array": np.array([1 + 1j]),
    "string array": np.array(["a", "b"]),
    "object array": np.array([Opaque()], dtype=object),
    "empty list": [],
    "empty array": np.array([]),
    "empty dict": {},
    "nested list": [[1.0, 2.0], [3.0]],
    "set": {1.0, 2.0},
    "empty values": {"steps": [], "values": []},
    "values not numbers": {"values": ["a"]},
    "steps shorter": {"steps": [1, 2], "values": [1.0]},
    "steps longer": {"steps": [1], "values": [1.0, 2.0]},
    "unknown key": {"values": [1.0], "colour": "red"},
    "nan step": {"steps": [math.nan], "values": [1.0]},
    "inf step": {"steps": [math.inf], "values": [1.0]},
    "step too large": {"steps": [2**53 + 2], "values": [1.0]},
    "float step too large": {"steps": [1e300], "values": [1.0]},
    "bool step": {"steps": [True], "values": [1.0]},
    "string step": {"steps": ["1"], "values": [1.0]},
    "none step": {"steps": [None], "values": [1.0]},
    "nan time": {"steps": [1], "values": [1.0], "times": [math.nan]},
    "inf time": {"steps": [1], "values": [1.0], "times": [math.inf]},
    "string time": {"steps": [1], "values": [1.0], "times": ["now"]},
    "fractional epoch": {"steps": [1], "values": [1.0], "epochs": [1.5]},
    "string epoch": {"steps": [1], "values": [1.0], "epochs": ["one"]},
    "epochs length": {"values": [1.0, 2.0], "epochs": [1]},
    "non-string series name": {1: [1.0]},
    "empty series name": {"": [1.0]},
    "series not numbers": {"loss": "high"},
    "series empty": {"loss": []},
    "series mapping without values": {"loss": {"steps": [1]}},
    "series mapping unknown key": {"loss": {"values": [1.0], "x": 1}},
    "shared steps length": {"steps": [1, 2], "loss": [1.0]},
    "only shared keys": {"steps": [1], "epochs": [1]},
    "per-step dict with string value": {"steps": 3, "loss": "x"},
    "per-step dict with bool value": {"steps": 3, "loss": True},
    "per-step dict with bool step": {"steps": True, "loss": 1.0},
    "per-step dict with huge step": {"steps": 2**60, "loss": 1.0},
}


@pytest.mark.parametrize("data", list(REFUSED.values()), ids=list(REFUSED))
def test_refused(experiment, data):
    assert_refused(experiment, "curve", data, "LINE")


@pytest.mark.parametrize("data", [10**400, [1.0, 10**400], {"steps": [0], "values": [10**400]}], ids=["scalar", "list", "dict"])
def test_integer_too_large_for_a_float_is_refused(experiment, data):
    # float(10**400) raises OverflowError; that must come out as a trackboard error naming the log.
    assert_refused(experiment, "curve", data, "LINE")


def test_step_too_large_for_a_float_is_refused(experiment):
    assert_refused(experiment, "curve", {"steps": [10**400], "values": [1.0]}, "LINE")


def test_refusal_keeps_existing_points(experiment):
    experiment.log("curve", [1.0, 2.0], "line")
    experiment.flush()
    assert_refused(experiment, "curve", [3.0, "x"], "LINE")
    experiment.log("curve", 3.0, "line")
    assert_same(line(experiment, "curve")["steps"], [0, 1, 2])


def test_error_message_names_log_type_and_problem(experiment):
    with pytest.raises(LogDataTypeError) as caught:
        experiment.log("my_loss", [1.0, "oops"], "line")
    message = str(caught.value)
    assert "LINE" in message and "'my_loss'" in message and "values[1]" in message
    with pytest.raises(InvalidLogError) as caught:
        experiment.log("my_loss", {"steps": [1, 2], "values": [1.0]}, "line")
    message = str(caught.value)
    assert "LINE" in message and "'my_loss'" in message and "steps" in message


@pytest.mark.parametrize("epoch", [2**70, -(2**63), 2**63])
def test_epoch_outside_int64_is_refused_or_kept(experiment, epoch):
    """An accepted epoch must come back as given; one the store cannot hold must be refused."""
    try:
        experiment.log("l", {"steps": [0], "values": [1.0], "epochs": [epoch]}, "line")
    except TrackboardError:
        return
    experiment.flush()
    assert line(experiment, "l").get("epochs") == [epoch]


def test_bulk_epochs_are_checked_exactly(experiment):
    """Lists of plain int epochs take a whole-list range check: it must be exact at 2**53."""
    experiment.log("l", {"steps": [0, 1], "values": [1.0, 2.0], "epochs": [0, 2**53]}, "line")
    for bad in ([0, 2**53 + 1], [-(2**53) - 1, 0], [0, True]):
        with pytest.raises(TrackboardError, match=r"epochs\[\d\]"):
            experiment.log("l", {"steps": [2, 3], "values": [1.0, 2.0], "epochs": bad}, "line")
    experiment.flush()
    assert line(experiment, "l")["epochs"] == [0, 2**53]


@pytest.mark.parametrize("when", [1e300, -1e300, 1e17])
def test_time_outside_the_storable_range_is_refused_or_kept(experiment, when):
    try:
        experiment.log("l", {"steps": [0], "values": [1.0], "times": [when]}, "line")
    except TrackboardError:
        return
    experiment.flush()
    got = line(experiment, "l")["times"][0]
    assert math.isclose(got, when, rel_tol=1e-9), f"time {when!r} came back as {got!r}"


def test_logging_plain_numbers_does_not_import_torch(tmp_path):
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys
        from trackboard import Client, LogType
        experiment = Client(directory={str(tmp_path / 'store')!r}).get_or_create_project("p").create_experiment("e")
        experiment.log("loss", 0.5, LogType.LINE)
        experiment.log("loss", 1, "line")
        experiment.log("curve", [1.0, 2.0], "line")
        experiment.log("curve", {{"steps": [5], "values": [1.0]}}, "line")
        experiment.log("metrics", {{"steps": 3, "a": 1.0, "b": 2}}, "line")
        experiment.log("metrics", {{"a": [1.0], "b": {{"steps": [9], "values": [2.0]}}}}, "line")
        experiment.log("acc", 0.9, "value")
        experiment.log("hp", {{"lr": 0.1}}, "table")
        experiment.flush()
        assert experiment.get_log("loss").data["values"] == [0.5, 1.0]
        heavy = sorted(m for m in ("torch", "tensorflow", "jax", "keras") if m in sys.modules)
        assert not heavy, heavy
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]


# -- the compact one-point forms store what the general path would -------------------------------

_one = st.one_of(st.floats(allow_nan=False), st.integers(-10, 10))


@st.composite
def one_point_forms(draw):
    """Dicts a loop logs every step, in every spelling, with one point per series."""
    wrap = draw(st.booleans())
    out = {}
    if draw(st.booleans()):
        step = draw(st.integers(-3, 3))
        out["steps"] = [step] if draw(st.booleans()) else step
    if draw(st.booleans()):
        epoch = draw(st.integers(0, 3))
        out["epochs"] = [epoch] if draw(st.booleans()) else epoch
    if draw(st.booleans()):
        out["values"] = [draw(_one)] if wrap else draw(_one)
        return out
    for name in draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, unique=True)):
        value = draw(_one)
        if draw(st.booleans()):
            nested = {"values": [value] if wrap else value}
            if draw(st.booleans()):
                nested["steps"] = [draw(st.integers(-3, 3))]
            out[name] = nested
        else:
            out[name] = [value] if wrap else value
    return out


@given(one_point_forms())
@settings(max_examples=200, deadline=None)
def test_compact_forms_hold_the_general_paths_points(data):
    from trackboard.normalise import line
    from trackboard.records import PendingPoints, Point, StepValues

    fast = line._per_step_dict(data)
    general = (line._series(None, data, {}),) if "values" in data else line._several(data)
    if fast is None:
        return
    assert fast.__class__ is (Point if "values" in data else StepValues)
    pending = [PendingPoints(), PendingPoints()]
    for out, normalised in zip(pending, (fast, general)):
        out.add(normalised, 5.0)
    columns = [dict(out.items()) for out in pending]
    assert list(columns[0]) == list(columns[1])
    for name in columns[0]:
        for a, b in zip(columns[0][name].arrays(), columns[1][name].arrays()):
            assert np.array_equal(a, b, equal_nan=True)
