"""Every environment variable nbtrack reads, read at call time (never frozen at import)."""

from __future__ import annotations

import os
import re
from contextvars import ContextVar

from nbtrack.errors import InvalidParameter

__all__ = ["DEFAULT_WORKSPACE", "active_workspace", "env", "set_active_workspace", "validate_workspace_name"]

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
    "MLFLOW_WORKSPACE": "the active workspace when set_workspace was not called in this thread (default: 'default')",
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


# -- workspaces (MLflow 3): names scope experiments and registered models -----------------------
DEFAULT_WORKSPACE = "default"
_WORKSPACE_PATTERN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_RESERVED_WORKSPACES = frozenset({"workspaces", "api", "ajax-api", "static-files"})
_workspace: ContextVar[str | None] = ContextVar("nbtrack_workspace", default=None)


def validate_workspace_name(name: object) -> str:
    """``name`` if it is a valid workspace name (MLflow's Kubernetes-style rule), else InvalidParameter."""
    if not isinstance(name, str):
        raise InvalidParameter(f"Workspace name must be a string, got {type(name).__name__}.")
    if not 2 <= len(name) <= 63:
        raise InvalidParameter(f"Workspace name '{name}' must be between 2 and 63 characters.")
    if not _WORKSPACE_PATTERN.match(name):
        raise InvalidParameter(
            f"Workspace name '{name}' must match the pattern {_WORKSPACE_PATTERN.pattern} (lowercase "
            "alphanumeric with optional internal hyphens), e.g. 'team-a'.")
    if name in _RESERVED_WORKSPACES:
        raise InvalidParameter(f"Workspace name '{name}' is reserved and cannot be used. Choose another name.")
    return name


def set_active_workspace(name: str | None) -> None:
    """Bind the workspace for this context (None: back to MLFLOW_WORKSPACE or the default).

    Like MLflow, the value is also put in ``MLFLOW_WORKSPACE`` so threads started later inherit it."""
    if name is not None and name != DEFAULT_WORKSPACE:
        validate_workspace_name(name)
    _workspace.set(name)
    if name is None:
        os.environ.pop("MLFLOW_WORKSPACE", None)
    else:
        os.environ["MLFLOW_WORKSPACE"] = name


def bind_workspace(name: str | None) -> object:
    """Bind ``name`` for this context only (the server's per-request workspace); returns a token."""
    return _workspace.set(name)


def unbind_workspace(token: object) -> None:
    _workspace.reset(token)  # type: ignore[arg-type]


def active_workspace() -> str:
    """The workspace experiments and registered models are created in and looked up in."""
    bound = (_workspace.get() or "").strip()
    if bound:
        return bound
    return (env("MLFLOW_WORKSPACE") or "").strip() or DEFAULT_WORKSPACE
