"""nbtrack's ``http://`` client (the ``rest`` backend) against real tracking servers over HTTP.

Every test runs against the real ``mlflow server`` (sqlite) and against ``nbtrack server``, one
process of each per module. What nbtrack writes is read back with the real ``mlflow`` client in a
subprocess (issue 12, section 5, the reverse direction): the same values must come back.
"""

from __future__ import annotations

import json
import math
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import nbtrack
from nbtrack.entities import Metric, Param, RunTag, ViewType
from nbtrack.errors import (
    AccessDenied,
    InvalidParameter,
    NbtrackError,
    NotFound,
    ParamConflict,
    ResourceExists,
    ServerUnreachable,
)
from nbtrack.store import open_store
from nbtrack.store.rest.http import RestClient
from tests.server_fixtures import nbtrack_server
from tests.tracking_servers import KINDS, free_port, mlflow_read, shared_server

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", params=KINDS)
def server(request):
    return shared_server(request.param, request)


@pytest.fixture
def remote(server, monkeypatch, tmp_path, request):
    """nbtrack pointed at the server (through NBTRACK_TRACKING_URI), with its own experiment."""
    monkeypatch.setenv("NBTRACK_TRACKING_URI", server.url)
    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(tmp_path / "spool"))
    nbtrack.set_experiment(re.sub(r"\W", "_", request.node.name))
    yield server
    open_store(server.url).close()  # the next test gets a fresh client, with its own spool folder


def test_tracking_uri_http_opens_the_rest_store(remote, monkeypatch):
    store = nbtrack.MlflowClient().store
    assert type(store).__name__ == "RestStore" and store.root == remote.url
    assert nbtrack.get_tracking_uri() == remote.url
    monkeypatch.delenv("NBTRACK_TRACKING_URI")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", remote.url + "/")  # MLflow's variable, a trailing slash
    assert nbtrack.MlflowClient().store is store
    nbtrack.set_tracking_uri(remote.url)
    try:
        assert nbtrack.MlflowClient().store is store and nbtrack.get_experiment("0").name == "Default"
    finally:
        nbtrack.tracking.fluent._settings["tracking_uri"] = None


def test_experiments(remote):
    client = nbtrack.MlflowClient()
    name = f"exp-{remote.kind}"
    eid = client.create_experiment(name, tags={"team": "a"})
    assert client.get_experiment(eid).tags["team"] == "a"
    assert client.get_experiment_by_name(name).experiment_id == eid
    assert client.get_experiment_by_name("no such experiment") is None
    with pytest.raises(ResourceExists):
        client.create_experiment(name)
    with pytest.raises(NotFound):
        client.get_experiment("987654")
    client.rename_experiment(eid, name + "-b")
    client.set_experiment_tag(eid, "k", "v")
    client.delete_experiment_tag(eid, "team")
    got = client.get_experiment(eid)
    assert got.name == name + "-b" and got.tags.get("k") == "v" and "team" not in got.tags
    client.delete_experiment(eid)
    assert eid in [e.experiment_id for e in client.search_experiments(view_type=ViewType.DELETED_ONLY)]
    client.restore_experiment(eid)
    assert [e.experiment_id for e in nbtrack.search_experiments(filter_string=f"name = '{name}-b'")] == [eid]


_READ_RUN = """
import json, math, mlflow
c = mlflow.MlflowClient()
r = c.get_run("{rid}")
h = c.get_metric_history("{rid}", "loss")
# (the artifact repository itself: MlflowClient.list_artifacts also searches MLflow 3's logged models)
listed = mlflow.artifacts.list_artifacts(artifact_uri=r.info.artifact_uri)
meta = mlflow.artifacts.list_artifacts(artifact_uri=r.info.artifact_uri + "/meta")
arts = sorted(f.path.rsplit("/", 1)[-1] for f in listed) + [f.path.rsplit("/", 1)[-1] for f in meta]
info = json.load(open(mlflow.artifacts.download_artifacts(artifact_uri=r.info.artifact_uri + "/meta/info.json")))
e = c.get_experiment(r.info.experiment_id)
print(json.dumps(dict(
    experiment=[e.name, e.tags.get("purpose")], status=r.info.status, name=r.info.run_name, params=r.data.params, tags=r.data.tags,
    metrics={{k: (None if math.isnan(v) else v) for k, v in r.data.metrics.items()}},
    steps=[m.step for m in h], values=[m.value for m in h], artifacts=arts, info=info,
    inputs=[[d.dataset.name, d.dataset.digest, {{t.key: t.value for t in d.tags}}] for d in r.inputs.dataset_inputs])))
"""


