"""LINE: curves. Accepts a number, a list, ``{'steps', 'values'}`` or several named series."""

from __future__ import annotations

import math
from operator import itemgetter
from typing import Any, Callable, Mapping

import numpy as np

from .._plain import INTS, NOT_PLAIN, nested_points, one_floats, one_step
from .._plain import column as plain_column
from ..errors import InvalidLogError, LogDataTypeError
from ..records import Point, Series, StepValues
from .numbers import (
    MAX_EXACT_STEP,
    as_array,
    as_float_array,
    as_number,
    check_step,
    describe,
    unwrap,
)
from .text import check_text

# Times are stored as whole microseconds in an int64.
MAX_TIME_S = 9.0e9

# The most named series one call may log: every new series is a row, and one request's write
# transaction must stay short (the server refuses requests with more, see server/api/bounds.py).
MAX_SERIES_PER_CALL = 500

# Keys of one series; in a dict of several series they are shared by all of them.
SERIES_KEYS = ("steps", "values", "times", "epochs")
SHARED_KEYS = frozenset(("steps", "times", "epochs"))


def normalise_line(data: Any) -> tuple[Series, ...] | Point | StepValues:
    """The points of ``data``: a tuple of Series (one unnamed series, or named ones) of float64
    columns, or for the forms that log one point per series and call a compact Point (unnamed
    series) or StepValues (named ones)."""
    kind = type(data)
    if kind is float or kind is int:  # the hot path: one number per step
        return _new_tuple(Point, (None, float(data), None))
    if kind is list and len(data) == 1:
        value = one_floats(data)
        if value is not None:
            return _new_tuple(Point, (None, value[0], None))
    if kind is dict:
        fast = _per_step_dict(data)
        if fast is not None:
            return fast
    if isinstance(data, Mapping):
        if "values" in data:
            return (_series(None, data, {}),)
        return _several(data)
    return (Series(None, None, _values(data, "values"), None, None),)


def _per_step_dict(data: dict) -> Point | StepValues | None:
    """The dicts a training loop logs every step, with one point per series, checked without the
    general machinery: ``{'steps'?: s, 'values': v, 'epochs'?: e}``, ``{'steps'?: s, 'epochs'?: e, 'loss': v,
    'acc': v...}`` and ``{'loss': {'steps'?: s, 'values': v, 'epochs'?: e}, ...}``, where each s, e
    and v is a plain int/float or a list of one. None means "not that simple": the general path
    decides (and words any error).
    """
    if "values" in data:  # one series: the same check as one nested series
        point = nested_points((data,))
        if point is None:
            return None
        values, step, epoch = point
        return _new_tuple(Point, (step, values[0], epoch))
    keys = tuple(data)
    shape = _SHAPES.get(keys)
    if shape is None:
        shape = _shape_of(keys)
        if len(_SHAPES) < MAX_SHAPES:
            _SHAPES[keys] = shape
    if shape is _NOT_SIMPLE:
        return None
    names, series_at, step_at, epoch_at = shape
    everything = tuple(data.values())
    step = None if step_at is None else one_step(everything[step_at])
    epoch = None if epoch_at is None else one_step(everything[epoch_at])
    if step is None and step_at is not None or epoch is None and epoch_at is not None:
        return None
    values = everything[series_at] if series_at.__class__ is slice else series_at(everything)
    floats = one_floats(values)  # plain numbers or lists of one, as floats, checked in C
    if floats is not None:
        return _new_tuple(StepValues, (names, floats, step, epoch))
    return _nested_step_values(names, values, step, epoch)


# The per-step dicts of a loop have the same keys at every step: what the keys decide (which are
# series, where the step and epoch are, whether the names are simple) is worked out once per key
# tuple. Bounded: a loop logging new names at every step only stops being cached. The names stored
# are the remembered ones, which passed the checks: a key merely equal to one of them (a str
# subclass with its own __eq__) cannot bring NUL or a lone surrogate in.
MAX_SHAPES = 4096
_SHAPES: dict[tuple, tuple | object] = {}
_NOT_SIMPLE = object()  # keys the general path handles: "times", names to word an error about...


def _shape_of(keys: tuple) -> tuple | object:
    """(series names, where their values are, the position of 'steps', of 'epochs') for a per-step
    dict's keys, or _NOT_SIMPLE."""
    series = [i for i, key in enumerate(keys) if key != "steps" and key != "epochs"]
    if "times" in keys or not series or len(series) > MAX_SERIES_PER_CALL:
        return _NOT_SIMPLE
    names = tuple(keys[i] for i in series)
    try:  # one pass over every name: a non-string fails the join, NUL and lone surrogates isprintable
        printable = "".join(names).isprintable()
    except TypeError:
        return _NOT_SIMPLE
    if not printable or "" in names:
        return _NOT_SIMPLE
    contiguous = series[-1] - series[0] == len(series) - 1
    series_at = slice(series[0], series[-1] + 1) if contiguous else itemgetter(*series)
    step_at = keys.index("steps") if "steps" in keys else None
    epoch_at = keys.index("epochs") if "epochs" in keys else None
    return names, series_at, step_at, epoch_at


_new_tuple = tuple.__new__  # a NamedTuple without its Python __new__


def _nested_step_values(names: tuple, series: tuple, shared_step: int | None, shared_epoch: int | None) -> StepValues | None:
    """``{'loss': {'steps'?: s, 'values': v, 'epochs'?: e}, ...}``: the series dicts, all with the same
    keys and one point, at the same step and epoch (checked in C); None when not that simple."""
    points = nested_points(series)
    if points is None:
        return None
    values, step, epoch = points
    step = shared_step if step is None else step  # a series' own step wins over the shared one
    epoch = shared_epoch if epoch is None else epoch
    return _new_tuple(StepValues, (names, values, step, epoch))


