"""MLflow 3's links between runs and logged models: run outputs, model inputs, imported checkpoints.

A run *outputs* the models it produced (``log_model`` records its model at its ``step``;
``log_outputs`` records any) and may take models as *inputs* (``log_inputs(models=...)``).
``get_run`` shows them as ``run.outputs.model_outputs`` and ``run.inputs.model_inputs``. The
embedded store keeps them beside the logged models (``run_model_links``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.entities import LoggedModelInput, LoggedModelOutput, Run, RunOutputs
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking import validation

if TYPE_CHECKING:
    pass

__all__ = ["ModelLinksClientMixin"]

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
