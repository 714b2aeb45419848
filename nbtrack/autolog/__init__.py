"""Autologging for scikit-learn, XGBoost, LightGBM and PyTorch Lightning (MLflow's autolog).

``nbtrack.autolog()`` turns it on for every supported framework: those already imported are
patched now, the others when the user imports them (nbtrack never imports a framework
itself). ``nbtrack.autolog(disable=True)`` puts every original function back. The names of
what gets logged are MLflow's, so dashboards and filters written for MLflow keep working.

:func:`scoped` limits autologging to one run, which is how ``%%track --autolog`` gives a
cell its autologging: within the scope, training logs into that run (or runs nested in it)
and never starts a run of its own; on exit the previous settings come back exactly.

Examples
--------
>>> import nbtrack
>>> nbtrack.autolog()                                     # doctest: +SKIP
>>> with nbtrack.start_run() as run:                      # doctest: +SKIP
...     with nbtrack.autolog.scoped(run.info.run_id):
...         model.fit(X, y)
"""

from __future__ import annotations

import importlib
import inspect
import sys
import types
from typing import Any

from nbtrack import config
from nbtrack.autolog import _plots, _runs
from nbtrack.autolog._patching import AutologWarning
from nbtrack.errors import NoActiveRun
from nbtrack.tracking import fluent

__all__ = ["FLAVORS", "AutologScope", "AutologWarning", "autolog", "flush", "scoped"]

#: The frameworks, by MLflow's flavor name, and the nbtrack module that patches each.
FLAVORS = {
    "sklearn": "nbtrack.autolog.sklearn",
    "xgboost": "nbtrack.autolog.xgboost",
    "lightgbm": "nbtrack.autolog.lightgbm",
    "pytorch": "nbtrack.autolog.pytorch",
}


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    log_traces: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    extra_tags: dict[str, Any] | None = None,
    exclude_flavors: list[str] | None = None,
) -> None:
    """Enable (or disable) autologging for every supported framework, as ``mlflow.autolog``.

    Each framework gets the arguments its own ``autolog`` accepts (``nbtrack.sklearn.autolog``
    and so on, which also take framework-specific ones). ``exclude_flavors`` names frameworks
    to leave as they are (``"sklearn"``, ``"xgboost"``, ``"lightgbm"``, ``"pytorch"``).
    ``log_traces`` (GenAI tracing) and ``disable_for_unsupported_versions`` are accepted and
    have no effect.
    """
    given = {"log_input_examples": log_input_examples, "log_model_signatures": log_model_signatures,
             "log_models": log_models, "log_datasets": log_datasets, "disable": disable,
             "exclusive": exclusive, "disable_for_unsupported_versions": disable_for_unsupported_versions,
             "silent": silent, "extra_tags": extra_tags}
    excluded = {name.removeprefix("mlflow.") for name in exclude_flavors or ()}
    for flavor, module_name in FLAVORS.items():
        if flavor in excluded:
            continue
        enable = importlib.import_module(module_name).autolog
        accepted = inspect.signature(enable).parameters
        enable(**{k: v for k, v in given.items() if k in accepted})


def flush(timeout: float | None = None) -> bool:
    """Wait until autolog's background work (figures) is logged; False if ``timeout`` ran out."""
    return _plots.drain(timeout)


class AutologScope:
    """Autologging bound to one run, from :meth:`start` (or ``with``) to :meth:`close`."""

    def __init__(self, run_id: str | None, settings: dict[str, Any]) -> None:
        self.run_id = run_id
        self.settings = settings
        self._saved: dict[str, _runs.Config] | None = None

    def start(self) -> AutologScope:
        """Turn autolog on for the run (the active run if none was given); returns self."""
        if self._saved is not None:
            return self
        if self.run_id is None:
            active = fluent.active_run()
            if active is None:
                raise NoActiveRun("autolog.scoped() needs a run: pass run_id, or start a run first.")
            self.run_id = active.info.run_id
        self._saved = _runs.snapshot()
        try:
            autolog(**self.settings)
            _runs.bind(self.run_id)
        except BaseException:
            _runs.restore(self._saved)
            self._saved = None
            raise
        return self

    def close(self, timeout: float | None = None) -> None:
        """Finish the run's figures (at most ``timeout`` seconds), then restore the settings
        autolog had before :meth:`start`; calling it again does nothing."""
        if self._saved is None:
            return
        saved, self._saved = self._saved, None
        try:
            _plots.drain(config.env_float("NBTRACK_EXIT_FLUSH_TIMEOUT", 10.0) if timeout is None else timeout)
        finally:
            _runs.restore(saved)

    def __enter__(self) -> AutologScope:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()


def scoped(run_id: str | None = None, **settings: Any) -> AutologScope:
    """Autologging that logs into ``run_id`` (default: the active run) and its nested runs only.

    ``settings`` are :func:`autolog`'s arguments. Use it as a context manager, or call
    ``start()`` and later ``close()``. Inside the scope no run is ever started: a training call
    after the run was ended logs nothing. Closing restores exactly what was on before
    (nothing at all, or the user's own ``nbtrack.autolog(...)`` settings).
    """
    return AutologScope(run_id, settings)


class _CallableModule(types.ModuleType):
    """Importing ``nbtrack.autolog`` makes it the package attribute ``nbtrack.autolog``;
    calling it must still mean ``autolog()``, as ``mlflow.autolog()`` does."""

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        autolog(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
__signature__ = inspect.signature(autolog)  # inspect.signature(nbtrack.autolog) is autolog's
