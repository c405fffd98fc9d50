"""Hyperparameters as a lossless TABLE: whatever a framework hands over becomes JSON-like data.

Two small pure functions, used by every adapter:

- ``to_params`` turns the container a framework gives (a dict, an ``argparse.Namespace``, a
  dataclass such as ``TrainingArguments``, a config object with ``to_dict``) into a dict;
- ``sanitize`` turns every value inside into what a TABLE stores (None, bool, int, float, str,
  lists and nested dicts), without truncating anything and without raising.

Nested mappings stay nested (the TABLE keeps them and the dashboard shows them flattened), so a
key that itself contains a dot or a slash never becomes ambiguous.
"""

from __future__ import annotations

import dataclasses
import enum
import inspect
import os
import sys
from argparse import Namespace
from types import SimpleNamespace
from typing import Any, Mapping

_PLAIN = (str, int, float, bool, type(None))
_MAX_DEPTH = 64  # deeper than any real config; guards against self-referencing objects


def to_params(params: Any) -> dict[str, Any]:
    """The hyperparameters held by ``params`` as a plain dict (not yet sanitized).

    >>> to_params(Namespace(lr=0.1, layers=2))
    {'lr': 0.1, 'layers': 2}
    >>> @dataclasses.dataclass
    ... class Args:
    ...     lr: float = 0.01
    >>> to_params(Args())
    {'lr': 0.01}
    >>> to_params(None)
    {}
    """
    if params is None:
        return {}
    if isinstance(params, Mapping):
        return dict(params)
    if isinstance(params, (Namespace, SimpleNamespace)):
        return dict(vars(params))
    # to_dict first: TrainingArguments is a dataclass whose to_dict() also hides the hub token.
    to_dict = getattr(params, "to_dict", None)  # Hugging Face configs and TrainingArguments
    if callable(to_dict):
        return dict(to_dict())
    if dataclasses.is_dataclass(params) and not isinstance(params, type):
        return {field.name: getattr(params, field.name) for field in dataclasses.fields(params)}
    get_config = getattr(params, "get_config", None)  # Keras objects
    if callable(get_config):
        return dict(get_config())
    raise TypeError(f"hyperparameters must be a mapping, a Namespace or a dataclass, got {type(params).__name__}")


def sanitize(value: Any) -> Any:
    """``value`` as TABLE data: JSON-like, nothing truncated, never raising.

    Paths become strings, enums their value, dtypes their name, classes and functions their
    qualified name, tuples and sets lists, keys strings; an unknown object becomes its ``repr``.

    >>> import pathlib, enum
    >>> class Mode(enum.Enum):
    ...     FAST = "fast"
    >>> sanitize({"root": pathlib.PurePosixPath("/data"), "mode": Mode.FAST, "sizes": (1, 2), 3: None})
    {'root': '/data', 'mode': 'fast', 'sizes': [1, 2], '3': None}
    >>> sanitize({"act": len, "cls": Namespace, "nested": {"ns": Namespace(a=1)}})
    {'act': 'builtins.len', 'cls': 'argparse.Namespace', 'nested': {'ns': {'a': 1}}}
    >>> import numpy as np
    >>> sanitize({"dtype": np.dtype("float32"), "w": np.array([0.5, 2.0]), "n": np.int64(3)})
    {'dtype': 'float32', 'w': [0.5, 2.0], 'n': 3}
    >>> loop = {}; loop["self"] = loop
    >>> sanitize(loop)
    {'self': '<cycle>'}
    """
    return _sanitize(value, set(), 0)


def _sanitize(value: Any, seen: set[int], depth: int) -> Any:
    if type(value) in _PLAIN:
        return value
    if depth > _MAX_DEPTH:
        return _repr(value)
    try:
        return _convert(value, seen, depth)
    except Exception:  # noqa: BLE001 - a property that raises, a broken __repr__...: keep the rest
        return _repr(value)


def _convert(value: Any, seen: set[int], depth: int) -> Any:
    if isinstance(value, enum.Enum):
        return _sanitize(value.value, seen, depth + 1)
    if isinstance(value, _PLAIN):  # subclasses of str/int/float (numpy.float64 is one)
        return _plain(value)
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("utf-8", "backslashreplace")
    if _is_dtype(value):
        return str(value)
    array = _as_array(value)
    if array is not None:
        return _sanitize(array.tolist(), seen, depth + 1)
    if isinstance(value, type) or inspect.isroutine(value):
        return _qualified_name(value)

    # Containers: guard against cycles along the current path.
    if id(value) in seen:
        return "<cycle>"
    seen.add(id(value))
    try:
        if isinstance(value, Mapping):
            return {_key(k): _sanitize(v, seen, depth + 1) for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [_sanitize(v, seen, depth + 1) for v in value]
        if isinstance(value, (set, frozenset)):
            return [_sanitize(v, seen, depth + 1) for v in sorted(value, key=repr)]
        if isinstance(value, (Namespace, SimpleNamespace)) or (
            dataclasses.is_dataclass(value) and not isinstance(value, type)
        ):
            return _sanitize(to_params(value), seen, depth + 1)
        if callable(getattr(value, "to_dict", None)) or callable(getattr(value, "get_config", None)):
            # A Hugging Face config, a Keras optimizer / loss object: keep what it is and its settings.
            return {"class": _qualified_name(type(value)), "config": _sanitize(to_params(value), seen, depth + 1)}
    finally:
        seen.discard(id(value))
    if callable(value):  # functools.partial, a loss module, a lambda held in an object...
        return _repr(value)
    return _repr(value)


def _plain(value: Any) -> Any:
    for kind in (bool, int, float, str):
        if isinstance(value, kind):
            return kind(value)
    return value


def _is_dtype(value: Any) -> bool:
    # numpy.dtype, torch.dtype, jax/keras dtypes: named "dtype" in their own module.
    return type(value).__name__.lower().endswith("dtype") and not isinstance(value, type)


def _as_array(value: Any):
    """A numpy array for numpy arrays/scalars and tensors (detached, on the CPU), else None."""
    module = type(value).__module__
    if module.startswith("numpy") and hasattr(value, "tolist"):
        return value
    if hasattr(value, "detach") and hasattr(value, "cpu") and module.startswith("torch"):
        return value.detach().cpu().numpy()
    if module.startswith(("jax", "jaxlib", "tensorflow", "keras")) and hasattr(value, "shape"):
        import numpy as np

        return np.asarray(value)
    return None


def _qualified_name(obj: Any) -> str:
    """``module.name`` as the object is imported (``torch.relu``, not ``torch._VariableFunctionsClass.relu``)."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__name__", None)
    if module and name and getattr(sys.modules.get(module), name, None) is obj:
        return f"{module}.{name}"
    qualname = getattr(obj, "__qualname__", None) or name or repr(obj)
    return f"{module}.{qualname}" if module else qualname


def _key(key: Any) -> str:
    if isinstance(key, str):
        return str(key)
    if isinstance(key, enum.Enum):
        return str(key.value)
    return str(key)


def _repr(value: Any) -> str:
    try:
        return repr(value)
    except Exception:  # noqa: BLE001
        return f"<{type(value).__name__} object>"
