"""MLflow 3's module-level logged-model API (``nbtrack.initialize_logged_model``,
``search_logged_models``, ``set_active_model``, ``log_outputs``, ``import_checkpoints``, ...) over a
:class:`Client` of the current tracking URI and the active run and experiment."""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import Any

from nbtrack.entities import LoggedModel, LoggedModelStatus
from nbtrack.errors import InvalidParameter
from nbtrack.tracking import fluent, validation
from nbtrack.tracking.client import Client
from nbtrack.tracking.logged_models import (
    ActiveModel,
    _active_model,
    get_active_model_id,
    last_logged_model_id,
)

__all__ = [
    "create_external_model", "delete_logged_model_tag", "finalize_logged_model", "get_logged_model",
    "import_checkpoints", "initialize_logged_model", "last_logged_model", "log_model_params", "log_outputs",
    "search_logged_models", "set_active_model", "set_logged_model_tags",
]

_log = logging.getLogger("nbtrack.tracking.model_links")  # where these warnings always came from


def initialize_logged_model(name: str | None = None, source_run_id: str | None = None,
                            tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                            model_type: str | None = None, experiment_id: str | None = None) -> LoggedModel:
    """Create a PENDING logged model in the active experiment, from the active run by default."""
    if source_run_id is None and (run := fluent.active_run()) is not None:
        source_run_id = run.info.run_id
    exp = experiment_id or (fluent.get_run(source_run_id).info.experiment_id if source_run_id
                            else fluent.active_experiment_id())
    return Client().create_logged_model(exp, name, source_run_id, tags, params, model_type)


def create_external_model(name: str | None = None, source_run_id: str | None = None,
                          tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                          model_type: str | None = None, experiment_id: str | None = None) -> LoggedModel:
    """A READY logged model whose files live elsewhere (tagged ``mlflow.model.external``)."""
    model = initialize_logged_model(name, source_run_id, {**(tags or {}), "mlflow.model.external": "true"},
                                    params, model_type, experiment_id)
    return finalize_logged_model(model.model_id, LoggedModelStatus.READY)


def finalize_logged_model(model_id: str, status: Any) -> LoggedModel:
    return Client().finalize_logged_model(model_id, status)


def get_logged_model(model_id: str) -> LoggedModel:
    return Client().get_logged_model(model_id)


def last_logged_model() -> LoggedModel | None:
    """The model this thread logged (or initialized) last, or None."""
    model_id = last_logged_model_id()
    return None if model_id is None else get_logged_model(model_id)


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    Client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    Client().delete_logged_model_tag(model_id, key)


def log_model_params(params: dict[str, str], model_id: str | None = None) -> None:
    model_id = model_id or get_active_model_id()
    if model_id is None:
        raise InvalidParameter("log_model_params needs a model: pass model_id= or call set_active_model() first.")
    Client().log_model_params(model_id, params)


def search_logged_models(experiment_ids: list[str] | None = None, filter_string: str | None = None,
                         datasets: list[dict[str, str]] | None = None, max_results: int | None = None,
                         order_by: list[dict[str, Any]] | None = None, output_format: str = "pandas") -> Any:
    """Every matching logged model (all pages), as a pandas DataFrame or (``output_format="list"``) a list."""
    if output_format not in ("pandas", "list"):
        raise InvalidParameter(f"Unsupported output_format {output_format!r}: use 'pandas' or 'list'.")
    ids = list(experiment_ids) if experiment_ids else [fluent.active_experiment_id()]
    found: list[LoggedModel] = []
    token = None
    while True:
        page = Client().search_logged_models(ids, filter_string, datasets,
                                              None if max_results is None else max_results - len(found),
                                              order_by, token)
        found.extend(page)
        token = page.token
        if not token or (max_results is not None and len(found) >= max_results):
            break
    return found if output_format == "list" else _frame(found)


def _frame(models: Sequence[LoggedModel]) -> Any:
    import pandas as pd

    columns = ["artifact_location", "creation_timestamp", "experiment_id", "last_updated_timestamp", "metrics",
               "model_id", "model_type", "name", "params", "source_run_id", "status", "status_message", "tags"]
    return pd.DataFrame([{c: getattr(m, c) for c in columns} for m in models], columns=columns)


def set_active_model(*, name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Make a logged model the active one: by id, or by name (the newest of that name in the
    active experiment, created when there is none). Metrics logged afterwards are linked to it."""
    if name is None and model_id is None:
        raise InvalidParameter("set_active_model needs name= or model_id=.")
    if model_id is not None:
        model = get_logged_model(model_id)
        if name is not None and model.name != name:
            raise InvalidParameter(f"Logged model {model_id} is named {model.name!r}, not {name!r}.")
    else:
        quoted = validation.text(name, "name").replace("'", "''")  # the filter grammar's escape
        found = search_logged_models(filter_string=f"name = '{quoted}'", max_results=1, output_format="list")
        model = found[0] if found else create_external_model(name=name)  # as MLflow 3
    return ActiveModel(model, _active_model.set(model.model_id))


def log_outputs(models: list[Any] | None = None) -> None:
    """Record logged models as outputs of the active run (one is started when none is active)."""
    Client().log_outputs(fluent._run_id_or_start(), models or [])


def import_checkpoints(checkpoint_path: str, source_run_id: str | None = None, model_prefix: str | None = None,
                       overwrite_checkpoints: bool = False) -> list[LoggedModel]:
    """One external logged model per top-level file or folder of ``checkpoint_path`` (tag
    ``original_artifact_path``), named ``<model_prefix><entry name>``, from ``source_run_id`` (the
    active run by default), as MLflow 3. A name the run already has keeps its model (returned
    again) unless ``overwrite_checkpoints``, which deletes it and creates a new one.

    MLflow lists a Databricks Unity Catalog volume (``/Volumes/...``) through the Databricks SDK;
    nbtrack lists a local folder, which is what such a volume is on a Databricks machine.

    Examples
    --------
    >>> with nbtrack.start_run():
    ...     models = nbtrack.import_checkpoints("checkpoints/", model_prefix="resnet_")
    """
    if not isinstance(checkpoint_path, str) or not checkpoint_path.strip():
        raise InvalidParameter("Parameter 'checkpoint_path' must be a non-empty string naming the folder that "
                               "holds the checkpoints.")
    folder = os.path.abspath(os.path.expanduser(checkpoint_path.strip()))
    if not os.path.isdir(folder):
        raise InvalidParameter(f"checkpoint_path '{checkpoint_path}' is not a folder: pass the folder the "
                               "checkpoints were written to.")
    if source_run_id is None:
        if (run := fluent.active_run()) is None:
            raise InvalidParameter("Please set 'source_run_id' or start an active run before calling "
                                   "'import_checkpoints'.")
        source_run_id = run.info.run_id
    exp_id = fluent.get_run(source_run_id).info.experiment_id
    imported: list[LoggedModel] = []
    for entry in sorted(os.listdir(folder)):
        name = (model_prefix or "") + entry
        quoted = name.replace("'", "''")  # the filter grammar's escape
        existing = [m for m in search_logged_models([exp_id], f"name = '{quoted}'", output_format="list")
                    if m.source_run_id == source_run_id]
        if not existing or overwrite_checkpoints:
            tags = {"original_artifact_path": os.path.join(folder, entry)}
            imported.append(create_external_model(name, source_run_id, tags, experiment_id=exp_id))
        else:
            imported.extend(existing)
        if existing and overwrite_checkpoints:
            for m in existing:
                Client().delete_logged_model(m.model_id)
    if not imported:
        _log.warning("No checkpoints were found at path '%s'.", checkpoint_path)
    return imported
