"""Disk read and write rates over the interval, all disks together (psutil)."""

from __future__ import annotations

from .base import MB, Monitor, Sample, Unavailable


class DiskMonitor(Monitor):
    name = "disk"

    def start(self) -> None:
        import psutil

        self._last = psutil.disk_io_counters()
        if self._last is None:  # no disk statistics here (some containers)
            raise Unavailable("no disk counters")

    def collect(self, elapsed: float) -> Sample:
        import psutil

        now = psutil.disk_io_counters()
        before, self._last = self._last, now
        return {"disk_mb_s": {
            "read": max(now.read_bytes - before.read_bytes, 0) / MB / elapsed,
            "write": max(now.write_bytes - before.write_bytes, 0) / MB / elapsed,
        }}
