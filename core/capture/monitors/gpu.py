"""Each NVIDIA GPU's utilisation, memory, temperature and power, through NVML (nvidia-ml-py).

NVML reads the driver's counters: it creates no CUDA context and synchronises no stream, so it
never slows the training it watches. Without the package, the driver or a GPU the monitor is
absent, silently. A quantity a GPU does not report (power on some boards) is left out.
"""

from __future__ import annotations

from typing import Any

from .base import MB, Monitor, Sample, Unavailable

QUANTITIES = ("gpu_utilization_percent", "gpu_memory_used_mb", "gpu_memory_percent", "gpu_temperature_c", "gpu_power_w")


def _nvml():
    """The initialised ``pynvml`` module; Unavailable without the package, a driver or a GPU."""
    try:
        import pynvml
    except ImportError as error:
        raise Unavailable("nvidia-ml-py is not installed") from error
    try:
        pynvml.nvmlInit()
        if pynvml.nvmlDeviceGetCount() == 0:
            pynvml.nvmlShutdown()
            raise Unavailable("no NVIDIA GPU")
    except pynvml.NVMLError as error:  # no driver (library not found), driver/library mismatch...
        raise Unavailable(str(error)) from error
    return pynvml


def describe_gpus() -> list[dict[str, Any]]:
    """Name, memory and driver of every NVIDIA GPU ([] when there is none or no NVML)."""
    try:
        nvml = _nvml()
    except Unavailable:
        return []
    try:
        driver = _text(nvml.nvmlSystemGetDriverVersion())
        gpus = []
        for index in range(nvml.nvmlDeviceGetCount()):
            handle = nvml.nvmlDeviceGetHandleByIndex(index)
            gpus.append({"index": index, "name": _text(nvml.nvmlDeviceGetName(handle)), "driver": driver,
                         "memory_mb": nvml.nvmlDeviceGetMemoryInfo(handle).total / MB})
        return gpus
    except nvml.NVMLError:
        return []
    finally:
        nvml.nvmlShutdown()


class GpuMonitor(Monitor):
    name = "gpu"

    def start(self) -> None:
        self._nvml = _nvml()
        count = self._nvml.nvmlDeviceGetCount()
        self._handles = {f"gpu{i}": self._nvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)}
        self._unsupported: set[str] = set()

    def collect(self, elapsed: float) -> Sample:
        out: dict[str, dict[str, float]] = {name: {} for name in QUANTITIES}
        for gpu, handle in self._handles.items():
            for quantity, read in self._readers(handle):
                if quantity in self._unsupported:
                    continue
                try:
                    out[quantity][gpu] = read()
                except self._nvml.NVMLError_NotSupported:
                    self._unsupported.add(quantity)
        return {name: series for name, series in out.items() if series}

    def _readers(self, handle):
        nvml = self._nvml

        def memory():
            return nvml.nvmlDeviceGetMemoryInfo(handle)

        yield "gpu_utilization_percent", lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)
        yield "gpu_memory_used_mb", lambda: memory().used / MB
        yield "gpu_memory_percent", lambda: 100.0 * memory().used / memory().total
        yield "gpu_temperature_c", lambda: float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))
        yield "gpu_power_w", lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0

    def stop(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - already shut down
            pass


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