def test_logging_reads_back_the_same_in_real_mlflow(remote, tmp_path):
    import pandas as pd

    (tmp_path / "notes.txt").write_text("hello")
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0], "y": [0, 1, 0]})
    dataset = nbtrack.data.from_pandas(frame, name="tiny", targets="y")
    nbtrack.set_experiment_tag("purpose", "conformance")
    with nbtrack.start_run(run_name="train", tags={"team": "vision"}) as run:
        nbtrack.log_params({"lr": 0.1, "depth": 4})
        for step in range(1500):  # more than one log-batch request
            nbtrack.log_metric("loss", 1.0 / (step + 1), step=step)
        nbtrack.log_metrics({"acc": 0.9, "f1": 0.8}, step=3)
        nbtrack.log_metric("odd", math.nan)
        nbtrack.set_tag("stage", "dev")
        nbtrack.log_input(dataset, context="training")
        nbtrack.log_dict({"classes": 3}, "meta/info.json")
        nbtrack.log_artifact(str(tmp_path / "notes.txt"), "files")
    rid = run.info.run_id
    seen = json.loads(mlflow_read(remote.url, _READ_RUN.format(rid=rid)))
    assert seen["experiment"] == [_experiment_name(), "conformance"]
    assert seen["status"] == "FINISHED" and seen["name"] == "train"
    assert seen["params"] == {"lr": "0.1", "depth": "4"}
    assert seen["metrics"] == {"loss": 1.0 / 1500, "acc": 0.9, "f1": 0.8, "odd": None}
    assert seen["steps"] == list(range(1500)) and seen["values"] == [1.0 / (s + 1) for s in range(1500)]
    assert seen["tags"]["team"] == "vision" and seen["tags"]["stage"] == "dev"
    assert seen["inputs"] == [["tiny", dataset.digest, {"mlflow.data.context": "training"}]]
    assert seen["artifacts"] == ["files", "meta", "info.json"] and seen["info"] == {"classes": 3}
    mine = nbtrack.get_run(rid)  # and nbtrack reads what real mlflow read
    assert mine.data.params == seen["params"] and mine.data.tags == seen["tags"]
    assert {k: v for k, v in mine.data.metrics.items() if k != "odd"} == {k: v for k, v in seen["metrics"].items()
                                                                          if k != "odd"}
    assert math.isnan(mine.data.metrics["odd"])
    assert [m.step for m in nbtrack.MlflowClient().get_metric_history(rid, "loss")] == seen["steps"]
    assert nbtrack.MlflowClient().download_artifacts(rid, "files/notes.txt", str(tmp_path / "dl")).endswith("notes.txt")
    assert (tmp_path / "dl" / "notes.txt").read_text() == "hello"


def test_log_batch_is_cut_into_mlflows_limits(remote):
    client = nbtrack.MlflowClient()
    run = client.create_run(nbtrack.get_experiment_by_name(_experiment_name()).experiment_id)
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric("m", float(i), 1000 + i, i) for i in range(2500)],
                     params=[Param(f"p{i}", str(i)) for i in range(150)],
                     tags=[RunTag(f"t{i}", str(i)) for i in range(150)])
    nbtrack.flush()  # returns once the server acknowledged every request
    got = client.get_run(rid)
    assert len(got.data.params) == 150 and sum(k.startswith("t") for k in got.data.tags) == 150
    assert [m.value for m in client.get_metric_history(rid, "m")] == [float(i) for i in range(2500)]


