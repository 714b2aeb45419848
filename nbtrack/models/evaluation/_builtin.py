"""The built-in evaluators: ``classifier`` and ``regressor`` metrics and plots with MLflow's names,
and the ``default`` one (custom metrics only, for ``model_type=None``)."""

from __future__ import annotations

import logging
import os
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.models.evaluation import _plots, base
from nbtrack.models.evaluation._evaluator import Evaluation

_log = logging.getLogger("nbtrack.models.evaluation")


def common_classifier_metrics(y_true: Any, y_pred: Any, y_proba: Any, labels: Any, average: str,
                              pos_label: Any, weights: Any) -> dict[str, Any]:
    from sklearn import metrics as sk

    kw = {"average": average, "pos_label": pos_label, "sample_weight": weights}
    out = {"example_count": len(y_true),
           "accuracy_score": sk.accuracy_score(y_true, y_pred, sample_weight=weights),
           "recall_score": sk.recall_score(y_true, y_pred, **kw),
           "precision_score": sk.precision_score(y_true, y_pred, **kw),
           "f1_score": sk.f1_score(y_true, y_pred, **kw)}
    if y_proba is not None:
        out["log_loss"] = sk.log_loss(y_true, y_proba, labels=labels, sample_weight=weights)
    return out


def binary_metrics(y_true: Any, y_pred: Any, y_proba: Any, labels: Any, pos_label: Any, weights: Any) -> dict[str, Any]:
    from sklearn import metrics as sk

    tn, fp, fn, tp = sk.confusion_matrix(y_true, y_pred, labels=labels).ravel()
    return {"true_negatives": tn, "false_positives": fp, "false_negatives": fn, "true_positives": tp,
            **common_classifier_metrics(y_true, y_pred, y_proba, labels, "binary", pos_label, weights)}


def per_class_metrics(y_true: Any, y_pred: Any, labels: Any, weights: Any) -> Any:
    import numpy as np
    import pandas as pd

    rows = []
    for label in labels:
        y_bin, p_bin = np.where(np.asarray(y_true) == label, 1, 0), np.where(np.asarray(y_pred) == label, 1, 0)
        rows.append({"positive_class": label, **binary_metrics(y_bin, p_bin, None, [0, 1], 1, weights)})
    return pd.DataFrame(rows)


def curves(y_true: Any, scores: Any, labels: Any, pos_label: Any, kind: str, weights: Any,
           binary: bool) -> tuple[list[tuple[str, Any, Any]], Any]:
    """(line series, auc or list of per-class aucs) of ROC or precision-recall curves."""
    import numpy as np
    from sklearn import metrics as sk

    def one(y: Any, s: Any, positive: Any) -> tuple[Any, Any, str, float]:
        curve_pos = positive if positive == pos_label else None
        if kind == "roc":
            fpr, tpr, _ = sk.roc_curve(y, s, sample_weight=weights, pos_label=curve_pos)
            auc = sk.roc_auc_score(np.asarray(y) == positive, s, sample_weight=weights)
            return fpr, tpr, f"AUC={auc:.3f}", auc
        precision, recall, _ = sk.precision_recall_curve(y, s, sample_weight=weights, pos_label=curve_pos)
        ap = sk.average_precision_score(y, s, pos_label=positive, sample_weight=weights)
        return recall, precision, f"AP={ap:.3f}", ap

    if binary:
        x, y, label, auc = one(y_true, scores, pos_label)
        return [(label, x, y)], auc
    series, aucs = [], []
    for i, cls in enumerate(labels):
        x, y, label, auc = one(np.where(np.asarray(y_true) == cls, 1, 0), scores[:, i], 1)
        series.append((f"label={cls},{label}", x, y))
        aucs.append(auc)
    return series, aucs


def _log_figure(ev: Evaluation, name: str, draw: Any) -> None:
    """Draw and log ``<prefix><name>.png``; a plot that fails is skipped with a warning, as MLflow."""
    import matplotlib

    path = os.path.join(ev.tmp, f"{ev.prefix}{name}.png")
    style: Any = _plots.RC  # matplotlib's stubs want literal rc keys
    try:
        with matplotlib.rc_context(style):
            _plots.save(draw(), path)
    except Exception as e:  # a plot must not lose the metrics already logged
        _log.warning("Failed to log image artifact %r: %r", name, e)
        return
    ev.artifacts[name] = ev.log_file(path, base.ImageEvaluationArtifact)


def _log_csv(ev: Evaluation, df: Any, name: str) -> None:
    path = os.path.join(ev.tmp, f"{name}.csv")
    df.to_csv(path, index=False)
    ev.artifacts[name] = ev.log_file(path, base.CsvEvaluationArtifact)


def infer_model_type(labels: Any) -> str | None:
    import pandas as pd

    kind = pd.Series(labels).convert_dtypes().dtype.name.lower()
    if kind in ("category", "string", "boolean"):
        return "classifier"
    return "regressor" if kind.startswith("float") else None


def label_list(ev: Evaluation, y_true: Any, y_pred: Any, pos_label: Any) -> tuple[Any, Any, int]:
    """(sorted labels with the positive one last, positive label, column of its probability)."""
    import numpy as np

    given = ev.config.get("label_list")
    labels = np.unique(np.concatenate([y_true, y_pred])) if given is None else np.array(given)
    if len(labels) < 2:
        raise InvalidParameter(f"Evaluation dataset for classification must contain at least two unique labels, "
                               f"but only {len(labels)} unique labels were found. Please provide a 'label_list' "
                               "parameter in 'evaluator_config' with all possible classes, e.g., "
                               "evaluator_config={'label_list': [0, 1]}.")
    labels.sort()
    pos_index = 1
    if len(labels) == 2:
        if pos_label is not None and pos_label in labels:
            pos_index = int(np.where(labels == pos_label)[0][0])
            labels = np.append(np.delete(labels, pos_index), pos_label)
        elif pos_label is None:
            pos_label = labels[-1]
        else:
            labels = np.append(labels, pos_label)
        _log.info("The evaluation dataset is inferred as binary dataset, positive label is %s, negative label "
                  "is %s.", labels[1], labels[0])
    else:
        _log.info("The evaluation dataset is inferred as multiclass dataset, number of classes is inferred as %d. "
                  "If this is incorrect, please specify the `label_list` parameter in `evaluator_config`.", len(labels))
    return labels, pos_label, pos_index
