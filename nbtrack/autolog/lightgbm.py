"""LightGBM autolog, with MLflow's names (``mlflow.lightgbm.autolog``).

``lightgbm.train`` logs the params and ``train``'s own arguments, each evaluation metric at
every iteration as ``<valid name>-<metric>`` (``valid_0-multi_logloss``, step = iteration),
early stopping (``stopped_iteration``, ``best_iteration`` and the best iteration's metrics at
one step past the last), ``feature_importance_split``/``_gain`` as ``.json`` and ``.png``,
and the ``Booster`` as the model. ``LGBMClassifier.fit`` and the other scikit-learn wrappers
log the same through their inner ``train``, and the wrapper itself as the model.
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

FLAVOR_NAME = "lightgbm"
_UNLOGGED = ("params", "train_set", "valid_sets", "valid_names", "fobj", "feval", "init_model",
             "learning_rates", "callbacks")
_IMPORTANCE_TYPES = ("split", "gain")


def autolog(
    log_input_examples: bool = False,
    log_model_signatures: bool = True,
    log_models: bool = True,
    log_datasets: bool = True,
    disable: bool = False,
    exclusive: bool = False,
    disable_for_unsupported_versions: bool = False,
    silent: bool = False,
    registered_model_name: str | None = None,
    extra_tags: dict[str, Any] | None = None,
) -> None:
    """Enable (or, with ``disable=True``, remove) autologging for LightGBM, as MLflow's.

    LightGBM is never imported by this call; if it is not imported yet, patching happens
    when the user imports it.
    """
    settings = Config(
        log_models=log_models, log_input_examples=log_input_examples,
        log_model_signatures=log_model_signatures, log_datasets=log_datasets, exclusive=exclusive,
        silent=silent, registered_model_name=registered_model_name, extra_tags=dict(extra_tags or {}),
    )
    configure(_INTEGRATION, settings, disable)


def _install(lgb: types.ModuleType) -> None:
    patch(FLAVOR_NAME, lgb, "train", _train_hook(log_models=True))
    sklearn_api = getattr(lgb, "sklearn", None)
    base = getattr(sklearn_api, "LGBMModel", None)
    if sklearn_api is not None and base is not None:
        # The wrappers call lightgbm.sklearn.train; the wrapper, not the Booster, is their model.
        patch(FLAVOR_NAME, sklearn_api, "train", _train_hook(log_models=False))
        for cls in vars(sklearn_api).values():
            if isinstance(cls, type) and issubclass(cls, base):
                patch_method(FLAVOR_NAME, cls, "fit", _FIT_HOOK, package="lightgbm.")
                for name in ("predict", "predict_proba"):
                    patch_method(FLAVOR_NAME, cls, name, post.predict_hook, package="lightgbm.")
    patch(FLAVOR_NAME, lgb.Dataset, "__init__", _boosting.data_hook(FLAVOR_NAME))


_INTEGRATION = Integration(FLAVOR_NAME, ("lightgbm",), _install)


def _train_hook(log_models: bool) -> Callable[..., Any]:
    def hook(original: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        def flow(target: Target, train: Callable[..., Any], bound: inspect.BoundArguments) -> Any:
            return _train(target, train, bound, log_models)

        return _boosting.run_train(FLAVOR_NAME, original, args, kwargs, flow)

    return hook


def _train(target: Target, train: Callable[..., Any], bound: inspect.BoundArguments, log_models: bool) -> Any:
    guard = target.guard
    params = dict(bound.arguments.get("params") or {})
    guard.run("log params", target.log_params, {**params, **_boosting.call_params(bound, _UNLOGGED)})
    recorder = _boosting.Recorder(target)

    def callback(env: Any) -> None:
        recorder.record(env.iteration, {f"{item[0]}-{item[1]}": item[2] for item in env.evaluation_result_list})

    call = guard.run("add the metrics callback", _boosting.with_callback, bound, callback) or bound
    booster = train(*call.args, **call.kwargs)
    best = int(getattr(booster, "best_iteration", 0) or 0)
    if best > 0 and recorder.history:
        guard.run("log early stopping", _boosting.log_early_stopping, target, recorder.history,
                  len(recorder.history), best, best - 1)
    for importance_type in _IMPORTANCE_TYPES:
        guard.run(f"log feature importance ({importance_type})", _log_importance, target, booster, importance_type)
    if log_models and target.settings.log_models:
        guard.run("log the model", _log_booster, target, booster, bound.arguments.get("train_set"))
    return booster


def _log_importance(target: Target, booster: Any, importance_type: str) -> None:
    features = booster.feature_name()
    importance = booster.feature_importance(importance_type=importance_type)
    _boosting.log_importance(target, features, importance, importance_type, indent=2)


def _log_booster(target: Target, booster: Any, train_set: Any) -> None:
    from nbtrack.models import infer_signature
    from nbtrack.models.flavors import lightgbm as flavor

    settings = target.settings
    example = _boosting.examples.get(train_set) if train_set is not None else None
    signature = None
    if example is not None and settings.log_model_signatures:
        signature = infer_signature(example, booster.predict(example))
    flavor.log_model(booster, name="model", signature=signature,
                     input_example=example if settings.log_input_examples else None,
                     registered_model_name=settings.registered_model_name, run_id=target.run_id)


def _log_wrapper(target: Target, model: Any, example: Any) -> None:
    from nbtrack.models.flavors import lightgbm as flavor

    settings = target.settings
    signature = _boosting.wrapper_signature(model, example) if settings.log_model_signatures else None
    flavor.log_model(model, name="model", signature=signature,
                     input_example=example if settings.log_input_examples else None,
                     registered_model_name=settings.registered_model_name, run_id=target.run_id)


_FIT_HOOK = _boosting.fit_hook(FLAVOR_NAME, _log_wrapper)
