"""``log_model``: save into a temporary directory, upload as run artifacts, record it.

Like MLflow, the model goes under ``<name>`` in the active run (one is started when none
is active), the run's ``mlflow.log-model.history`` tag gets an entry, and a
:class:`~nbtrack.models.model.ModelInfo` comes back with ``model_uri = runs:/<run>/<name>``.
``registered_model_name`` registers the model through ``nbtrack.tracking.registry``.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.models.model import Model, ModelInfo

_log = logging.getLogger(__name__)

LOGGED_MODELS_TAG = "mlflow.log-model.history"


def _registry() -> Any:
    try:
        from nbtrack.tracking import registry
    except ImportError:
        return None
    return registry if hasattr(registry, "register_model") else None


def resolve_name(name: str | None, artifact_path: str | None) -> str:
    if name is not None and artifact_path is not None:
        raise InvalidParameter(
            "Both `artifact_path` (deprecated) and `name` parameters were specified. "
            "Please only specify `name`."
        )
    if artifact_path == "":
        raise InvalidParameter(
            "Invalid model name ('') provided. Model name must be a non-empty string. "
            "Pass name='model' (or any non-empty relative path) instead of artifact_path=''."
        )
    if artifact_path is not None:
        _log.warning("`artifact_path` is deprecated. Please use `name` instead.")
    name = name or artifact_path or "model"
    parts = name.replace("\\", "/").split("/")
    if name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise InvalidParameter(
            f"Invalid model name '{name}': use a relative artifact path such as 'model' or "
            "'models/classifier', without '..', empty or absolute parts."
        )
    return name


def _tags_entry(model: Model) -> dict[str, Any]:
    d = model.to_dict()
    entry: dict[str, Any] = {k: d[k] for k in ("run_id", "utc_time_created", "artifact_path", "model_uuid") if k in d}
    entry["flavors"] = {
        f: {k: v for k, v in conf.items() if k != "config"} if isinstance(conf, dict) else conf
        for f, conf in d.get("flavors", {}).items()
    }
    return entry


def _record_history(run_id: str, model: Model) -> None:
    from nbtrack.tracking.client import Client

    client = Client()
    previous = client.local_view(run_id).data.tags.get(LOGGED_MODELS_TAG, "[]")
    try:
        history = json.loads(previous)
    except json.JSONDecodeError:
        history = []
    history.append(_tags_entry(model))
    client.set_tag(run_id, LOGGED_MODELS_TAG, json.dumps(history))


def log_model(
    save: Callable[..., None],
    name: str | None = None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Run ``save(path=..., mlflow_model=..., **save_kwargs)`` and log the result to a run."""
    name = resolve_name(name, artifact_path)
    registry = None
    if registered_model_name is not None:
        registry = _registry()
        if registry is None:
            raise NbtrackError(
                f"Cannot register the model as '{registered_model_name}': the model registry is "
                "not available in this version of nbtrack yet. Log the model without "
                "registered_model_name and register it later from its runs:/ URI.",
                error_code="NOT_IMPLEMENTED",
            )
    from nbtrack.tracking import fluent

    if run_id is None:
        run = fluent.active_run()
        if run is None:
            run = fluent.start_run()
            _log.info("Started run %s to hold the logged model.", run.info.run_id)
        run_id = run.info.run_id
    model = Model(artifact_path=name, run_id=run_id)
    with tempfile.TemporaryDirectory() as tmp:
        local = os.path.join(tmp, "model")
        save(path=local, mlflow_model=model, **save_kwargs)
        fluent.log_artifacts(local, artifact_path=name, run_id=run_id)
    _record_history(run_id, model)
    info = model.get_model_info()
    if registry is not None:
        version = registry.register_model(info.model_uri, registered_model_name)
        info.registered_model_version = getattr(version, "version", version)
    return info
