"""MLflow 3 workspaces on every backend: create, list, get, update and delete them; experiment and
registered-model names unique per workspace; what each workspace sees; the three deletion modes;
bad names and modes refused with MLflow's error codes and a message that says what to do."""

from __future__ import annotations

import uuid

import pytest

import nbtrack
from nbtrack import config
from nbtrack.entities import TraceArchivalConfig
from nbtrack.errors import InvalidParameter, InvalidState, NotFound, ResourceExists


def _ws() -> str:
    """A workspace name no other test (or earlier session on the shared server) uses."""
    return "ws-" + uuid.uuid4().hex[:12]


@pytest.fixture(autouse=True)
def _default_workspace(monkeypatch):
    """Every test starts in the default workspace and leaves it there."""
    monkeypatch.delenv("MLFLOW_WORKSPACE", raising=False)
    nbtrack.set_workspace(None)
    yield
    nbtrack.set_workspace(None)


def test_workspace_lifecycle(backend):
    client = nbtrack.MlflowClient()
    name = _ws()
    names = [w.name for w in nbtrack.list_workspaces()]
    assert "default" in names and name not in names
    made = nbtrack.create_workspace(name, description="vision team",
                                    trace_archival_config=TraceArchivalConfig(retention="30d"))
    assert (made.name, made.description, made.default_artifact_root) == (name, "vision team", None)
    assert made.trace_archival_retention == "30d"
    assert client.get_workspace(name) == made
    assert name in [w.name for w in client.list_workspaces()]
    changed = nbtrack.update_workspace(name, default_artifact_root="/tmp/ws-artifacts")
    assert (changed.description, changed.default_artifact_root) == ("vision team", "/tmp/ws-artifacts")
    cleared = client.update_workspace(name, default_artifact_root="")  # '' clears, None keeps
    assert (cleared.description, cleared.default_artifact_root) == ("vision team", None)
    with pytest.raises(ResourceExists, match="already exists") as e:
        nbtrack.create_workspace(name)
    assert e.value.error_code == "RESOURCE_ALREADY_EXISTS"
    nbtrack.delete_workspace(name)
    with pytest.raises(NotFound, match=f"Workspace '{name}' not found") as e:
        nbtrack.get_workspace(name)
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_workspace("default").name == "default"
    assert client.get_workspace_store_uri() == client.tracking_uri


def test_names_are_unique_per_workspace(backend):
    client = nbtrack.MlflowClient()
    ws, exp, model = _ws(), backend.name("exp"), backend.name("model")
    nbtrack.create_workspace(ws)
    default_exp = nbtrack.create_experiment(exp)
    client.create_registered_model(model, description="in default")
    nbtrack.set_workspace(ws)
    assert nbtrack.get_experiment_by_name(exp) is None  # the default workspace's is not visible here
    with pytest.raises(NotFound):
        client.get_registered_model(model)
    ws_exp = nbtrack.create_experiment(exp)  # the same names again, in this workspace
    client.create_registered_model(model, description="in ws")
    assert ws_exp != default_exp
    found = nbtrack.get_experiment_by_name(exp)
    assert (found.experiment_id, found.workspace) == (ws_exp, ws)
    assert [e.experiment_id for e in nbtrack.search_experiments(filter_string=f"name = '{exp}'")] == [ws_exp]
    assert client.get_registered_model(model).description == "in ws"
    assert client.get_registered_model(model).workspace == ws
    assert [m.name for m in client.search_registered_models(f"name = '{model}'")] == [model]
    with pytest.raises(ResourceExists):
        nbtrack.create_experiment(exp)
    with nbtrack.start_run(experiment_id=ws_exp) as run:
        nbtrack.log_metric("acc", 0.9)
    assert nbtrack.get_run(run.info.run_id).data.metrics == {"acc": 0.9}
    nbtrack.set_workspace(None)
    assert nbtrack.get_experiment_by_name(exp).experiment_id == default_exp
    assert client.get_registered_model(model).description == "in default"
    assert all(e.workspace == "default" for e in nbtrack.search_experiments())


def test_an_unknown_active_workspace_is_refused(backend):
    nbtrack.set_workspace("ws-" + uuid.uuid4().hex[:12] + "-ghost")
    with pytest.raises(NotFound, match="not found") as e:
        nbtrack.create_experiment(backend.name("ghost"))
    assert e.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_delete_modes(backend):
    client = nbtrack.MlflowClient()
    restrict, moved, cascade = _ws(), _ws(), _ws()
    for ws in (restrict, moved, cascade):
        nbtrack.create_workspace(ws)
        nbtrack.set_workspace(ws)
        nbtrack.create_experiment(backend.name(ws))
        client.create_registered_model(backend.name(ws + "-m"))
    nbtrack.set_workspace(None)
    with pytest.raises(InvalidState, match="still holds 1 experiment") as e:
        nbtrack.delete_workspace(restrict)
    assert e.value.error_code == "INVALID_STATE" and "mode='CASCADE'" in e.value.message
    assert client.get_workspace(restrict).name == restrict  # still there
    nbtrack.delete_workspace(moved, mode="SET_DEFAULT")
    assert nbtrack.get_experiment_by_name(backend.name(moved)).workspace == "default"
    assert client.get_registered_model(backend.name(moved + "-m")).workspace == "default"
    client.delete_workspace(cascade, mode="CASCADE")
    assert nbtrack.get_experiment_by_name(backend.name(cascade)) is None
    assert cascade not in [w.name for w in nbtrack.list_workspaces()]
    nbtrack.set_workspace(restrict)
    assert [e.name for e in nbtrack.search_experiments()] == [backend.name(restrict)]


def test_bad_input_is_refused_with_mlflows_codes(backend):
    with pytest.raises(InvalidParameter, match="lowercase alphanumeric") as e:
        nbtrack.create_workspace("Team_A")
    assert e.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(InvalidParameter, match="between 2 and 63"):
        nbtrack.create_workspace("a")
    with pytest.raises(InvalidParameter, match="reserved"):
        nbtrack.create_workspace("api")
    with pytest.raises(InvalidParameter, match="reserved"):
        nbtrack.create_workspace("default")
    with pytest.raises(InvalidParameter, match="Invalid deletion mode 'BOGUS'. Must be one of: SET_DEFAULT"):
        nbtrack.delete_workspace("team-a", mode="BOGUS")
    with pytest.raises(InvalidState, match="reserved 'default'"):
        nbtrack.MlflowClient().delete_workspace("default")
    with pytest.raises(InvalidParameter, match="must match the pattern"):
        nbtrack.set_workspace("Not Valid")
    assert config.active_workspace() == "default"


def test_set_workspace_is_inherited_through_mlflow_workspace(backend, monkeypatch):
    ws = _ws()
    nbtrack.create_workspace(ws)
    monkeypatch.setenv("MLFLOW_WORKSPACE", ws)  # as MLflow: the variable names the active workspace
    eid = nbtrack.create_experiment(backend.name("env"))
    assert nbtrack.get_experiment(eid).workspace == ws
    nbtrack.set_workspace(None)  # clears the variable too
    assert nbtrack.get_experiment_by_name(backend.name("env")) is None
