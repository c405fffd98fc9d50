"""Sweep analysis over a filtered set of runs: groups with aggregates, and parameter importance.

Both work on what a run query returns (rows plus ``experiment_summaries``) and read fields with
the same names as the query language (``params.lr``, ``values.accuracy``, ``min.`val/loss```), so
the dashboard's group-by table and sweep views agree with the filter above them.

* ``groups``: runs grouped by the values of some fields (e.g. every parameter but ``seed``), with
  mean, std (sample, ddof=1), min, max and count of each metric, as W&B and Aim show seeds.
* ``importance``: how much each parameter drives a metric: a random forest's impurity importance
  (scikit-learn, as W&B's parameter importance panel) and the Pearson correlation.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np

from .errors import QueryError
from .listing import cell
from .query import Field, parse_field

Runs = Sequence[tuple[dict, dict]]  # (experiment row, its summary)


def fields(texts: Sequence[str], what: str) -> list[Field]:
    out = []
    for text in texts:
        try:
            out.append(parse_field(text))
        except QueryError as error:
            raise QueryError(f"{what} {text!r}: {error}") from None
    return out


def numeric_fields(runs: Runs) -> list[str]:
    """Every ``values.*`` / ``last.*`` / ``min.*`` / ``max.*`` field that holds a number in some run."""
    names: dict[str, None] = {}
    for _, summary in runs:
        for key, value in summary["values"].items():
            if _number(value) is not None:
                names[_name("values", key)] = None
        for item in summary["series"]:
            label = item["log"] if not item["series"] else f"{item['log']}.{item['series']}"
            for stat in ("last", "min", "max"):
                names[_name(stat, label)] = None
    return list(names)


def parameter_fields(runs: Runs) -> list[str]:
    """Every ``params.*`` field of these runs, in first-seen order."""
    return list(dict.fromkeys(_name("params", key) for _, summary in runs for key in summary["params"]))


def groups(runs: Runs, by: Sequence[str], metrics: Sequence[str] | None = None) -> list[dict]:
    """One entry per distinct combination of the ``by`` fields' values (missing is None), largest first:
    ``{"key": {field: value}, "count", "ids", "metrics": {metric: {"mean", "std", "min", "max", "count"}}}``."""
    by_fields = fields(by, "group by")
    metric_names = list(metrics) if metrics is not None else numeric_fields(runs)
    metric_fields = fields(metric_names, "metric")
    buckets: dict[tuple, list[tuple[dict, dict]]] = {}
    for row, summary in runs:
        key = tuple(_hashable(cell(field, row, summary)) for field in by_fields)
        buckets.setdefault(key, []).append((row, summary))
    out = []
    for key, members in buckets.items():
        stats = {}
        for name, field in zip(metric_names, metric_fields):
            numbers = [n for n in (_number(cell(field, row, summary)) for row, summary in members) if n is not None]
            stats[name] = _aggregate(numbers)
        out.append({"key": {name: _plain(value) for name, value in zip(by, key)}, "count": len(members),
                    "ids": [row["id"] for row, _ in members], "metrics": stats})
    out.sort(key=lambda group: -group["count"])
    return out


def _aggregate(numbers: list[float]) -> dict[str, Any]:
    if not numbers:
        return {"mean": None, "std": None, "min": None, "max": None, "count": 0}
    array = np.asarray(numbers, dtype=np.float64)
    return {"mean": float(array.mean()), "std": float(array.std(ddof=1)) if len(array) > 1 else None,
            "min": float(array.min()), "max": float(array.max()), "count": len(array)}


def importance(runs: Runs, metric: str, parameters: Sequence[str] | None = None, seed: int = 0) -> dict:
    """``{"metric", "runs", "parameters": [{"name", "importance", "correlation"}]}``, most important first.

    Runs without a number for ``metric`` are left out. Numbers and bools are used as they are (a
    missing one as the median); text parameters are encoded as categories for the forest and have no
    correlation. Constant parameters are left out. Needs scikit-learn (``trackboard[analysis]``).
    """
    try:
        from sklearn.ensemble import RandomForestRegressor
    except ImportError:
        raise ImportError("parameter importance needs scikit-learn: pip install 'trackboard[analysis]'") from None
    metric_field = fields([metric], "metric")[0]
    names = list(parameters) if parameters is not None else parameter_fields(runs)
    param_fields = fields(names, "parameter")
    kept = [(row, summary, _number(cell(metric_field, row, summary))) for row, summary in runs]
    kept = [(row, summary, target) for row, summary, target in kept if target is not None]
    if len(kept) < 3:
        raise QueryError(f"parameter importance needs at least 3 runs with a number for {metric!r}, got {len(kept)}")
    target = np.array([value for _, _, value in kept])
    columns, used, correlations = [], [], []
    for name, field in zip(names, param_fields):
        raw = [cell(field, row, summary) for row, summary, _ in kept]
        numbers = [_number(value) for value in raw]
        if all(n is not None or v is None for n, v in zip(numbers, raw)):  # numeric (or missing)
            present = [n for n in numbers if n is not None]
            if not present:
                continue
            median = float(np.median(present))
            column = np.array([median if n is None else n for n in numbers])
            correlation = _correlation(column, target)
        else:  # categories (text, lists): codes in first-seen order, missing as its own category
            codes: dict[Any, int] = {}
            column = np.array([codes.setdefault(_hashable(value), len(codes)) for value in raw], dtype=np.float64)
            correlation = None
        if np.ptp(column) == 0:
            continue
        columns.append(column)
        used.append(name)
        correlations.append(correlation)
    if not columns:
        return {"metric": metric, "runs": len(kept), "parameters": []}
    forest = RandomForestRegressor(n_estimators=100, random_state=seed)
    forest.fit(np.column_stack(columns), target)
    ranked = sorted(zip(used, forest.feature_importances_.tolist(), correlations), key=lambda item: -item[1])
    return {"metric": metric, "runs": len(kept),
            "parameters": [{"name": name, "importance": value, "correlation": corr} for name, value, corr in ranked]}


def _correlation(column: np.ndarray, target: np.ndarray) -> float | None:
    if np.ptp(column) == 0 or np.ptp(target) == 0:
        return None
    return float(np.corrcoef(column, target)[0, 1])


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, (int, float)) and not (isinstance(value, float) and math.isnan(value)):
        return float(value)
    return None


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(_hashable(item) for item in value)
    if isinstance(value, dict):
        return tuple(sorted((key, _hashable(item)) for key, item in value.items()))
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _plain(value: Any) -> Any:
    return list(value) if isinstance(value, tuple) else value


def _name(prefix: str, key: str) -> str:
    # Splitting at "." keeps the key (parts are joined back with "."), and reads as people write it.
    return str(Field(prefix, tuple(key.split("."))))


def runs_of(rows: list[dict], summaries: Mapping[str, dict]) -> list[tuple[dict, dict]]:
    return [(row, summaries[row["id"]]) for row in rows]
