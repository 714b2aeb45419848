"""The fluent tracking API behaves as MLflow's (names, defaults, semantics, errors)."""

from __future__ import annotations

import math
import os

import pytest

import nbtrack
import nbtrack as mlflow
from nbtrack.entities import Metric, Param, RunTag
from nbtrack.errors import (
    InvalidParameter,
    NbtrackError,
    NotFound,
    ParamConflict,
    ResourceExists,
    RunNotActive,
)


def test_tracking_uri_defaults_to_dot_nbtrack(monkeypatch, tmp_path):
    monkeypatch.delenv("NBTRACK_TRACKING_URI")
    monkeypatch.chdir(tmp_path)
    assert mlflow.get_tracking_uri() == str(tmp_path / ".nbtrack")
    assert not mlflow.is_tracking_uri_set()
    mlflow.set_tracking_uri(str(tmp_path / "elsewhere"))
    assert mlflow.get_tracking_uri() == str(tmp_path / "elsewhere")
    assert mlflow.is_tracking_uri_set()


def test_duckdb_and_file_uris_open_the_same_folder(tmp_path):
    mlflow.set_tracking_uri(f"duckdb://{tmp_path}/s")
    with mlflow.start_run() as run:
        mlflow.log_param("a", 1)
    mlflow.set_tracking_uri(f"file://{tmp_path}/s")
    assert mlflow.get_run(run.info.run_id).data.params == {"a": "1"}
    assert (tmp_path / "s" / "nbtrack.duckdb").exists()


def test_default_experiment_and_set_experiment():
    assert mlflow.get_experiment("0").name == "Default"
    exp = mlflow.set_experiment("demo")
    assert exp.name == "demo" and exp.experiment_id == "1"
    assert mlflow.set_experiment("demo").experiment_id == "1"
    assert mlflow.set_experiment(experiment_id="1").name == "demo"
    with mlflow.start_run() as run:
        pass
    assert run.info.experiment_id == "1"
    with pytest.raises(InvalidParameter, match="exactly one"):
        mlflow.set_experiment()
    with pytest.raises(NotFound, match="does not exist"):
        mlflow.set_experiment(experiment_id="42")


def test_create_experiment_with_tags_and_location(tmp_path):
    eid = mlflow.create_experiment("e", artifact_location=str(tmp_path / "art"), tags={"team": "x"})
    exp = mlflow.get_experiment(eid)
    assert exp.tags == {"team": "x"}
    assert exp.artifact_location == str(tmp_path / "art")
    with mlflow.start_run(experiment_id=eid) as run:
        mlflow.log_text("hi", "a.txt")
    assert run.info.artifact_uri == f"{tmp_path / 'art'}/{run.info.run_id}/artifacts"
    assert (tmp_path / "art" / run.info.run_id / "artifacts" / "a.txt").read_text() == "hi"
    with pytest.raises(ResourceExists, match="already exists"):
        mlflow.create_experiment("e")
    with pytest.raises(InvalidParameter):
        mlflow.create_experiment("")
    assert mlflow.get_experiment_by_name("nope") is None


def test_delete_and_restore_experiment_carry_their_runs():
    eid = mlflow.create_experiment("gone")
    with mlflow.start_run(experiment_id=eid) as run:
        pass
    mlflow.delete_experiment(eid)
    assert mlflow.get_experiment(eid).lifecycle_stage == "deleted"
    assert mlflow.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(RunNotActive, match="deleted experiment"):
        mlflow.set_experiment("gone")
    with pytest.raises(ResourceExists, match="deleted state"):
        mlflow.create_experiment("gone")
    mlflow.restore_experiment(eid)
    assert mlflow.get_run(run.info.run_id).info.lifecycle_stage == "active"
    names = [e.name for e in mlflow.search_experiments()]
    assert "gone" in names and "Default" in names


def test_experiment_tags():
    mlflow.set_experiment("t")
    mlflow.set_experiment_tag("a", 1)
    mlflow.set_experiment_tags({"b": "2"})
    assert mlflow.get_experiment_by_name("t").tags == {"a": "1", "b": "2"}
    mlflow.delete_experiment_tag("a")
    assert mlflow.get_experiment_by_name("t").tags == {"b": "2"}


def test_start_run_as_context_manager_records_everything():
    with mlflow.start_run(run_name="r1", tags={"k": "v"}, description="about") as run:
        assert mlflow.active_run().info.run_id == run.info.run_id
        assert mlflow.log_param("lr", 0.1) == 0.1
        mlflow.log_params({"layers": 3, "act": "relu"})
        mlflow.log_metric("loss", 0.5, step=0)
        mlflow.log_metric("loss", 0.25, step=1)
        mlflow.log_metrics({"acc": 0.9, "f1": 0.8}, step=1)
        mlflow.set_tag("stage", "dev")
        mlflow.set_tags({"x": 1})
    assert mlflow.active_run() is None
    got = mlflow.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.info.end_time >= got.info.start_time
    assert got.info.run_name == "r1"
    assert got.data.params == {"lr": "0.1", "layers": "3", "act": "relu"}
    assert got.data.metrics == {"loss": 0.25, "acc": 0.9, "f1": 0.8}
    tags = got.data.tags
    assert tags["k"] == "v" and tags["stage"] == "dev" and tags["x"] == "1"
    assert tags["mlflow.runName"] == "r1" and tags["mlflow.note.content"] == "about"
    assert tags["mlflow.source.type"] == "LOCAL" and tags["mlflow.user"]
    assert mlflow.last_active_run().info.run_id == run.info.run_id


