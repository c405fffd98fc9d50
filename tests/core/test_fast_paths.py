"""The normalisers' fast paths (plain dicts and lists checked a column at a time, in C) accept and
refuse exactly what their general paths do, with the same canonical data and the same messages.

Each input is normalised as given (a plain dict or list: the fast path) and disguised (a read-only
mapping proxy or a tuple: the general path, which walks every item in Python).
"""

from __future__ import annotations

import math
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st

from trackboard import LogType
from trackboard.errors import TrackboardError
from trackboard.normalise import normalise


class Name(str):
    """A str subclass: accepted as a name by both paths."""


_names = st.one_of(
    st.sampled_from(["a", "b", "loss", "m0", "", "\x00", "nul\x00", "bad\ud800", "\udfff", "é", "tab\t", "ünï"]),
    st.text(st.characters(blacklist_categories=()), max_size=3),  # surrogates included
    st.builds(Name, st.sampled_from(["a", "x"])),
    st.integers(-2, 2),
)
_numbers = st.one_of(st.floats(allow_nan=False), st.integers(-10, 10), st.integers(2**63, 2**70))
_leaves = st.one_of(_numbers, st.booleans(), st.none(), _names)


def outcome(log_type: LogType, data):
    try:
        return "ok", normalise("x", log_type, data)
    except (TrackboardError, OverflowError) as error:
        return type(error).__name__, str(error)


def same(fast, general) -> bool:
    if fast[0] != general[0]:
        return False
    if fast[0] != "ok":
        return fast[1] == general[1]
    return _equal(fast[1], general[1])


def _equal(a, b) -> bool:  # NaN-free data; ints and floats compared as the JSON they become
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(map(_equal, a, b))
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and (a == b or math.isnan(a) and math.isnan(b))
    return type(a) is type(b) and a == b


@given(st.dictionaries(_names, _leaves, max_size=6))
@settings(max_examples=300, deadline=None)
def test_table_fast_path_is_the_general_path(table):
    assert same(outcome(LogType.TABLE, table), outcome(LogType.TABLE, MappingProxyType(table)))


@given(st.dictionaries(_names, st.one_of(_numbers, st.booleans(), _names), max_size=6))
@settings(max_examples=300, deadline=None)
def test_evaluation_metrics_fast_path_is_the_general_path(metrics):
    fast = outcome(LogType.EVALUATION, {"metrics": metrics})
    assert same(fast, outcome(LogType.EVALUATION, MappingProxyType({"metrics": MappingProxyType(metrics)})))


@given(st.lists(_leaves, max_size=6))
@settings(max_examples=300, deadline=None)
def test_labelmap_fast_path_is_the_general_path(names):
    assert same(outcome(LogType.LABELMAP, names), outcome(LogType.LABELMAP, tuple(names)))


@given(st.lists(_leaves, max_size=6), st.lists(_leaves, max_size=6))
@settings(max_examples=300, deadline=None)
def test_bar_fast_path_is_the_general_path(x, y):
    general = outcome(LogType.BAR, {"x": tuple(x), "y": tuple(y)})
    assert same(outcome(LogType.BAR, {"x": x, "y": y}), general)


@given(st.lists(_names, min_size=1, max_size=3), st.integers(0, 1),
       st.lists(st.lists(st.one_of(_numbers, st.booleans(), st.none()), min_size=1, max_size=4), max_size=4))
@settings(max_examples=300, deadline=None)
def test_heatmap_fast_path_is_the_general_path(categories, extra, rows):
    rows = [row[:len(categories) + extra] for row in rows]
    general = outcome(LogType.HEATMAP, {"categories": tuple(categories), "values": [tuple(row) for row in rows]})
    assert same(outcome(LogType.HEATMAP, {"categories": categories, "values": rows}), general)


@given(st.dictionaries(_names, st.one_of(_numbers, st.lists(_numbers, max_size=2), st.booleans(), _names), max_size=5),
       st.sampled_from([None, 3, [4], -1, 2**60]), st.sampled_from([None, 1, [2]]))
@settings(max_examples=400, deadline=None)
def test_line_per_step_dicts_fast_path_is_the_general_path(series, steps, epochs):
    """Bad names (NUL, lone surrogates, empty, not strings) and values are refused with the general
    path's message; good ones hold the same points."""
    data = dict(series)
    if steps is not None:
        data["steps"] = steps
    if epochs is not None:
        data["epochs"] = epochs
    assert_fast_is_general(data)


