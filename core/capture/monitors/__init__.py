"""One small monitor per resource; ``default_monitors()`` is what an experiment samples.

Adding a resource is adding a module with a ``Monitor`` subclass and listing it here.
"""

from __future__ import annotations

from .base import Monitor, Sample, Unavailable
from .cpu import CpuMonitor
from .disk import DiskMonitor
from .gpu import GpuMonitor
from .memory import MemoryMonitor
from .network import NetworkMonitor


def default_monitors() -> list[Monitor]:
    return [CpuMonitor(), MemoryMonitor(), DiskMonitor(), NetworkMonitor(), GpuMonitor()]


__all__ = ["Monitor", "Sample", "Unavailable", "default_monitors", "CpuMonitor", "MemoryMonitor",
           "DiskMonitor", "NetworkMonitor", "GpuMonitor"]
