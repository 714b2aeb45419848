"""Autolog's figures, drawn off the training path.

A confusion matrix or an importance chart takes about 0.1 s to render, which would be a
tenth of a one-second ``fit``. The numbers are computed on the caller's thread (cheap, and
consistent with the model at that moment); the drawing happens on one background thread with
matplotlib's object-oriented API (no pyplot, so no global figure state and no GUI backend),
and :func:`drain` waits for it: the ``%%track`` scope drains at the end of the cell, and the
interpreter drains at exit for at most ``NBTRACK_EXIT_FLUSH_TIMEOUT`` seconds. Each job is
also counted against its run (``nbtrack.tracking._pending``), so ``list_artifacts`` and
``download_artifacts`` of that run wait for its figures while ``fit`` returns at once.
"""

from __future__ import annotations

import atexit
import logging
import os
import posixpath
import queue
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import Any

from nbtrack import config
from nbtrack.autolog._runs import write_file
from nbtrack.tracking import _pending

__all__ = ["confusion_matrix", "curve", "drain", "feature_importance", "submit"]

log = logging.getLogger("nbtrack.autolog")

_jobs: queue.Queue[tuple[str, str, str, Callable[[Any], None]]] = queue.Queue()
_done = threading.Condition()


class _State:
    pending = 0
    thread: threading.Thread | None = None
    atexit_registered = False


_state = _State()


def submit(tracking_uri: str, run_id: str, artifact_file: str, draw: Callable[[Any], None]) -> None:
    """Render ``draw(figure)`` in the background and log it as ``artifact_file`` of ``run_id``."""
    _pending.begin(run_id)  # list_artifacts/download_artifacts of this run wait for the figure
    with _done:
        _state.pending += 1
        if _state.thread is None:
            _state.thread = threading.Thread(target=_work, name="nbtrack-autolog-figures", daemon=True)
            _state.thread.start()
        if not _state.atexit_registered:
            _state.atexit_registered = True
            atexit.register(_drain_at_exit)
    _jobs.put((tracking_uri, run_id, artifact_file, draw))


def drain(timeout: float | None = None) -> bool:
    """Wait until every submitted figure is logged; False if ``timeout`` ran out first."""
    with _done:
        return _done.wait_for(lambda: _state.pending == 0, timeout)


def _drain_at_exit() -> None:
    if not drain(config.env_float("NBTRACK_EXIT_FLUSH_TIMEOUT", 10.0)):
        log.warning("nbtrack autolog: some figures were not logged before exit")


def _work() -> None:
    _pending.mark_worker()
    while True:
        tracking_uri, run_id, artifact_file, draw = _jobs.get()
        try:
            _render(tracking_uri, run_id, artifact_file, draw)
        except Exception as e:  # a figure is a nicety: say so and go on
            log.warning("nbtrack autolog could not log %s for run %s: %s", artifact_file, run_id, e)
        finally:
            _pending.done(run_id)
            with _done:
                _state.pending -= 1
                _done.notify_all()


def _render(tracking_uri: str, run_id: str, artifact_file: str, draw: Callable[[Any], None]) -> None:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.4, 4.8), dpi=100)
    draw(figure)
    folder, name = posixpath.split(artifact_file)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        figure.savefig(path, format="png")
        write_file(tracking_uri, run_id, path, folder or None)


# -- drawings (numbers in, figure out) ---------------------------------------------------------
def confusion_matrix(matrix: Any, labels: Sequence[Any], title: str) -> Callable[[Any], None]:
    def draw(figure: Any) -> None:
        ax = figure.subplots()
        image = ax.imshow(matrix, cmap="Blues", vmin=0.0, vmax=1.0)
        figure.colorbar(image, ax=ax)
        small = len(labels) <= 20
        for (i, j), value in _cells(matrix):
            if small:
                ax.text(j, i, f"{value:.2g}", ha="center", va="center",
                        color="white" if value > 0.5 else "black", fontsize=8)
        ticks = range(len(labels))
        if len(labels) > 5:
            figure.subplots_adjust(bottom=0.2)
        ax.set_xticks(list(ticks), [str(label) for label in labels], rotation=45 if len(labels) > 5 else 0)
        ax.set_yticks(list(ticks), [str(label) for label in labels])
        ax.set_xlabel("Predicted label")
        ax.set_ylabel("True label")
        ax.set_title(title)

    return draw


def _cells(matrix: Any) -> list[tuple[tuple[int, int], float]]:
    return [((i, j), float(v)) for i, row in enumerate(matrix) for j, v in enumerate(row)]


def curve(x: Any, y: Any, xlabel: str, ylabel: str, title: str, label: str) -> Callable[[Any], None]:
    def draw(figure: Any) -> None:
        ax = figure.subplots()
        ax.plot(x, y, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.legend(loc="lower right")

    return draw


def feature_importance(features: Sequence[str], importance: Any, importance_type: str) -> Callable[[Any], None]:
    """Horizontal bars, largest at the top; one bar per class when importance is per class."""
    import numpy as np

    values = np.asarray(importance, dtype=float)
    per_class = values.ndim == 2
    magnitude = np.abs(values).sum(axis=1) if per_class else values
    order = np.argsort(magnitude)
    names = [str(features[i]) for i in order]
    values = values[order]

    def draw(figure: Any) -> None:
        height = 4.8 + (0.1 * len(names) if len(names) > 10 else 0.0)
        figure.set_size_inches(6.4, height)
        ax = figure.subplots()
        positions = np.arange(len(names))
        if per_class:
            classes = values.shape[1]
            offsets = np.linspace(-0.25, 0.25, classes) if classes > 1 else [0.0]
            for c, offset in enumerate(offsets):
                ax.barh(positions + offset, values[:, c], height=0.5 / max(classes - 1, 1), label=f"Class {c}")
            ax.legend()
        else:
            ax.barh(positions, values, align="center", height=0.5)
        ax.set_yticks(positions, names)
        longest = max((len(n) for n in names), default=0)
        figure.subplots_adjust(left=min(0.5, 0.08 + 0.011 * longest), right=0.95)  # room for the names
        ax.set_xlabel("Importance")
        ax.set_title(f"Feature Importance ({importance_type})")

    return draw
