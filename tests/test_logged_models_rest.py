"""MLflow 3 logged models through nbtrack's ``http://`` client, against ``nbtrack server`` and the real
``mlflow server`` (sqlite): ``log_model`` returns ``models:/<model_id>``, get/search/tags/params/
finalize, metrics linked to a model, the active model, ``last_logged_model``, run outputs, and
``models:/<model_id>`` loading through the artifact proxy. What nbtrack logged is read back with
the real mlflow client too.
"""

from __future__ import annotations

import json
import re

import pytest

import nbtrack
from nbtrack import Client
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.store import open_store
from tests.tracking_servers import KINDS, mlflow_read, shared_server

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", params=KINDS)
def server(request):
    return shared_server(request.param, request)


@pytest.fixture
def remote(server, monkeypatch, tmp_path, request):
    monkeypatch.setenv("NBTRACK_TRACKING_URI", server.url)
    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(tmp_path / "spool"))
    nbtrack.set_experiment(re.sub(r"\W", "_", request.node.name))
    yield server
    nbtrack.clear_active_model()
    while nbtrack.active_run():
        nbtrack.end_run()
    open_store(server.url).close()


@pytest.fixture
def fitted():
    np = pytest.importorskip("numpy")
    pytest.importorskip("sklearn")
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    X = rng.random((40, 3))
    y = (X[:, 0] + X[:, 1] > 1).astype(int)
    return LogisticRegression().fit(X, y), X


def test_log_model_returns_models_uri_and_loads_remotely(remote, fitted):
    model, X = fitted
    with nbtrack.start_run() as run:
        nbtrack.log_param("C", 1.0)
        nbtrack.log_metric("acc", 0.9)
        info = nbtrack.sklearn.log_model(model, name="clf", params={"extra": 3}, model_type="classifier",
                                         tags={"team": "a"}, pip_requirements=["scikit-learn"])
    assert info.model_id.startswith("m-") and info.model_uri == f"models:/{info.model_id}"
    assert info.params == {"C": "1.0", "extra": "3"}
    logged = nbtrack.get_logged_model(info.model_id)
    assert (logged.name, logged.status, logged.model_type, logged.source_run_id) == (
        "clf", "READY", "classifier", run.info.run_id)
    assert {k: v for k, v in logged.tags.items() if not k.startswith("mlflow.")} == {"team": "a"}
    assert logged.artifact_location.rstrip("/").endswith(f"/models/{info.model_id}/artifacts")
    assert [(m.key, m.value, m.model_id) for m in logged.metrics] == [("acc", 0.9, info.model_id)]
    # linking the run's metric to the model left one point in the run's history
    assert [(m.step, m.value) for m in nbtrack.MlflowClient().get_metric_history(run.info.run_id, "acc")] == [(0, 0.9)]
    assert nbtrack.last_logged_model().model_id == info.model_id
    expected = model.predict(X).tolist()
    assert nbtrack.pyfunc.load_model(info.model_uri).predict(X).tolist() == expected
    assert nbtrack.pyfunc.load_model(f"runs:/{run.info.run_id}/clf").predict(X).tolist() == expected
    assert "MLmodel" in {f.path for f in Client().list_logged_model_artifacts(info.model_id)}
    outputs = nbtrack.get_run(run.info.run_id).outputs.model_outputs
    assert [(o.model_id, o.step) for o in outputs] == [(info.model_id, 0)]
    # the real mlflow client sees the same model
    seen = json.loads(mlflow_read(remote.url, f"""
import json, mlflow
m = mlflow.get_logged_model({info.model_id!r})
print(json.dumps([m.name, str(m.status), m.params, sorted((x.key, x.value) for x in m.metrics)]))
"""))
    assert seen == ["clf", "READY", {"C": "1.0", "extra": "3"}, [["acc", 0.9]]]


def test_initialize_finalize_tags_params_search(remote):
    with nbtrack.start_run() as run:
        m = nbtrack.initialize_logged_model(name="pending", params={"a": 1}, tags={"k": "v", "drop": "x"})
        nbtrack.log_metric("acc", 0.7, model_id=m.model_id, dataset=type("D", (), {"name": "test", "digest": "d"}))
        other = nbtrack.initialize_logged_model(name="other", params={"a": 2}, model_type="reg")
    assert (m.status, m.source_run_id, m.params) == ("PENDING", run.info.run_id, {"a": "1"})
    nbtrack.set_logged_model_tags(m.model_id, {"k": "w"})
    nbtrack.delete_logged_model_tag(m.model_id, "drop")
    nbtrack.log_model_params({"b": "2"}, model_id=m.model_id)
    done = nbtrack.finalize_logged_model(m.model_id, "READY")
    tags = {k: v for k, v in done.tags.items() if not k.startswith("mlflow.")}
    assert (done.status, tags, done.params) == ("READY", {"k": "w"}, {"a": "1", "b": "2"})
    assert [(x.key, x.value, x.dataset_name, x.dataset_digest) for x in done.metrics] == [("acc", 0.7, "test", "d")]
    with pytest.raises(InvalidParameter, match="READY"):
        nbtrack.finalize_logged_model(m.model_id, "DONE")
    with pytest.raises(NotFound):
        nbtrack.get_logged_model("m-0123456789abcdef0123456789abcdef")
    exp = [m.experiment_id]

    def names(**kw):
        return [x.name for x in nbtrack.search_logged_models(exp, output_format="list", **kw)]

    assert names() == ["other", "pending"]
    assert names(filter_string="params.a = '1'") == ["pending"]
    assert names(filter_string="model_type = 'reg'") == ["other"]
    # (mlflow server 3.17 over REST matches nothing when a dataset is given by name alone: both here)
    assert names(filter_string="metrics.acc > 0.5", datasets=[{"dataset_name": "test", "dataset_digest": "d"}]) == [
        "pending"]
    assert names(order_by=[{"field_name": "name"}]) == ["other", "pending"]
    page = Client().search_logged_models(exp, max_results=1)
    assert page.token and [x.name for x in Client().search_logged_models(exp, page_token=page.token)] == ["pending"]
    Client().delete_logged_model(other.model_id)
    assert names() == ["pending"]


def test_active_model_links_metrics(remote):
    with nbtrack.set_active_model(name="agent") as active, nbtrack.start_run():
        nbtrack.log_metric("loss", 0.5, step=1)
    assert nbtrack.set_active_model(name="agent").model_id == active.model_id
    nbtrack.clear_active_model()
    got = [(m.key, m.value, m.step) for m in nbtrack.get_logged_model(active.model_id).metrics]
    assert got == [("loss", 0.5, 1)]
