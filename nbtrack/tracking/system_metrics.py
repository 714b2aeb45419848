"""System metrics: CPU, memory, disk, network (and GPU where NVML finds one) while a run is open.

``start_run(log_system_metrics=True)``, or ``enable_system_metrics_logging()`` /
``MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING=true`` for every run, starts one daemon thread per run
that samples with psutil every ``sampling_interval`` seconds (MLflow's default, 10), averages
``samples_before_logging`` samples (default 1) and logs them as ordinary metrics with MLflow's
names (``system/cpu_utilization_percentage``, ...) at steps 0, 1, 2, ... Ending the run
stops the thread and logs what it holds before the run is marked ended. The settings are
MLflow's environment variables, so the ``set_*`` functions set them, as MLflow's do, and
child processes inherit them.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from nbtrack import config
from nbtrack.entities import Metric
from nbtrack.errors import InvalidParameter, NbtrackError

if TYPE_CHECKING:
    from nbtrack.tracking.client import Client

__all__ = [
    "SystemMetricsMonitor",
    "disable_system_metrics_logging",
    "enable_system_metrics_logging",
    "set_system_metrics_node_id",
    "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval",
]

_log = logging.getLogger(__name__)

PREFIX = "system/"
DEFAULT_SAMPLING_INTERVAL = 10.0
DEFAULT_SAMPLES_BEFORE_LOGGING = 1
_ENABLE = "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING"
_INTERVAL = "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL"
_SAMPLES = "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING"
_NODE = "MLFLOW_SYSTEM_METRICS_NODE_ID"

_monitors: dict[str, SystemMetricsMonitor] = {}
_lock = threading.Lock()


# -- settings (MLflow's functions and variables) ---------------------------------------------
def enable_system_metrics_logging() -> None:
    """Log system metrics for every run from now on (``log_system_metrics=False`` opts a run out)."""
    os.environ[_ENABLE] = "true"


def disable_system_metrics_logging() -> None:
    """Stop logging system metrics by default (``log_system_metrics=True`` still opts a run in)."""
    os.environ[_ENABLE] = "false"


def set_system_metrics_sampling_interval(interval: float | None) -> None:
    """Sample every ``interval`` seconds (None: back to the default of 10)."""
    _set(_INTERVAL, interval, float)


def set_system_metrics_samples_before_logging(samples: int | None) -> None:
    """Average this many samples into each logged point (None: back to the default of 1)."""
    _set(_SAMPLES, samples, int)


def set_system_metrics_node_id(node_id: str | None) -> None:
    """Name this machine in the metric keys: ``system/<node_id>/cpu_utilization_percentage``."""
    _set(_NODE, node_id, str)


def _set(name: str, value: Any, kind: type) -> None:
    if value is None:
        os.environ.pop(name, None)
        return
    try:
        parsed = kind(value)
    except (TypeError, ValueError):
        raise InvalidParameter(f"{name} must be of type {kind.__name__}, got {value!r}.") from None
    if kind in (int, float) and parsed <= 0:
        raise InvalidParameter(f"{name} must be positive, got {value!r}.")
    os.environ[name] = str(parsed)


def enabled(log_system_metrics: bool | None) -> bool:
    """Whether a run started with ``log_system_metrics`` logs system metrics."""
    if log_system_metrics is not None:
        return bool(log_system_metrics)
    value = (config.env(_ENABLE) or "false").strip().lower()
    if value not in ("true", "false", "1", "0"):
        raise InvalidParameter(f"{_ENABLE} must be one of true, false, 1, 0 (any case), got {value!r}.")
    return value in ("true", "1")


def check_available() -> None:
    """Raise before a run is created when psutil, which does the sampling, is missing."""
    import importlib.util

    if importlib.util.find_spec("psutil") is None:
        raise NbtrackError(
            "Failed to start system metrics monitoring as package `psutil` is not installed. "
            "Run `pip install psutil` (or `pip install 'nbtrack[system]'`), or pass "
            "log_system_metrics=False to start_run() / call nbtrack.disable_system_metrics_logging()."
        )


# -- per-run monitors ------------------------------------------------------------------------
def start(client: Client, run_id: str, resume: bool = False) -> SystemMetricsMonitor | None:
    """Start the monitor of ``run_id`` (one per run); a failure is logged, never raised."""
    with _lock:
        if run_id in _monitors:
            return _monitors[run_id]
    try:
        monitor = SystemMetricsMonitor(client, run_id, resume_logging=resume)
        monitor.start()
    except Exception as e:  # boundary: metrics about the machine must not stop the run
        _log.warning("Failed to start system metrics monitoring for run %s: %s", run_id, e)
        return None
    with _lock:
        _monitors[run_id] = monitor
    return monitor


def stop(run_id: str) -> None:
    """Stop the monitor of ``run_id`` (if any) and log what it still holds."""
    with _lock:
        monitor = _monitors.pop(run_id, None)
    if monitor is not None:
        monitor.finish()


def active_run_ids() -> list[str]:
    with _lock:
        return list(_monitors)


class SystemMetricsMonitor:
    """Samples the machine on a daemon thread and logs to one run (MLflow's class of that name).

    Parameters
    ----------
    sampling_interval, samples_before_logging, node_id
        Defaults for when MLflow's environment variables are unset (they take precedence, as
        in MLflow).
    resume_logging
        Continue after the run's last ``system/`` step instead of starting at step 0.
    """

    def __init__(self, client: Client, run_id: str, sampling_interval: float = DEFAULT_SAMPLING_INTERVAL,
                 samples_before_logging: int = DEFAULT_SAMPLES_BEFORE_LOGGING,
                 resume_logging: bool = False, node_id: str | None = None) -> None:
        from nbtrack.tracking._samplers import default_samplers

        self.client = client
        self.run_id = run_id
        self.sampling_interval = config.env_float(_INTERVAL, sampling_interval)
        self.samples_before_logging = int(config.env(_SAMPLES) or samples_before_logging)
        if self.sampling_interval <= 0 or self.samples_before_logging <= 0:
            raise InvalidParameter(f"{_INTERVAL} and {_SAMPLES} must be positive.")
        self.node_id = config.env(_NODE) or node_id
        self.prefix = PREFIX + (f"{self.node_id}/" if self.node_id else "")
        self.samplers = default_samplers()
        self._step = self._next_step() if resume_logging else 0
        self._samples: dict[str, list[float]] = defaultdict(list)
        self._count = 0
        self.logged_points = 0
        self._stopped = threading.Event()
        self._thread: threading.Thread | None = None

    def _next_step(self) -> int:
        history = self.client.get_metric_history(self.run_id, self.prefix + "cpu_utilization_percentage")
        return max((m.step for m in history), default=-1) + 1

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name=f"nbtrack-system-metrics-{self.run_id[:8]}",
                                        daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        # As MLflow: wait, sample, and log once enough samples are in. CPU use is measured
        # over each interval, so the first point covers the run's first interval.
        while not self._stopped.wait(self.sampling_interval):
            try:
                self.collect_metrics()
                if self._count >= self.samples_before_logging:
                    self.publish_metrics()
            except Exception as e:  # boundary: say why the thread stops instead of dying silently
                _log.warning("System metrics monitoring of run %s stopped: %s", self.run_id, e)
                return

    def collect_metrics(self) -> dict[str, float]:
        """Take one sample of every sampler (kept until the next publish) and return it."""
        sample: dict[str, float] = {}
        for sampler in self.samplers:
            sample.update(sampler.sample())
        for key, value in sample.items():
            self._samples[key].append(value)
        self._count += 1
        return sample

    def aggregate_metrics(self) -> dict[str, float]:
        """Each metric over the samples since the last publish: the mean rounded to 0.1, as
        MLflow does, and for the running network totals the latest value."""
        from nbtrack.tracking._samplers import CUMULATIVE

        return {key: values[-1] if key in CUMULATIVE else round(sum(values) / len(values), 1)
                for key, values in self._samples.items() if values}

    def publish_metrics(self) -> None:
        values = self.aggregate_metrics()
        self._samples.clear()
        self._count = 0
        if not values:
            return
        now = time.time_ns() // 1_000_000
        metrics = [Metric(self.prefix + key, value, now, self._step) for key, value in values.items()]
        self.client.log_batch(self.run_id, metrics)
        self._step += 1
        self.logged_points += 1

    def finish(self) -> None:
        """Stop sampling and log the samples not yet logged."""
        self._stopped.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=30)
        self._thread = None
        try:
            if self.logged_points == 0 and self._count == 0:
                self.collect_metrics()  # a run shorter than one interval still gets a point
            self.publish_metrics()
        except NbtrackError as e:
            _log.warning("The last system metrics of run %s were not logged: %s", self.run_id, e)
        for sampler in self.samplers:
            sampler.close()
