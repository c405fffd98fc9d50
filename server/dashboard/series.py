"""LINE series as chart-ready JSON: downsampled on the server, non-finite values as null.

A chart is about a thousand pixels wide, so a series is cut into ``buckets`` runs and each run
keeps its first, last, lowest and highest point (``downsample_index``): spikes and the ends of the
curve survive, and a million-point series travels as a few thousand points. Zooming asks again for
the visible step range, which then comes back at full resolution once few enough points are in it.
What is kept is chosen in ``trackboard.store.charts`` (the mechanism ``Store.downsampled`` uses too):
a long series is read from its chunks' block summaries instead of its points.

Smoothing is computed here too, on the full-resolution series before anything is left out
(``smooth``: TensorBoard's debiased exponential moving average), so a smoothed value does not
depend on the zoom or on the chart's width.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trackboard.store.charts import Chart, keep_points
from trackboard.store.summaries import Shown

DEFAULT_BUCKETS = 1000
MAX_BUCKETS = 5000
MAX_SMOOTHING = 0.999


def smooth(values: np.ndarray, weight: float) -> np.ndarray:
    """TensorBoard's smoothing: a debiased exponential moving average over the finite points.

    ``s_i = m_i / (1 - weight**k_i)`` with ``m_i = weight * m_(i-1) + (1 - weight) * x_i`` over the
    ``k_i`` finite points so far; non-finite points keep their value (a gap on the chart) and do not
    enter the average. Vectorised in blocks short enough that ``weight**-j`` stays finite.

    >>> smooth(np.array([1.0, 3.0, np.nan, 3.0]), 0.5).round(4).tolist()
    [1.0, 2.3333, nan, 2.7143]
    """
    out = values.astype(np.float64, copy=True)
    finite = np.isfinite(values)
    x = values[finite].astype(np.float64)
    if weight <= 0 or not len(x):
        return out
    # Within a block, m_k = w**(k+1) * carry + (1 - w) * w**k * cumsum(x_j * w**-j).
    block = max(1, min(len(x), int(600 / -np.log(weight))))
    powers = weight ** np.arange(block, dtype=np.float64)
    inverse = 1.0 / powers
    moving = np.empty_like(x)
    carry = 0.0
    for start in range(0, len(x), block):
        part = x[start:start + block]
        n = len(part)
        moving[start:start + n] = (weight * powers[:n]) * carry + (1 - weight) * powers[:n] * np.cumsum(part * inverse[:n])
        carry = moving[start + n - 1]
    out[finite] = moving / (1.0 - weight ** np.arange(1, len(x) + 1, dtype=np.float64))
    return out


def clamp_smoothing(weight: float | None) -> float:
    """A smoothing weight from a client, within 0 (none) and ``MAX_SMOOTHING``."""
    if weight is None or not np.isfinite(weight):
        return 0.0
    return float(min(max(weight, 0.0), MAX_SMOOTHING))


def values_json(values: np.ndarray) -> np.ndarray:
    """Values for the JSON writer (``jsontext``), which writes NaN and +-inf as null: the chart shows
    a gap and the JSON stays valid. An array, not a list: the writer reads it without a Python
    float per point."""
    return np.asarray(values, dtype=np.float64)


def steps_json(steps: np.ndarray) -> np.ndarray:
    """Steps for the JSON writer: whole ones as integers (stored steps are finite, within +-2**53)."""
    whole = steps.astype(np.int64)
    return whole if (whole == steps).all() else np.asarray(steps, dtype=np.float64)


def series_json(name: str, steps: np.ndarray, values: np.ndarray, total: int, buckets: int,
                smoothed: np.ndarray | None = None) -> dict[str, Any]:
    """One series for a chart: its (downsampled) points and what was left out.

    ``smoothed`` (the smoothed full-resolution values, aligned with ``values``) comes back at the
    same points as the raw ones, under ``smoothed``.
    """
    shown = keep_points(steps, values, buckets)
    extra = {} if smoothed is None else {"smoothed": values_json(smoothed[shown.positions])}
    return {**extra, **_chart(name, shown, total)}


def chart_json(chart: Chart) -> dict[str, Any]:
    """One series of ``trackboard.store.charts.read_charts`` for a chart."""
    return _chart(chart.name, chart.shown, chart.total)


def _chart(name: str, shown: Shown, total: int) -> dict[str, Any]:
    return {
        "name": name,
        "steps": steps_json(shown.steps),
        "values": values_json(shown.values),
        "in_range": shown.in_range,  # points between step_min and step_max (all when no range)
        "total": total,  # points in the whole series
        "downsampled": shown.downsampled,
        # Non-finite points cannot be drawn; the panel says how many there are instead.
        "nan": shown.nan,
        "inf": shown.inf,
        "last": None if shown.last_value is None else _scalar(shown.last_value),
        "last_step": None if shown.last_step is None else _scalar(shown.last_step),
    }


def _scalar(number: float) -> float | int | str:
    if np.isnan(number):
        return "NaN"
    if np.isinf(number):
        return "Infinity" if number > 0 else "-Infinity"
    number = float(number)
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def clamp_buckets(buckets: int | None) -> int:
    """Buckets asked for by a client, kept within what a chart can use."""
    if buckets is None:
        return DEFAULT_BUCKETS
    return max(10, min(int(buckets), MAX_BUCKETS))