def _experiment_name() -> str:
    exp = nbtrack.get_experiment(nbtrack.tracking.fluent._resolve_experiment_id())
    return exp.name


_SEARCH = """
import json, mlflow
e = mlflow.get_experiment_by_name("{name}")
df = mlflow.search_runs([e.experiment_id], filter_string="{where}", order_by=["metrics.acc DESC"])
print(json.dumps(list(df["run_id"])))
"""


def test_search_runs_with_filters_order_by_and_pages(remote):
    ids = {}
    for model, acc in (("rf", 0.91), ("gbm", 0.95), ("lr", 0.7), ("rf", 0.6)):
        with nbtrack.start_run(run_name=f"{model}-{acc}") as run:
            nbtrack.log_param("model", model)
            nbtrack.log_metric("acc", acc)
        ids[acc] = run.info.run_id
    where = "metrics.acc > 0.65 and params.model != 'lr'"
    frame = nbtrack.search_runs(filter_string=where, order_by=["metrics.acc DESC"])
    assert list(frame["run_id"]) == [ids[0.95], ids[0.91]]
    assert list(frame["metrics.acc"]) == [0.95, 0.91] and list(frame["params.model"]) == ["gbm", "rf"]
    assert str(frame["start_time"].dt.tz) == "UTC" and frame["end_time"].notna().all()
    runs = nbtrack.search_runs(filter_string="params.model = 'rf'", order_by=["metrics.acc ASC"], output_format="list")
    assert [r.info.run_id for r in runs] == [ids[0.6], ids[0.91]]
    name = _experiment_name()
    assert json.loads(mlflow_read(remote.url, _SEARCH.format(name=name, where=where))) == list(frame["run_id"])
    client = nbtrack.MlflowClient()
    eid = nbtrack.get_experiment_by_name(name).experiment_id
    first = client.search_runs([eid], max_results=3, order_by=["metrics.acc ASC"])
    second = client.search_runs([eid], max_results=3, order_by=["metrics.acc ASC"], page_token=first.token)
    assert [r.data.metrics["acc"] for r in first] == [0.6, 0.7, 0.91] and second.token is None
    assert [r.data.metrics["acc"] for r in second] == [0.95]
    history = nbtrack.metric_history(frame, "acc")
    assert list(history["value"]) == [0.95, 0.91] and list(history.columns) == ["run_id", "key", "step", "timestamp",
                                                                                "value"]


_LOAD_MODEL = """
import json, mlflow
c = mlflow.MlflowClient()
mv = c.get_model_version_by_alias("{name}", "champion")
model = mlflow.pyfunc.load_model("models:/{name}@champion")
from sklearn.datasets import load_iris
X, _ = load_iris(return_X_y=True)
print(json.dumps(dict(version=mv.version, stage=mv.current_stage, run_id=mv.run_id,
                      predictions=[int(p) for p in model.predict(X[:10])])))
"""


