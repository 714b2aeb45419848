"""The ``regressor`` evaluator (MLflow's regression metrics) and the ``default`` one, which only
computes ``extra_metrics`` (``model_type=None``)."""

from __future__ import annotations

from typing import Any

from nbtrack.models.evaluation import _model
from nbtrack.models.evaluation._evaluator import Evaluation


def regressor_metrics(y: Any, y_pred: Any, weights: Any) -> dict[str, Any]:
    import numpy as np
    from sklearn import metrics as sk

    total = (np.array(y) * np.array(weights)).sum() if weights is not None else sum(y)
    return {
        "example_count": len(y),
        "mean_absolute_error": sk.mean_absolute_error(y, y_pred, sample_weight=weights),
        "mean_squared_error": sk.mean_squared_error(y, y_pred, sample_weight=weights),
        "root_mean_squared_error": sk.root_mean_squared_error(y, y_pred, sample_weight=weights),
        "sum_on_target": total,
        "mean_on_target": total / len(y),
        "r2_score": sk.r2_score(y, y_pred, sample_weight=weights),
        "max_error": sk.max_error(y, y_pred),
        "mean_absolute_percentage_error": sk.mean_absolute_percentage_error(y, y_pred, sample_weight=weights),
    }


def _predict(ev: Evaluation, model: Any) -> Any:
    if model is None:
        return ev.data.predictions
    predict, _ = _model.predict_fns(model)
    y_pred, other, name = _model.output_column(predict(ev.data.frame()), ev.predictions_name)
    ev.other_outputs = other
    if name is not None and ev.predictions_name is None:
        ev.predictions_name = name
    return y_pred


def evaluate_regressor(ev: Evaluation, model: Any, extra_metrics: list[Any], custom_artifacts: Any) -> dict[str, Any]:
    import pandas as pd

    y_true, weights = ev.data.labels, ev.config.get("sample_weights")
    y_pred = _predict(ev, model)
    ev.add(_model.sklearn_score(model, ev.data.frame(), y_true, weights))
    ev.add(regressor_metrics(y_true, y_pred, weights))
    eval_df = pd.DataFrame({"prediction": y_pred})
    eval_df["target"] = y_true
    ev.evaluate_metrics(extra_metrics, eval_df)
    ev.evaluate_artifacts(custom_artifacts, eval_df)
    metrics = ev.log_metrics()
    ev.log_eval_table(y_pred)
    return metrics


def evaluate_default(ev: Evaluation, model: Any, extra_metrics: list[Any], custom_artifacts: Any) -> dict[str, Any]:
    import pandas as pd

    y_pred = _predict(ev, model)
    eval_df = pd.DataFrame({"prediction": y_pred})
    if ev.data.labels is not None:
        eval_df["target"] = ev.data.labels
    ev.evaluate_metrics(extra_metrics, eval_df)
    ev.evaluate_artifacts(custom_artifacts, eval_df)
    metrics = ev.log_metrics()
    ev.log_eval_table(y_pred)
    return metrics
