"""MLflow 3's model versions of logged models: ``create_model_version(model_id=)``, ``register_model``
of ``models:/<model_id>`` or of a run's logged model, ``ModelVersion.model_id`` / ``params`` / ``metrics``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import nbtrack
from nbtrack.errors import NotFound


@pytest.fixture
def logged():
    X = np.arange(10.0).reshape(5, 2)
    with nbtrack.start_run() as run:
        nbtrack.log_metric("rmse", 0.25, step=3)
        info = nbtrack.sklearn.log_model(LinearRegression().fit(X, X.sum(1)), name="model", step=3)
    return run.info.run_id, info


def test_register_a_logged_model_links_the_version(logged, client):
    run_id, info = logged
    by_id = nbtrack.register_model(info.model_uri, "reg")
    by_run = nbtrack.register_model(f"runs:/{run_id}/model", "reg")  # MLflow 3 finds the run's logged model
    for mv in (by_id, by_run):
        assert (mv.model_id, mv.source, mv.run_id) == (info.model_id, f"models:/{info.model_id}", run_id)
        assert mv.params == {} and [(m.key, m.value) for m in mv.metrics] == [("rmse", 0.25)]
    direct = client.create_model_version("reg", f"models:/{info.model_id}", model_id=info.model_id)
    assert (direct.model_id, direct.run_id) == (info.model_id, run_id)
    assert client.get_model_version("reg", direct.version).model_id == info.model_id
    # the logged model lists the versions register_model made (not create_model_version's), as MLflow
    tag = nbtrack.get_logged_model(info.model_id).tags["mlflow.modelVersions"]
    assert json.loads(tag) == [{"name": "reg", "version": 1}, {"name": "reg", "version": 2}]
    loaded = nbtrack.pyfunc.load_model("models:/reg/3")
    assert loaded.predict(np.array([[1.0, 2.0]])).round(6).tolist() == [3.0]


def test_a_version_without_a_logged_model_and_an_unknown_model_id(logged, client, tmp_path):
    _, info = logged
    folder = nbtrack.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "copy"))
    plain = nbtrack.register_model(folder, "plain")
    assert (plain.model_id, plain.params, plain.metrics) == (None, None, None)
    with pytest.raises(NotFound, match="m-nope"):
        client.create_model_version("plain", folder, model_id="m-nope")
    assert [v.version for v in client.search_model_versions("name = 'plain'")] == [1]  # nothing half-made


def test_deleting_a_linked_version_or_model_drops_the_link(logged, client):
    _, info = logged
    nbtrack.register_model(info.model_uri, "gone")
    client.delete_model_version("gone", 1)
    nbtrack.register_model(info.model_uri, "gone")
    assert client.get_model_version("gone", 2).model_id == info.model_id
    client.delete_registered_model("gone")
    nbtrack.register_model(info.model_uri, "gone")
    assert client.get_model_version("gone", 1).model_id == info.model_id
