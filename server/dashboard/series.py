"""LINE series as chart-ready JSON: downsampled on the server, non-finite values as null.

A chart is about a thousand pixels wide, so a series is cut into ``buckets`` runs and each run
keeps its first, last, lowest and highest point (``downsample_index``): spikes and the ends of the
curve survive, and a million-point series travels as a few thousand points. Zooming asks again for
the visible step range, which then comes back at full resolution once few enough points are in it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from trackboard.store.points import downsample_index
from trackboard.store.sql import steps_list

DEFAULT_BUCKETS = 1000
MAX_BUCKETS = 5000


def values_json(values: np.ndarray) -> list:
    """Values with NaN and +-inf as null, so the chart shows a gap and the JSON stays valid."""
    finite = np.isfinite(values)
    if finite.all():
        return values.tolist()
    out = values.astype(object)
    out[~finite] = None
    return out.tolist()


def series_json(name: str, steps: np.ndarray, values: np.ndarray, total: int, buckets: int) -> dict[str, Any]:
    """One series for a chart: its (downsampled) points and what was left out."""
    index = downsample_index(values, buckets)
    shown_steps, shown_values = steps[index], values[index]
    finite = np.isfinite(values)
    return {
        "name": name,
        "steps": steps_list(shown_steps),  # stored steps are finite, within +-2**53
        "values": values_json(shown_values),
        "in_range": int(len(values)),  # points between step_min and step_max (all when no range)
        "total": total,  # points in the whole series
        "downsampled": bool(len(index) < len(values)),
        # Non-finite points cannot be drawn; the panel says how many there are instead.
        "nan": int(np.isnan(values).sum()),
        "inf": int((~finite).sum() - np.isnan(values).sum()),
        "last": None if not len(values) else _scalar(values[-1]),
        "last_step": None if not len(steps) else _scalar(steps[-1]),
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
