"""The plots the classifier evaluator logs, drawn on matplotlib ``Figure`` objects (no pyplot,
so no GUI backend and no global figure state)."""

from __future__ import annotations

import math
from typing import Any

# MLflow's evaluation figure style, without its tight_layout pass: ``savefig(bbox_inches="tight")``
# already crops to what was drawn, and the layout pass was about a third of the drawing time.
RC: dict[str, Any] = {"figure.dpi": 175, "figure.figsize": [6.0, 4.0], "font.size": 8}


def new_axes() -> tuple[Any, Any]:
    from matplotlib.figure import Figure

    fig = Figure()
    return fig, fig.add_subplot(1, 1, 1)


def save(fig: Any, path: str) -> None:
    fig.savefig(path, bbox_inches="tight")


def curve_figure(series: list[tuple[str, Any, Any]], kind: str, pos_label: Any, binary: bool) -> Any:
    """ROC (``kind="roc"``) or precision-recall curves, one line per class."""
    fig, ax = new_axes()
    if kind == "roc":
        xlabel, ylabel, title, diagonal = "False Positive Rate", "True Positive Rate", "ROC curve", ([0, 1], [0, 1])
    else:
        xlabel, ylabel, title, diagonal = "Recall", "Precision", "Precision recall curve", ([0, 1], [1, 0])
    if pos_label:
        xlabel, ylabel = f"{xlabel} (Positive label: {pos_label})", f"{ylabel} (Positive label: {pos_label})"
    for label, x, y in series:
        ax.plot(x, y, label=label, drawstyle="steps-post", linewidth=1)
    ax.plot(*diagonal, color="gray", alpha=0.3, linestyle="dashed")
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    if binary:
        ax.legend(loc="best")
    else:
        ax.legend(loc="center left", bbox_to_anchor=(1, 0.5))
        fig.subplots_adjust(right=0.6, bottom=0.25)
    return fig


def confusion_figure(matrix: Any, labels: Any) -> Any:
    import matplotlib
    from sklearn.metrics import ConfusionMatrixDisplay

    with matplotlib.rc_context({"font.size": min(8, math.ceil(50.0 / len(labels))), "axes.labelsize": 8}):
        fig, ax = new_axes()
        display = ConfusionMatrixDisplay(confusion_matrix=matrix, display_labels=labels).plot(cmap="Blues", ax=ax)
        display.ax_.set_title("Normalized confusion matrix")
    return fig


def lift_figure(y_true: Any, y_probs: Any, pos_label: Any) -> Any:
    """Lift of each class against the share of samples, ranked by predicted probability."""
    import numpy as np

    y_true = np.asarray(y_true)
    classes = np.unique(y_true)
    fig, ax = new_axes()
    ax.set_title("Lift Curve", fontsize="large")
    for i, cls in enumerate(classes[:2]):
        order = np.argsort(y_probs[:, i])[::-1]
        hits = np.cumsum(y_true[order] == cls)
        share = np.arange(1, len(y_true) + 1) / len(y_true)
        lift = (hits / max(hits[-1], 1)) / share
        label = f"Class {cls}" + (" (positive)" if cls == pos_label else "")
        ax.plot(share, lift, lw=3, label=label)
    ax.plot([0, 1], [1, 1], "k--", lw=2, label="Baseline")
    ax.set_xlabel("Percentage of sample", fontsize="medium")
    ax.set_ylabel("Lift", fontsize="medium")
    ax.grid(True)
    ax.legend(loc="best", fontsize="medium")
    return fig


def calibration_figure(y_true: Any, y_probs: Any, pos_label: Any, labels: Any, config: dict[str, Any]) -> Any:
    """Reliability diagram: the binary one of scikit-learn, or one line per class."""
    import numpy as np
    from sklearn.calibration import CalibrationDisplay, calibration_curve

    name = config.get("calibration_classifier_name")
    bins = config.get("calibration_n_bins", 10)
    if name is not None and not isinstance(name, str):
        raise TypeError("calibration_classifier_name should be of type string")
    if not isinstance(bins, int):
        raise TypeError("calibration_n_bins should be of type int")
    fig, ax = new_axes()
    if y_probs.shape[-1] == 2:
        matches = np.where(np.sort(labels) == pos_label)[0]
        index = int(matches[0]) if len(matches) else 1
        CalibrationDisplay.from_predictions(y_true, y_probs[:, index], pos_label=pos_label, name=name,
                                            n_bins=bins, ax=ax)
        return fig
    for i, label in enumerate(labels):
        frac, mean = calibration_curve([v == i for v in y_true], y_probs[:, i], n_bins=bins)
        ax.plot(frac, mean, marker="o", markersize=3, label=f"Class {label}")
    ax.plot([0, 1], [0, 1], linestyle="dotted", label="Perfect Calibration", color="black")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=max(len(labels) // 3, 1))
    ax.set_title(f"{name or 'Classifier'} Calibration", fontsize=12)
    ax.set_xlabel("Mean Predicted Probability", fontsize=10)
    ax.set_ylabel("Fraction of True Positives", fontsize=10)
    return fig