def test_sklearn_model_registry_stages_aliases_and_models_uri(remote):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    name = f"iris-{remote.kind}"
    with nbtrack.start_run() as run:
        nbtrack.sklearn.log_model(model, name="model", registered_model_name=name, input_example=X[:2])
    client = nbtrack.MlflowClient()
    client.transition_model_version_stage(name, 1, "Staging")
    client.set_registered_model_alias(name, "champion", 1)
    mv = client.get_model_version_by_alias(name, "champion")
    assert (mv.version, mv.current_stage, mv.run_id) == (1, "Staging", run.info.run_id)
    assert client.get_registered_model(name).aliases == {"champion": 1}
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == [1]
    expected = [int(p) for p in model.predict(X[:10])]
    for uri in (f"models:/{name}@champion", f"models:/{name}/Staging", f"runs:/{run.info.run_id}/model"):
        assert [int(p) for p in nbtrack.pyfunc.load_model(uri).predict(X[:10])] == expected, uri
    view = nbtrack.registry_view(name)  # the notebook view reads the signature through the server
    assert view.versions[0].signature and name in view._repr_html_()
    # nbtrack server answers the history (views/registry-history); mlflow server keeps none
    history = [(e.kind, e.version, e.to_value, e.alias) for e in view.history]
    assert history == ([("created", 1, "None", None), ("stage", 1, "Staging", None), ("alias", 1, "1", "champion")]
                       if remote.kind == "nbtrack" else [])
    seen = json.loads(mlflow_read(remote.url, _LOAD_MODEL.format(name=name)))
    assert seen == {"version": "1", "stage": "Staging", "run_id": run.info.run_id, "predictions": expected}
    with pytest.raises(NotFound, match="no model"):  # checked before anything is created; nothing downloaded
        nbtrack.register_model(f"runs:/{run.info.run_id}/no-such-model", name)
    assert [v.version for v in client.search_model_versions(f"name = '{name}'")] == [1]
    client.delete_registered_model_alias(name, "champion")
    with pytest.raises(NotFound):
        client.get_model_version_by_alias(name, "champion")


def test_track_magic_and_autolog_log_to_the_server(remote, ip):
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    ip.run_cell_magic("track", "--name cell --quiet --autolog",
                      "from sklearn.linear_model import LogisticRegression\n"
                      "from sklearn.datasets import load_iris\n"
                      "X, y = load_iris(return_X_y=True)\n"
                      "LogisticRegression(max_iter=300).fit(X, y)\n"
                      "nbtrack.log_metric('extra', 1.5)")
    run = nbtrack.last_active_run()
    assert run.info.status == "FINISHED" and run.info.run_name == "cell"
    assert run.data.metrics["extra"] == 1.5 and "training_accuracy_score" in run.data.metrics
    assert run.data.params["max_iter"] == "300"
    assert "model" in [f.path for f in nbtrack.MlflowClient().list_artifacts(run.info.run_id)]
    X, y = load_iris(return_X_y=True)
    nbtrack.autolog(silent=True)
    try:
        LogisticRegression(max_iter=200).fit(X, y)
    finally:
        nbtrack.autolog(disable=True)
    assert nbtrack.last_active_run().data.params["max_iter"] == "200"


def test_server_errors_become_nbtrack_errors(remote):
    with pytest.raises(NotFound):
        nbtrack.get_run("0" * 32)
    with nbtrack.start_run() as run:
        nbtrack.log_param("a", 1)
        with pytest.raises(ParamConflict):
            nbtrack.log_param("a", 2)
    nbtrack.flush()
    with pytest.raises(ParamConflict) as caught:  # the server's own refusal, mapped by error_code
        RestClient(remote.url).call("POST", "runs/log-batch", {"run_id": run.info.run_id,
                                                               "params": [{"key": "a", "value": "3"}]})
    assert (caught.value.key, caught.value.old_value, caught.value.new_value) == ("a", "1", "3")
    with pytest.raises(ValueError):
        nbtrack.search_runs(filter_string="metrics.acc >> 1")
    with pytest.raises(NbtrackError, match="embedded DuckDB store"):
        nbtrack.sql("SELECT 1")


def test_unreachable_server_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ServerUnreachable, match=re.escape(url)) as caught:
        nbtrack.MlflowClient(url).get_experiment("0")
    assert caught.value.url == url and isinstance(caught.value, ConnectionError)


