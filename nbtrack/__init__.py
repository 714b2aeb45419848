"""nbtrack: MLflow's tracking API, notebook-first, on an embedded DuckDB store.

``import nbtrack as mlflow`` runs code written for MLflow. In IPython, ``%load_ext nbtrack``
adds the ``%%track`` cell magic.
"""

from __future__ import annotations

import sys
from typing import Any

from nbtrack.entities import Run, RunStatus, ViewType
from nbtrack.errors import (
    ArtifactPathError,
    InvalidFilter,
    InvalidParameter,
    InvalidStore,
    MlflowException,
    NbtrackError,
    NoActiveRun,
    NotFound,
    ParamConflict,
    ResourceExists,
    RunNotActive,
    StoreBusy,
    StoreReadOnly,
)
from nbtrack.tracking.client import Client, MlflowClient
from nbtrack.tracking.fluent import (
    ActiveRun,
    active_run,
    create_experiment,
    delete_experiment,
    delete_experiment_tag,
    delete_run,
    delete_tag,
    end_run,
    flush,
    flush_artifact_async_logging,
    flush_async_logging,
    get_artifact_uri,
    get_experiment,
    get_experiment_by_name,
    get_parent_run,
    get_registry_uri,
    get_run,
    get_tracking_uri,
    is_tracking_uri_set,
    last_active_run,
    load_table,
    log_artifact,
    log_artifacts,
    log_dict,
    log_figure,
    log_image,
    log_input,
    log_inputs,
    log_metric,
    log_metrics,
    log_param,
    log_params,
    log_stream,
    log_table,
    log_text,
    metric_history,
    restore_experiment,
    restore_run,
    search_experiments,
    search_runs,
    set_experiment,
    set_experiment_tag,
    set_experiment_tags,
    set_registry_uri,
    set_tag,
    set_tags,
    set_tracking_uri,
    sql,
    start_run,
)
from nbtrack.tracking.fluent_models import (
    create_external_model,
    delete_logged_model_tag,
    finalize_logged_model,
    get_logged_model,
    import_checkpoints,
    initialize_logged_model,
    last_logged_model,
    log_model_params,
    log_outputs,
    search_logged_models,
    set_active_model,
    set_logged_model_tags,
)
from nbtrack.tracking.fluent_registry import (
    register_model,
    search_model_versions,
    search_registered_models,
    set_model_version_tag,
)
from nbtrack.tracking.fluent_workspaces import (
    create_workspace,
    delete_workspace,
    get_workspace,
    list_workspaces,
    set_workspace,
    update_workspace,
)
from nbtrack.tracking.logged_models import ActiveModel, clear_active_model, get_active_model_id
from nbtrack.tracking.system_metrics import (
    disable_system_metrics_logging,
    enable_system_metrics_logging,
    set_system_metrics_node_id,
    set_system_metrics_samples_before_logging,
    set_system_metrics_sampling_interval,
)

__version__ = "0.1.0"

__all__ = [
    "ActiveRun", "ArtifactPathError", "Client", "InvalidFilter", "InvalidParameter", "InvalidStore",
    "MlflowClient", "MlflowException", "NbtrackError", "NoActiveRun", "NotFound", "ParamConflict",
    "ResourceExists", "Run", "RunNotActive", "RunStatus", "StoreBusy", "StoreReadOnly",
    "ViewType", "active_run", "create_experiment", "delete_experiment", "delete_experiment_tag",
    "delete_run", "delete_tag", "disable_system_metrics_logging", "enable_system_metrics_logging",
    "end_run", "evaluate", "flush", "flush_artifact_async_logging", "flush_async_logging",
    "get_artifact_uri", "get_experiment", "get_experiment_by_name", "get_parent_run", "get_registry_uri",
    "get_run", "get_tracking_uri", "is_tracking_uri_set",
    "last_active_run", "load_ipython_extension", "load_table", "log_artifact", "log_artifacts", "log_dict",
    "log_figure", "log_image", "log_input", "log_inputs", "log_metric", "log_metrics", "log_param", "log_params",
    "log_stream", "log_table", "log_text", "metric_history", "register_model", "restore_experiment",
    "restore_run", "run", "search_experiments", "search_model_versions", "search_registered_models",
    "search_runs", "set_experiment", "set_experiment_tag",
    "set_experiment_tags", "set_model_version_tag", "set_registry_uri", "set_system_metrics_node_id", "set_system_metrics_samples_before_logging",
    "set_system_metrics_sampling_interval", "set_tag", "set_tags", "set_tracking_uri", "sql", "start_run",
    "validate_evaluation_results",
]
__all__ += [  # MLflow 3 logged models
    "ActiveModel", "clear_active_model", "create_external_model", "delete_logged_model_tag",
    "finalize_logged_model", "get_active_model_id", "get_logged_model", "import_checkpoints",
    "initialize_logged_model", "last_logged_model", "log_model_params", "log_outputs", "search_logged_models",
    "set_active_model", "set_logged_model_tags",
]
__all__ += [  # MLflow 3 workspaces
    "create_workspace", "delete_workspace", "get_workspace", "list_workspaces", "set_workspace", "update_workspace",
]

# Submodules users reach as attributes (``nbtrack.sklearn.log_model``), imported on first use
# so ``import nbtrack`` stays light.
_LAZY_MODULES = {
    "artifacts", "autolog", "data", "entities", "exceptions", "lightgbm", "metrics", "models", "projects", "pyfunc", "pytorch",
    "sklearn", "tracking", "types", "xgboost", "ui", "notebook",
}
# Names from the notebook and widget layers, imported on first use.
_LAZY_ATTRS = {
    "runs_table": "nbtrack.ui", "metric_chart": "nbtrack.ui", "parallel_coordinates": "nbtrack.ui",
    "compare": "nbtrack.ui", "dashboard": "nbtrack.ui", "registry_view": "nbtrack.ui", "models_view": "nbtrack.ui",
    "run": "nbtrack.projects",  # mlflow.run
    "doctor": "nbtrack.tracking._doctor",
    "Image": "nbtrack.tracking.multimedia",  # mlflow.Image (Pillow, imported on first use)
    "evaluate": "nbtrack.models.evaluation", "validate_evaluation_results": "nbtrack.models.evaluation",
}


def __getattr__(name: str) -> Any:
    import importlib

    if name in _LAZY_MODULES:
        return importlib.import_module(f"nbtrack.{name}")
    if name in _LAZY_ATTRS:
        return getattr(importlib.import_module(_LAZY_ATTRS[name]), name)
    raise AttributeError(f"module 'nbtrack' has no attribute {name!r}")


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext nbtrack``: register the ``%%track`` and ``%nbtrack`` magics."""
    from nbtrack.notebook import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from nbtrack.notebook import unload_ipython_extension as unload

    unload(ipython)


def _suggest_extension() -> None:
    """In IPython, say once how to get the magics, unless the cell loads them (no IPython import)."""
    get_ipython = getattr(sys.modules.get("IPython"), "get_ipython", None)
    shell = get_ipython() if callable(get_ipython) else None
    if shell is None or not hasattr(shell, "events"):
        return

    def hint(*_: Any) -> None:  # after the cell, so `%load_ext nbtrack` itself stays quiet
        shell.events.unregister("post_run_cell", hint)
        if "nbtrack" not in shell.extension_manager.loaded:
            print("nbtrack: %load_ext nbtrack adds the %%track cell magic and %nbtrack")

    shell.events.register("post_run_cell", hint)


_suggest_extension()
