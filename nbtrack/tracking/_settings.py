"""The process's tracking settings: which store and registry, which experiment.

The lowest module of ``nbtrack.tracking``, so that :class:`~nbtrack.tracking.client.Client` (which
needs the default tracking URI) and the fluent API (which sets it) both read one place without
importing each other. ``set_tracking_uri`` and friends live in ``fluent``; this holds the state.
"""

from __future__ import annotations

import os
from typing import Any

from nbtrack import config

__all__ = ["registry_uri", "settings", "tracking_uri", "tracking_uri_is_set"]

#: set_tracking_uri / set_experiment / set_registry_uri of this process (None: not set)
settings: dict[str, Any] = {"tracking_uri": None, "experiment_id": None, "registry_uri": None}


def tracking_uri() -> str:
    """set_tracking_uri's, else NBTRACK_TRACKING_URI, else MLFLOW_TRACKING_URI, else ``./.nbtrack``."""
    uri = settings["tracking_uri"] or config.env("NBTRACK_TRACKING_URI") or config.env("MLFLOW_TRACKING_URI")
    return os.path.abspath(".nbtrack") if uri is None else str(uri)


def tracking_uri_is_set() -> bool:
    return bool(settings["tracking_uri"] or config.env("NBTRACK_TRACKING_URI") or config.env("MLFLOW_TRACKING_URI"))


def registry_uri(default: str | None = None) -> str | None:
    """set_registry_uri's, else MLFLOW_REGISTRY_URI, else ``default``."""
    return settings.get("registry_uri") or config.env("MLFLOW_REGISTRY_URI") or default
