"""Tracking on every backend: experiments, the run lifecycle, params, metrics and their history,
tags, log_batch and dataset inputs, through the fluent API and ``MlflowClient``."""

from __future__ import annotations

import math

import pytest

import nbtrack
from nbtrack.entities import Dataset, DatasetInput, InputTag, Metric, Param, RunTag, ViewType
from nbtrack.errors import NotFound, ParamConflict, ResourceExists


def test_experiment_lifecycle(backend):
    client = nbtrack.MlflowClient()
    name = backend.name("exp")
    eid = client.create_experiment(name, tags={"team": "ml", "n": 1})
    got = client.get_experiment(eid)
    assert (got.name, got.lifecycle_stage, got.tags) == (name, "active", {"team": "ml", "n": "1"})
    assert client.get_experiment_by_name(name).experiment_id == eid
    assert client.get_experiment_by_name(backend.name("nope")) is None
    with pytest.raises(ResourceExists) as info:
        client.create_experiment(name)
    assert info.value.error_code == "RESOURCE_ALREADY_EXISTS"
    client.set_experiment_tag(eid, "stage", "dev")
    client.delete_experiment_tag(eid, "n")
    assert client.get_experiment(eid).tags == {"team": "ml", "stage": "dev"}
    client.rename_experiment(eid, backend.name("renamed"))
    assert client.get_experiment_by_name(backend.name("renamed")).experiment_id == eid
    assert client.get_experiment_by_name(name) is None
    client.delete_experiment(eid)
    assert client.get_experiment(eid).lifecycle_stage == "deleted"
    mine = f"name LIKE '{backend.name()}-%'"
    assert [e.experiment_id for e in client.search_experiments(ViewType.DELETED_ONLY, filter_string=mine)] == [eid]
    assert client.search_experiments(filter_string=mine) == []
    client.restore_experiment(eid)
    assert [e.experiment_id for e in client.search_experiments(filter_string=mine)] == [eid]
    with pytest.raises(NotFound) as missing:
        client.get_experiment("987654321")
    assert missing.value.error_code == "RESOURCE_DOES_NOT_EXIST"


def test_set_experiment_creates_it_once(backend):
    name = backend.name("fluent")
    first = nbtrack.set_experiment(name)
    assert nbtrack.set_experiment(name).experiment_id == first.experiment_id
    assert nbtrack.get_experiment_by_name(name).experiment_id == first.experiment_id


def test_run_lifecycle_names_and_nesting(backend):
    nbtrack.set_experiment(backend.name("runs"))
    with nbtrack.start_run(run_name="parent") as parent:
        with nbtrack.start_run(run_name="child", nested=True) as child:
            assert nbtrack.active_run().info.run_id == child.info.run_id
        assert nbtrack.active_run().info.run_id == parent.info.run_id
    client = nbtrack.MlflowClient()
    pid, cid = parent.info.run_id, child.info.run_id
    got = client.get_run(cid)
    assert got.info.run_name == "child" and got.info.status == "FINISHED" and got.info.end_time >= got.info.start_time
    assert got.data.tags["mlflow.parentRunId"] == pid and got.data.tags["mlflow.runName"] == "child"
    assert client.get_parent_run(cid).info.run_id == pid and client.get_parent_run(pid) is None
    eid = got.info.experiment_id
    children = client.search_runs([eid], f"tags.mlflow.parentRunId = '{pid}'")
    assert [r.info.run_id for r in children] == [cid]

    run = client.create_run(eid, start_time=1234, run_name="made", tags={"k": "v"})
    rid = run.info.run_id
    assert (run.info.status, run.info.start_time, run.info.run_name, run.info.end_time) == ("RUNNING", 1234, "made",
                                                                                           None)
    client.update_run(rid, name="renamed")
    got = client.get_run(rid)
    assert got.info.run_name == "renamed" and got.data.tags["mlflow.runName"] == "renamed"
    client.set_terminated(rid, "FAILED", end_time=5678)
    got = client.get_run(rid)
    assert (got.info.status, got.info.end_time) == ("FAILED", 5678)
    client.update_run(rid, status="KILLED")
    assert client.get_run(rid).info.status == "KILLED"
    client.delete_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "deleted"
    assert rid not in {r.info.run_id for r in client.search_runs([eid])}
    assert [r.info.run_id for r in client.search_runs([eid], run_view_type=ViewType.DELETED_ONLY)] == [rid]
    client.restore_run(rid)
    assert client.get_run(rid).info.lifecycle_stage == "active"
    assert rid in {r.info.run_id for r in client.search_runs([eid])}
    with pytest.raises(NotFound):
        client.get_run("0" * 32)


def test_failed_block_ends_the_run_failed(backend):
    nbtrack.set_experiment(backend.name("fails"))
    with pytest.raises(RuntimeError), nbtrack.start_run() as run:
        raise RuntimeError("boom")
    assert nbtrack.MlflowClient().get_run(run.info.run_id).info.status == "FAILED"


