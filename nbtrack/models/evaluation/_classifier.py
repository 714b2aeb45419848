"""The ``classifier`` evaluator: MLflow's metrics, per-class table and plots."""

from __future__ import annotations

import logging
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models.evaluation import _builtin, _model, _plots
from nbtrack.models.evaluation._evaluator import Evaluation

_log = logging.getLogger("nbtrack.models.evaluation")


def evaluate_classifier(ev: Evaluation, model: Any, extra_metrics: list[Any], custom_artifacts: Any) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    y_true, weights = ev.data.labels, ev.config.get("sample_weights")
    given_labels, pos_label = ev.config.get("label_list"), ev.config.get("pos_label")
    if pos_label and given_labels and pos_label not in given_labels:
        raise InvalidParameter(f"'pos_label' {pos_label} must exist in 'label_list' {given_labels}.")
    inferred = _builtin.infer_model_type(y_true)
    if inferred != "classifier":
        _log.warning("According to the evaluation dataset label values, the model type looks like %s, but you "
                     "specified model type 'classifier'. Please verify that you set the `model_type` and "
                     "`dataset` arguments correctly.", inferred)
    predict, predict_proba = _model.predict_fns(model)
    X = ev.data.frame()
    y_pred = ev.data.predictions if model is None else predict(X)
    y_pred, _, _ = _model.output_column(y_pred, None) if isinstance(y_pred, pd.DataFrame) else (y_pred, None, None)
    y_pred = np.asarray(y_pred)
    y_probs = predict_proba(X) if predict_proba is not None else None
    labels, pos_label, pos_index = _builtin.label_list(ev, y_true, y_pred, pos_label)
    binary = len(labels) == 2
    ev.add(_model.sklearn_score(model, ev.data.frame(), y_true, weights))
    if binary:
        ev.add(_builtin.binary_metrics(y_true, y_pred, y_probs, labels, pos_label, weights))
        if y_probs is not None:
            scores = y_probs[:, pos_index]
            roc = _builtin.curves(y_true, scores, labels, pos_label, "roc", weights, True)
            pr = _builtin.curves(y_true, scores, labels, pos_label, "pr", weights, True)
            ev.add({"roc_auc": roc[1]})
            ev.add({"precision_recall_auc": pr[1]})
    else:
        average = ev.config.get("average", "weighted")
        ev.add(_builtin.common_classifier_metrics(y_true, y_pred, y_probs, labels, average, None, weights))
        if average in ("macro", "weighted") and y_probs is not None:
            from sklearn.metrics import roc_auc_score

            ev.add({"roc_auc": roc_auc_score(y_true, y_probs, sample_weight=weights, average=average,
                                             multi_class="ovr")})
    eval_df = pd.DataFrame({"prediction": y_pred, "target": y_true})
    ev.evaluate_metrics(extra_metrics, eval_df)
    ev.evaluate_artifacts(custom_artifacts, eval_df)
    metrics = ev.log_metrics()
    ev.log_eval_table(y_pred)
    if binary and y_probs is not None:
        _binary_plots(ev, y_true, y_probs, labels, pos_label, roc, pr)
    elif not binary:
        _multiclass_artifacts(ev, y_true, y_pred, y_probs, labels, pos_label, weights)
    _log_confusion_matrix(ev, y_true, y_pred, labels, weights)
    return metrics


def _binary_plots(ev: Evaluation, y_true: Any, y_probs: Any, labels: Any, pos_label: Any, roc: Any, pr: Any) -> None:
    _builtin._log_figure(ev, "roc_curve_plot", lambda: _plots.curve_figure(roc[0], "roc", pos_label, True))
    _builtin._log_figure(ev, "precision_recall_curve_plot", lambda: _plots.curve_figure(pr[0], "pr", pos_label, True))
    _builtin._log_figure(ev, "lift_curve_plot", lambda: _plots.lift_figure(y_true, y_probs, pos_label))
    _log_calibration(ev, y_true, y_probs, labels, pos_label)


def _log_calibration(ev: Evaluation, y_true: Any, y_probs: Any, labels: Any, pos_label: Any) -> None:
    config = {k: v for k, v in ev.config.items() if k.startswith("calibration_")}
    _builtin._log_figure(ev, "calibration_curve_plot",
                         lambda: _plots.calibration_figure(y_true, y_probs, pos_label, labels, config))


def _multiclass_artifacts(ev: Evaluation, y_true: Any, y_pred: Any, y_probs: Any, labels: Any, pos_label: Any,
                          weights: Any) -> None:
    table = _builtin.per_class_metrics(y_true, y_pred, labels, weights)
    if y_probs is not None:
        _log_calibration(ev, y_true, y_probs, labels, pos_label)
        limit = ev.config.get("max_classes_for_multiclass_roc_pr", 10)
        if len(labels) <= limit:
            for kind, name, column in (("roc", "roc_curve_plot", "roc_auc"),
                                       ("pr", "precision_recall_curve_plot", "precision_recall_auc")):
                series, aucs = _builtin.curves(y_true, y_probs, labels, pos_label, kind, weights, False)
                _builtin._log_figure(ev, name, lambda s=series, k=kind: _plots.curve_figure(s, k, pos_label, False))
                table[column] = aucs
        else:
            _log.warning("The classifier num_classes > %d, skip logging ROC curve and Precision-Recall curve. You "
                         "can add evaluator config 'max_classes_for_multiclass_roc_pr' to increase the threshold.",
                         limit)
    _builtin._log_csv(ev, table, "per_class_metrics")


def _log_confusion_matrix(ev: Evaluation, y_true: Any, y_pred: Any, labels: Any, weights: Any) -> None:
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(y_true, y_pred, labels=labels, normalize="true", sample_weight=weights)
    _builtin._log_figure(ev, "confusion_matrix", lambda: _plots.confusion_figure(matrix, labels))
