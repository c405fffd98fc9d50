"""JSON the dashboard's "find the best run" views read beyond ``data``: tags of a project's runs,
series on another x axis (epoch, wall time, relative time), and group curves with bands.

* ``x_series``: ``queries.read_series`` with the steps replaced by the chosen x of each point, so
  every chart (downsampling, smoothing, CSV) works unchanged on another axis.
* ``/compare/groups``: the compared runs grouped by some parameters; each group's curve is the mean
  over its runs at each step, with std, min and max (a band), as W&B and Aim draw seeds. Runs are
  aligned on their stored steps at full resolution, then the group's curve is downsampled.
"""

from __future__ import annotations

import json
import warnings
from typing import Any

import numpy as np
import sqlalchemy as sa
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from trackboard.store import schema as t
from trackboard.store.engine import read_transaction
from trackboard.store.points import NO_EPOCH, decode, downsample_index

from ..auth import require_token
from . import queries
from .jsontext import json_text
from .series import clamp_buckets, clamp_smoothing, smooth, values_json

router = APIRouter(prefix="/ui/data", dependencies=[Depends(require_token)], include_in_schema=False)

X_AXES = ("step", "epoch", "time", "relative")


def check_x(x: str | None) -> str:
    if x is None or x == "":
        return "step"
    if x not in X_AXES:
        raise HTTPException(status_code=400, detail=f"x must be one of {', '.join(X_AXES)}, not {x!r}")
    return x


def x_series(conn: sa.Connection, log_id: str, step_min: float | None, step_max: float | None,
             x: str) -> list[tuple[str, np.ndarray, np.ndarray, int]]:
    """Like ``queries.read_series``, with each point's step replaced by its ``x``: its epoch (points
    logged without one are left out), its wall-clock time (unix seconds) or the seconds since the series' first point."""
    out = []
    series_rows = conn.execute(
        sa.select(t.series.c.id, t.series.c.name, t.series.c.count)
        .where(t.series.c.log_id == log_id).order_by(t.series.c.position)
    ).all()
    for series_id, name, count in series_rows:
        chunks = [decode(row) for row in conn.execute(
            sa.select(t.chunks.c.step_data, t.chunks.c.value_data, t.chunks.c.time_data, t.chunks.c.epoch_data)
            .where(t.chunks.c.series_id == series_id).order_by(t.chunks.c.seq))]
        steps = np.concatenate([c.steps for c in chunks]) if chunks else np.empty(0)
        values = np.concatenate([c.values for c in chunks]) if chunks else np.empty(0)
        times = np.concatenate([c.times for c in chunks]) if chunks else np.empty(0)
        epochs = np.concatenate([c.epochs for c in chunks]) if chunks else np.empty(0, dtype=np.int64)
        if x == "epoch":
            xs = np.where(epochs == NO_EPOCH, np.nan, epochs.astype(np.float64))
        elif x == "time":
            xs = times
        else:
            xs = times - times[0] if len(times) else times
        keep = queries.in_step_range(steps, step_min, step_max)
        keep = np.isfinite(xs) if keep is None else keep & np.isfinite(xs)  # no epoch: not on an epoch axis
        xs, values = xs[keep], values[keep]
        out.append((name, xs, values, int(count)))
    return out


def _json(data: Any) -> Response:
    return Response(json_text(data), media_type="application/json")


def _group_label(key: dict[str, Any]) -> str:
    return ", ".join(f"{name}={'—' if value is None else value}" for name, value in key.items()) or "all runs"


def _aggregate(series: list[tuple[np.ndarray, np.ndarray]], buckets: int) -> dict[str, Any]:
    """Mean, std (sample), min, max and count over runs at each step (runs aligned on their steps)."""
    steps = np.unique(np.concatenate([s for s, _ in series]))
    grid = np.full((len(series), len(steps)), np.nan)
    for row, (s, v) in enumerate(series):
        grid[row, np.searchsorted(steps, s)] = v
    grid[~np.isfinite(grid)] = np.nan
    count = np.sum(~np.isnan(grid), axis=0)
    # A step with no finite value warns "Mean of empty slice": it is simply null.
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        mean = np.nanmean(grid, axis=0)
        std = np.where(count > 1, np.nanstd(grid, axis=0, ddof=1), 0.0)
        low = np.nanmin(grid, axis=0)
        high = np.nanmax(grid, axis=0)
    index = downsample_index(mean, buckets)
    return {
        "steps": steps[index].tolist(),
        "mean": values_json(mean[index]),
        "std": values_json(std[index]),
        "min": values_json(low[index]),
        "max": values_json(high[index]),
        "count": count[index].tolist(),
    }


@router.get("/projects/{project_id}/tags")
def project_tags(request: Request, project_id: str) -> Response:
    """Every run's tags in this project: ``{"tags": {experiment id: [tag, ...]}}`` (runs without tags left out)."""
    store = request.app.state.store
    query = (sa.select(t.tags.c.experiment_id, t.tags.c.tag)
             .join(t.experiments, t.experiments.c.id == t.tags.c.experiment_id)
             .where(t.experiments.c.project_id == project_id).order_by(t.tags.c.experiment_id, t.tags.c.tag))
    out: dict[str, list[str]] = {}
    with read_transaction(store.engine) as conn:
        for experiment_id, tag in conn.execute(query):
            out.setdefault(experiment_id, []).append(tag)
    return _json({"tags": out})


@router.get("/compare/groups")
def compare_groups(
    request: Request,
    ids: str = Query(...),
    name: str = Query(...),
    by: str = Query("", description="comma list of parameter names; empty: one group of every run"),
    buckets: int | None = Query(None),
    smoothing: float | None = Query(None, ge=0, le=1),
) -> Response:
    """One LINE log of the chosen runs, grouped by parameters: per group and series, the mean curve
    with std, min and max at each step (and how many runs have that step)."""
    from .data import _ids  # the compare view's one id parser and limit

    store = request.app.state.store
    chosen = _ids(request, ids)
    keys = [part for part in by.split(",") if part]
    weight = clamp_smoothing(smoothing)
    size = clamp_buckets(buckets)
    with read_transaction(store.engine) as conn:  # the runs, their logs and their points from one snapshot
        rows = queries.experiments_by_id(conn, chosen)
        runs = {experiment_id: queries.read_series(conn, log.id, None, None)
                for experiment_id, log in queries.line_logs_of(conn, chosen, name).items()}
    grouped: dict[str, dict[str, Any]] = {}
    for row in rows:
        key = {k: row["params"].get(k) for k in keys}
        entry = grouped.setdefault(json.dumps(key, sort_keys=True, default=str), {"key": key, "ids": [], "runs": []})
        entry["ids"].append(row["id"])
        if row["id"] in runs:
            entry["runs"].append(runs[row["id"]])
    groups = []
    for entry in grouped.values():
        by_series: dict[str, list[tuple[np.ndarray, np.ndarray]]] = {}
        for run in entry["runs"]:
            for series_name, steps, values, _total in run:
                if weight:
                    values = smooth(values, weight)
                by_series.setdefault(series_name, []).append((steps, values))
        groups.append({
            "key": entry["key"], "label": _group_label(entry["key"]), "ids": entry["ids"], "runs": len(entry["runs"]),
            "series": [{"name": series_name, **_aggregate(series, size)} for series_name, series in by_series.items()],
        })
    return _json({"name": name, "by": keys, "smoothing": weight, "groups": groups})
