"""TrackedRun: the one object each adapter talks to.

It owns the choice of experiment (made at construction, opened on first use), the buffer of
per-step points, the failure reporter and the target the records go to. Adapters translate
framework events into its few calls::

    run = TrackedRun(project="mnist", experiment=None, client=None, framework="keras")
    run.log_parameters({"lr": 1e-3})                 # TABLE parameters (merged)
    run.log_metrics({"loss": 0.5}, step=10, epoch=0)  # LINE points, batched
    run.log_records(classification_logs(cm, names))   # LABELMAP + HEATMAP + EVALUATION
    run.start()                                        # training begins: the experiment is RUNNING
    run.finish("SUCCESS")                              # flush, set the status

Every method may raise (bad data, a store error); adapters call them from hooks wearing
``never_raises``, which hands the error to ``run.report``. Once the experiment could not be
opened, every later call is a no-op: one warning, not one per step.
"""

from __future__ import annotations

import atexit
import os
import threading
import time
import weakref
from typing import Any, Iterable, Mapping

from trackboard import Client, LogType, lifecycle

from ._experiment import ExperimentChoice
from ._guards import FailureReporter
from ._lines import LineBuffer, max_age_for
from ._params import sanitize
from ._target import ExperimentTarget

STATUSES = ("SUCCESS", "FAILED")
_wall_clock = time.time  # stored with every point


class NotANumberError(ValueError):
    """A metric value that is not a number; the other metrics of the call are still logged."""


