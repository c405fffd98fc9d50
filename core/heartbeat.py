"""The heartbeat: while a process runs experiments, it says so every few seconds.

Each backend owns one ``Heartbeat``, a daemon thread that records the time, the process id, the
host name and the interval on every experiment this process has open (``core/lifecycle.py``
adds and removes them). Readers derive CRASHED from it (``core/status.py``): a process that dies
without closing its experiment stops beating. The interval is ``TRACKBOARD_HEARTBEAT_INTERVAL``
seconds (default 5; 0 turns the heartbeat off).
"""

from __future__ import annotations

import logging
import os
import threading
from typing import Callable

from .errors import TrackboardError
from .status import DEFAULT_INTERVAL_S, HOSTNAME

logger = logging.getLogger("trackboard")

ENV_INTERVAL = "TRACKBOARD_HEARTBEAT_INTERVAL"

# beat(experiment ids, pid, hostname, interval): one write for all of them.
Beat = Callable[[list[str], int, str, float], None]


def heartbeat_interval() -> float:
    """Seconds between beats, from ``TRACKBOARD_HEARTBEAT_INTERVAL`` (default 5, 0 = off).

    >>> heartbeat_interval() > 0
    True
    """
    raw = os.environ.get(ENV_INTERVAL, "").strip()
    if not raw:
        return DEFAULT_INTERVAL_S
    try:
        interval = float(raw)
    except ValueError:
        interval = -1.0
    if not interval >= 0 or interval == float("inf"):
        raise TrackboardError(f"{ENV_INTERVAL} must be a number of seconds >= 0 (0 = off), got {raw!r}")
    return interval


class Heartbeat:
    """Beats for a set of experiment ids, from one daemon thread started on first use."""

    def __init__(self, beat: Beat, interval: float | None = None) -> None:
        self._beat = beat
        self.interval = heartbeat_interval() if interval is None else interval
        self._reset()

    def _reset(self) -> None:
        self._ids: set[str] = set()
        self._lock = threading.Lock()
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def add(self, experiment_id: str) -> None:
        """Beat for ``experiment_id`` from now on (the first beat is sent at once, on this thread)."""
        if not self.interval:
            return
        with self._lock:
            self._ids.add(experiment_id)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="trackboard-heartbeat", daemon=True)
                self._thread.start()
        self._send([experiment_id])  # from the first moment, a reader can tell whose run it is

    def discard(self, experiment_id: str) -> None:
        with self._lock:
            self._ids.discard(experiment_id)

    def stop(self) -> None:
        self._stopped.set()

    def after_fork(self) -> None:
        """In a forked child: the parent's experiments are not this process's; no thread yet."""
        self._reset()

    def _run(self) -> None:
        while not self._stopped.wait(self.interval):
            with self._lock:
                ids = sorted(self._ids)
            if ids:
                self._send(ids)

    def _send(self, ids: list[str]) -> None:
        try:
            self._beat(ids, os.getpid(), HOSTNAME, self.interval)
        except Exception as error:  # noqa: BLE001 - a missed beat is retried at the next one
            logger.debug("trackboard: heartbeat failed: %s", error)
