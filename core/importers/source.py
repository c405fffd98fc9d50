"""A run as an importer reads it from another tracker, before it becomes an experiment."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np


@dataclass
class Series:
    """One scalar series: parallel arrays of steps, values and wall-clock times (seconds)."""

    steps: np.ndarray
    values: np.ndarray
    times: np.ndarray

    @classmethod
    def of(cls, steps, values, times) -> "Series":
        return cls(np.asarray(steps, dtype=np.float64), np.asarray(values, dtype=np.float64),
                   np.asarray(times, dtype=np.float64))

    def __len__(self) -> int:
        return len(self.steps)


@dataclass
class Image:
    """One image of an image summary: its step, wall time and encoded bytes (PNG, JPEG...)."""

    step: int
    time: float
    content: bytes


@dataclass
class SourceRun:
    """Everything an importer takes from one run of another tracker.

    ``source_id`` identifies the run in its source for good (a path, a tracking URI and run id):
    it is kept on the experiment so that importing again updates that experiment.
    """

    source_id: str
    name: str
    status: str = "SUCCESS"  # SUCCESS, FAILED or RUNNING
    started_at: float | None = None
    finished_at: float | None = None
    description: str | None = None
    parameters: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    lines: dict[str, Series] = field(default_factory=dict)
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    images: dict[str, list[Image]] = field(default_factory=dict)
    # artifact name -> a function that fetches the file into a given folder and returns its path
    artifacts: dict[str, Callable[[Path], Path]] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # what the reader could not take, and why
