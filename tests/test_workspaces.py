"""Workspaces beyond the contract suite (tests/contract/test_workspaces.py): an older store's data
lands in the default workspace, the server's endpoints and header seen over raw HTTP and by real
MLflow's client, and the same script on real MLflow (sqlite, workspaces enabled) and on nbtrack."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import urllib.request

import pytest

import nbtrack
from nbtrack.store.duckdb.schema import MIGRATIONS
from tests.server_fixtures import nbtrack_server


@pytest.fixture(autouse=True)
def _default_workspace(monkeypatch):
    monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)
    nbtrack.set_workspace(None)
    yield
    nbtrack.set_workspace(None)


def test_an_older_store_keeps_everything_in_the_default_workspace(tmp_path):
    import duckdb

    from nbtrack.store.duckdb.store import DuckDBStore

    root = tmp_path / "old"
    root.mkdir()
    con = duckdb.connect(str(root / "nbtrack.duckdb"))
    con.execute("CREATE TABLE schema_migrations (name VARCHAR PRIMARY KEY, applied_at BIGINT)")
    for name, sql in MIGRATIONS:
        if name == "0006_workspaces":
            break
        for statement in filter(str.strip, sql.split(";")):
            con.execute(statement)
        con.execute("INSERT INTO schema_migrations VALUES (?, 0)", [name])
    con.execute("INSERT INTO experiments VALUES (7, 'kept', NULL, 'active', 0, 0)")
    con.execute("INSERT INTO registered_models VALUES ('abc', 'model', 0, 0, 'old', 0)")
    con.close()
    nbtrack.set_tracking_uri(str(root))
    store = DuckDBStore(str(root))
    try:
        assert "0006_workspaces" in store.archive.schema_version()
        assert store.get_experiment("7").workspace == "default"
        client = nbtrack.MlflowClient(str(root))
        assert client.get_registered_model("model").workspace == "default"
        assert [w.name for w in client.list_workspaces()] == ["default"]
        client.create_workspace("team-a")
        nbtrack.set_workspace("team-a")
        assert client.create_experiment("kept") != "7"  # the name is free in another workspace
        assert client.create_registered_model("model").workspace == "team-a"
        rows = nbtrack.sql("SELECT name, workspace FROM experiments ORDER BY workspace, name")
        assert rows.values.tolist() == [["Default", "default"], ["kept", "default"], ["kept", "team-a"]]
    finally:
        store.close()


def _http(url: str, method: str = "GET", body: dict | None = None, headers: dict | None = None) -> tuple[int, dict]:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            raw = r.read()
            return r.status, json.loads(raw) if raw else {}
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def test_server_endpoints_and_header_over_http(tmp_path):
    with nbtrack_server(tmp_path / "store") as url:
        api = url + "/api/3.0/mlflow/workspaces"
        assert _http(api + "/default")[1]["workspace"]["name"] == "default"
        status, body = _http(api, "POST", {"name": "team-a", "description": "A"})
        assert (status, body["workspace"]) == (201, {"name": "team-a", "description": "A"})
        assert _http(api, "POST", {"name": "team-a"})[1]["error_code"] == "RESOURCE_ALREADY_EXISTS"
        status, body = _http(api, "POST", {"name": "Bad_Name"})
        assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
        assert "lowercase alphanumeric" in body["message"]
        status, body = _http(api + "/team-a", "PATCH", {})
        assert status == 400 and "at least one key" in body["message"]
        assert _http(api + "/team-a", "PATCH", {"description": "B"})[1]["workspace"]["description"] == "B"
        assert [w["name"] for w in _http(api)[1]["workspaces"]] == ["default", "team-a"]
        create = url + "/api/2.0/mlflow/experiments/create"
        in_a = {"X-MLFLOW-WORKSPACE": "team-a"}
        _http(create, "POST", {"name": "e"}, in_a)
        _http(create, "POST", {"name": "e"})  # the same name in the default workspace
        search = url + "/api/2.0/mlflow/experiments/search"
        found = _http(search, "POST", {"max_results": 10}, in_a)[1]["experiments"]
        assert [(e["name"], e["workspace"]) for e in found] == [("e", "team-a")]
        status, body = _http(search, "POST", {"max_results": 10}, {"X-MLFLOW-WORKSPACE": "ghost-ws"})
        assert (status, body["error_code"]) == (404, "RESOURCE_DOES_NOT_EXIST")
        status, body = _http(search, "POST", {"max_results": 10}, {"X-MLFLOW-WORKSPACE": "NO"})
        assert (status, body["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
        status, body = _http(api + "/team-a", "DELETE")
        assert (status, body["error_code"]) == (400, "INVALID_STATE")
        assert _http(api + "/team-a?mode=CASCADE", "DELETE") == (204, {})
        assert _http(url + "/api/3.0/mlflow/server-info")[1]["workspaces_enabled"] is True
        spec = _http(url + "/api/openapi.json")[1]["paths"]
        assert set(spec["/api/3.0/mlflow/workspaces"]) == {"get", "post"}
        assert set(spec["/api/3.0/mlflow/workspaces/{workspace_name}"]) == {"get", "patch", "delete"}
        assert "201" in spec["/api/3.0/mlflow/workspaces"]["post"]["responses"]


_SCRIPT = textwrap.dedent("""
    import json, sys
    import {module} as mlflow
    from {module} import MlflowClient
    mlflow.set_tracking_uri(sys.argv[1])
    out = []
    def step(f):
        try:
            value = f()
            out.append(["ok", value])
        except Exception as e:
            out.append(["error", getattr(e, "error_code", type(e).__name__)])
    names = lambda: sorted(w.name for w in mlflow.list_workspaces())
    step(names)
    step(lambda: mlflow.create_workspace("team-a", description="A").description)
    step(lambda: mlflow.create_workspace("team-a").name)
    step(lambda: mlflow.create_workspace("Bad_Name").name)
    step(lambda: mlflow.get_workspace("nope").name)
    step(lambda: mlflow.set_workspace("team-a"))
    step(lambda: bool(mlflow.create_experiment("e1")))
    step(lambda: mlflow.create_experiment("e1"))
    step(lambda: [(e.name, e.workspace) for e in mlflow.search_experiments()])
    step(lambda: MlflowClient().create_registered_model("m1").workspace)
    step(lambda: mlflow.delete_workspace("team-a"))
    step(lambda: mlflow.delete_workspace("team-a", mode="BOGUS"))
    step(lambda: mlflow.delete_workspace("default"))
    step(lambda: mlflow.update_workspace("team-a", description="B").description)
    step(lambda: mlflow.update_workspace("nope", description="B").name)
    step(names)
    step(lambda: mlflow.delete_workspace("team-a", mode="CASCADE"))
    step(lambda: mlflow.set_workspace(None))
    step(names)
    print(json.dumps(out))
""")


def _run(module: str, uri: str, tmp_path) -> list:
    env = {**os.environ, "MLFLOW_ENABLE_WORKSPACES": "true"}
    for name in ("MLFLOW_TRACKING_URI", "NBTRACK_TRACKING_URI", "MLFLOW_WORKSPACE"):
        env.pop(name, None)
    done = subprocess.run([sys.executable, "-c", _SCRIPT.format(module=module), uri], capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=300, check=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_same_answers_as_mlflow(tmp_path):
    """Real MLflow on sqlite with MLFLOW_ENABLE_WORKSPACES (its multi-tenant mode) and nbtrack's
    embedded store answer the same workspace script with the same values and error codes."""
    pytest.importorskip("mlflow")
    theirs = _run("mlflow", f"sqlite:///{tmp_path / 'mlflow.db'}", tmp_path)
    ours = _run("nbtrack", str(tmp_path / "store"), tmp_path)
    assert ours == theirs
    assert theirs[8] == ["ok", [["e1", "team-a"]]] and theirs[10] == ["error", "INVALID_STATE"]
