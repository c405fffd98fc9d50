"""Helpers for the adapter tests: reading back what was logged, and a foreign experiment."""

from __future__ import annotations

import warnings
from typing import Any

from trackboard import Client, Experiment
from trackboard.callbacks import TrackingWarning


def only_experiment(client: Client) -> Experiment:
    """The single experiment of the store (fails if there are none or several)."""
    experiments = [e for project in client.list_projects() for e in project.list_experiments()]
    assert len(experiments) == 1, [e.name for e in experiments]
    return experiments[0]


def all_experiments(client: Client) -> list[Experiment]:
    return [e for project in client.list_projects() for e in project.list_experiments()]


def tracking_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if issubclass(w.category, TrackingWarning)]


class RecordingExperiment:
    """A duck-typed experiment (as a picsellia SDK experiment is one): records every call."""

    def __init__(self, name: str = "foreign") -> None:
        self.name = name
        self.calls: list[tuple[str, Any, str, bool]] = []
        self.stored: list[str] = []

    def log(self, name: str, data: Any, type: Any, replace: bool = False) -> None:
        self.calls.append((name, data, str(type), replace))

    def store(self, name: str, path: str | None = None) -> None:
        self.stored.append(name)

    def points(self, name: str) -> dict[str, list]:
        """Every LINE point logged under ``name``, concatenated."""
        out: dict[str, list] = {"steps": [], "values": [], "epochs": []}
        for logged, data, kind, _ in self.calls:
            if logged == name and kind == "LINE":
                for key in out:
                    out[key].extend(data.get(key, []))
        return out

    def last(self, name: str) -> Any:
        return [data for logged, data, _, _ in self.calls if logged == name][-1]

    def names(self) -> set[str]:
        return {name for name, *_ in self.calls}
