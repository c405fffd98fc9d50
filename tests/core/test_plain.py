"""trackboard._plain, the C checks behind log()'s fast paths: each answers exactly what a Python
reference answers for the same items, refuses whatever is not plain (bools, numpy scalars, float
and int subclasses, larger ints) without raising, and keeps reference counts right."""

from __future__ import annotations

import gc
import math
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from trackboard import _plain

MAX_EXACT = 2**53


class Real(float):
    """A float subclass: a number, but not a plain one."""


class Whole(int):
    """An int subclass: a number, but not a plain one."""


_items = st.one_of(
    st.floats(),  # NaN and infinities included: values may be anything a float holds
    st.integers(-10, 10),
    st.sampled_from([MAX_EXACT, -MAX_EXACT, MAX_EXACT + 1, -MAX_EXACT - 1, 2**63, 10**400]),
    st.booleans(),
    st.none(),
    st.sampled_from(["1", np.float64(1.5), np.int64(2), Real(1.5), Whole(3), [1.0], (2,)]),
)


def reference_kind(items) -> int:
    if type(items) not in (list, tuple):
        return _plain.NOT_PLAIN
    if not all(type(x) is float or type(x) is int and abs(x) <= MAX_EXACT for x in items):
        return _plain.NOT_PLAIN
    return _plain.FLOATS if float in map(type, items) else _plain.INTS


def same_floats(a, b) -> bool:
    return len(a) == len(b) and all(x == y or math.isnan(x) and math.isnan(y) for x, y in zip(a, b))


@given(st.lists(_items, max_size=8), st.booleans())
@settings(max_examples=500, deadline=None)
def test_column_answers_the_reference_kind_and_writes_every_plain_item(items, as_tuple):
    items = tuple(items) if as_tuple else items
    out = np.full(len(items), -7.0)
    kind = _plain.column(items, out)
    assert kind == _plain.column(items) == reference_kind(items)
    if kind != _plain.NOT_PLAIN:
        assert same_floats(out.tolist(), [float(x) for x in items])


def test_column_refuses_what_is_not_a_list_or_tuple_and_checks_its_buffer():
    for not_a_sequence in ("12", np.array([1.0]), range(3), {1.0: 2}, iter([1.0]), None, 1.0):
        assert _plain.column(not_a_sequence) == _plain.NOT_PLAIN
    assert _plain.column([]) == _plain.INTS
    for wrong in (np.empty(2), np.empty(1, np.float32), np.empty(1, np.int64), bytearray(8)):
        with pytest.raises(ValueError, match="a float64 buffer of 1 items"):
            _plain.column([1.0], wrong)
    read_only = np.empty(1)
    read_only.flags.writeable = False
    with pytest.raises((ValueError, BufferError)):
        _plain.column([1.0], read_only)
    with pytest.raises(TypeError):
        _plain.column()


def reference_one_floats(items):
    out = []
    for x in items:
        if type(x) is list:
            if len(x) != 1:
                return None
            x = x[0]
        if type(x) is float:
            out.append(x)
        elif type(x) is int:
            try:
                out.append(float(x))
            except OverflowError:
                return None
        else:
            return None
    return tuple(out)


_per_step = st.one_of(_items, st.lists(_items, max_size=2))


@given(st.lists(_per_step, max_size=6))
@settings(max_examples=500, deadline=None)
def test_one_floats_unwraps_lists_of_one_as_the_reference_does(items):
    expected = reference_one_floats(items)
    got = _plain.one_floats(tuple(items))
    assert (got is None) == (expected is None)
    if got is not None:
        assert type(got) is tuple and all(type(x) is float for x in got) and same_floats(got, expected)
    from_list = _plain.one_floats(list(items))
    assert (from_list is None) == (got is None) and (got is None or same_floats(from_list, got))


def reference_one_step(x):
    if type(x) is list:
        if len(x) != 1:
            return None
        x = x[0]
    return x if type(x) is int and abs(x) <= MAX_EXACT else None


@given(st.one_of(_items, st.lists(_items, max_size=2)))
@settings(max_examples=500, deadline=None)
def test_one_step_takes_a_plain_int_within_2_53_or_a_list_of_one(x):
    got = _plain.one_step(x)
    assert got == reference_one_step(x) and type(got) in (int, type(None))


def reference_nested(series):
    if type(series) is not tuple or not series or any(type(d) is not dict for d in series):
        return None
    layout = set(series[0])
    if "values" not in layout or not layout <= {"steps", "values", "epochs"}:
        return None
    if any(set(d) != layout for d in series):
        return None
    values = reference_one_floats([d["values"] for d in series])
    shared = []
    for key in ("steps", "epochs"):
        if key not in layout:
            shared.append(None)
            continue
        steps = [d[key][0] if type(d[key]) is list and len(d[key]) == 1 else d[key] for d in series]
        if not all(type(s) is int and abs(s) <= MAX_EXACT for s in steps) or len(set(steps)) != 1:
            return None
        shared.append(steps[0])
    return None if values is None else (values, *shared)


_step = st.sampled_from([3, [3], 4, [4], True, [True], 3.0, [1, 2], "3", MAX_EXACT + 1, None, []])