class _Flaky(BaseHTTPRequestHandler):
    """A real HTTP peer that answers 503 twice, then an experiment; it records the headers it got."""

    hits: list[dict[str, str]] = []

    def do_GET(self) -> None:
        type(self).hits.append(dict(self.headers))
        if len(self.hits) <= 2:
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps({"experiment": {"experiment_id": "0", "name": "Default", "lifecycle_stage": "active",
                                          "artifact_location": "mlflow-artifacts:/0"}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_retries_503_with_backoff_and_sends_mlflow_credentials(monkeypatch):
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        monkeypatch.setenv("MLFLOW_TRACKING_USERNAME", "ann")
        monkeypatch.setenv("MLFLOW_TRACKING_PASSWORD", "s3cret")
        assert RestClient(f"http://127.0.0.1:{httpd.server_port}").call("GET", "experiments/get",
                                                                         {"experiment_id": "0"})["experiment"]
        assert len(_Flaky.hits) == 3
        assert _Flaky.hits[-1]["Authorization"] == "Basic YW5uOnMzY3JldA=="  # base64("ann:s3cret")
    finally:
        httpd.shutdown()


def test_bearer_token_against_an_authenticating_server(tmp_path, monkeypatch):
    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(tmp_path / "spool"))
    with nbtrack_server(tmp_path / "store", auth="token", env={"NBTRACK_TOKEN": "tok-123456"}) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "wrong-token")
        with pytest.raises(AccessDenied, match="MLFLOW_TRACKING_TOKEN"):
            nbtrack.MlflowClient(url).create_experiment("nope")
        monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "tok-123456")  # read at call time
        client = nbtrack.MlflowClient(url)
        eid = client.create_experiment("authed")
        assert client.get_experiment(eid).name == "authed"
        open_store(url).close()


class _Experiment(_Flaky):
    hits: list[dict[str, str]] = [{}, {}]  # never 503: straight to the answer


def test_https_with_a_private_certificate_authority(tmp_path, monkeypatch):
    import shutil
    import ssl
    import subprocess

    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command to make a certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Experiment)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"https://127.0.0.1:{httpd.server_port}"
    try:
        with pytest.raises(ServerUnreachable, match="MLFLOW_TRACKING_SERVER_CERT_PATH") as caught:
            RestClient(url).call("GET", "experiments/get", {"experiment_id": "0"})
        assert caught.value.retryable is False  # not retried, not waited for
        monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(tmp_path / "missing.pem"))
        with pytest.raises(InvalidParameter, match="does not exist"):
            RestClient(url).call("GET", "experiments/get", {"experiment_id": "0"})
        monkeypatch.setenv("MLFLOW_TRACKING_SERVER_CERT_PATH", str(cert))  # read at call time
        client = nbtrack.MlflowClient(url)
        assert client.get_experiment("0").name == "Default"
        monkeypatch.delenv("MLFLOW_TRACKING_SERVER_CERT_PATH")
        monkeypatch.setenv("MLFLOW_TRACKING_INSECURE_TLS", "true")
        assert RestClient(url).call("GET", "experiments/get", {"experiment_id": "0"})["experiment"]
        open_store(url).close()
    finally:
        httpd.shutdown()


def test_run_card_reads_a_history_thinned_on_the_server(remote):
    from nbtrack.notebook._card import SPARK_POINTS, CardReader

    with nbtrack.start_run() as run:
        nbtrack.MlflowClient().log_batch(run.info.run_id, [Metric("loss", 1.0 / (s + 1), 1000 + s, s)
                                                           for s in range(5000)])
    thin = nbtrack.MlflowClient().store.thin_history(run.info.run_id, ["loss"], SPARK_POINTS)
    assert len(thin) <= SPARK_POINTS + 2 and thin["step"].iloc[0] == 0 and thin["step"].iloc[-1] == 4999
    card = CardReader(nbtrack.MlflowClient(), run.info.run_id)()
    assert card.status == "FINISHED" and card.steps == {"loss": 4999}
    assert 2 <= len(card.history["loss"]) <= SPARK_POINTS and card.history["loss"][-1] == 1.0 / 5000


