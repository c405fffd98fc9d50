"""VALUE (one scalar), TABLE (a mapping or a matrix) and LABELMAP (class id -> name)."""

from __future__ import annotations

from typing import Any, Mapping

from .._plain import plain_dict
from ..errors import InvalidLogError, LogDataTypeError
from .numbers import as_array, as_scalar, describe, unwrap
from .text import ascii_names, check_text

MATRIX_KEYS = frozenset(("data", "rows", "columns"))
MAX_TABLE_DEPTH = 32  # nested mappings and lists in a TABLE; deeper data is refused


def normalise_value(data: Any) -> int | float | bool | str:
    """One scalar; the latest logged value wins."""
    if data is None:
        raise LogDataTypeError("a VALUE must be a number, bool or string, got None")
    return as_scalar(data, "value")


def normalise_table(data: Any) -> dict[str, Any]:
    """A mapping name -> scalar / list / nested mapping, or ``{'data', 'rows', 'columns'}``."""
    if type(data) is dict and data and "data" not in data and plain_dict(data, False):
        return dict(data)  # ASCII keys and plain leaves (a table of metrics or parameters): nothing to convert
    if not isinstance(data, Mapping):
        raise LogDataTypeError(f"a TABLE must be a mapping, got {describe(data)}")
    if not data:
        raise InvalidLogError("the table is empty")
    if _is_matrix(data):
        return _matrix(data)
    return _mapping(data, "")


_IDS = [str(i) for i in range(1024)]  # a LABELMAP list's ids, made once


def _is_matrix(data: Mapping) -> bool:
    if "data" not in data or not set(data) <= MATRIX_KEYS:
        return False
    rows = data["data"]
    if as_array(rows) is not None:
        return True
    return isinstance(rows, (list, tuple)) and all(isinstance(r, (list, tuple)) for r in rows)


def _matrix(data: Mapping) -> dict[str, Any]:
    cells = data["data"]
    array = as_array(cells)
    if array is not None:
        if array.ndim != 2:
            raise InvalidLogError(f"'data' must be 2-dimensional, got shape {tuple(array.shape)}")
        cells = array.tolist()
    rows = [[as_scalar(v, f"data[{r}][{c}]") for c, v in enumerate(row)] for r, row in enumerate(cells)]
    widths = {len(row) for row in rows}
    if len(widths) > 1:
        raise InvalidLogError(f"rows of 'data' have different lengths {sorted(widths)}")
    out: dict[str, Any] = {"data": rows}
    for key, expected in (("rows", len(rows)), ("columns", widths.pop() if widths else 0)):
        if data.get(key) is not None:
            labels = [as_scalar(v, f"{key}[{i}]") for i, v in enumerate(unwrap(data[key]))]
            if len(labels) != expected:
                raise InvalidLogError(f"{len(labels)} {key} labels for {expected} {key}; expected {expected}")
            out[key] = labels
    return out


def _mapping(data: Mapping, prefix: str, depth: int = 1) -> dict[str, Any]:
    if depth > MAX_TABLE_DEPTH:
        raise InvalidLogError(f"the table is nested more than {MAX_TABLE_DEPTH} levels deep (at {prefix[:100]!r})")
    out: dict[str, Any] = {}
    for key, value in data.items():
        if not isinstance(key, str):
            raise LogDataTypeError(f"key {prefix}{key!r} must be a string, got {type(key).__name__}")
        check_text(key, f"key {prefix}{key!r}")
        out[key] = _cell(value, f"{prefix}{key}", depth)
    return out


def _cell(value: Any, what: str, depth: int) -> Any:
    if isinstance(value, Mapping):
        return _mapping(value, what + ".", depth + 1)
    value = unwrap(value)
    if isinstance(value, (list, tuple)):
        if depth + 1 > MAX_TABLE_DEPTH:
            raise InvalidLogError(f"the table is nested more than {MAX_TABLE_DEPTH} levels deep (at {what[:100]!r})")
        return [_cell(item, f"{what}[{i}]", depth + 1) for i, item in enumerate(value)]
    return as_scalar(value, what)


def normalise_labelmap(data: Any) -> dict[str, str]:
    """``{id: name}`` or a list of names -> ``{'0': 'cat', ...}``."""
    if type(data) is list and data and ascii_names(data):  # a list of names
        return dict(zip(_IDS if len(data) <= len(_IDS) else map(str, range(len(data))), data))
    if isinstance(data, (list, tuple)):
        data = dict(enumerate(data))
    if not isinstance(data, Mapping):
        raise LogDataTypeError(f"a LABELMAP must be a mapping id -> name or a list of names, got {describe(data)}")
    if not data:
        raise InvalidLogError("the label map is empty")
    out = {}
    for key, name in data.items():
        key = unwrap(key)
        if isinstance(key, bool) or not isinstance(key, (int, str)):
            raise LogDataTypeError(f"label id {key!r} must be an int or a string")
        if not isinstance(name, str):
            raise LogDataTypeError(f"label {key!r} must be named by a string, got {describe(name)}")
        check_text(name, f"label {key!r}")
        if isinstance(key, str):
            check_text(key, "a label id")
        if str(key) in out:
            raise InvalidLogError(f"label id {key!r} appears twice (ids are compared as strings)")
        out[str(key)] = name
    return out
