"""Every environment variable nbtrack reads, read at call time (never frozen at import)."""

from __future__ import annotations

import os

__all__ = ["env"]

#: name -> meaning. MLflow's names are honoured too, so existing setups keep working.
VARIABLES = {
    "NBTRACK_TRACKING_URI": "store location: a folder, duckdb:///abs/folder, or http://host:port",
    "MLFLOW_TRACKING_URI": "used when NBTRACK_TRACKING_URI is unset",
    "MLFLOW_REGISTRY_URI": "model registry location when set_registry_uri was not called (default: the tracking URI)",
    "NBTRACK_FLUSH_INTERVAL": "seconds between background flushes of buffered run data (default 0.25)",
    "NBTRACK_EXIT_FLUSH_TIMEOUT": "seconds the interpreter waits at exit for the last flush (default 10)",
    "MLFLOW_EXPERIMENT_NAME": "experiment used when none was set (created if missing)",
    "MLFLOW_EXPERIMENT_ID": "experiment id used when none was set",
    "MLFLOW_RUN_ID": "start_run() resumes this run (then the variable is removed)",
    "MLFLOW_ACTIVE_MODEL_ID": "the active logged model (m-...) when set_active_model was not called in this thread",
    "_MLFLOW_ACTIVE_MODEL_ID": "MLflow's older name of MLFLOW_ACTIVE_MODEL_ID, read when that one is unset",
    "NBTRACK_SCORING_SERVER_CONFIG": "internal: JSON settings `nbtrack models serve` passes to its worker processes",
    "NBTRACK_TOKEN": "bearer token the REST server requires and the REST client sends",
    "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "true/1: every run logs system/* metrics (start_run(log_system_metrics=) overrides)",
    "MLFLOW_SYSTEM_METRICS_SAMPLING_INTERVAL": "seconds between system metrics samples (default 10)",
    "MLFLOW_SYSTEM_METRICS_SAMPLES_BEFORE_LOGGING": "system metrics samples averaged into each logged point (default 1)",
    "MLFLOW_SYSTEM_METRICS_NODE_ID": "machine name put in system metric keys: system/<node>/...",
    "MLFLOW_TRACKING_TOKEN": "http(s) tracking URIs: bearer token sent to the server (before NBTRACK_TOKEN)",
    "MLFLOW_TRACKING_USERNAME": "http(s) tracking URIs: user name for HTTP basic auth",
    "MLFLOW_TRACKING_PASSWORD": "http(s) tracking URIs: password for HTTP basic auth",
    "MLFLOW_TRACKING_INSECURE_TLS": "http(s) tracking URIs: 'true' skips TLS certificate verification",
    "MLFLOW_TRACKING_SERVER_CERT_PATH": "http(s) tracking URIs: CA bundle to verify the server's certificate",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "http(s) tracking URIs: seconds per request (default 120)",
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "http(s) tracking URIs: retries on connection errors and 429/5xx (default 5)",
    "NBTRACK_SPOOL_DIR": "http(s) tracking URIs: folder for run data logged while the server is unreachable "
                         "(default ~/.cache/nbtrack/spool)",
    "MLFLOW_WEBHOOK_ALLOWED_SCHEMES": "registry webhooks: URL schemes a webhook may use (default https)",
    "MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS": "registry webhooks: 'true' allows URLs on this machine or a private network",
    "MLFLOW_WEBHOOK_REQUEST_TIMEOUT": "registry webhooks: seconds per delivery request (default 30)",
    "MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES": "registry webhooks: retries on 429/5xx and connection errors (default 3)",
    "MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS": "registry webhooks: threads delivering events at once (default 10)",
    "MLFLOW_S3_ENDPOINT_URL": "s3:// artifact locations: the S3-compatible endpoint (MinIO, ...; default AWS); "
                              "credentials and region are boto3's own AWS_* variables",
    "MLFLOW_S3_IGNORE_TLS": "s3:// artifact locations: 'true' skips TLS certificate verification",
    "NBTRACK_REST_FLUSH_TIMEOUT": "http(s) tracking URIs: seconds flush() waits for the server to acknowledge "
                                  "everything (default 60)",
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
