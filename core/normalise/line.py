"""LINE: curves. Accepts a number, a list, ``{'steps', 'values'}`` or several named series."""

from __future__ import annotations

import math
from typing import Any, Callable, Mapping

from ..errors import InvalidLogError, LogDataTypeError
from ..records import Series
from .numbers import as_array, as_float_list, as_number, check_step, describe, unwrap

# Keys of one series; in a dict of several series they are shared by all of them.
SERIES_KEYS = ("steps", "values", "times", "epochs")
SHARED_KEYS = frozenset(("steps", "times", "epochs"))


def normalise_line(data: Any) -> tuple[Series, ...]:
    """The points of ``data`` as a tuple of Series (one unnamed series, or named ones)."""
    kind = type(data)
    if kind is float or kind is int:  # the hot path: one number per step
        return (Series(None, None, [float(data)], None, None),)
    if isinstance(data, Mapping):
        if "values" in data:
            return (_series(None, data, {}),)
        return _several(data)
    return (Series(None, None, _values(data, "values"), None, None),)


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
    return [convert(item, f"{what}[{i}]") for i, item in enumerate(items)]


def _step(value: Any, what: str) -> int | float:
    return check_step(float(as_number(value, what)), what)


def _time(value: Any, what: str) -> float:
    seconds = float(as_number(value, what))
    if not math.isfinite(seconds):
        raise InvalidLogError(f"{what} must be a finite number of seconds, got {seconds!r}")
    return seconds


def _epoch(value: Any, what: str) -> int | None:
    value = unwrap(value)
    if value is None:
        return None
    number = as_number(value, what)
    if not float(number).is_integer():
        raise InvalidLogError(f"{what} must be a whole number, got {number!r}")
    return int(number)


def _several(data: Mapping) -> tuple[Series, ...]:
    shared = {key: data[key] for key in SHARED_KEYS if key in data}
    names = [key for key in data if key not in SHARED_KEYS]
    if not names:
        raise InvalidLogError(
            "no series: expected a number, a list of numbers, {'steps': [...], 'values': [...]} "
            "or {'series name': [...], ...}"
        )
    out = []
    for name in names:
        if not isinstance(name, str) or not name:
            raise LogDataTypeError(f"series names must be non-empty strings, got {describe(name)}")
        series = data[name]
        if isinstance(series, Mapping):
            out.append(_series(name, series, shared))
        else:
            values = _values(series, f"series {name!r}")
            out.append(_with_attributes(name, values, shared, f"series {name!r}: "))
    return tuple(out)
