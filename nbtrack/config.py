"""Every environment variable nbtrack reads, read at call time (never frozen at import)."""

from __future__ import annotations

import os

__all__ = ["env"]

#: name -> meaning. MLflow's names are honoured too, so existing setups keep working.
VARIABLES = {
    "NBTRACK_TRACKING_URI": "store location: a folder, duckdb:///abs/folder, or http://host:port",
    "MLFLOW_TRACKING_URI": "used when NBTRACK_TRACKING_URI is unset",
    "NBTRACK_FLUSH_INTERVAL": "seconds between background flushes of buffered run data (default 0.25)",
    "NBTRACK_EXIT_FLUSH_TIMEOUT": "seconds the interpreter waits at exit for the last flush (default 10)",
    "MLFLOW_EXPERIMENT_NAME": "experiment used when none was set (created if missing)",
    "MLFLOW_EXPERIMENT_ID": "experiment id used when none was set",
    "MLFLOW_RUN_ID": "start_run() resumes this run (then the variable is removed)",
    "NBTRACK_SCORING_SERVER_CONFIG": "internal: JSON settings `nbtrack models serve` passes to its worker processes",
    "NBTRACK_TOKEN": "bearer token the REST server requires and the REST client sends",
    "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "true/1: every run logs system/* metrics (start_run(log_system_metrics=) overrides)",
    "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "seconds between system metrics samples (default 10)",
    "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING": "system metrics samples averaged into each logged point (default 1)",
    "MLFLOW_SYSTEM_METRICS_NODE_ID": "machine name put in system metric keys: system/<node>/...",
}


def env(name: str, default: str | None = None) -> str | None:
    """Return the variable ``name`` (which must be listed in :data:`VARIABLES`)."""
    if name not in VARIABLES:
        raise KeyError(f"{name} is not an nbtrack setting; add it to nbtrack.config.VARIABLES")
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_float(name: str, default: float) -> float:
    value = env(name)
    return default if value is None else float(value)
