"""XGBoost autolog, with MLflow's names (``mlflow.xgboost.autolog``).

``xgboost.train`` logs the booster params and ``train``'s own arguments, each evaluation
metric at every iteration as ``<eval name>-<metric>`` (``validation-logloss``, step =
iteration), early stopping (``stopped_iteration``, ``best_iteration`` and the best
iteration's metrics at one step past the last), ``feature_importance_<type>.json`` and
``.png`` and the ``Booster`` as the model. ``XGBClassifier.fit`` and the other scikit-learn
wrappers log the same through their inner ``train``, and the wrapper itself as the model.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import Any

from nbtrack.autolog import _boosting
from nbtrack.autolog import _sklearn_post as post
from nbtrack.autolog._patching import Integration, patch
from nbtrack.autolog._runs import Config, Target, configure
from nbtrack.autolog.sklearn import patch_method

__all__ = ["FLAVOR_NAME", "autolog"]

FLAVOR_NAME = "xgboost"
_UNLOGGED = ("params", "dtrain", "evals", "obj", "feval", "evals_result", "xgb_model", "callbacks",
             "learning_rates")


def autolog(
    importance_types: list[str] | None = None,
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    model_format: str = "ubj",
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Enable (or, with ``disable=True``, remove) autologging for XGBoost, as MLflow's.

    XGBoost is never imported by this call; if it is not imported yet, patching happens when
    the user imports it. ``importance_types`` defaults to ``["weight"]``.
    """
    settings = Config(
        log_models=log_models, log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures, log_datasets=log_datasets, exclusive=exclusive,
        silent=silent, registered_model_name=registered_model_name, extra_tags=dict(extra_tags or {}),
        options={"importance_types": list(importance_types or ["weight"]), "model_format": model_format},
    )
    configure(_INTEGRATION, settings, disable)


def _install(xgb: types.ModuleType) -> None:
    callback = _callback_class(xgb)
    patch(FLAVOR_NAME, xgb, "train", _train_hook(callback, log_models=True))
    sklearn_api = getattr(xgb, "sklearn", None)
    if sklearn_api is not None:
        # The wrappers call xgboost.sklearn.train; the wrapper, not the Booster, is their model.
        patch(FLAVOR_NAME, sklearn_api, "train", _train_hook(callback, log_models=False))
        for cls in vars(sklearn_api).values():
            if isinstance(cls, type) and issubclass(cls, sklearn_api.XGBModel):
                patch_method(FLAVOR_NAME, cls, "fit", _FIT_HOOK, package="xgboost.")
                for name in ("predict", "predict_proba"):
                    patch_method(FLAVOR_NAME, cls, name, post.predict_hook, package="xgboost.")
    patch(FLAVOR_NAME, xgb.DMatrix, "__init__", _boosting.data_hook(FLAVOR_NAME))


_INTEGRATION = Integration(FLAVOR_NAME, ("xgboost",), _install)


def _callback_class(xgb: types.ModuleType) -> type:
    base: Any = xgb.callback.TrainingCallback

    class AutologCallback(base):
        """Sends each iteration's evaluation results to the run."""

        def __init__(self, recorder: _boosting.Recorder) -> None:
            super().__init__()
            self.recorder = recorder

        def after_iteration(self, model: Any, epoch: int, evals_log: dict[str, Any]) -> bool:
            values = {f"{data}-{metric}": history[-1] for data, metrics in evals_log.items()
                      for metric, history in metrics.items() if history}
            self.recorder.record(epoch, values)
            return False  # never asks training to stop

    return AutologCallback


def _train_hook(callback: type, log_models: bool) -> Callable[..., Any]:
    def hook(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def flow(target: Target, train: Callable[..., Any], bound: inspect.BoundArguments) -> Any:
            return _train(target, train, bound, callback, log_models)

        return _boosting.run_train(FLAVOR_NAME, original, args, kwargs, flow)

    return hook


def _train(target: Target, train: Callable[..., Any], bound: inspect.BoundArguments, callback: type,
           log_models: bool) -> Any:
    guard = target.guard
    booster_params = dict(bound.arguments.get("params") or {})
    guard.run("log params", target.log_params,
              {**booster_params, **_boosting.call_params(bound, _UNLOGGED)})
    recorder = _boosting.Recorder(target)
    call = guard.run("add the metrics callback", lambda: _boosting.with_callback(bound, callback(recorder))) or bound
    booster = train(*call.args, **call.kwargs)
    if bound.arguments.get("early_stopping_rounds") and recorder.history:
        best = int(getattr(booster, "best_iteration", len(recorder.history) - 1))
        guard.run("log early stopping", _boosting.log_early_stopping, target, recorder.history,
                  len(recorder.history) - 1, best, best)
    for importance_type in target.settings.options.get("importance_types", ["weight"]):
        guard.run(f"log feature importance ({importance_type})", _log_importance, target, booster, importance_type)
    if log_models and target.settings.log_models:
        guard.run("log the model", _log_booster, target, booster, bound.arguments.get("dtrain"))
    return booster


def _log_importance(target: Target, booster: Any, importance_type: str) -> None:
    scores = booster.get_score(importance_type=importance_type)
    _boosting.log_importance(target, list(scores), list(scores.values()), importance_type)


def _log_booster(target: Target, booster: Any, dtrain: Any) -> None:
    import xgboost as xgb

    from nbtrack.models import infer_signature
    from nbtrack.models.flavors import xgboost as flavor

    settings = target.settings
    example = _boosting.examples.get(dtrain) if dtrain is not None else None
    signature = None
    if example is not None and settings.log_model_signatures:
        signature = infer_signature(example, booster.predict(xgb.DMatrix(example)))
    flavor.log_model(booster, name="model", signature=signature,
                     input_example=example if settings.log_input_examples else None,
                     registered_model_name=settings.registered_model_name,
                     model_format=settings.options.get("model_format", "ubj"), run_id=target.run_id)


def _log_wrapper(target: Target, model: Any, example: Any) -> None:
    from nbtrack.models.flavors import xgboost as flavor

    settings = target.settings
    signature = _boosting.wrapper_signature(model, example) if settings.log_model_signatures else None
    flavor.log_model(model, name="model", signature=signature,
                     input_example=example if settings.log_input_examples else None,
                     registered_model_name=settings.registered_model_name,
                     model_format=settings.options.get("model_format", "ubj"), run_id=target.run_id)


_FIT_HOOK = _boosting.fit_hook(FLAVOR_NAME, _log_wrapper)
