"""Network receive and send rates over the interval, all interfaces together (psutil)."""

from __future__ import annotations

from .base import ByteRates


class NetworkMonitor(ByteRates):
    name = "network"
    counters = "net_io_counters"
    log = "network_mb_s"
    fields = {"recv": "bytes_recv", "sent": "bytes_sent"}
