"""Network receive and send rates over the interval, all interfaces together (psutil)."""

from __future__ import annotations

from .base import MB, Monitor, Sample, Unavailable


class NetworkMonitor(Monitor):
    name = "network"

    def start(self) -> None:
        import psutil

        self._last = psutil.net_io_counters()
        if self._last is None:
            raise Unavailable("no network counters")

    def collect(self, elapsed: float) -> Sample:
        import psutil

        now = psutil.net_io_counters()
        before, self._last = self._last, now
        return {"network_mb_s": {
            "recv": max(now.bytes_recv - before.bytes_recv, 0) / MB / elapsed,
            "sent": max(now.bytes_sent - before.bytes_sent, 0) / MB / elapsed,
        }}