def test_params_are_immutable(backend):
    nbtrack.set_experiment(backend.name("params"))
    with nbtrack.start_run() as run:
        nbtrack.log_params({"lr": 0.1, "layers": [1, 2], "name": "x"})
        nbtrack.log_param("lr", 0.1)  # the same value again is fine
        with pytest.raises(ParamConflict) as info:
            nbtrack.log_param("lr", 0.2)
        assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    client = nbtrack.MlflowClient()
    with pytest.raises(ParamConflict):
        client.log_param(run.info.run_id, "name", "y")
    assert client.get_run(run.info.run_id).data.params == {"lr": "0.1", "layers": "[1, 2]", "name": "x"}


def test_metrics_with_steps_timestamps_and_full_history(backend):
    nbtrack.set_experiment(backend.name("metrics"))
    client = nbtrack.MlflowClient()
    with nbtrack.start_run() as run:
        rid = run.info.run_id
        for step, value in enumerate([0.5, 0.25, math.nan, math.inf, 0.125]):
            client.log_metric(rid, "loss", value, timestamp=1000 + step, step=step)
        client.log_metric(rid, "loss", 9.0, timestamp=999, step=1)  # an older point, same step
        nbtrack.log_metrics({"acc": 0.9, "f1": -math.inf}, step=3)
        nbtrack.log_metric("acc", 0.8, step=2)  # a lower step: not the latest
    history = client.get_metric_history(rid, "loss")
    points = [(m.step, m.timestamp, m.value) for m in history]
    assert len(points) == 6 and all(m.key == "loss" for m in history)
    assert sorted(points, key=lambda p: (p[0], p[1]))[:3] == [(0, 1000, 0.5), (1, 999, 9.0), (1, 1001, 0.25)]
    by_time = {(s, t): v for s, t, v in points}
    assert math.isnan(by_time[(2, 1002)]) and by_time[(3, 1003)] == math.inf
    got = client.get_run(rid).data.metrics
    assert got == {"loss": 0.125, "acc": 0.9, "f1": -math.inf}
    assert [(m.step, m.value) for m in client.get_metric_history(rid, "acc")] == [(2, 0.8), (3, 0.9)]
    assert client.get_metric_history(rid, "missing") == []


def test_tags_set_and_delete(backend):
    nbtrack.set_experiment(backend.name("tags"))
    with nbtrack.start_run() as run:
        nbtrack.set_tags({"a": 1, "b": "two", "quote": "it's"})
        nbtrack.set_tag("a", "overwritten")
        nbtrack.delete_tag("b")
    client = nbtrack.MlflowClient()
    client.set_tag(run.info.run_id, "c", "3")
    tags = client.get_run(run.info.run_id).data.tags
    assert {k: tags.get(k) for k in ("a", "b", "c", "quote")} == {"a": "overwritten", "b": None, "c": "3",
                                                                  "quote": "it's"}
    with pytest.raises(NotFound):
        client.delete_tag(run.info.run_id, "never-set")


def test_log_batch(backend):
    eid = nbtrack.MlflowClient().create_experiment(backend.name("batch"))
    client = nbtrack.MlflowClient()
    rid = client.create_run(eid).info.run_id
    metrics = [Metric("m", float(i), 1000 + i, i) for i in range(2500)]  # over MLflow's 1,000 per request
    client.log_batch(rid, metrics=metrics, params=[Param("p", "1"), Param("q", "x")],
                     tags=[RunTag("t", "v"), RunTag("mlflow.note.content", "a note")])
    got = client.get_run(rid)
    assert got.data.metrics == {"m": 2499.0} and got.data.params == {"p": "1", "q": "x"}
    assert got.data.tags["t"] == "v" and got.data.tags["mlflow.note.content"] == "a note"
    assert [m.value for m in client.get_metric_history(rid, "m")] == [float(i) for i in range(2500)]
    with pytest.raises(ParamConflict):
        client.log_batch(rid, params=[Param("p", "2")])


def test_log_inputs_round_trip(backend):
    eid = nbtrack.MlflowClient().create_experiment(backend.name("inputs"))
    client = nbtrack.MlflowClient()
    rid = client.create_run(eid).info.run_id
    schema = '{"mlflow_colspec": [{"type": "double", "name": "x"}]}'
    dataset = Dataset("iris", "abc123", "local", '{"uri": "/data/iris.csv"}', schema, '{"num_rows": 150}')
    client.log_inputs(rid, [DatasetInput(dataset, [InputTag("mlflow.data.context", "train")]),
                            DatasetInput(Dataset("wine", "d2", "http", '{"url": "x"}'))])
    inputs = sorted(client.get_run(rid).inputs.dataset_inputs, key=lambda i: i.dataset.name)
    assert [i.dataset for i in inputs] == [dataset, Dataset("wine", "d2", "http", '{"url": "x"}')]
    assert [[(t.key, t.value) for t in i.tags] for i in inputs] == [[("mlflow.data.context", "train")], []]
    found = client.search_runs([eid], "datasets.context = 'train' AND datasets.digest = 'abc123'")
    assert [r.info.run_id for r in found] == [rid]
