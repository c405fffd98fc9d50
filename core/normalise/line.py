"""LINE: curves. Accepts a number, a list, ``{'steps', 'values'}`` or several named series."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

import numpy as np

from ..errors import InvalidLogError, LogDataTypeError
from ..records import Point, Series, StepValues
from .numbers import (
    MAX_EXACT_STEP,
    as_array,
    as_float_list,
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
    """The points of ``data``: a tuple of Series (one unnamed series, or named ones), or for the
    common one-point-per-call forms a compact Point (unnamed series) or StepValues (named ones)."""
    kind = type(data)
    if kind is float or kind is int:  # the hot path: one number per step
        return Point(None, float(data))
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
    """The forms a training loop logs every step, checked without the general machinery.

    ``{'steps': [s], 'values': [v]}`` and ``{'steps'?: s, 'epochs'?: e, 'loss': v, 'acc': v...}``
    with plain ints and floats; None means "not that simple": the general path decides.
    """
    if "values" in data:
        steps, values = data.get("steps"), data["values"]
        if (len(data) == 2 and type(values) is list and type(steps) is list and len(values) == 1
                and len(steps) == 1 and type(values[0]) in _PLAIN and type(steps[0]) is int
                and -MAX_EXACT_STEP <= steps[0] <= MAX_EXACT_STEP):
            return Point(steps[0], float(values[0]))
        return None
    step = data.get("steps")
    epoch = data.get("epochs")
    if step is not None and (type(step) is not int or not -MAX_EXACT_STEP <= step <= MAX_EXACT_STEP):
        return None
    if (epoch is not None and (type(epoch) is not int or not -MAX_EXACT_STEP <= epoch <= MAX_EXACT_STEP)) or "times" in data:
        return None
    values = dict(data) if step is None and epoch is None else {k: v for k, v in data.items() if k not in SHARED_KEYS}
    if not values:
        return None
    for name, value in values.items():
        if (type(value) is not float and type(value) is not int) or type(name) is not str or not name.isprintable():
            return None  # (NUL and lone surrogates are not printable: the general path refuses them)
    return StepValues(values, step, epoch)


_PLAIN = (float, int)


def _values(data: Any, what: str) -> list[float]:
    if isinstance(data, (list, tuple)) or as_array(data) is not None:
        values = as_float_list(data, what)
    else:
        values = [float(as_number(data, what))]
    if not values:
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


def _with_attributes(name: str | None, values: list[float], extra: Mapping, where: str) -> Series:
    n = len(values)
    steps = _attribute(extra.get("steps"), n, f"{where}steps", _step)
    times = _attribute(extra.get("times"), n, f"{where}times", _time)
    epochs = _attribute(extra.get("epochs"), n, f"{where}epochs", _epoch)
    return Series(name, steps, values, times, epochs)


def _attribute(raw: Any, n: int, what: str, convert: Callable[[Any, str], Any]) -> list | None:
    """One per-point attribute (steps, times, epochs): a list of n items, or one item when n == 1."""
    if raw is None:
        return None
    items = unwrap(raw)
    if not isinstance(items, (list, tuple)):
        items = [items]
    if len(items) != n:
        raise InvalidLogError(f"{len(items)} {what} for {n} values; expected {n}")
    # Plain numbers (what loops and adapters log in bulk) get one range check for the whole list.
    limit = _LIMITS.get(convert)
    if limit is not None and all(type(item) is float or type(item) is int for item in items):
        if bool(np.all(np.abs(np.asarray(items, dtype=np.float64)) <= limit)):  # NaN fails it too
            return list(items)
    elif convert is _epoch and all(type(item) is int for item in items):
        if -MAX_EXACT_STEP <= min(items) and max(items) <= MAX_EXACT_STEP:  # exact, unlike float64
            return list(items)
    return [convert(item, f"{what}[{i}]") for i, item in enumerate(items)]


def _step(value: Any, what: str) -> int | float:
    return check_step(float(as_number(value, what)), what)


def _time(value: Any, what: str) -> float:
    seconds = float(as_number(value, what))
    if not math.isfinite(seconds) or abs(seconds) > MAX_TIME_S:
        raise InvalidLogError(f"{what} must be seconds since the epoch within +-{MAX_TIME_S:.0e}, got {seconds!r}")
    return seconds


_LIMITS = {_step: MAX_EXACT_STEP, _time: MAX_TIME_S}  # per-point checks with a vectorised twin


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
