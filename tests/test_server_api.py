"""nbtrack server over real HTTP: every endpoint, MLflow's bodies, status codes and paging."""

from __future__ import annotations

import threading

import httpx
import pytest

from tests.server_fixtures import nbtrack_server, start_server, stop_server

API = "/api/2.0/mlflow/"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    store = tmp_path_factory.mktemp("api") / "store"
    with nbtrack_server(store, max_body_size=1_000_000) as url:
        yield url, store


@pytest.fixture(scope="module")
def http(server):
    with httpx.Client(base_url=server[0], timeout=30) as c:
        yield c


def call(http, method, path, body=None, params=None, status=200):
    r = http.request(method, API + path, json=body, params=params) if method != "GET" else \
        http.get(API + path, params=params)
    assert r.status_code == status, r.text
    return r.json()


def error(http, method, path, body=None, params=None, status=400, code="INVALID_PARAMETER_VALUE"):
    out = call(http, method, path, body, params, status)
    assert set(out) == {"error_code", "message"} and out["error_code"] == code, out
    return out["message"]


@pytest.fixture(scope="module")
def exp_id(http):
    return call(http, "POST", "experiments/create", {"name": "api-exp", "tags": [{"key": "t", "value": "1"}]})[
        "experiment_id"]


def new_run(http, exp_id, **extra):
    return call(http, "POST", "runs/create", {"experiment_id": exp_id, "start_time": 1000, **extra})["run"]


# -- service ----------------------------------------------------------------------------------
def test_health_version_root_and_openapi(http):
    assert http.get("/health").text == "OK"
    assert http.get("/version").status_code == 200
    root = http.get("/")  # the web UI (built by the set-up); its page says where the API is when not built
    assert root.status_code == 200 and root.headers["content-type"].startswith("text/html")
    assert '<div id="nbt-app"' in root.text and 'src="static/main.js"' in root.text
    assert http.get("/static/main.js").headers["content-type"].startswith("text/javascript")
    assert http.get("/static/../_app.py").status_code == 404
    doc = http.get("/api/openapi.json").json()
    assert doc["openapi"].startswith("3.") and API + "runs/log-batch" in doc["paths"]
    assert "/api/2.0/mlflow-artifacts/artifacts/{artifact_path}" in doc["paths"]


def test_unknown_endpoint_and_method(http):
    assert http.get(API + "nope").json()["error_code"] == "ENDPOINT_NOT_FOUND"
    assert http.get(API + "nope").status_code == 404
    assert http.get(API + "runs/log-batch").status_code == 405


# -- experiments ------------------------------------------------------------------------------
def test_experiment_lifecycle(http, exp_id):
    exp = call(http, "GET", "experiments/get", params={"experiment_id": exp_id})["experiment"]
    assert exp["name"] == "api-exp" and exp["lifecycle_stage"] == "active"
    assert exp["artifact_location"] == f"mlflow-artifacts:/{exp_id}" and exp["tags"] == [{"key": "t", "value": "1"}]
    by_name = call(http, "GET", "experiments/get-by-name", params={"experiment_name": "api-exp"})["experiment"]
    assert by_name["experiment_id"] == exp_id
    error(http, "POST", "experiments/create", {"name": "api-exp"}, code="RESOURCE_ALREADY_EXISTS")
    error(http, "GET", "experiments/get", params={"experiment_id": "999"}, status=404, code="RESOURCE_DOES_NOT_EXIST")
    error(http, "GET", "experiments/get-by-name", params={"experiment_name": "nope"}, status=404,
          code="RESOURCE_DOES_NOT_EXIST")
    call(http, "POST", "experiments/set-experiment-tag", {"experiment_id": exp_id, "key": "k", "value": "v"})
    call(http, "POST", "experiments/delete-experiment-tag", {"experiment_id": exp_id, "key": "t"})
    tags = call(http, "GET", "experiments/get", params={"experiment_id": exp_id})["experiment"]["tags"]
    assert tags == [{"key": "k", "value": "v"}]