@given(st.lists(st.fixed_dictionaries({"values": _per_step}, optional={"steps": _step, "epochs": _step,
                                                                       "other": st.just(1)}),
                max_size=4))
@settings(max_examples=600, deadline=None)
def test_nested_points_takes_one_point_at_one_step_of_every_series_or_none(series):
    expected = reference_nested(tuple(series))
    got = _plain.nested_points(tuple(series))
    assert (got is None) == (expected is None), (series, got, expected)
    if got is not None:
        assert same_floats(got[0], expected[0]) and got[1:] == expected[1:]


def test_nested_points_survives_a_key_that_empties_the_dict_while_it_is_read():
    class Sneaky:
        """Hashes like 'values' and, when compared, empties the dict that holds it."""

        def __init__(self):
            self.target = None

        def __hash__(self):
            return hash("values")

        def __eq__(self, other):
            if self.target is not None:
                self.target.clear()
            return False

    for _ in range(50):
        sneaky = Sneaky()
        series = {sneaky: 1, "values": [0.5], "steps": [3]}
        sneaky.target = series
        assert _plain.nested_points((series,)) is None  # no crash, and not taken as plain
        assert series == {}  # the lookup did run the key's __eq__


@given(st.lists(st.lists(_items, max_size=4), max_size=4))
@settings(max_examples=500, deadline=None)
def test_square_rows_copies_square_matrices_of_plain_numbers_and_nothing_else(rows):
    plain = all(type(row) is list and len(row) == len(rows)
                and all(type(x) in (int, float) for x in row) for row in rows)
    copy = _plain.square_rows(rows)
    assert (copy is not None) == plain
    if copy is not None:
        assert copy == rows or all(same_floats(a, b) for a, b in zip(copy, rows))
        assert all(a is not b for a, b in zip(copy, rows))  # the caller may change theirs afterwards
        assert not any(gc.is_tracked(row) for row in copy) and gc.is_tracked(copy)


def test_square_rows_refuses_rows_of_other_lengths_tuples_and_other_containers():
    assert _plain.square_rows([[1, 2], [3]]) is None
    assert _plain.square_rows([[1, 2], (3, 4)]) is None
    assert _plain.square_rows(([1],)) is None
    assert _plain.square_rows([[1, 2]]) is None
    assert _plain.square_rows([]) == []


def test_no_call_leaks_or_frees_a_reference():
    """Answers, refusals half-way through and buffers: every item's reference count is as before."""
    value, big, step = 12345.678, 10**400, 2**40 + 3
    watched = [value, big, step]
    before = [sys.getrefcount(x) for x in watched]
    buffer = np.empty(3)
    for _ in range(1000):
        _plain.column([value, step, value], buffer)
        _plain.column([value, big])
        _plain.one_floats([[value], step, value])
        _plain.one_floats([value, [value], big])
        _plain.one_step([step])
        _plain.one_step([big])
        _plain.nested_points(({"values": [value], "steps": [step]}, {"values": value, "steps": step}))
        _plain.nested_points(({"values": [value], "steps": [step]}, {"values": big, "steps": step}))
        _plain.nested_points(({"values": [value], "steps": [step]}, {"values": value, "steps": step + 1}))
        _plain.square_rows([[value, step], [step, value]])
        _plain.square_rows([[value, step], [step, True]])
    assert [sys.getrefcount(x) for x in watched] == before


class Key(str):
    """A str subclass: a name, but not a plain one."""


_keys = st.one_of(st.sampled_from(["loss", "", "é", "bad\ud800", "nul\x00"]), st.text(max_size=3),
                  st.builds(Key, st.just("k")), st.integers(0, 3))
_leaves = st.one_of(_items, st.text(max_size=3), st.sampled_from(["é", "ascii", Key("s")]))


def reference_plain_dict(mapping, numbers: bool) -> bool:
    def plain(value) -> bool:
        if type(value) in (int, float):
            return True
        if numbers:
            return False
        return value is None or type(value) is bool or type(value) is str and value.isascii()

    return (type(mapping) is dict
            and all(type(key) is str and key.isascii() and plain(value) for key, value in mapping.items()))


@given(st.dictionaries(_keys, _leaves, max_size=6), st.booleans())
@settings(max_examples=500, deadline=None)
def test_plain_dict_answers_the_reference(mapping, numbers):
    assert _plain.plain_dict(mapping, numbers) is reference_plain_dict(mapping, numbers)


def test_plain_dict_refuses_what_is_not_a_dict():
    from types import MappingProxyType

    for not_a_dict in (MappingProxyType({"a": 1}), [("a", 1)], None, "a"):
        assert _plain.plain_dict(not_a_dict, False) is False
    assert _plain.plain_dict({}, True) is True


def test_square_rows_refuses_a_long_flat_list_without_allocating_for_it():
    """The shape is checked before anything is made: a list of 3,000 numbers (a matrix would be
    3,000 lists of 3,000) costs nothing to refuse."""
    import tracemalloc

    tracemalloc.start()
    try:
        assert _plain.square_rows([0.5] * 3000) is None
        assert _plain.square_rows([[0.5, 0.5]] * 3000) is None
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 100_000, peak