def test_with_block_that_raises_ends_failed_and_interrupt_ends_killed():
    with pytest.raises(ZeroDivisionError), mlflow.start_run() as failed:
        1 / 0
    with pytest.raises(KeyboardInterrupt), mlflow.start_run() as killed:
        raise KeyboardInterrupt
    assert mlflow.get_run(failed.info.run_id).info.status == "FAILED"
    assert mlflow.get_run(killed.info.run_id).info.status == "KILLED"


def test_second_start_run_without_nested_is_an_error_and_nested_links_parent():
    with mlflow.start_run() as parent:
        with pytest.raises(NbtrackError, match="already active"):
            mlflow.start_run()
        with mlflow.start_run(nested=True) as child:
            pass
        with pytest.raises(InvalidParameter, match="does not match"):
            mlflow.start_run(nested=True, parent_run_id="0" * 32)
    assert mlflow.get_run(child.info.run_id).data.tags["mlflow.parentRunId"] == parent.info.run_id
    assert mlflow.get_parent_run(child.info.run_id).info.run_id == parent.info.run_id
    assert mlflow.get_parent_run(parent.info.run_id) is None


def test_resume_run_by_id_and_by_env(monkeypatch):
    with mlflow.start_run() as run:
        mlflow.log_param("a", "1")
    with mlflow.start_run(run_id=run.info.run_id) as again:
        assert mlflow.get_run(run.info.run_id).info.status == "RUNNING"
        mlflow.log_metric("m", 2.0)
        with pytest.raises(ParamConflict):
            mlflow.log_param("a", "2")
    assert again.info.run_id == run.info.run_id
    monkeypatch.setenv("MLFLOW_RUN_ID", run.info.run_id)
    with mlflow.start_run() as third:
        pass
    assert third.info.run_id == run.info.run_id and "MLFLOW_RUN_ID" not in os.environ
    got = mlflow.get_run(run.info.run_id)
    assert got.info.status == "FINISHED" and got.data.metrics == {"m": 2.0}


def test_end_run_status_and_unknown_status():
    run = mlflow.start_run()
    mlflow.end_run("KILLED")
    assert mlflow.get_run(run.info.run_id).info.status == "KILLED"
    mlflow.end_run()  # nothing active: no-op, as MLflow
    mlflow.start_run()
    with pytest.raises(InvalidParameter, match="Could not get run status"):
        mlflow.end_run("BOGUS")


def test_log_without_active_run_starts_one():
    mlflow.log_metric("x", 1.0)
    run = mlflow.active_run()
    assert run is not None
    mlflow.end_run()
    assert mlflow.get_run(run.info.run_id).data.metrics == {"x": 1.0}


def test_params_are_strings_and_immutable():
    with mlflow.start_run() as run:
        mlflow.log_param("obj", {"a": 1})
        mlflow.log_param("n", 5)
        mlflow.log_param("n", "5")  # same value again is fine
        with pytest.raises(ParamConflict, match="Changing param values is not allowed") as err:
            mlflow.log_param("n", 6)
        assert err.value.old_value == "5" and err.value.new_value == "6"
        with pytest.raises(InvalidParameter, match="Duplicate parameter keys"):
            mlflow.MlflowClient().log_batch(run.info.run_id, params=[Param("d", "1"), Param("d", "2")])
    assert mlflow.get_run(run.info.run_id).data.params == {"obj": "{'a': 1}", "n": "5"}


def test_metric_history_nan_inf_and_latest_by_step_then_timestamp():
    client = mlflow.MlflowClient()
    with mlflow.start_run() as run:
        rid = run.info.run_id
        client.log_metric(rid, "m", 0.5, timestamp=1, step=0)
        client.log_metric(rid, "m", 0.3, timestamp=2, step=2)
        client.log_metric(rid, "m", 0.9, timestamp=9, step=1)  # older step: not the latest
        client.log_metric(rid, "t", 0.9, timestamp=1, step=0)
        client.log_metric(rid, "t", 0.1, timestamp=5, step=0)
        mlflow.log_metric("nan", float("nan"))
        mlflow.log_metric("pinf", float("inf"))
        mlflow.log_metric("ninf", float("-inf"))
        mlflow.log_metric("np", __import__("numpy").float32(1.5))
        mlflow.log_metric("bool", True)
    got = mlflow.get_run(rid).data.metrics
    assert got["m"] == 0.3 and got["t"] == 0.1
    assert math.isnan(got["nan"]) and got["pinf"] == math.inf and got["ninf"] == -math.inf
    assert got["np"] == 1.5 and got["bool"] == 1.0
    history = client.get_metric_history(rid, "m")
    assert [(h.step, h.value, h.timestamp) for h in history] == [(0, 0.5, 1), (1, 0.9, 9), (2, 0.3, 2)]
    assert all(isinstance(h, Metric) for h in history)


