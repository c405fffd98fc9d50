"""An experiment's capture thread: the context recorded once, then system metrics every interval.

One daemon thread per experiment, doing nothing between samples. Samples are ``experiment.log``
LINE calls, so they reach the store (or server) in the writer's batches with everything else:
no request, no transaction per sample. Each point carries the experiment's current step (read
from the store at sampling time, so ``log()`` itself pays nothing for it) and its wall time.
The thread stops when the experiment closes, and never runs in a forked child.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any, Callable

from ..logtype import LogType
from .context import record_context
from .monitors import Monitor, Unavailable, default_monitors
from .warn_once import warn_once

PREFIX = "system/"
JOIN_TIMEOUT_S = 5.0


class Sampler:
    """Samples ``monitors`` every ``interval`` seconds into ``experiment``'s ``system/`` LINE logs."""

    def __init__(self, experiment: Any, interval: float, monitors: list[Monitor] | None = None,
                 record: bool = True) -> None:
        self._experiment = experiment
        self.interval = interval
        self._monitors = default_monitors() if monitors is None else monitors
        self._record = record
        self._stop = threading.Event()
        self._pid = os.getpid()
        self.samples = 0
        self._thread = threading.Thread(target=self._run, name="trackboard-capture", daemon=True)

    def start(self) -> "Sampler":
        self._thread.start()
        return self

    def stop(self, timeout: float = JOIN_TIMEOUT_S) -> None:
        """Take a last sample, finish and wait for the thread (called by ``experiment.close``)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    # -- the thread -------------------------------------------------------------------------

    def _run(self) -> None:
        # Hand the GIL straight back: create_experiment returns without waiting for this thread.
        time.sleep(0.001)
        # Baselines first: the first rates then cover the time spent recording the context.
        monitors = [monitor for monitor in self._monitors if _started(monitor)] if self.interval > 0 else []
        last = started = time.monotonic()
        if self._record:
            _quietly("the environment", lambda: record_context(self._experiment))
        if not monitors:
            return
        due = started + self.interval
        while not self._stop.wait(max(0.0, due - time.monotonic())):
            if os.getpid() != self._pid:
                return
            last = self._sample(monitors, last)
            # On a fixed grid (no drift); slots missed while busy are skipped, not caught up.
            due += self.interval
            if due <= last:
                due = last + self.interval
        # Closing: one more point, so that a run shorter than the interval has one too.
        if os.getpid() == self._pid and time.monotonic() - last >= min(self.interval, 1.0):
            self._sample(monitors, last)
        for monitor in monitors:
            _quietly(f"the {monitor.name} monitor", monitor.stop, key=f"stop {monitor.name}")

    def _sample(self, monitors: list[Monitor], last: float) -> float:
        now = time.monotonic()
        elapsed = max(now - last, 1e-6)
        step = self._current_step()
        for monitor in list(monitors):
            try:
                sample = monitor.collect(elapsed)
            except Exception as error:  # noqa: BLE001 - it fails the same way every time: drop it
                monitors.remove(monitor)
                warn_once(f"monitor {monitor.name}", f"system metrics: the {monitor.name} monitor stopped "
                          f"after {type(error).__name__}: {error}")
                continue
            for name, value in sample.items():
                self._log(PREFIX + name, value, step)
        self.samples += 1
        return now

    def _current_step(self) -> float | None:
        """The experiment's largest stored step (0 before any); None when the store cannot tell."""
        last_step = getattr(self._experiment._backend, "last_step", None)
        if last_step is None:
            return None  # e.g. a tracking server: the points then continue their own series' steps
        try:
            step = last_step(self._experiment.id, exclude_prefix=PREFIX)
        except Exception:  # noqa: BLE001 - a busy store: this sample continues its series' steps
            return None
        return 0 if step is None else step

    def _log(self, name: str, value: Any, step: float | None) -> None:
        if isinstance(value, dict):
            data: Any = {series: [number] for series, number in value.items()}
            if step is not None:
                data["steps"] = [step]
        else:
            data = value if step is None else {"steps": [step], "values": [value]}
        try:
            self._experiment.log(name, data, LogType.LINE)
        except Exception as error:  # noqa: BLE001 - e.g. the user logged that name as another type
            warn_once(f"log {name}", f"system metrics: could not log {name!r}: {error}")


def _started(monitor: Monitor) -> bool:
    try:
        monitor.start()
        return True
    except (Unavailable, ImportError):  # nothing to measure here (no GPU, no psutil): silent
        return False
    except Exception as error:  # noqa: BLE001
        warn_once(f"monitor {monitor.name}", f"system metrics: the {monitor.name} monitor could not start: "
                  f"{type(error).__name__}: {error}")
        return False


def _quietly(what: str, action: Callable[[], None], key: str | None = None) -> None:
    try:
        action()
    except Exception as error:  # noqa: BLE001 - capture never breaks a run
        warn_once(key or what, f"could not record {what}: {type(error).__name__}: {error}")
