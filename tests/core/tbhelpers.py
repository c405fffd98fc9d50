"""Helpers shared by the core tests (imported as ``from tbhelpers import ...``)."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np
import pytest

from trackboard.errors import InvalidLogError, LogDataTypeError, NotFoundError, TrackboardError
from trackboard.store.points import Points, downsample_index
from trackboard.store.summaries import BLOCK, bucket_size


def same(a: Any, b: Any) -> bool:
    """Deep equality where NaN equals NaN and number types must match (1, 1.0 and True differ)."""
    if isinstance(a, float) and isinstance(b, float):
        if math.isnan(a) or math.isnan(b):
            return math.isnan(a) and math.isnan(b)
        return a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def assert_same(got: Any, expected: Any) -> None:
    assert same(got, expected), f"\n got:      {got!r}\n expected: {expected!r}"


def snapshot(experiment) -> dict:
    """Every log of an experiment: name -> (type, data)."""
    return {log.name: (log.type, experiment.get_log(log.name).data) for log in experiment.list_logs()}


def assert_refused(experiment, name: str, data: Any, log_type: str, *, replace: bool = False,
                   error: type = (InvalidLogError, LogDataTypeError), problem: str | None = None):
    """``log`` raises a trackboard data error naming the log and its type, and stores nothing."""
    before = snapshot(experiment)
    with pytest.raises(error) as caught:
        experiment.log(name, data, log_type, replace=replace)
    assert isinstance(caught.value, TrackboardError)
    assert isinstance(caught.value, (ValueError, TypeError))
    message = str(caught.value)
    assert repr(name) in message, f"message does not name the log: {message}"
    assert log_type.upper() in message, f"message does not name the type: {message}"
    if problem is not None:
        assert problem.lower() in message.lower(), f"message does not say {problem!r}: {message}"
    experiment.flush()
    after = snapshot(experiment)
    assert same(after, before), f"a refused log changed the store:\n before {before}\n after  {after}"
    if name not in before:
        with pytest.raises(NotFoundError):
            experiment.get_log(name)
    return caught.value


def roundtrip(experiment, name: str, data: Any, log_type: str) -> Any:
    """Log ``data``, read it back, re-log what was read with replace=True; both reads must agree."""
    experiment.log(name, data, log_type, replace=True)
    first = experiment.get_log(name).data
    experiment.log(name, first, log_type, replace=True)
    second = experiment.get_log(name).data
    assert_same(second, first)
    return first


def image_bytes(fmt: str = "PNG", size=(7, 5), mode: str = "RGB", color=(200, 30, 60)) -> bytes:
    from PIL import Image

    image = Image.new(mode, size, color if mode != "L" else 128)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    return buffer.getvalue()


def bucket_extremes(positions: np.ndarray, values: np.ndarray, size: int) -> list[int]:
    """What a chart keeps of points at ``positions`` (sorted) in buckets of ``size`` positions: the
    sorted indices into ``positions`` of each bucket's first, last, first lowest and first highest
    point (NaN never lowest or highest). A pass over every point, to compare the summaries' path with."""
    kept = set()
    bucket = positions // size
    for number in np.unique(bucket):
        where = np.flatnonzero(bucket == number)
        v = values[where]
        kept |= {where[0], where[-1], where[np.where(np.isnan(v), np.inf, v).argmin()],
                 where[np.where(np.isnan(v), -np.inf, v).argmax()]}
    return sorted(int(i) for i in kept)


def chart_of(full: Points, step_range: tuple, buckets: int) -> Points:
    """What a chart of ``buckets`` columns keeps of every point, by a pass over them."""
    low = -math.inf if step_range[0] is None else step_range[0]
    high = math.inf if step_range[1] is None else step_range[1]
    positions = np.flatnonzero((full.steps >= low) & (full.steps <= high))
    if len(positions) <= BLOCK * buckets:
        return full.take(positions[downsample_index(full.values[positions], buckets)])
    size = bucket_size(len(positions), buckets)
    return full.take(positions[bucket_extremes(positions, full.values[positions], size)])
