"""EVALUATION: a model's evaluation on a split, with per-class metrics and per-sample results."""

from __future__ import annotations

from typing import Any, Mapping

from .._plain import plain_dict
from ..errors import InvalidLogError, LogDataTypeError
from .numbers import as_number, as_scalar, describe, unwrap
from .text import check_text

KEYS = ("metrics", "per_class", "samples", "split")


def normalise_evaluation(data: Any) -> dict[str, Any]:
    """``{'metrics': {name: number}, 'per_class'?: {class: {name: number}}, 'samples'?: [...], 'split'?: str}``.

    Each sample is a mapping with ``ground_truth`` and ``prediction`` (and optionally ``score``,
    ``id`` and any other scalar fields).
    """
    if type(data) is dict and len(data) == 1 and "metrics" in data:  # metrics only: the common call
        return {"metrics": _metrics(data["metrics"], "metrics")}
    if not isinstance(data, Mapping):
        raise LogDataTypeError(f"an EVALUATION must be a mapping with 'metrics', got {describe(data)}")
    unknown = sorted(str(key) for key in data if key not in KEYS)
    if unknown:
        raise InvalidLogError(f"unknown keys {unknown}; expected some of {list(KEYS)}")
    if "metrics" not in data:
        raise InvalidLogError("missing 'metrics'")
    out: dict[str, Any] = {"metrics": _metrics(data["metrics"], "metrics")}
    if data.get("per_class") is not None:
        per_class = data["per_class"]
        if not isinstance(per_class, Mapping):
            raise LogDataTypeError(f"'per_class' must be a mapping class -> metrics, got {describe(per_class)}")
        out["per_class"] = {check_text(str(unwrap(c)), "a per_class key"): _metrics(m, f"per_class[{c!r}]") for c, m in per_class.items()}
    if data.get("samples") is not None:
        out["samples"] = _samples(data["samples"])
    if data.get("split") is not None:
        if not isinstance(data["split"], str):
            raise LogDataTypeError(f"'split' must be a string, got {describe(data['split'])}")
        out["split"] = check_text(data["split"], "'split'")
    return out


def _metrics(metrics: Any, what: str) -> dict[str, int | float]:
    if plain_dict(metrics, True):
        return dict(metrics)  # ASCII names and plain numbers: nothing to convert
    if not isinstance(metrics, Mapping):
        raise LogDataTypeError(f"{what} must be a mapping name -> number, got {describe(metrics)}")
    out = {}
    for name, value in metrics.items():
        if not isinstance(name, str):
            raise LogDataTypeError(f"{what} key {name!r} must be a string")
        check_text(name, f"{what} key")
        out[name] = as_number(value, f"{what}[{name!r}]")
    return out


def _samples(samples: Any) -> list[dict[str, Any]]:
    if not isinstance(samples, (list, tuple)):
        raise LogDataTypeError(f"'samples' must be a list of mappings, got {describe(samples)}")
    out = []
    for i, sample in enumerate(samples):
        if not isinstance(sample, Mapping):
            raise LogDataTypeError(f"samples[{i}] must be a mapping, got {describe(sample)}")
        for key in ("ground_truth", "prediction"):
            if key not in sample:
                raise InvalidLogError(f"samples[{i}] is missing {key!r}")
        row = {}
        for key, value in sample.items():
            if not isinstance(key, str):
                raise LogDataTypeError(f"samples[{i}] key {key!r} must be a string")
            check_text(key, f"samples[{i}] key")
            row[key] = as_scalar(value, f"samples[{i}][{key!r}]")
        if row.get("score") is not None:
            row["score"] = as_number(row["score"], f"samples[{i}]['score']")
        out.append(row)
    return out
