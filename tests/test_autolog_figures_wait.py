"""Autolog draws its figures in the background, yet a script that lists or downloads the run's
artifacts right after ``fit`` returns sees them: the reads wait for that run's pending figures."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest
from procenv import python_env

import nbtrack
from nbtrack.autolog import _plots
from nbtrack.tracking import _pending

pytest.importorskip("matplotlib")


@pytest.fixture(autouse=True)
def _autolog_off_afterwards():
    yield
    nbtrack.autolog.flush(30)
    nbtrack.autolog(disable=True)


def _blocked_figure(release: threading.Event):
    def draw(figure):
        release.wait(20)
        figure.subplots().plot([0, 1], [0, 1])

    return draw


def test_list_artifacts_waits_for_a_figure_still_being_drawn(client):
    run = client.create_run("0")
    release = threading.Event()
    _plots.submit(client.tracking_uri, run.info.run_id, "plots/slow.png", _blocked_figure(release))
    listed: list[list[str]] = []
    reader = threading.Thread(target=lambda: listed.append([f.path for f in client.list_artifacts(run.info.run_id, "plots")]))
    reader.start()
    reader.join(0.5)
    assert reader.is_alive(), "list_artifacts returned while the figure was still pending"
    release.set()
    reader.join(20)
    assert listed == [["plots/slow.png"]]


def test_download_waits_and_other_runs_do_not(client, tmp_path):
    busy, idle = client.create_run("0"), client.create_run("0")
    client.log_text(idle.info.run_id, "x", "note.txt")
    release = threading.Event()
    _plots.submit(client.tracking_uri, busy.info.run_id, "fig.png", _blocked_figure(release))
    started = time.perf_counter()
    assert os.path.exists(client.download_artifacts(idle.info.run_id, "note.txt", str(tmp_path)))
    assert time.perf_counter() - started < 0.5  # another run's pending figure does not hold this one up
    threading.Timer(0.3, release.set).start()
    path = client.download_artifacts(busy.info.run_id, "fig.png", str(tmp_path / "busy"))
    assert os.path.getsize(path) > 0
    assert _pending.wait(busy.info.run_id, timeout=0)


def test_a_failing_figure_does_not_leave_readers_waiting(client):
    run = client.create_run("0")

    def broken(figure):
        raise ValueError("cannot draw")

    _plots.submit(client.tracking_uri, run.info.run_id, "broken.png", broken)
    started = time.perf_counter()
    assert client.list_artifacts(run.info.run_id) == []
    assert time.perf_counter() - started < 10


SCRIPT = """
import time, nbtrack
nbtrack.set_tracking_uri({store!r})
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
{extra}
X, y = load_iris(return_X_y=True)
nbtrack.autolog(log_models=False, log_datasets=False)
started = time.perf_counter()
{fit}
fit_seconds = time.perf_counter() - started
run = nbtrack.last_active_run()
names = sorted(f.path for f in nbtrack.MlflowClient().list_artifacts(run.info.run_id))
print(fit_seconds, ",".join(names))
"""


def _script(store, fit: str, extra: str = "") -> tuple[float, list[str]]:
    code = SCRIPT.format(store=str(store), fit=fit, extra=extra)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         env=python_env(), check=True).stdout.strip().splitlines()[-1]
    seconds, names = out.split(" ", 1)
    return float(seconds), names.split(",")


def test_a_script_sees_sklearn_figures_right_after_fit(tmp_path):
    _, names = _script(tmp_path / "s", "LogisticRegression(max_iter=300).fit(X, y)")
    assert "training_confusion_matrix.png" in names


def test_a_script_sees_lightgbm_importance_figures_right_after_train(tmp_path):
    pytest.importorskip("lightgbm")
    fit = "lgb.train({'objective': 'multiclass', 'num_class': 3, 'verbose': -1}, lgb.Dataset(X, y), 5)"
    _, names = _script(tmp_path / "l", fit, extra="import lightgbm as lgb")
    assert {"feature_importance_split.png", "feature_importance_gain.png"} <= set(names)