def test_run_lifecycle_resume_and_artifact_helpers(remote, tmp_path, monkeypatch):
    import numpy as np

    from nbtrack.errors import RunNotActive

    client = nbtrack.MlflowClient()
    with nbtrack.start_run(run_name="parent") as parent, nbtrack.start_run(nested=True) as child:
        nbtrack.set_tag("gone", "1")
        nbtrack.delete_tag("gone")
        nbtrack.log_image(np.zeros((4, 4, 3), dtype=np.uint8), "img.png")
        nbtrack.log_image(np.zeros((2, 2), dtype=np.uint8), key="frames", step=1)
        nbtrack.log_table({"a": [1, 2]}, "table.json")
        nbtrack.log_table({"a": [3]}, "table.json")  # appends, as MLflow
        nbtrack.log_text("x", "deep/er/t.txt")
    rid = child.info.run_id
    assert client.get_parent_run(rid).info.run_id == parent.info.run_id
    got = client.get_run(rid)
    assert "gone" not in got.data.tags and got.data.tags["mlflow.loggedImages"] == "True"
    assert json.loads(got.data.tags["mlflow.loggedArtifacts"]) == [{"path": "table.json", "type": "table"}]
    assert json.loads(open(client.download_artifacts(rid, "table.json")).read())["data"] == [[1], [2], [3]]
    assert {f.path for f in client.list_artifacts(rid)} == {"deep", "images", "img.png", "table.json"}
    folder = nbtrack.artifacts.download_artifacts(f"runs:/{rid}/deep", dst_path=str(tmp_path))
    assert open(f"{folder}/er/t.txt").read() == "x"
    assert nbtrack.MlflowClient().get_artifact_uri(rid, "img.png").endswith(f"{rid}/artifacts/img.png")
    client.update_run(rid, name="renamed")
    nbtrack.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    with pytest.raises(RunNotActive):
        client.log_metric(rid, "m", 1.0)
    nbtrack.restore_run(rid)
    monkeypatch.setenv("MLFLOW_RUN_ID", rid)
    with nbtrack.start_run() as again:  # resumes the run
        nbtrack.log_metric("m", 2.0, step=1)
    resumed = client.get_run(rid)
    assert again.info.run_id == rid and resumed.info.run_name == "renamed" and resumed.data.metrics == {"m": 2.0}
    assert resumed.info.status == "FINISHED"


def test_paging_with_page_tokens_visits_every_run_once(remote):
    client = nbtrack.MlflowClient()
    eid = nbtrack.get_experiment_by_name(_experiment_name()).experiment_id
    for i in range(11):
        client.log_metric(client.create_run(eid).info.run_id, "i", float(i))
    seen, token = [], None
    while True:
        page = client.search_runs([eid], order_by=["metrics.i DESC"], max_results=3, page_token=token)
        seen += [r.data.metrics["i"] for r in page]
        token = page.token
        if token is None:
            break
    assert seen == [float(i) for i in range(10, -1, -1)]


def test_threads_logging_at_once_lose_and_repeat_nothing(remote):
    from concurrent.futures import ThreadPoolExecutor

    client = nbtrack.MlflowClient()
    run = client.create_run(nbtrack.get_experiment_by_name(_experiment_name()).experiment_id)

    def log(worker: int) -> None:
        for step in range(1500):
            client.log_metric(run.info.run_id, f"w{worker}", float(step), 1000 + step, step)

    with ThreadPoolExecutor(4) as pool:
        list(pool.map(log, range(4)))
    nbtrack.flush()
    for worker in range(4):
        assert [m.step for m in client.get_metric_history(run.info.run_id, f"w{worker}")] == list(range(1500))


def test_line_magic_compares_runs_by_name_on_a_server(remote, ip):
    for name, acc in (("alpha", 0.5), ("beta", 0.7)):
        with nbtrack.start_run(run_name=name):
            nbtrack.log_metric("acc", acc)
    table = ip.run_line_magic("nbtrack", "compare alpha beta")
    assert [c.split(" ")[0] for c in table.columns] == ["alpha", "beta"]
    assert list(table.loc["metrics.acc"]) == [0.5, 0.7]
