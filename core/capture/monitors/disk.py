"""Disk read and write rates over the interval, all disks together (psutil)."""

from __future__ import annotations

from .base import ByteRates


class DiskMonitor(ByteRates):
    name = "disk"
    counters = "disk_io_counters"
    log = "disk_mb_s"
    fields = {"read": "read_bytes", "write": "write_bytes"}
