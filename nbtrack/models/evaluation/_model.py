"""The model under evaluation: how to predict with it, and its raw estimator when it has one.

As MLflow does, scikit-learn (and XGBoost, CatBoost) models loaded as pyfunc are evaluated on
their raw estimator: ``predict`` and ``predict_proba`` are called directly, and ``score`` gives
the ``score`` metric.
"""

from __future__ import annotations

import logging
from typing import Any

from nbtrack.errors import InvalidParameter

_log = logging.getLogger("nbtrack.models.evaluation")
_RAW_FLAVORS = ("mlflow.sklearn", "mlflow.xgboost", "mlflow.catboost")


class FunctionModel:
    """A plain function ``fn(model_input: DataFrame) -> predictions`` evaluated as a model."""

    metadata = None

    def __init__(self, fn: Any) -> None:
        self.fn = fn

    def predict(self, data: Any, params: Any = None) -> Any:
        return self.fn(data)


def raw_model(model: Any) -> tuple[str | None, Any]:
    """(loader module, raw estimator or None) of a loaded pyfunc model."""
    meta = getattr(model, "metadata", None)
    if not meta:
        return None, None
    loader = meta.flavors.get("python_function", {}).get("loader_module")
    if loader not in _RAW_FLAVORS:
        return loader, None
    impl = getattr(model, "_model_impl", None)
    if impl is None:
        return loader, None
    return loader, impl.get_raw_model() if hasattr(impl, "get_raw_model") else impl


def predict_fns(model: Any) -> tuple[Any, Any]:
    """(predict, predict_proba or None)."""
    _, raw = raw_model(model)
    if raw is not None:
        return raw.predict, getattr(raw, "predict_proba", None)
    return (model.predict if model is not None else None), None


def sklearn_score(model: Any, X: Any, y: Any, weights: Any) -> dict[str, Any]:
    """``{"score": estimator.score(X, y)}`` for scikit-learn models, else nothing."""
    loader, raw = raw_model(model)
    if loader != "mlflow.sklearn" or raw is None:
        return {}
    try:
        return {"score": raw.score(X, y, sample_weight=weights)}
    except Exception as e:  # as MLflow: an estimator whose score fails still gets every other metric
        _log.warning("Computing sklearn model score failed: %r.", e)
        return {}


def resolve(model: Any, model_config: dict[str, Any] | None) -> tuple[Any, str | None]:
    """(a model with ``predict`` or None, its logged-model id) from what ``evaluate`` was given."""
    from nbtrack.models.pyfunc import load_model

    if isinstance(model, str):
        loaded = load_model(model, model_config=model_config)
        return loaded, getattr(loaded, "model_id", None)
    if model is None:
        return None, None
    if hasattr(model, "metadata") and hasattr(model, "predict"):  # nbtrack's or mlflow's PyFuncModel
        if model_config:
            raise InvalidParameter("Indicating ``model_config`` when passing a `PyFuncModel`` object as model "
                                   "argument is not allowed. Load it with nbtrack.pyfunc.load_model(model_uri, "
                                   "model_config=<value>) instead.")
        return model, getattr(model, "model_id", None)
    if callable(model):
        return FunctionModel(model), None
    raise InvalidParameter("The model argument must be a string URI referring to an MLflow model, an instance of "
                           "`mlflow.pyfunc.PyFuncModel`, a function, or None.")


def output_column(predictions: Any, name: str | None) -> tuple[Any, Any, str | None]:
    """(the predictions, the other output columns or None, the predictions' column name)."""
    import pandas as pd

    missing = ("Output column name is not specified for the multi-output model. Please set the correct output "
               "column name using the `predictions` parameter.")
    if isinstance(predictions, list) and predictions and all(isinstance(p, dict) for p in predictions):
        predictions = pd.DataFrame(predictions)
    if isinstance(predictions, dict):
        predictions = pd.DataFrame({k: list(v) if hasattr(v, "__len__") and not isinstance(v, str) else [v]
                                    for k, v in predictions.items()})
    if isinstance(predictions, pd.DataFrame):
        if name in predictions.columns:
            return predictions[name], predictions.drop(columns=name), name
        if len(predictions.columns) == 1:
            return predictions[predictions.columns[0]], None, predictions.columns[0]
        if name is None:
            raise InvalidParameter(missing)
        raise InvalidParameter(f"Output column name '{name}' is not found in the model predictions "
                               f"{list(predictions.columns)}. Please set the correct output column name using "
                               "the `predictions` parameter.")
    return predictions, None, name
