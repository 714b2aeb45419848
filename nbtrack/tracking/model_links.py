"""MLflow 3's links between runs and logged models: run outputs, model inputs, imported checkpoints.

A run *outputs* the models it produced (``log_model`` records its model at its ``step``;
``log_outputs`` records any) and may take models as *inputs* (``log_inputs(models=...)``).
``get_run`` shows them as ``run.outputs.model_outputs`` and ``run.inputs.model_inputs``. The
embedded store keeps them beside the logged models (``run_model_links``).
"""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.entities import LoggedModel, LoggedModelInput, LoggedModelOutput, Run, RunOutputs
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking import validation

if TYPE_CHECKING:
    from nbtrack.tracking.client import Client

__all__ = ["ModelLinksClientMixin", "import_checkpoints", "log_outputs"]

_log = logging.getLogger(__name__)


class ModelLinksClientMixin:
    """``Client`` methods for a run's model outputs and inputs."""

    _store: Any

    def _links(self) -> Any:
        logged = getattr(self._store, "logged_models", None)
        if logged is None or not hasattr(logged, "link_run"):
            raise NbtrackError("Run outputs and model inputs (MLflow 3) are kept by the embedded store only; this "
                               f"tracking URI ({getattr(self, 'tracking_uri', '?')}) is a server.",
                               error_code="NOT_IMPLEMENTED")
        return logged

    def log_outputs(self, run_id: str, models: list[Any]) -> None:
        """Record logged models as outputs of the run (``LoggedModelOutput(model_id, step)``), which
        ``get_run(run_id).outputs.model_outputs`` lists in the order logged; ``log_model`` records
        its model this way. Each model must exist (MLflow's stores take unknown ids)."""
        links = [(_model_id(m), validation.step("step", getattr(m, "step", 0)))
                 for m in _entries(models, "LoggedModelOutput", "log_outputs")]
        if links:
            self._links().link_run(validation.run_id(run_id), "output", links)

    def _log_model_inputs(self, run_id: str, models: Sequence[Any]) -> None:
        links = [(_model_id(m), 0) for m in _entries(models, "LoggedModelInput", "log_inputs(models=...)")]
        if links:
            self._links().link_run(validation.run_id(run_id), "input", links)

    def _with_model_links(self, run: Run) -> Run:
        """``run`` with its model outputs and model inputs."""
        logged = getattr(self._store, "logged_models", None)
        if logged is None or not hasattr(logged, "run_links"):
            return run
        links = logged.run_links([run.info.run_id])[run.info.run_id]
        if not links["output"] and not links["input"]:
            return run
        inputs = dataclasses.replace(run.inputs, model_inputs=[LoggedModelInput(m) for m, _ in links["input"]])
        outputs = RunOutputs([LoggedModelOutput(m, step) for m, step in links["output"]])
        return dataclasses.replace(run, inputs=inputs, outputs=outputs)


def _model_id(entry: Any) -> str:
    return validation.text(entry.model_id, "model_id", empty=False)


def _entries(models: Any, kind: str, where: str) -> list[Any]:
    if models is None:
        return []
    if isinstance(models, str | bytes) or not isinstance(models, Sequence):
        raise InvalidParameter(f"{where} takes a list of {kind} objects, got {type(models).__name__}.")
    for m in models:
        if not isinstance(getattr(m, "model_id", None), str):
            raise InvalidParameter(f"{where} takes {kind}(model_id=...) objects (nbtrack.entities.{kind}), "
                                   f"got {m!r}.")
    return list(models)


# -- fluent -------------------------------------------------------------------------------
def _client() -> Client:
    from nbtrack.tracking import fluent

    return fluent._client()


def log_outputs(models: list[Any] | None = None) -> None:
    """Record logged models as outputs of the active run (one is started when none is active)."""
    from nbtrack.tracking import fluent

    _client().log_outputs(fluent._run_id_or_start(), models or [])


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
    from nbtrack.tracking import fluent
    from nbtrack.tracking.logged_models import create_external_model, search_logged_models

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
                _client().delete_logged_model(m.model_id)
    if not imported:
        _log.warning("No checkpoints were found at path '%s'.", checkpoint_path)
    return imported