def test_experiment_rename_delete_restore_and_search_paging(http):
    ids = [call(http, "POST", "experiments/create", {"name": f"page-{i}"})["experiment_id"] for i in range(5)]
    call(http, "POST", "experiments/update", {"experiment_id": ids[0], "new_name": "page-renamed"})
    call(http, "POST", "experiments/delete", {"experiment_id": ids[1]})
    seen, token = [], None
    while True:
        body = {"max_results": 2, "filter": "name LIKE 'page-%'", "order_by": ["name ASC"]}
        page = call(http, "POST", "experiments/search", {**body, **({"page_token": token} if token else {})})
        assert len(page["experiments"]) <= 2
        seen += [e["name"] for e in page["experiments"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == ["page-2", "page-3", "page-4", "page-renamed"]
    deleted = call(http, "GET", "experiments/search", params={"view_type": "DELETED_ONLY"})["experiments"]
    assert [e["experiment_id"] for e in deleted] == [ids[1]]
    call(http, "POST", "experiments/restore", {"experiment_id": ids[1]})
    exp = call(http, "GET", "experiments/get", params={"experiment_id": ids[1]})["experiment"]
    assert exp["lifecycle_stage"] == "active"


# -- runs -------------------------------------------------------------------------------------
def test_run_create_get_update(http, exp_id):
    run = new_run(http, exp_id, run_name="first", user_id="ana", tags=[{"key": "team", "value": "cv"}])
    info = run["info"]
    assert info["status"] == "RUNNING" and info["run_name"] == "first" and info["user_id"] == "ana"
    assert info["run_uuid"] == info["run_id"] and info["start_time"] == 1000
    assert info["artifact_uri"] == f"mlflow-artifacts:/{exp_id}/{info['run_id']}/artifacts"
    updated = call(http, "POST", "runs/update", {"run_id": info["run_id"], "status": "FINISHED", "end_time": 2000,
                                                  "run_name": "renamed"})["run_info"]
    assert updated["status"] == "FINISHED" and updated["end_time"] == 2000 and updated["run_name"] == "renamed"
    got = call(http, "GET", "runs/get", params={"run_uuid": info["run_id"]})["run"]
    assert {"key": "team", "value": "cv"} in got["data"]["tags"]
    error(http, "GET", "runs/get", params={"run_id": "0" * 32}, status=404, code="RESOURCE_DOES_NOT_EXIST")


def test_logging_calls(http, exp_id):
    run_id = new_run(http, exp_id)["info"]["run_id"]
    call(http, "POST", "runs/log-metric", {"run_id": run_id, "key": "acc", "value": 0.5, "timestamp": 5, "step": 1})
    call(http, "POST", "runs/log-metric", {"run_id": run_id, "key": "acc", "value": "NaN", "timestamp": 6, "step": 2})
    call(http, "POST", "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.1"})
    error(http, "POST", "runs/log-parameter", {"run_id": run_id, "key": "lr", "value": "0.2"})
    call(http, "POST", "runs/set-tag", {"run_uuid": run_id, "key": "a", "value": "b"})
    call(http, "POST", "runs/set-tag", {"run_id": run_id, "key": "gone", "value": "x"})
    call(http, "POST", "runs/delete-tag", {"run_id": run_id, "key": "gone"})
    call(http, "POST", "runs/log-batch", {"run_id": run_id, "metrics": [
        {"key": "loss", "value": 1.5, "timestamp": 7, "step": 0}, {"key": "loss", "value": "Infinity", "timestamp": 8,
                                                                    "step": 1}],
        "params": [{"key": "opt", "value": "adam"}], "tags": [{"key": "t2", "value": "v2"}]})
    call(http, "POST", "runs/log-inputs", {"run_id": run_id, "datasets": [{"tags": [{"key": "mlflow.data.context",
                                                                                    "value": "train"}],
        "dataset": {"name": "iris", "digest": "abc", "source_type": "local", "source": "{}"}}]})
    run = call(http, "GET", "runs/get", params={"run_id": run_id})["run"]
    metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
    assert metrics["loss"] == "Infinity" and metrics["acc"] == "NaN"
    assert {p["key"]: p["value"] for p in run["data"]["params"]} == {"lr": "0.1", "opt": "adam"}
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["a"] == "b" and tags["t2"] == "v2" and "gone" not in tags
    (inp,) = run["inputs"]["dataset_inputs"]
    assert inp["dataset"]["name"] == "iris" and inp["tags"][0]["value"] == "train"


def test_metric_history_paging_and_bulk_interval(http, exp_id):
    run_ids = [new_run(http, exp_id)["info"]["run_id"] for _ in range(2)]
    for run_id in run_ids:
        metrics = [{"key": "m", "value": i / 10, "timestamp": 100 + i, "step": i} for i in range(25)]
        call(http, "POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})
    full = call(http, "GET", "metrics/get-history", params={"run_id": run_ids[0], "metric_key": "m"})["metrics"]
    assert [m["step"] for m in full] == list(range(25)) and full[3] == {"key": "m", "value": 0.3, "timestamp": 103,
                                                                       "step": 3}
    paged, token = [], None
    while True:
        params = {"run_id": run_ids[0], "metric_key": "m", "max_results": 10, **({"page_token": token} if token else {})}
        page = call(http, "GET", "metrics/get-history", params=params)
        paged += page["metrics"]
        token = page.get("next_page_token")
        if not token:
            break
    assert paged == full
    bulk = call(http, "GET", "metrics/get-history-bulk-interval",
                params={"run_ids": run_ids, "metric_key": "m", "max_results": 5})["metrics"]
    assert {m["run_id"] for m in bulk} == set(run_ids)
    steps = sorted({m["step"] for m in bulk})
    assert len(steps) == 5 and steps[0] == 0 and steps[-1] == 24
    ranged = call(http, "GET", "metrics/get-history-bulk-interval",
                  params={"run_ids": run_ids[0], "metric_key": "m", "start_step": 3, "end_step": 5})["metrics"]
    assert [m["step"] for m in ranged] == [3, 4, 5]
    error(http, "GET", "metrics/get-history-bulk-interval", params={"run_ids": run_ids[0], "metric_key": "m",
                                                                   "start_step": 3})


def test_search_runs_filter_order_paging_and_delete(http):
    exp = call(http, "POST", "experiments/create", {"name": "search-exp"})["experiment_id"]
    ids = []
    for i in range(7):
        run_id = new_run(http, exp)["info"]["run_id"]
        call(http, "POST", "runs/log-batch", {"run_id": run_id, "metrics": [{"key": "acc", "value": i / 10,
                                                                             "timestamp": 1, "step": 0}],
                                              "params": [{"key": "i", "value": str(i)}]})
        ids.append(run_id)
    body = {"experiment_ids": [exp], "filter": "metrics.acc >= 0.2", "order_by": ["metrics.acc DESC"], "max_results": 2}
    seen, token = [], None
    while True:
        page = call(http, "POST", "runs/search", {**body, **({"page_token": token} if token else {})})
        seen += [r["info"]["run_id"] for r in page["runs"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert seen == ids[2:][::-1]
    call(http, "POST", "runs/delete", {"run_id": ids[0]})
    active = call(http, "POST", "runs/search", {"experiment_ids": [exp]})["runs"]
    assert ids[0] not in [r["info"]["run_id"] for r in active]
    deleted = call(http, "POST", "runs/search", {"experiment_ids": [exp], "run_view_type": "DELETED_ONLY"})["runs"]
    assert [r["info"]["run_id"] for r in deleted] == [ids[0]]
    call(http, "POST", "runs/restore", {"run_id": ids[0]})
    assert len(call(http, "POST", "runs/search", {"experiment_ids": [exp]})["runs"]) == 7
    assert call(http, "POST", "runs/search", {"experiment_ids": [exp], "filter": "params.i = '99'"}) == {}
    message = error(http, "POST", "runs/search", {"experiment_ids": [exp], "filter": "metrics.acc >>> 1"})
    assert "acc" in message or ">" in message


# -- artifacts --------------------------------------------------------------------------------
def test_artifact_proxy_and_listing(http, exp_id, server):
    run_id = new_run(http, exp_id)["info"]["run_id"]
    base = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts"
    assert http.put(base + "/plots/a.txt", content=b"hello").status_code == 200
    assert http.put(base + "/b.bin", content=bytes(range(256)) * 100).status_code == 200
    assert http.get(base + "/plots/a.txt").content == b"hello"
    assert http.get(base + "/b.bin").content == bytes(range(256)) * 100
    listing = http.get("/api/2.0/mlflow-artifacts/artifacts", params={"path": f"{exp_id}/{run_id}/artifacts"}).json()
    assert listing["files"] == [{"path": "b.bin", "is_dir": False, "file_size": 25600},
                                {"path": "plots", "is_dir": True}]
    listed = call(http, "GET", "artifacts/list", params={"run_id": run_id, "path": "plots"})
    assert listed["root_uri"].endswith(f"{run_id}/artifacts") and listed["files"] == [
        {"path": "plots/a.txt", "is_dir": False, "file_size": 5}]
    assert http.delete(base + "/plots/a.txt").status_code == 200
    assert http.get(base + "/plots/a.txt").status_code == 404
    assert (server[1] / "artifacts" / exp_id / run_id / "artifacts" / "b.bin").stat().st_size == 25600
    r = http.post(f"/api/2.0/mlflow-artifacts/mpu/create/{exp_id}/{run_id}/artifacts", json={})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"  # no 'path' (the file)
    # multipart upload itself: tests/test_server_multipart.py


# -- registry ---------------------------------------------------------------------------------
def _model_run(http, exp_id):
    run_id = new_run(http, exp_id)["info"]["run_id"]
    base = f"/api/2.0/mlflow-artifacts/artifacts/{exp_id}/{run_id}/artifacts/model"
    http.put(base + "/MLmodel", content=b"flavors: {}\n")
    return run_id, f"mlflow-artifacts:/{exp_id}/{run_id}/artifacts/model"


def test_registry(http, exp_id):
    rm = call(http, "POST", "registered-models/create", {"name": "reg", "description": "d",
                                                         "tags": [{"key": "k", "value": "v"}]})["registered_model"]
    assert rm["name"] == "reg" and rm["description"] == "d" and rm["tags"] == [{"key": "k", "value": "v"}]
    error(http, "POST", "registered-models/create", {"name": "reg"}, code="RESOURCE_ALREADY_EXISTS")
    versions = []
    for _ in range(2):
        run_id, source = _model_run(http, exp_id)
        mv = call(http, "POST", "model-versions/create", {"name": "reg", "source": source, "run_id": run_id})
        versions.append(mv["model_version"])
    assert [v["version"] for v in versions] == ["1", "2"] and versions[0]["status"] == "READY"
    assert versions[0]["current_stage"] == "None"
    call(http, "POST", "model-versions/transition-stage", {"name": "reg", "version": "1", "stage": "Production",
                                                            "archive_existing_versions": False})
    mv = call(http, "POST", "model-versions/transition-stage", {"name": "reg", "version": "2", "stage": "production",
                                                                 "archive_existing_versions": True})["model_version"]
    assert mv["current_stage"] == "Production"
    v1 = call(http, "GET", "model-versions/get", params={"name": "reg", "version": "1"})["model_version"]
    assert v1["current_stage"] == "Archived"
    latest = call(http, "POST", "registered-models/get-latest-versions", {"name": "reg", "stages": ["Production"]})
    assert [v["version"] for v in latest["model_versions"]] == ["2"]
    call(http, "POST", "registered-models/alias", {"name": "reg", "alias": "champion", "version": "2"})
    by_alias = call(http, "GET", "registered-models/alias", params={"name": "reg", "alias": "champion"})
    assert by_alias["model_version"]["version"] == "2" and by_alias["model_version"]["aliases"] == ["champion"]
    got = call(http, "GET", "registered-models/get", params={"name": "reg"})["registered_model"]
    assert got["aliases"] == [{"alias": "champion", "version": "2"}]
    uri = call(http, "GET", "model-versions/get-download-uri", params={"name": "reg", "version": "2"})["artifact_uri"]
    assert uri.startswith("mlflow-artifacts:/")
    assert http.get("/api/2.0/mlflow-artifacts/artifacts/" + uri.split(":/", 1)[1] + "/MLmodel").content == \
        b"flavors: {}\n"
    call(http, "DELETE", "registered-models/alias", {"name": "reg", "alias": "champion"})
    error(http, "GET", "registered-models/alias", params={"name": "reg", "alias": "champion"})
    call(http, "POST", "model-versions/set-tag", {"name": "reg", "version": "1", "key": "q", "value": "ok"})
    call(http, "PATCH", "model-versions/update", {"name": "reg", "version": "1", "description": "old"})
    v1 = call(http, "GET", "model-versions/get", params={"name": "reg", "version": "1"})["model_version"]
    assert v1["tags"] == [{"key": "q", "value": "ok"}] and v1["description"] == "old"
    call(http, "DELETE", "model-versions/delete-tag", {"name": "reg", "version": "1", "key": "q"})
    found = call(http, "GET", "model-versions/search", params={"filter": "name = 'reg'", "max_results": 1})
    assert len(found["model_versions"]) == 1 and found["next_page_token"]
    call(http, "POST", "registered-models/set-tag", {"name": "reg", "key": "k2", "value": "v2"})
    call(http, "DELETE", "registered-models/delete-tag", {"name": "reg", "key": "k"})
    call(http, "PATCH", "registered-models/update", {"name": "reg", "description": "new"})
    renamed = call(http, "POST", "registered-models/rename", {"name": "reg", "new_name": "reg2"})
    assert renamed["registered_model"]["name"] == "reg2"
    models = call(http, "GET", "registered-models/search", params={"filter": "name LIKE 'reg%'"})
    assert [m["name"] for m in models["registered_models"]] == ["reg2"]
    call(http, "DELETE", "model-versions/delete", {"name": "reg2", "version": "1"})
    error(http, "GET", "model-versions/get", params={"name": "reg2", "version": "1"}, status=404,
          code="RESOURCE_DOES_NOT_EXIST")
    call(http, "DELETE", "registered-models/delete", {"name": "reg2"})
    error(http, "GET", "registered-models/get", params={"name": "reg2"}, status=404, code="RESOURCE_DOES_NOT_EXIST")


def test_ajax_prefix_serves_the_same_api(http, exp_id):
    r = http.get("/ajax-api/2.0/mlflow/experiments/get", params={"experiment_id": exp_id})
    assert r.json()["experiment"]["experiment_id"] == exp_id


# -- malformed requests: 400, never 500 -------------------------------------------------------
BAD_BODIES = [
    ("experiments/create", b"{not json"),
    ("experiments/create", b"[1, 2]"),
    ("experiments/create", b'{"name": 5}'),
    ("experiments/create", b'{"name": "x", "tags": {"key": "a"}}'),
    ("experiments/create", b'{"name": "x", "tags": [5]}'),
    ("runs/log-metric", b'{"run_id": "r", "key": "k", "value": "abc", "timestamp": 1}'),
    ("runs/log-metric", b'{"run_id": "r", "key": "k", "value": 1, "timestamp": true}'),
    ("runs/log-metric", b'{"run_id": "r", "key": "k", "value": 1, "timestamp": 99999999999999999999}'),
    ("runs/log-metric", b'{"run_id": "r", "key": "k", "value": 1}'),
    ("runs/log-batch", b'{"run_id": "r", "metrics": "many"}'),
    ("runs/log-batch", b'{"run_id": "r", "metrics": [{"key": "k", "value": 1, "timestamp": 1, "step": 1.5}]}'),
    ("runs/update", b'{"run_id": "r", "status": "DONE"}'),
    ("runs/search", b'{"max_results": "lots"}'),
    ("runs/search", b'{"max_results": 50001}'),
    ("runs/search", b'{"experiment_ids": "0"}'),
    ("runs/search", b'{"run_view_type": 9}'),
    ("runs/search", b'{"page_token": "garbage"}'),
    ("model-versions/transition-stage", b'{"name": "m", "version": "1", "stage": "Prod", "archive_existing_versions": "yes"}'),
    ("runs/create", b'{"experiment_id": "0", "start_time": -99999999999999999999999}'),
    ("runs/create", b"\"\\ud800\""),
    ("experiments/create", b'{"name": "' + b"\xff\xfe" + b'"}'),
    ("experiments/create", b"[" * 5000 + b"]" * 5000),
    ("experiments/create", b'{"a":' * 100 + b"1" + b"}" * 100),
    ("experiments/create", b'{"name": "x", "junk": ' + b"[" * 40 + b"]" * 40 + b"}"),
    ("runs/log-batch", b'{"run_id": "r", "metrics": [{"key": "k", "value": 1, "timestamp": 1, "x": '
                       + b"[" * 40 + b"]" * 40 + b"}]}"),
    ("runs/log-batch", b'{"run_id": "r", "metrics": [{"key": "k", "value": ' + b"9" * 400 + b', "timestamp": 1}]}'),
]


@pytest.mark.parametrize(("path", "body"), BAD_BODIES)
def test_malformed_requests_are_400(http, path, body):
    r = http.post(API + path, content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 400, r.text
    assert r.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_bad_query_values_are_400(http):
    for params in ({"experiment_id": "0", "view_type": "x"}, {"max_results": "x"}):
        r = http.get(API + "experiments/search", params=params)
        assert r.status_code == 400, r.text
    r = http.get(API + "metrics/get-history", params={"run_id": "r", "metric_key": "m", "max_results": "-1"})
    assert r.status_code in (400, 404) and r.json()["error_code"] in ("INVALID_PARAMETER_VALUE",
                                                                      "RESOURCE_DOES_NOT_EXIST")


def test_body_over_limit_is_413(http):
    r = http.post(API + "runs/log-batch", content=b" " * 1_100_000, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["error_code"] == "REQUEST_LIMIT_EXCEEDED"


# -- several server processes over one store ----------------------------------------------------
def test_two_servers_and_two_workers_over_one_store_count_every_point(tmp_path):
    store = tmp_path / "shared"
    procs = [start_server(store), start_server(store, workers=2)]
    try:
        urls = [url for _, url in procs]
        with httpx.Client(base_url=urls[0], timeout=60) as c:
            exp = call(c, "POST", "experiments/create", {"name": "shared"})["experiment_id"]
        run_ids, errors = [], []

        def client(url, n):
            try:
                with httpx.Client(base_url=url, timeout=60) as c:
                    run_id = new_run(c, exp)["info"]["run_id"]
                    run_ids.append(run_id)
                    for b in range(10):
                        metrics = [{"key": "x", "value": float(i), "timestamp": i, "step": b * 200 + i}
                                   for i in range(200)]
                        call(c, "POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})
            except Exception as e:  # reported below
                errors.append(repr(e))

        threads = [threading.Thread(target=client, args=(urls[i % 2], i)) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert not errors
        for url in urls:  # each process sees what the others wrote
            with httpx.Client(base_url=url, timeout=60) as c:
                for run_id in run_ids:
                    history = call(c, "GET", "metrics/get-history", params={"run_id": run_id, "metric_key": "x"})
                    assert sorted(m["step"] for m in history["metrics"]) == list(range(2000))
        import nbtrack

        client_ = nbtrack.MlflowClient(str(store))
        assert sum(len(client_.get_metric_history(r, "x")) for r in run_ids) == 8000
    finally:
        for proc, _ in procs:
            stop_server(proc)
