"""Memory: the machine's in use, and this process's resident set (psutil)."""

from __future__ import annotations

import os

from .base import MB, Monitor, Sample


class MemoryMonitor(Monitor):
    name = "memory"

    def __init__(self, pid: int | None = None) -> None:
        self._pid = pid

    def start(self) -> None:
        import psutil

        self._process = psutil.Process(self._pid or os.getpid())

    def collect(self, elapsed: float) -> Sample:
        import psutil

        memory = psutil.virtual_memory()
        return {
            "memory_used_mb": (memory.total - memory.available) / MB,
            "memory_percent": memory.percent,
            "process_rss_mb": self._process.memory_info().rss / MB,
        }
