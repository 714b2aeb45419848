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
        from nbtrack.tracking import fluent_registry as registry
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


def _create(run_id: str, name: str, params: dict[str, Any] | None, tags: dict[str, Any] | None,
            model_type: str | None, model_id: str | None) -> Any:
    """The logged model the files go to (MLflow 3): the one named, or a new one with the run's params."""
    from nbtrack.tracking import logged_models
    from nbtrack.tracking.client import Client

    client = Client()
    if model_id is not None:
        return client.get_logged_model(model_id)
    run = client.local_view(run_id)
    merged = {**{k: str(v) for k, v in (params or {}).items()}, **run.data.params}
    model = client.create_logged_model(run.info.experiment_id, name, run_id, tags, merged, model_type)
    logged_models.remember_logged(model.model_id)
    return model


def _link_step_metrics(run_id: str, model_id: str, step: int) -> None:
    """As MLflow 3: the run's metric values at ``step`` are linked to the new model too."""
    from nbtrack.tracking.client import Client

    client = Client()
    for key in client.local_view(run_id).data.metrics:
        for m in client.get_metric_history(run_id, key):
            if m.step == step:
                # the run already has this point: link it to the model without a second copy
                client.log_linked_metric(run_id, key, m.value, m.timestamp, m.step,
                                         {"model_id": model_id, "dataset_name": None, "dataset_digest": None},
                                         run_point=False)


def _record_output(client: Any, run_id: str, model_id: str, step: int) -> None:
    """As MLflow 3: the model is an output of the run at ``step``, in the store and in the active run."""
    from nbtrack.entities import LoggedModelOutput
    from nbtrack.tracking import fluent

    output = LoggedModelOutput(model_id, step)
    client.log_outputs(run_id, [output])
    active = fluent.active_run()
    if active is not None and active.info.run_id == run_id:
        active.outputs.model_outputs.append(output)


#: log_model arguments of MLflow 3 that every flavor hands on to :func:`log_model`.
LOGGED_MODEL_OPTIONS = ("params", "tags", "model_type", "step", "model_id")


def logged_model_options(kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the MLflow 3 logged-model arguments out of a flavor's ``**kwargs``."""
    return {k: kwargs.pop(k) for k in LOGGED_MODEL_OPTIONS if k in kwargs}


def log_model(
    save: Callable[..., None],
    name: str | None = None,
    artifact_path: str | None = None,
    registered_model_name: str | None = None,
    run_id: str | None = None,
    params: dict[str, Any] | None = None,
    tags: dict[str, Any] | None = None,
    model_type: str | None = None,
    step: int = 0,
    model_id: str | None = None,
    **save_kwargs: Any,
) -> ModelInfo:
    """Run ``save(path=..., mlflow_model=..., **save_kwargs)`` and log the result as a logged model.

    The files go to the logged model's own location (``models:/<model_id>``) and, so that
    ``runs:/<run_id>/<name>`` keeps loading, to the run's artifacts under ``name``.
    """
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
    from nbtrack.entities import LoggedModelStatus
    from nbtrack.tracking import fluent
    from nbtrack.tracking.client import Client
    from nbtrack.tracking.logged_models import model_repository

    if run_id is None:
        run = fluent.active_run()
        if run is None:
            run = fluent.start_run()
            _log.info("Started run %s to hold the logged model.", run.info.run_id)
        run_id = run.info.run_id
    try:
        logged = _create(run_id, name, params, tags, model_type, model_id)
    except NbtrackError as e:
        if model_id is not None or e.error_code != "ENDPOINT_NOT_FOUND":
            raise
        # a server without MLflow 3's logged-model endpoints (mlflow server 2.x)
        return _log_to_run_only(save, name, run_id, registry, registered_model_name, save_kwargs)
    model = Model(artifact_path=name, run_id=run_id, model_uuid=logged.model_id, model_id=logged.model_id)
    client = Client()
    try:
        _record_output(client, run_id, logged.model_id, step)
        _link_step_metrics(run_id, logged.model_id, step)
        with tempfile.TemporaryDirectory() as tmp:
            local = os.path.join(tmp, "model")
            save(path=local, mlflow_model=model, **save_kwargs)
            model_repository(client.store, logged.artifact_location).log_artifacts(local)
            fluent.log_artifacts(local, artifact_path=name, run_id=run_id)
    except BaseException:
        client.finalize_logged_model(logged.model_id, LoggedModelStatus.FAILED)
        raise
    _record_history(run_id, model)
    final = client.finalize_logged_model(logged.model_id, LoggedModelStatus.READY)
    info = model.get_model_info()
    info.model_id, info.model_uri = final.model_id, final.model_uri
    info.params, info.metrics = dict(final.params), list(logged.metrics)  # as MLflow 3: the metrics at creation
    if registry is not None:
        version = registry.register_model(f"runs:/{run_id}/{name}", registered_model_name)
        info.registered_model_version = getattr(version, "version", version)
    return info


def _log_to_run_only(save: Callable[..., None], name: str, run_id: str, registry: Any,
                     registered_model_name: str | None, save_kwargs: dict[str, Any]) -> ModelInfo:
    """A server without MLflow 3's logged-model endpoints (``mlflow server`` 2.x): the files go to
    the run's artifacts only and the model is addressed as ``runs:/<run_id>/<name>``, as before MLflow 3."""
    from nbtrack.tracking import fluent

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
