"""Turning numpy, torch and Python numbers into plain Python ones.

Torch is never imported here: a tensor is recognised by its class's module, so logging plain
floats costs no torch import.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from .._plain import NOT_PLAIN
from .._plain import column as plain_column
from ..errors import InvalidLogError, LogDataTypeError
from .text import check_text

MAX_EXACT_STEP = 2**53  # float64 holds every integer up to here, so steps round-trip exactly


def is_tensor(value: Any) -> bool:
    """True for a torch tensor (or a Keras/JAX array exposing ``numpy()``), without importing torch."""
    module = type(value).__module__
    return module.startswith(("torch", "jax", "jaxlib")) and hasattr(value, "shape")


def tensor_to_numpy(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach()
        if hasattr(value, "cpu"):
            value = value.cpu()
        if str(getattr(value, "dtype", "")) == "torch.bfloat16":
            value = value.float()
    return np.asarray(value)


def unwrap(value: Any) -> Any:
    """A numpy/torch scalar or 0-d array as a Python scalar; an array as nested lists; else as is."""
    if is_tensor(value):
        value = tensor_to_numpy(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _one_element(value: Any) -> Any:
    """A numpy/torch scalar, or a one-element array or tensor, as a Python scalar; else as is."""
    array = as_array(value) if not isinstance(value, np.generic) else None
    if array is not None and array.size == 1:
        return array.reshape(()).item()
    return unwrap(value)


def describe(value: Any) -> str:
    text = repr(value)
    if len(text) > 40:
        text = text[:37] + "..."
    return f"{type(value).__name__} {text}"


def as_number(value: Any, what: str) -> int | float:
    """An int or float from any real number; bools and strings are refused."""
    kind = type(value)
    if kind is float or kind is int:
        return value
    value = _one_element(value)
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise LogDataTypeError(f"{what} must be a number, got {describe(value)}")
    return value if isinstance(value, int) else float(value)


def as_float(value: Any, what: str) -> float:
    if type(value) is float:
        return value
    return float(as_number(value, what))


def as_array(value: Any) -> np.ndarray | None:
    """A numpy view of an array-like of numbers, or None when it is not a numeric array."""
    if is_tensor(value):
        value = tensor_to_numpy(value)
    if isinstance(value, np.ndarray):
        return value
    return None


def as_float_array(values: Any, what: str) -> np.ndarray:
    """A new 1-d float64 array from a list/tuple/array/tensor of numbers.

    Plain lists and arrays are converted in one numpy call; anything else item by item, so an
    error names the item that is wrong.
    """
    array = as_array(values)
    if array is not None:
        if array.dtype.kind not in "iuf":
            raise LogDataTypeError(f"{what} must be numbers, got an array of {array.dtype}")
        if array.ndim > 1:
            raise InvalidLogError(f"{what} must be 1-dimensional, got shape {tuple(array.shape)}")
        return np.array(array, dtype=np.float64).ravel()  # a copy: the caller may change theirs
    if not isinstance(values, (list, tuple)):
        raise LogDataTypeError(f"{what} must be a list of numbers, got {describe(values)}")
    column = np.empty(len(values))
    if plain_column(values, column) != NOT_PLAIN:  # checked and converted in one C pass
        return column
    return np.array([float(as_number(item, f"{what}[{index}]")) for index, item in enumerate(values)],
                    dtype=np.float64)


def check_step(step: float, what: str) -> int | float:
    if not math.isfinite(step) or abs(step) > MAX_EXACT_STEP:
        raise InvalidLogError(f"{what} must be a finite number within +-2**53, got {step!r}")
    return int(step) if step.is_integer() else step


def as_number_matrix(values: Any, what: str) -> list[list[int | float]]:
    """A 2-d list of numbers from nested lists or a 2-d array (ints stay ints)."""
    array = as_array(values)
    if array is not None:
        if array.ndim != 2:
            raise InvalidLogError(f"{what} must be 2-dimensional, got shape {tuple(array.shape)}")
        if array.dtype.kind not in "iuf":
            raise LogDataTypeError(f"{what} must be numbers, got an array of {array.dtype}")
        return array.tolist()
    if not isinstance(values, (list, tuple)):
        raise LogDataTypeError(f"{what} must be a list of rows, got {describe(values)}")
    rows = []
    for r, row in enumerate(values):
        if not isinstance(row, (list, tuple)) and as_array(row) is None:
            raise LogDataTypeError(f"{what}[{r}] must be a list of numbers, got {describe(row)}")
        rows.append([as_number(v, f"{what}[{r}][{c}]") for c, v in enumerate(unwrap(row))])
    return rows


def as_scalar(value: Any, what: str) -> int | float | bool | str | None:
    """A JSON-like leaf: None, bool, int, float or str (numpy/torch scalars unwrapped)."""
    kind = type(value)
    if kind is str:
        return check_text(value, what)
    if value is None or kind in (int, float, bool):
        return value
    value = _one_element(value)
    if isinstance(value, str):
        return check_text(value, what)
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real):
        return value if isinstance(value, int) else float(value)
    raise LogDataTypeError(f"{what} must be a number, bool or string, got {describe(value)}")
