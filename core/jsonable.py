"""Strict JSON for data that may hold NaN and +-inf (exports, the dashboard, the wire).

Python's ``json`` writes NaN as a bare token that JSON parsers reject; here non-finite floats
become the strings "NaN", "Infinity" and "-Infinity", which every reader can parse and show.
"""

from __future__ import annotations

import json
import math
from typing import Any

NON_FINITE = {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}


def json_safe(data: Any) -> Any:
    """``data`` with every non-finite float replaced by its string name.

    >>> json_safe({"a": [1.0, float("nan"), float("-inf")]})
    {'a': [1.0, 'NaN', '-Infinity']}
    """
    if isinstance(data, float):
        if math.isfinite(data):
            return data
        return "NaN" if math.isnan(data) else ("Infinity" if data > 0 else "-Infinity")
    if isinstance(data, dict):
        return {key: json_safe(value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(value) for value in data]
    return data


def dumps_strict(data: Any, **kwargs: Any) -> str:
    """Valid JSON text for ``data`` (see ``json_safe``)."""
    return json.dumps(json_safe(data), allow_nan=False, **kwargs)
