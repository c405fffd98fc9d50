"""How records reach one experiment object: a trackboard Experiment, or anything with ``log()``.

A trackboard ``Experiment.log`` only validates and enqueues, so it is called directly and its
errors surface on the caller's thread. Any other object (a ``picsellia`` SDK experiment, a
user's own) may do network I/O in ``log``: its calls go through one worker thread, in order, so a
slow server never slows a training step; ``flush()`` waits for them.

The two object families disagree on LINE semantics, so each gets the form it understands:

- trackboard: ``{'steps', 'values', 'epochs', 'times'}`` with ``replace=False`` (LINE appends);
  other duck-typed objects the same without ``'times'`` (their own clock stamps the points);
- picsellia: a list of values with ``replace=True`` (picsellia appends to a LINE on ``replace``).
"""

from __future__ import annotations

import os
import queue
import threading
from typing import Any, Callable, Mapping

from trackboard import Experiment, LogType

from ._lines import Points

Report = Callable[[str, BaseException], None]

FLUSH_TIMEOUT_S = 120.0


class ExperimentTarget:
    """Logs, parameters, artifacts and status for one experiment object."""

    def __init__(self, experiment: Any, report: Report) -> None:
        self.experiment = experiment
        self.native = isinstance(experiment, Experiment)
        self._picsellia = type(experiment).__module__.split(".")[0] == "picsellia"
        self._parameters: dict[str, Any] | None = None  # the TABLE as logged so far (merged here)
        self._worker = None if self.native else _Worker(report)

    # -- logging ----------------------------------------------------------------------------

    def lines(self, series: Mapping[str, Points]) -> None:
        """Append points to LINE logs, one call per metric."""
        for name, points in series.items():
            if self.native:
                self.experiment.log(name, points, LogType.LINE)
            elif self._picsellia:
                self._call("log metrics", self.experiment.log, name, points["values"], LogType.LINE, replace=True)
            else:
                data = {key: points[key] for key in ("steps", "values", "epochs") if key in points}
                self._call("log metrics", self.experiment.log, name, data, LogType.LINE, replace=False)

    def log(self, name: str, data: Any, log_type: LogType) -> None:
        """Log a record of any type but LINE, replacing the previous one of that name.

        A trackboard log of that name but another type (the user's own) is not replaced: the
        call fails and is reported. picsellia needs ``replace=True`` to update a log at all.
        """
        if self.native:
            self.experiment.log(name, data, log_type)
        else:
            self._call(f"log {name}", self.experiment.log, name, data, log_type, replace=True)

    def log_parameters(self, parameters: Mapping[str, Any]) -> None:
        """Merge ``parameters`` into the TABLE ``parameters`` (keys given again are overwritten).

        The merged table is kept here, so only the first call reads what the experiment already
        holds (a continued run, ``create_experiment(parameters=...)``) and no later call waits
        for the store.
        """
        if self._parameters is None:
            self._parameters = dict(self.experiment.get_parameters()) if self.native else {}
        self._parameters.update(parameters)
        self.log("parameters", dict(self._parameters), LogType.TABLE)

    def store(self, name: str, path: str | os.PathLike) -> None:
        """Store a file as an artifact now (the caller may delete or rotate the file right after)."""
        store = getattr(self.experiment, "store", None)
        if store is None:
            raise AttributeError(f"{type(self.experiment).__name__} has no store() for artifacts")
        if self._worker is not None:
            self._worker.join(FLUSH_TIMEOUT_S)  # keep the order of records
        store(name, os.fspath(path))

    # -- lifecycle --------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """Return once everything logged so far is durable (or handed to the foreign object)."""
        if self.native:
            self.experiment.flush(timeout)
        elif self._worker is not None:
            self._worker.join(FLUSH_TIMEOUT_S if timeout is None else timeout)

    def set_status(self, status: str) -> None:
        """Mark the experiment finished (SUCCESS, FAILED) or running again (RUNNING); flushes."""
        if self.native:
            self.experiment.close(status)
            return
        self.flush()
        close = getattr(self.experiment, "close", None)
        if callable(close):  # a picsellia experiment has no close(): its status is left to the user
            close(status)

    def _call(self, what: str, fn: Callable, *args: Any, **kwargs: Any) -> None:
        assert self._worker is not None
        self._worker.submit(what, fn, args, kwargs)


class _Worker:
    """One daemon thread running submitted calls in order; failures go to ``report``."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._queue: queue.Queue = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, what: str, fn: Callable, args: tuple, kwargs: dict) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="trackboard-forward", daemon=True)
                    self._thread.start()
        self._queue.put((what, fn, args, kwargs))

    def join(self, timeout: float) -> None:
        """Wait until every submitted call has run (at most ``timeout`` seconds)."""
        if self._thread is None:
            return
        done = threading.Event()
        self._queue.put(("", done.set, (), {}))
        if not done.wait(timeout):
            raise TimeoutError(f"the experiment did not take the logged records within {timeout:.0f} s")

    def _run(self) -> None:
        while True:
            what, fn, args, kwargs = self._queue.get()
            try:
                fn(*args, **kwargs)
            except Exception as error:  # noqa: BLE001 - reported, never raised into training
                self._report(what, error)
