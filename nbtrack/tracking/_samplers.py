"""What the system metrics monitor measures, with MLflow's metric names and units.

Each sampler's ``sample()`` returns ``{name: value}`` for one moment. CPU utilisation is
computed from this sampler's own previous reading (not psutil's module-wide one), so two runs
monitored at once do not disturb each other. Network counters are megabytes since the
monitor started, as in MLflow. GPU metrics come from NVML (``nvidia-ml-py``) when it is
installed and finds a device; otherwise there are none.
"""

from __future__ import annotations

import logging
import os
from typing import Any

_log = logging.getLogger(__name__)

#: metrics that are running totals: the latest sample is logged, not the mean
CUMULATIVE = frozenset({"network_receive_megabytes", "network_transmit_megabytes"})


class Sampler:
    def sample(self) -> dict[str, float]:
        raise NotImplementedError

    def close(self) -> None:
        """Release what the sampler holds (NVML); the default holds nothing."""


class CPUSampler(Sampler):
    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        self._last = self._busy_total()

    def _busy_total(self) -> tuple[float, float]:
        times = self._psutil.cpu_times()
        total = sum(times)
        idle = times.idle + getattr(times, "iowait", 0.0)
        return total - idle, total

    def sample(self) -> dict[str, float]:
        busy, total = self._busy_total()
        d_busy, d_total = busy - self._last[0], total - self._last[1]
        self._last = (busy, total)
        memory = self._psutil.virtual_memory()
        return {
            "cpu_utilization_percentage": round(100.0 * d_busy / d_total, 1) if d_total > 0 else 0.0,
            "system_memory_usage_megabytes": memory.used / 1e6,
            "system_memory_usage_percentage": memory.used / memory.total * 100,
        }


class DiskSampler(Sampler):
    def __init__(self) -> None:
        import psutil

        self._psutil = psutil

    def sample(self) -> dict[str, float]:
        usage = self._psutil.disk_usage(os.sep)
        return {
            "disk_usage_percentage": usage.percent,
            "disk_usage_megabytes": usage.used / 1e6,
            "disk_available_megabytes": usage.free / 1e6,
        }


class NetworkSampler(Sampler):
    def __init__(self) -> None:
        import psutil

        self._psutil = psutil
        counters = psutil.net_io_counters()
        self._start = (counters.bytes_recv / 1e6, counters.bytes_sent / 1e6)

    def sample(self) -> dict[str, float]:
        counters = self._psutil.net_io_counters()
        return {
            "network_receive_megabytes": counters.bytes_recv / 1e6 - self._start[0],
            "network_transmit_megabytes": counters.bytes_sent / 1e6 - self._start[1],
        }


class GPUSampler(Sampler):
    """NVIDIA GPUs through NVML; constructing it raises when there is no library or device."""

    def __init__(self) -> None:
        import pynvml

        pynvml.nvmlInit()
        self._nvml = pynvml
        self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(pynvml.nvmlDeviceGetCount())]

    def sample(self) -> dict[str, float]:
        nvml, out = self._nvml, {}
        for i, handle in enumerate(self._handles):
            for read in (_gpu_memory, _gpu_utilization, _gpu_power):
                try:
                    out.update(read(nvml, handle, i))
                except nvml.NVMLError as e:
                    _log.debug("GPU %d: %s unavailable: %s", i, read.__name__, e)
        return out

    def close(self) -> None:
        try:
            self._nvml.nvmlShutdown()
        except self._nvml.NVMLError:
            pass


def _gpu_memory(nvml: Any, handle: Any, i: int) -> dict[str, float]:
    memory = nvml.nvmlDeviceGetMemoryInfo(handle)
    return {f"gpu_{i}_memory_usage_percentage": round(memory.used / memory.total * 100, 1),
            f"gpu_{i}_memory_usage_megabytes": memory.used / 1e6}


def _gpu_utilization(nvml: Any, handle: Any, i: int) -> dict[str, float]:
    return {f"gpu_{i}_utilization_percentage": float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)}


def _gpu_power(nvml: Any, handle: Any, i: int) -> dict[str, float]:
    milliwatts = nvml.nvmlDeviceGetPowerUsage(handle)
    limit = nvml.nvmlDeviceGetEnforcedPowerLimit(handle)
    return {f"gpu_{i}_power_usage_watts": milliwatts / 1000,
            f"gpu_{i}_power_usage_percentage": milliwatts / limit * 100}


def default_samplers() -> list[Sampler]:
    samplers: list[Sampler] = [CPUSampler(), DiskSampler(), NetworkSampler()]
    try:
        samplers.append(GPUSampler())
    except Exception as e:  # no NVML library, no driver or no device: simply no GPU metrics
        _log.debug("No GPU metrics: %s", e)
    return samplers
