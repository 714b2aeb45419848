"""What XGBoost and LightGBM autolog share: the native ``train`` flow and the scikit-learn
wrappers' ``fit``, per-iteration evaluation metrics, early stopping and feature importance.

A wrapper's ``fit`` (``XGBClassifier.fit``...) opens the run and logs the wrapper as the
model; the library's ``train``, which the wrapper calls, logs the booster params, the
per-iteration metrics (step = iteration), early stopping and feature importance. A direct
``xgboost.train``/``lightgbm.train`` call does both itself and logs the ``Booster``.
"""

from __future__ import annotations

import inspect
import weakref
from collections.abc import Callable, Sequence
from typing import Any

from nbtrack.autolog import _plots
from nbtrack.autolog import _sklearn_post as post
from nbtrack.autolog._patching import Guard, current_guard, session, training_active
from nbtrack.autolog._runs import Config, Target, config, training_run
from nbtrack.autolog.sklearn import TrainingData, example_rows, log_dataset, signature_of

__all__ = ["Recorder", "data_hook", "examples", "fit_hook", "log_importance", "run_train", "sanitize",
           "wrapper_signature"]

# Copies of the first rows of each DMatrix / lightgbm.Dataset, taken at construction (neither
# gives its data back), for the model's input example and signature.
examples: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def data_hook(flavor: str) -> Callable[..., Any]:
    """A hook for ``DMatrix.__init__`` / ``Dataset.__init__`` that keeps an input example."""

    def hook(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        settings = config(flavor)
        if settings is not None and settings.log_models and not training_active():
            data = args[0] if args else kwargs.get("data")
            if data is not None and not isinstance(data, (str, bytes)) and not hasattr(data, "__fspath__"):
                guard = Guard(flavor, silent=True)  # an example is optional: no warning without one
                example = guard.run("keep an input example", example_rows, data)
                if example is not None:
                    guard.run("keep an input example", examples.__setitem__, self, example)
        return result

    return hook


def sanitize(name: str) -> str:
    """MLflow's metric names: ``ndcg@3`` becomes ``ndcg_at_3``."""
    return name.replace("@", "_at_")


class Recorder:
    """Per-iteration evaluation metrics, logged as they come (step = iteration)."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.history: list[dict[str, float]] = []
        self.broken = False

    def record(self, step: int, metrics: dict[str, Any]) -> None:
        if self.broken:
            return
        try:
            values = {sanitize(k): float(v) for k, v in metrics.items()}
            self.history.append(values)
            self.target.log_metrics(values, step=step)
        except Exception as e:  # inside the user's training loop: warn once and stop recording
            self.broken = True
            self.target.guard.fail("log per-iteration metrics", e)


def call_params(bound: inspect.BoundArguments, unlogged: Sequence[str]) -> dict[str, Any]:
    """The arguments of one call, defaults included, minus data and callables (as MLflow)."""
    bound = _copy_bound(bound)
    bound.apply_defaults()
    return {k: v for k, v in bound.arguments.items() if k not in unlogged and k != "kwargs"}


def _copy_bound(bound: inspect.BoundArguments) -> inspect.BoundArguments:
    return inspect.BoundArguments(bound.signature, bound.arguments.copy())


def run_train(flavor: str, original: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any],
              flow: Callable[[Target, Callable[..., Any], inspect.BoundArguments], Any]) -> Any:
    """``train(...)`` with a run (unless nested where logging is not allowed): ``flow`` logs
    around the call and must call ``original`` exactly once."""
    settings = config(flavor)
    if settings is None:
        return original(*args, **kwargs)
    try:
        bound = inspect.signature(original).bind(*args, **kwargs)
    except TypeError:  # the user's call is wrong: let the library say so
        return original(*args, **kwargs)
    with session(f"{flavor}.train") as current:
        if not current.should_log:
            return original(*args, **kwargs)
        guard = current.guard = current_guard() or Guard(flavor, settings.silent)
        with training_run(flavor, settings, guard) as target:
            if target is None:
                return original(*args, **kwargs)
            return flow(target, original, bound)


def with_callback(bound: inspect.BoundArguments, callback: Any) -> inspect.BoundArguments:
    """The same call with ``callback`` added to a copy of the user's callbacks list."""
    bound = _copy_bound(bound)
    bound.arguments["callbacks"] = [*(bound.arguments.get("callbacks") or []), callback]
    return bound


def log_early_stopping(target: Target, history: list[dict[str, float]], stopped: int, best: int,
                       best_index: int) -> None:
    """MLflow's early-stopping record: the iterations, then the best iteration's metrics as
    one extra step after the last."""
    target.log_metrics({"stopped_iteration": stopped, "best_iteration": best})
    if 0 <= best_index < len(history):
        target.log_metrics(history[best_index], step=len(history))


def log_importance(target: Target, features: Sequence[str], importance: Any, importance_type: str,
                   indent: int | None = None) -> None:
    """``feature_importance_<type>.json`` now, and its chart (``.png``) in the background."""
    import json

    values = importance.tolist() if hasattr(importance, "tolist") else list(importance)
    table = dict(zip((str(f) for f in features), values, strict=False))
    target.log_text(json.dumps(table, indent=indent), f"feature_importance_{importance_type}.json")
    if table:
        _plots.submit(target.client.tracking_uri, target.run_id, f"feature_importance_{importance_type}.png",
                      _plots.feature_importance(list(table), list(table.values()), importance_type))


def fit_hook(flavor: str, log_model: Callable[[Target, Any, Any], None]) -> Callable[..., Any]:
    """The hook for a wrapper's ``fit``: a run around it, the wrapper logged as the model."""

    def hook(original: Callable[..., Any], self: Any, *args: Any, **kwargs: Any) -> Any:
        settings = config(flavor)
        if settings is None:
            return original(self, *args, **kwargs)
        with session(self, allow_children=True) as current:  # lets the inner train() log
            if not current.should_log:
                return original(self, *args, **kwargs)
            guard = current.guard = Guard(flavor, settings.silent)
            with training_run(flavor, settings, guard) as target:
                if target is None:
                    return original(self, *args, **kwargs)
                data = guard.run("read the training data", TrainingData.of, original, args, kwargs)
                result = original(self, *args, **kwargs)
                if data is not None:
                    _after_fit(target, settings, self, data, log_model)
                return result

    return hook


def _after_fit(target: Target, settings: Config, model: Any, data: TrainingData,
               log_model: Callable[[Target, Any, Any], None]) -> None:
    guard = target.guard
    if settings.log_models:
        guard.run("log the model", log_model, target, model, data.example)
    if settings.log_datasets:
        guard.run("log the training dataset", log_dataset, target, data.X, data.y)
    sklearn_settings = config("sklearn")
    if sklearn_settings is not None and sklearn_settings.options.get("log_post_training_metrics", True):
        post.remember(model, target)


def wrapper_signature(model: Any, example: Any) -> Any:
    return signature_of(model, example) if example is not None else None