def test_metric_history_objects_are_plain_frozen_metrics():
    """get_metric_history builds its Metric objects without Metric's __init__ (entities.metric_history):
    they must be exactly what the constructor makes, NaN and infinities included."""
    import dataclasses
    import pickle

    client = mlflow.MlflowClient()
    values = [0.25, float("nan"), float("inf"), float("-inf"), -0.0, 1e308]
    with mlflow.start_run() as run:
        rid = run.info.run_id
        client.log_batch(rid, metrics=[Metric("h", v, 100 + i, i) for i, v in enumerate(values)])
        client.log_metric(rid, "other", 1.0)
    history = client.get_metric_history(rid, "h")
    assert isinstance(history, list) and len(history) == len(values)
    for i, (m, v) in enumerate(zip(history, values, strict=True)):
        assert type(m) is Metric
        ref = Metric("h", v, 100 + i, i, rid)
        for f in dataclasses.fields(Metric):
            got, want = getattr(m, f.name), getattr(ref, f.name)
            assert type(got) is type(want)
            assert got == want or (math.isnan(got) and math.isnan(want)), f.name
        assert pickle.loads(pickle.dumps(m)).step == i
        with pytest.raises(dataclasses.FrozenInstanceError):
            m.value = 0.0  # type: ignore[misc]
    assert history[0] == Metric("h", 0.25, 100, 0, rid) and hash(history[0]) == hash(Metric("h", 0.25, 100, 0, rid))
    assert client.get_metric_history(rid, "missing") == []
    with pytest.raises(NotFound):
        client.get_metric_history("0" * 32, "h")


def test_log_batch_and_tags_via_client(client):
    exp = client.create_experiment("batch")
    run = client.create_run(exp, run_name="b")
    rid = run.info.run_id
    client.log_batch(rid, metrics=[Metric("m", float(i), 1000 + i, i) for i in range(1000)],
                     params=[Param("p", "1")], tags=[RunTag("t", "x")])
    client.set_tag(rid, "mlflow.runName", "renamed")
    client.delete_tag(rid, "t")
    with pytest.raises(NotFound):
        client.delete_tag(rid, "t")
    client.set_terminated(rid)
    got = client.get_run(rid)
    assert got.info.run_name == "renamed" and "t" not in got.data.tags
    assert got.data.metrics == {"m": 999.0} and len(client.get_metric_history(rid, "m")) == 1000
    assert got.info.status == "FINISHED"


def test_delete_and_restore_run():
    with mlflow.start_run() as run:
        pass
    mlflow.delete_run(run.info.run_id)
    assert mlflow.get_run(run.info.run_id).info.lifecycle_stage == "deleted"
    with pytest.raises(RunNotActive, match="must be in the 'active' state"):
        mlflow.MlflowClient().log_param(run.info.run_id, "a", 1)
    with pytest.raises(RunNotActive, match="deleted state"):
        mlflow.start_run(run_id=run.info.run_id)
    mlflow.restore_run(run.info.run_id)
    mlflow.MlflowClient().log_param(run.info.run_id, "a", 1)
    assert mlflow.get_run(run.info.run_id).data.params == {"a": "1"}


def test_unknown_run_is_not_found():
    with pytest.raises(NotFound, match="not found"):
        mlflow.get_run("0" * 32)
    with pytest.raises(InvalidParameter):
        mlflow.get_run("../etc")


def test_run_name_conflict_and_random_names(client):
    with pytest.raises(InvalidParameter, match="Both 'run_name'"):
        client.create_run("0", run_name="a", tags={"mlflow.runName": "b"})
    name = client.create_run("0").info.run_name
    assert len(name.split("-")) == 3


def test_log_input_records_datasets():
    import pandas as pd

    df = pd.DataFrame({"a": [1, 2], "b": [0.1, 0.2]})
    with mlflow.start_run() as run:
        mlflow.log_input(nbtrack.data.from_pandas(df, name="train"), context="training")
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    assert len(inputs) == 1 and inputs[0].dataset.name == "train"
    assert {t.key: t.value for t in inputs[0].tags} == {"mlflow.data.context": "training"}


def test_git_tags_in_a_git_checkout(tmp_path, monkeypatch):
    import subprocess

    repo = tmp_path / "repo"
    repo.mkdir()
    subprocess.run(["git", "init", "-q", "-b", "feature"], cwd=repo, check=True)
    subprocess.run(["git", "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty",
                    "-m", "x"], cwd=repo, check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://example.invalid/r.git"], cwd=repo, check=True)
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True).stdout.strip()
    script = repo / "train.py"
    script.write_text("")
    monkeypatch.setattr("sys.argv", [str(script)])
    with mlflow.start_run() as run:
        pass
    tags = mlflow.get_run(run.info.run_id).data.tags
    assert tags["mlflow.source.git.commit"] == commit
    assert tags["mlflow.source.git.branch"] == "feature"
    assert tags["mlflow.source.git.repoURL"] == "https://example.invalid/r.git"
    assert tags["mlflow.source.name"] == str(script)
