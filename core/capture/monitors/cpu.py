"""CPU use: the whole machine's and this process's, averaged over the interval (psutil)."""

from __future__ import annotations

import os

from .base import Monitor, Sample


class CpuMonitor(Monitor):
    name = "cpu"

    def __init__(self, pid: int | None = None) -> None:
        self._pid = pid

    def start(self) -> None:
        import psutil

        self._process = psutil.Process(self._pid or os.getpid())
        # Both count from their previous call: this first one sets the baseline.
        self._process.cpu_percent(None)
        self._times = psutil.cpu_times()

    def collect(self, elapsed: float) -> Sample:
        import psutil

        # From cpu_times deltas rather than psutil.cpu_percent(None), whose baseline is shared
        # with any other caller in the process (the user's own script).
        times = psutil.cpu_times()
        busy, total = _busy_total(self._times, times)
        self._times = times
        return {
            "cpu_percent": 100.0 * busy / total if total > 0 else 0.0,
            "process_cpu_percent": self._process.cpu_percent(None),
        }


def _busy_total(before, after) -> tuple[float, float]:
    total = sum(after) - sum(before)
    idle = (after.idle - before.idle) + (getattr(after, "iowait", 0.0) - getattr(before, "iowait", 0.0))
    return max(total - idle, 0.0), total