def assert_fast_is_general(data: dict, one_series: bool = False) -> None:
    """The per-step dicts' fast path refuses what the general path refuses (leaving it to word the
    error) and holds the same points for what it accepts."""
    from trackboard.normalise import line
    from trackboard.records import PendingPoints

    try:
        fast = line._per_step_dict(data)
    except OverflowError:
        fast = "overflow"
    try:
        general = (line._series(None, data, {}),) if one_series else line._several(data)
    except (TrackboardError, OverflowError) as error:
        assert fast is None or fast == "overflow" and isinstance(error, OverflowError), (fast, error)
        return
    if fast is None:
        return
    assert fast != "overflow"
    pending = [PendingPoints(), PendingPoints()]
    for out, normalised in zip(pending, (fast, general)):
        out.add(normalised, 5.0)
    columns = [dict(out.items()) for out in pending]
    assert list(columns[0]) == list(columns[1])
    for name in columns[0]:
        assert all(map(_equal, (a.tolist() for a in columns[0][name].arrays()),
                       (b.tolist() for b in columns[1][name].arrays())))


def test_more_series_than_one_call_may_log_are_refused_by_the_fast_form_too():
    data = {f"m{k}": 0.5 for k in range(501)}
    assert outcome(LogType.LINE, data)[1].endswith("501 series in one call; at most 500 are accepted "
                                                   "(log them as several LINE logs)")


def test_per_step_dicts_of_known_keys_are_checked_again_at_every_call():
    """The keys' shape is remembered, the values never: the same keys with other values are
    checked again, wherever 'steps' and 'epochs' are among them."""
    from trackboard.normalise import line
    from trackboard.records import StepValues

    for keys in (("steps", "loss", "acc"), ("loss", "steps", "acc", "epochs"), ("loss", "acc", "epochs")):
        good = {key: [3] if key in ("steps", "epochs") else [0.5] for key in keys}
        assert line._per_step_dict(good) == StepValues(("loss", "acc"), (0.5, 0.5), good.get("steps", [None])[0],
                                                         good.get("epochs", [None])[0])
        assert line._per_step_dict({**good, "acc": 2}).values == (0.5, 2.0)
        for bad in ({**good, "acc": True}, {**good, "acc": "0.5"}, {**good, "loss": [0.5, 0.6]}):
            assert line._per_step_dict(bad) is None
            assert outcome(LogType.LINE, bad)[0] != "ok"
        if "steps" in keys:
            assert line._per_step_dict({**good, "steps": 0.5}) is None


def test_the_shape_cache_is_bounded_and_a_full_cache_changes_no_result():
    from trackboard.normalise import line

    for i in range(line.MAX_SHAPES + 10):
        data = {"steps": i, f"metric_{i}": float(i)}
        assert line._per_step_dict(data).values == (float(i),)
    assert len(line._SHAPES) <= line.MAX_SHAPES
    assert outcome(LogType.LINE, {"steps": 1, "bad\x00name": 1.0})[0] != "ok"


_nested_step = st.sampled_from([None, 3, [3], [4], True, [True], 3.0, [1, 2], "3"])


@given(st.lists(st.tuples(_nested_step, _nested_step, st.one_of(_numbers, st.lists(_numbers, max_size=2), st.booleans())),
                min_size=1, max_size=4),
       st.sampled_from([None, 3, [4]]), st.sampled_from([None, 1]))
@settings(max_examples=400, deadline=None)
def test_nested_per_step_series_fast_path_is_the_general_path(series, steps, epochs):
    """{'loss': {'steps': s, 'values': v, 'epochs': e}, ...}: the same keys in every series or not,
    equal steps or not, bools among them or not."""
    data = {}
    for i, (step, epoch, value) in enumerate(series):
        nested = {"values": value}
        if step is not None:
            nested["steps"] = step
        if epoch is not None:
            nested["epochs"] = epoch
        data[f"s{i}"] = nested
    if steps is not None:
        data["steps"] = steps
    if epochs is not None:
        data["epochs"] = epochs
    assert_fast_is_general(data)


@given(_nested_step, _nested_step, st.one_of(_numbers, st.lists(_numbers, max_size=2), st.booleans(), st.none()),
       st.booleans())
@settings(max_examples=400, deadline=None)
def test_one_series_per_step_dict_fast_path_is_the_general_path(step, epoch, value, with_times):
    """{'steps': s, 'values': v, 'epochs': e}: the values and steps of one point, or anything else."""
    data = {"values": value}
    for key, given_value in (("steps", step), ("epochs", epoch)):
        if given_value is not None:
            data[key] = given_value
    if with_times:
        data["times"] = [1.0]
    assert_fast_is_general(data, one_series=True)


def test_a_key_only_equal_to_a_remembered_one_brings_no_unchecked_name_in():
    from trackboard.normalise import line

    class LooksLikeLoss(str):
        def __eq__(self, other):
            return True

        def __hash__(self):
            return hash("loss")

    assert line._per_step_dict({"loss": 1.0}).names == ("loss",)
    sneaky = line._per_step_dict({LooksLikeLoss("bad\x00name"): 2.0})
    assert sneaky is None or all("\x00" not in name for name in sneaky.names)