def _values(data: Any, what: str) -> np.ndarray:
    if isinstance(data, (list, tuple)) or as_array(data) is not None:
        values = as_float_array(data, what)
    else:
        values = np.array([float(as_number(data, what))])
    if not len(values):
        raise InvalidLogError(f"{what} is empty")
    return values


def _series(name: str | None, data: Mapping, shared: Mapping) -> Series:
    unknown = set(data) - set(SERIES_KEYS)
    where = "" if name is None else f"series {name!r}: "
    if unknown:
        raise InvalidLogError(
            f"{where}unknown keys {sorted(map(str, unknown))}; a series has {list(SERIES_KEYS)}"
        )
    if "values" not in data:
        raise InvalidLogError(f"{where}missing 'values'")
    values = _values(data["values"], f"{where}values")
    merged = {**shared, **{k: data[k] for k in SHARED_KEYS if k in data}}
    return _with_attributes(name, values, merged, where)


def _with_attributes(name: str | None, values: np.ndarray, extra: Mapping, where: str) -> Series:
    n = len(values)
    steps = _attribute(extra.get("steps"), n, f"{where}steps", _step)
    times = _attribute(extra.get("times"), n, f"{where}times", _time)
    epochs = _attribute(extra.get("epochs"), n, f"{where}epochs", _epoch)
    return Series(name, steps, values, times, epochs)


def _attribute(raw: Any, n: int, what: str, convert: Callable[[Any, str], Any]) -> np.ndarray | None:
    """One per-point attribute (steps, times, epochs) as float64: n items, or one item when n == 1.

    Numeric arrays and lists of plain numbers get one vectorised check; anything else (or a
    column that fails it) is checked item by item, so the error names the item.
    """
    if raw is None:
        return None
    array = as_array(raw)
    if array is not None and array.ndim == 1 and array.dtype.kind in "iuf":
        if len(array) != n:
            raise InvalidLogError(f"{len(array)} {what} for {n} values; expected {n}")
        column = _array_column(array, convert)
        if column is not None:
            return column
    items = unwrap(raw)
    if not isinstance(items, (list, tuple)):
        items = [items]
    if len(items) != n:
        raise InvalidLogError(f"{len(items)} {what} for {n} values; expected {n}")
    column = np.empty(n)
    kind = plain_column(items, column)  # checked and converted in one C pass
    if kind != NOT_PLAIN and _within(column, convert, kind == INTS):
        return column
    return np.array([convert(item, f"{what}[{i}]") for i, item in enumerate(items)], dtype=np.float64)


def _array_column(array: np.ndarray, convert: Callable[[Any, str], Any]) -> np.ndarray | None:
    """A numeric array's float64 copy (the caller may change theirs) when every item passes
    ``convert``'s check, else None. Integer arrays are compared exactly, before the conversion."""
    if array.dtype.kind in "iu":
        limit = _limit(convert)
        if len(array) and not (-limit <= array.min() and array.max() <= limit):
            return None
        return array.astype(np.float64)
    column = np.array(array, dtype=np.float64)
    return column if _within(column, convert, False) else None


def _within(column: np.ndarray, convert: Callable[[Any, str], Any], whole: bool) -> bool:
    """Whether every item of a float64 column passes ``convert``'s check; ``whole``: all of them
    came from ints within +-2**53 (so steps and epochs need no check)."""
    if convert is not _time and whole:
        return True
    within = np.abs(column) <= _limit(convert)  # NaN fails it too
    if convert is _epoch and not whole:
        within &= column == np.floor(column)
    return bool(np.all(within))


def _limit(convert: Callable[[Any, str], Any]) -> float:
    """The largest magnitude ``convert`` accepts: seconds for times, 2**53 for steps and epochs."""
    return MAX_TIME_S if convert is _time else MAX_EXACT_STEP


def _step(value: Any, what: str) -> int | float:
    return check_step(float(as_number(value, what)), what)


def _time(value: Any, what: str) -> float:
    seconds = float(as_number(value, what))
    if not math.isfinite(seconds) or abs(seconds) > MAX_TIME_S:
        raise InvalidLogError(f"{what} must be seconds since the epoch within +-{MAX_TIME_S:.0e}, got {seconds!r}")
    return seconds


def _epoch(value: Any, what: str) -> int | None:
    value = unwrap(value)
    if value is None:
        return None
    number = as_number(value, what)
    if not float(number).is_integer() or abs(number) > MAX_EXACT_STEP:
        raise InvalidLogError(f"{what} must be a whole number within +-2**53, got {number!r}")
    return int(number)


def _several(data: Mapping) -> tuple[Series, ...]:
    shared = {key: data[key] for key in SHARED_KEYS if key in data}
    names = [key for key in data if key not in SHARED_KEYS]
    if len(names) > MAX_SERIES_PER_CALL:
        raise InvalidLogError(f"{len(names)} series in one call; at most {MAX_SERIES_PER_CALL} are accepted "
                              "(log them as several LINE logs)")
    if not names:
        raise InvalidLogError(
            "no series: expected a number, a list of numbers, {'steps': [...], 'values': [...]} "
            "or {'series name': [...], ...}"
        )
    out = []
    for name in names:
        if not isinstance(name, str) or not name:
            raise LogDataTypeError(f"series names must be non-empty strings, got {describe(name)}")
        check_text(name, "a series name", nul=False)
        series = data[name]
        if isinstance(series, Mapping):
            out.append(_series(name, series, shared))
        else:
            values = _values(series, f"series {name!r}")
            out.append(_with_attributes(name, values, shared, f"series {name!r}: "))
    return tuple(out)
