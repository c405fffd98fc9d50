"""BAR (labelled numbers) and HEATMAP (an N x N matrix, or N+1 x N+1 with FP/FN)."""

from __future__ import annotations

from typing import Any, KeysView, Mapping

from .._plain import NOT_PLAIN, square_rows
from .._plain import column as plain_column
from ..errors import InvalidLogError, LogDataTypeError
from .numbers import as_number, as_number_matrix, as_scalar, describe, unwrap
from .text import ascii_names, ascii_strings, check_text


def _keys(data: Any, required: KeysView, kind: str) -> Mapping:
    if type(data) is dict and data.keys() == required:  # one C-level comparison, as sets
        return data
    if not isinstance(data, Mapping):
        raise LogDataTypeError(f"a {kind} must be a mapping with keys {list(required)}, got {describe(data)}")
    names = list(required)  # compared by equality: a Mapping's keys need not be hashable
    missing = [key for key in names if key not in data]
    extra = sorted(str(key) for key in data if key not in names)
    if missing or extra:
        problems = ([f"missing {missing}"] if missing else []) + ([f"unknown {extra}"] if extra else [])
        raise InvalidLogError(f"{' and '.join(problems)} keys; expected exactly {list(required)}")
    return data


# The keys each type takes: ordered (for the messages) and compared as a set.
_BAR_KEYS = dict.fromkeys(("x", "y")).keys()
_HEATMAP_KEYS = dict.fromkeys(("categories", "values")).keys()

# Types of plain data the fast paths pass through as they are (bool is not a number here).
_LABELS = frozenset((str, int, float))


def normalise_bar(data: Any) -> dict[str, list]:
    """``{'x': [labels], 'y': [numbers]}`` of equal, non-zero length."""
    data = _keys(data, _BAR_KEYS, "BAR")
    x, y = data["x"], data["y"]
    if (type(x) is list and type(y) is list and x and len(x) == len(y) and plain_column(y) != NOT_PLAIN
            and (ascii_names(x) or set(map(type, x)) <= _LABELS and ascii_strings(x))):
        return {"x": list(x), "y": list(y)}  # plain labels and numbers: nothing to convert
    x, y = unwrap(x), unwrap(y)
    for key, items in (("x", x), ("y", y)):
        if not isinstance(items, (list, tuple)):
            raise LogDataTypeError(f"'{key}' must be a list, got {describe(items)}")
    if len(x) != len(y):
        raise InvalidLogError(f"{len(x)} x labels for {len(y)} y values; expected equal lengths")
    if not x:
        raise InvalidLogError("no bars: 'x' and 'y' are empty")
    labels = []
    for i, label in enumerate(x):
        label = as_scalar(label, f"x[{i}]")
        if label is None or isinstance(label, bool):
            raise LogDataTypeError(f"x[{i}] must be a string or a number, got {label!r}")
        labels.append(label)
    return {"x": labels, "y": [as_number(v, f"y[{i}]") for i, v in enumerate(y)]}


def normalise_heatmap(data: Any) -> dict[str, list]:
    """``{'categories': N names, 'values': N x N or (N+1) x (N+1) numbers}``."""
    data = _keys(data, _HEATMAP_KEYS, "HEATMAP")
    categories, rows = data["categories"], data["values"]
    if type(categories) is list and categories and ascii_names(categories):
        copy = square_rows(rows)  # plain numbers, checked and copied in C
        if copy is not None and len(copy) - len(categories) in (0, 1):
            return {"categories": list(categories), "values": copy}  # nothing to convert
    categories = unwrap(categories)
    if not isinstance(categories, (list, tuple)) or not categories:
        raise InvalidLogError(f"'categories' must be a non-empty list of names, got {describe(categories)}")
    for i, category in enumerate(categories):
        if not isinstance(category, str):
            raise LogDataTypeError(f"categories[{i}] must be a string, got {describe(category)}")
        check_text(category, f"categories[{i}]")
    values = as_number_matrix(data["values"], "values")
    n = len(categories)
    if len(values) not in (n, n + 1):
        raise InvalidLogError(f"{len(values)} rows of values for {n} categories; expected {n} or {n + 1}")
    for r, row in enumerate(values):
        if len(row) != len(values):
            raise InvalidLogError(
                f"row {r} of values has {len(row)} columns; expected {len(values)} (a square matrix)"
            )
    return {"categories": list(categories), "values": values}