class TrackedRun:
    """An adapter's experiment and the records on their way to it."""

    def __init__(
        self,
        project: str | None,
        experiment: Any,
        client: Client | None,
        *,
        framework: str,
        in_step_order: bool = False,
        capture: bool | None = None,
    ) -> None:
        self.choice = ExperimentChoice.resolve(project, experiment, client, framework)
        self.choice.capture = capture
        self._client = client
        self._in_step_order = in_step_order
        self._failures = FailureReporter()
        self._setup()
        _live_runs.add(self)

    def _setup(self) -> None:
        self._target: ExperimentTarget | None = None
        self._lines = LineBuffer(max_age=max_age_for(self.choice.native), in_step_order=self._in_step_order)
        self._broken = False
        self._lock = threading.Lock()
        self._running = False  # between start() and finish(): ours to close if the program dies
        self._finished = False  # finish() set a status: a later start() reopens the experiment

    # -- identity, without I/O -----------------------------------------------------------------

    @property
    def project_name(self) -> str:
        return self.choice.project

    @property
    def experiment_label(self) -> str:
        return self.choice.label

    @property
    def opened(self) -> bool:
        return self._target is not None

    # -- the experiment ---------------------------------------------------------------------

    @property
    def experiment(self) -> Any:
        """The experiment object, opened (or created) now if it was not yet."""
        return self._open().experiment

    @property
    def lazy(self) -> "LazyExperiment":
        """A stand-in for the experiment that opens it on first attribute access."""
        return LazyExperiment(self)

    def checkpoint_state(self) -> dict[str, str]:
        """What a checkpoint stores so that resuming from it continues this experiment."""
        if self.choice.experiment_id is None or not self.opened:
            return {}
        return {"experiment_id": self.choice.experiment_id, "experiment": self.choice.name or "",
                "project": self.choice.project}

    def resume(self, state: Mapping[str, Any] | None) -> bool:
        """Continue the experiment of a checkpoint's ``checkpoint_state`` (if nothing was opened yet)."""
        if not state or self.opened:
            return False
        return self.choice.resume(state)

    def _open(self) -> ExperimentTarget:
        target = self._target
        if target is not None:
            return target
        with self._lock:
            if self._target is None:
                try:
                    self._target = ExperimentTarget(self.choice.open(self._client), self.report)
                except BaseException:
                    self._broken = True
                    raise
            return self._target

    # -- records ----------------------------------------------------------------------------

    def log_metrics(
        self, metrics: Mapping[str, Any], step: int | float, epoch: int | None = None,
        exclude: frozenset[str] = frozenset(),
    ) -> None:
        """Queue one LINE point per metric at ``step`` (logged in batches, see ``flush_lines``).

        ``exclude`` names entries that are not metrics (the ``epoch`` Lightning and Hugging Face
        put among them), skipped without copying the mapping on every step.
        """
        if self._broken:
            return
        refused, due = self._lines.add(metrics, step, epoch, _wall_clock(), exclude)
        if due:
            self.flush_lines()
        if refused:
            raise NotANumberError(f"metrics {refused} are not numbers and were not logged")

    def flush_lines(self) -> None:
        """Log every queued point now (one LINE record per metric)."""
        if self._broken or not len(self._lines):
            return
        self._open().lines(self._lines.drain())

    def log_values(self, values: Mapping[str, Any]) -> None:
        """Log numbers as VALUE records (the summary at the top of the dashboard)."""
        if self._broken:
            return
        target = self._open()
        for name, value in values.items():
            target.log(name, value, LogType.VALUE)

    def log_parameters(self, parameters: Mapping[str, Any]) -> None:
        """Merge hyperparameters (sanitized: lossless, JSON-like) into the TABLE ``parameters``."""
        if self._broken or not parameters:
            return
        self._open().log_parameters(sanitize(dict(parameters)))

    def log_records(self, records: Iterable[tuple[str, Any, LogType]]) -> None:
        """Log ``(name, data, type)`` records, replacing earlier ones of the same name."""
        if self._broken:
            return
        target = self._open()
        for name, data, log_type in records:
            target.log(name, data, log_type)

    def store(self, name: str, path: str | os.PathLike) -> None:
        """Store a file as an artifact (copied now: the file may change or go right after)."""
        if self._broken:
            return
        self.flush_lines()
        self._open().store(name, path)

    # -- lifecycle --------------------------------------------------------------------------

    def flush(self, timeout: float | None = None) -> None:
        """Log the queued points and wait until the store has everything."""
        self.flush_lines()
        if self._target is not None and not self._broken:
            self._target.flush(timeout)

    def start(self) -> None:
        """Training begins in this process: open the experiment and make it RUNNING.

        A continued experiment (a resumed run, a name given again) or one this run already
        finished (a second ``fit``) is reopened; until ``finish``, the program dying (an exception,
        Ctrl-C, SIGTERM) ends it FAILED with every buffered point logged (``end_on_failure``).
        """
        if self._broken:
            return
        target = self._open()
        if self._finished or (self.choice.continued and not self._running):
            reopen = getattr(target.experiment, "reopen", None)
            if callable(reopen):
                reopen()
        self._running, self._finished = True, False
        lifecycle.watch(self)

    @property
    def running(self) -> bool:
        return self._running

    def finish(self, status: str | None) -> None:
        """Flush and set the status (``None``: flush only). An experiment never opened stays closed.

        The status is set even when logging the last points fails (that error is raised after).
        """
        if status is not None and status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        if self._broken:
            return
        try:
            self.flush_lines()
        finally:
            if self._target is not None:
                if status is None:
                    self._target.flush()
                else:
                    self._running, self._finished = False, True
                    lifecycle.unwatch(self)
                    self._target.set_status(status)

    def end_on_failure(self) -> None:
        """Training died (an exception, Ctrl-C, SIGTERM): log what is buffered, set FAILED. Never raises."""
        if not self._running:
            return
        try:
            self.finish("FAILED")
        except Exception as error:  # noqa: BLE001
            self.report("finish the experiment as FAILED", error)

    def attempt(self, what: str, step: Any, *args: Any, **kwargs: Any) -> None:
        """Run one step of the end-of-training work; a failure is reported and the next step runs."""
        try:
            step(*args, **kwargs)
        except Exception as error:  # noqa: BLE001 - one failing step must not skip the others
            self.report(what, error)

    def rewind(self, step: int | float) -> None:
        """Drop the experiment's points after ``step`` (a resume from a checkpoint at ``step``)."""
        if self._broken:
            return
        rewind = getattr(self._open().experiment, "rewind", None)
        if callable(rewind):
            self.flush_lines()
            rewind(step)

    def report(self, what: str, error: BaseException) -> None:
        """A failure of ``what``: one warning per kind (see FailureReporter)."""
        self._failures.report(what, error)

    @property
    def failures(self) -> int:
        return self._failures.count

    # Pickled for DDP spawn: the choice and the failures travel; threads, locks, queued points and
    # the live experiment are rebuilt (the experiment reopened on first use in the new process).
    def __getstate__(self) -> dict:
        return {"choice": self.choice, "_failures": self._failures, "_client": None,
                "_in_step_order": self._in_step_order}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._setup()
        _live_runs.add(self)


class LazyExperiment:
    """Stands for a run's experiment: the first attribute used opens (or creates) it.

    Lightning touches ``logger.experiment`` while setting up, before a checkpoint can say which
    experiment to continue; this keeps that access free of I/O.
    """

    def __init__(self, run: TrackedRun) -> None:
        self._run = run

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy/pickle probes must not open the experiment
            raise AttributeError(name)
        return getattr(self._run.experiment, name)

    def __repr__(self) -> str:
        state = "opened" if self._run.opened else "not opened yet"
        return f"LazyExperiment({self._run.project_name!r}/{self._run.experiment_label!r}, {state})"


# Points still queued when the interpreter exits (a crash, a run without an end hook) are logged
# before the core flushes its stores: this hook is registered after the core's, so it runs first.
# A foreign experiment's worker thread is a daemon: it is waited for here, or its calls are lost.
_live_runs: "weakref.WeakSet[TrackedRun]" = weakref.WeakSet()


def _flush_at_exit() -> None:
    for run in list(_live_runs):
        try:
            run.flush(timeout=60)
        except Exception as error:  # noqa: BLE001 - never turn a clean exit into a traceback
            run.report("log the last points", error)


atexit.register(_flush_at_exit)
