"""nbtrack server's registry read endpoints over real HTTP: a model's history, what each stage and
alias held at a moment, and a version's signature (``/api/2.0/nbtrack/views/registry-*``,
``views/model-version-signature``)."""

from __future__ import annotations

import datetime as dt

import httpx
import pytest

from tests.server_fixtures import nbtrack_server

VIEWS = "/api/2.0/nbtrack/views/"
DAYS = {name: int(dt.datetime(2026, 1, day, 12).timestamp() * 1000)
        for name, day in (("v1", 5), ("v1_prod", 10), ("v2", 15), ("v2_prod", 20), ("v3", 25))}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("sklearn")
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import nbtrack
    import nbtrack.sklearn
    from nbtrack.store.duckdb import registry as duck_registry

    store = tmp_path_factory.mktemp("registry-views") / "store"
    before = nbtrack.get_tracking_uri()
    nbtrack.set_tracking_uri(str(store))
    X, y = load_iris(return_X_y=True, as_frame=True)
    client = nbtrack.MlflowClient()
    at = {"now": DAYS["v1"]}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(duck_registry, "_now", lambda: at["now"])
        try:
            for version in ("v1", "v2", "v3"):
                at["now"] = DAYS[version]
                with nbtrack.start_run():
                    nbtrack.sklearn.log_model(LogisticRegression(max_iter=300).fit(X, y), name="model",
                                              registered_model_name="iris", input_example=X.head(2))
                if version == "v1":
                    at["now"] = DAYS["v1_prod"]
                    client.transition_model_version_stage("iris", 1, "Production")
                    client.set_registered_model_alias("iris", "champion", 1)
                elif version == "v2":
                    at["now"] = DAYS["v2_prod"]
                    client.transition_model_version_stage("iris", 2, "Production", archive_existing_versions=True)
                    client.set_registered_model_alias("iris", "champion", 2)
            client.create_registered_model("empty")
        finally:
            nbtrack.set_tracking_uri(before)
    with nbtrack_server(store) as url, httpx.Client(base_url=url, timeout=30) as http:
        yield http


def post(http, op, body, status=200):
    r = http.post(VIEWS + op, json=body)
    assert r.status_code == status, r.text
    return r.json()


def test_history_lists_every_change_oldest_first(server):
    out = post(server, "registry-history", {"name": "iris"})
    events = [(e["kind"], e["version"], e["from"], e["to"], e["alias"]) for e in out["events"]]
    assert events == [
        ("created", 1, None, "None", None), ("stage", 1, "None", "Production", None),
        ("alias", 1, None, "1", "champion"),
        ("created", 2, None, "None", None), ("stage", 1, "Production", "Archived", None),
        ("stage", 2, "None", "Production", None), ("alias", 2, "1", "2", "champion"),
        ("created", 3, None, "None", None)]
    assert out["total"] == 8
    assert [e["timestamp"] for e in out["events"]][:2] == [DAYS["v1"], DAYS["v1_prod"]]
    assert all(e["user"] for e in out["events"])


def test_history_of_one_version_until_a_time_and_the_latest_only(server):
    v1 = post(server, "registry-history", {"name": "iris", "version": 1})["events"]
    assert [(e["kind"], e["to"]) for e in v1] == [("created", "None"), ("stage", "Production"), ("alias", "1"),
                                                  ("stage", "Archived"), ("alias", "2")]
    until = post(server, "registry-history", {"name": "iris", "until": DAYS["v1_prod"]})
    assert until["total"] == 3  # the stage change and the alias set on that day
    latest = post(server, "registry-history", {"name": "iris", "limit": 1})
    assert latest["total"] == 8 and [e["version"] for e in latest["events"]] == [3]


def test_snapshot_answers_what_was_in_production_on_a_date(server):
    def at(ms):
        snap = post(server, "registry-snapshot", {"name": "iris", "at": ms})
        assert snap["name"] == "iris" and snap["timestamp"] == ms
        return {s["version"]: s["stage"] for s in snap["stages"]}, {a["alias"]: a["version"] for a in snap["aliases"]}

    assert at(DAYS["v1"] - 1) == ({}, {})
    assert at(DAYS["v1_prod"]) == ({1: "Production"}, {"champion": 1})
    assert at(DAYS["v2"] + 1) == ({1: "Production", 2: "None"}, {"champion": 1})
    assert at(DAYS["v2_prod"]) == ({1: "Archived", 2: "Production"}, {"champion": 2})
    assert at(DAYS["v3"]) == ({1: "Archived", 2: "Production", 3: "None"}, {"champion": 2})


def test_signature_of_a_version_from_its_mlmodel(server):
    out = post(server, "model-version-signature", {"name": "iris", "version": "2"})
    assert out["has_mlmodel"] is True
    assert [c["name"] for c in out["inputs"]] == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)",
                                                  "petal width (cm)"]
    assert {c["type"] for c in out["inputs"]} == {"double"}
    assert out["outputs"][0]["type"] == "long"
    assert "sklearn" in out["flavors"] and "python_function" in out["flavors"]


def test_errors_name_what_is_wrong(server):
    missing = post(server, "registry-history", {"name": "nope"}, status=404)
    assert missing["error_code"] == "RESOURCE_DOES_NOT_EXIST" and "nope" in missing["message"]
    assert post(server, "registry-history", {}, status=400)["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "limit" in post(server, "registry-history", {"name": "iris", "limit": 0}, status=400)["message"]
    assert post(server, "registry-snapshot", {"name": "iris"}, status=400)["error_code"] == "INVALID_PARAMETER_VALUE"
    assert "'until'" in post(server, "registry-history", {"name": "iris", "until": -1}, status=400)["message"]
    assert "'at'" in post(server, "registry-snapshot", {"name": "iris", "at": 2**62}, status=400)["message"]
    assert post(server, "model-version-signature", {"name": "iris", "version": "9"}, status=404)["error_code"] == \
        "RESOURCE_DOES_NOT_EXIST"
    assert post(server, "registry-history", {"name": "empty"})["events"] == []


def test_documented_in_openapi(server):
    paths = server.get("/api/openapi.json").json()["paths"]
    for op in ("registry-history", "registry-snapshot", "model-version-signature"):
        assert VIEWS + op in paths
