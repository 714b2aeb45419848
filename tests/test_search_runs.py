"""search_runs, search_experiments, metric_history and sql through the public API."""

from __future__ import annotations

import math

import pytest

import nbtrack
from nbtrack.errors import InvalidFilter, InvalidParameter


@pytest.fixture
def runs():
    nbtrack.set_experiment("grid")
    made = []
    for i, (model, lr) in enumerate([("rf", 0.1), ("rf", 0.01), ("lr", 0.1), ("svm", 1.0)]):
        with nbtrack.start_run(run_name=f"r{i}") as run:
            nbtrack.log_params({"model": model, "lr": lr})
            nbtrack.log_metric("acc", 0.5 + i / 10)
            if i != 3:
                nbtrack.log_metric("loss", 1.0 - i / 10)
            nbtrack.set_tag("team", "a" if i % 2 else "B")
        made.append(run.info.run_id)
    return made


def test_dataframe_has_mlflows_columns(runs):
    import pandas as pd

    df = nbtrack.search_runs()
    assert list(df.columns[:6]) == ["run_id", "experiment_id", "status", "artifact_uri", "start_time", "end_time"]
    assert str(df["start_time"].dtype).startswith("datetime64") and str(df["start_time"].dt.tz) == "UTC"
    assert {"metrics.acc", "metrics.loss", "params.model", "params.lr", "tags.team"} <= set(df.columns)
    assert set(df["run_id"]) == set(runs)
    assert df["start_time"].is_monotonic_decreasing  # default order: newest first
    row = df.set_index("run_id").loc[runs[3]]
    assert math.isnan(row["metrics.loss"]) and row["params.model"] == "svm"
    assert df["metrics.acc"].dtype == "float64"
    assert isinstance(df, pd.DataFrame)


def test_filters_order_and_list_output(runs):
    got = nbtrack.search_runs(filter_string="params.model = 'rf' and metrics.acc > 0.55",
                              output_format="list")
    assert [r.info.run_id for r in got] == [runs[1]]
    df = nbtrack.search_runs(order_by=["metrics.loss ASC"])
    assert df["run_id"].tolist() == [runs[2], runs[1], runs[0], runs[3]]  # missing loss last
    df = nbtrack.search_runs(filter_string="tags.team ILIKE 'b' OR params.lr = '1.0'")
    assert set(df["run_id"]) == {runs[0], runs[2], runs[3]}
    df = nbtrack.search_runs(filter_string="NOT (params.model IN ('rf', 'lr'))")
    assert df["run_id"].tolist() == [runs[3]]
    assert nbtrack.search_runs(filter_string="metrics.nothing > 0").empty


def test_experiment_names_ids_and_all(runs):
    other = nbtrack.create_experiment("other")
    with nbtrack.start_run(experiment_id=other):
        pass
    assert len(nbtrack.search_runs(experiment_names=["grid"])) == 4
    assert len(nbtrack.search_runs(experiment_ids=[other])) == 1
    assert len(nbtrack.search_runs(search_all_experiments=True)) == 5
    with pytest.raises(InvalidParameter, match="not both"):
        nbtrack.search_runs(experiment_ids=["1"], experiment_names=["grid"])


def test_client_paging(runs):
    client = nbtrack.MlflowClient()
    exp = nbtrack.get_experiment_by_name("grid").experiment_id
    page1 = client.search_runs([exp], max_results=3, order_by=["metrics.acc DESC"])
    assert len(page1) == 3 and page1.token
    page2 = client.search_runs([exp], max_results=3, order_by=["metrics.acc DESC"], page_token=page1.token)
    assert [r.info.run_id for r in [*page1, *page2]] == runs[::-1] and page2.token is None  # acc rises with i
    with pytest.raises(InvalidParameter, match="at most 50000"):
        client.search_runs([exp], max_results=50001)
    with pytest.raises(InvalidParameter, match="page token"):
        client.search_runs([exp], page_token="garbage")


def test_deleted_runs_and_view_type(runs):
    nbtrack.delete_run(runs[0])
    assert len(nbtrack.search_runs()) == 3
    deleted = nbtrack.search_runs(run_view_type=nbtrack.ViewType.DELETED_ONLY)
    assert deleted["run_id"].tolist() == [runs[0]]
    assert len(nbtrack.search_runs(run_view_type=nbtrack.ViewType.ALL)) == 4


def test_bad_filter_points_at_the_column(runs):
    with pytest.raises(InvalidFilter) as err:
        nbtrack.search_runs(filter_string="metrics.acc >> 0.9")
    assert err.value.position == 13 and "metrics support" in str(err.value)
    assert isinstance(err.value, ValueError)


def test_search_experiments_filter_and_order(runs):
    nbtrack.create_experiment("beta", tags={"team": "x"})
    names = [e.name for e in nbtrack.search_experiments(filter_string="name ILIKE 'B%'")]
    assert names == ["beta"]
    names = [e.name for e in nbtrack.search_experiments(order_by=["name ASC"])]
    assert names == ["Default", "beta", "grid"]
    assert [e.name for e in nbtrack.search_experiments(filter_string="tags.team = 'x'")] == ["beta"]


def test_metric_history_many_runs(runs):
    client = nbtrack.MlflowClient()
    for step in range(1, 4):
        client.log_metric(runs[0], "acc", 0.6 + step / 10, step=step)
    df = nbtrack.metric_history(runs[:2], ["acc"])
    assert list(df.columns) == ["run_id", "key", "step", "timestamp", "value"]
    assert len(df) == 5 and df[df.run_id == runs[0]]["step"].tolist() == [0, 1, 2, 3]
    assert len(nbtrack.metric_history(nbtrack.search_runs(), None)) == 4 + 3 + 3


def test_metric_history_orders_points_logged_out_of_order(runs):
    """Runs in the order given (a run twice: twice), then key, step, timestamp, however the points
    were logged; NaN and infinities kept."""
    client = nbtrack.MlflowClient()
    a, b = runs[1], runs[2]
    client.log_metric(b, "z", 3.0, timestamp=30, step=2)
    client.log_metric(a, "z", float("nan"), timestamp=20, step=5)
    client.log_metric(b, "z", float("-inf"), timestamp=10, step=2)
    client.log_metric(a, "b", 1.0, timestamp=5, step=9)
    client.log_metric(b, "z", float("inf"), timestamp=40, step=1)
    df = nbtrack.metric_history([b, a, b], ["z", "b"])
    got = [(r, k, s, t) for r, k, s, t in zip(df.run_id, df.key, df.step, df.timestamp, strict=True)]
    want_b = [(b, "z", 1, 40), (b, "z", 2, 10), (b, "z", 2, 30)]
    assert got == [*want_b, (a, "b", 9, 5), (a, "z", 5, 20), *want_b]
    values = df["value"].tolist()
    assert values[:3] == [math.inf, -math.inf, 3.0] and math.isnan(values[4])
    assert [str(t) for t in df.dtypes] == ["str", "str", "int64", "int64", "float64"]
    assert nbtrack.metric_history([a], ["nothing"]).empty


def test_search_frame_has_a_column_per_key_with_gaps(runs):
    df = nbtrack.search_runs(order_by=["attributes.run_name ASC"])
    assert df["tags.mlflow.runName"].tolist() == ["r0", "r1", "r2", "r3"]
    assert df["params.model"].tolist() == ["rf", "rf", "lr", "svm"] and str(df["params.model"].dtype) == "str"
    loss = df["metrics.loss"].tolist()
    assert loss[:3] == [1.0, 0.9, 0.8] and math.isnan(loss[3])
    assert nbtrack.search_runs(filter_string="metrics.acc > 5").empty


def test_sql_reads_views_and_nothing_else(runs, tmp_path):
    df = nbtrack.sql("SELECT r.run_name, p.value AS model FROM runs r JOIN params p USING (run_id) "
                     "WHERE p.key = ? ORDER BY r.run_name", ["model"])
    assert df["model"].tolist() == ["rf", "rf", "lr", "svm"]
    best = nbtrack.sql("SELECT run_id FROM latest_metrics WHERE key = 'acc' ORDER BY value DESC LIMIT 1")
    assert best["run_id"][0] == runs[3]
    for bad in ("DELETE FROM arc.runs", "INSERT INTO arc.params VALUES ('a','b','c')",
                f"COPY (SELECT 1) TO '{tmp_path}/x.csv'", "SELECT * FROM read_csv('/etc/passwd')",
                "ATTACH '/tmp/other.duckdb' AS o"):
        with pytest.raises(InvalidParameter, match="nbtrack.sql"):
            nbtrack.sql(bad)
    assert len(nbtrack.search_runs()) == 4 and not (tmp_path / "x.csv").exists()


def test_sql_sees_the_registry(runs):
    import shutil
    import tempfile

    d = tempfile.mkdtemp()
    try:
        open(f"{d}/MLmodel", "w").write("flavors: {}\n")
        nbtrack.register_model(d, "m")
        nbtrack.MlflowClient().set_registered_model_alias("m", "champion", 1)
    finally:
        shutil.rmtree(d)
    versions = nbtrack.sql("SELECT name, version, current_stage FROM model_versions")
    assert versions.values.tolist() == [["m", 1, "None"]]
    assert nbtrack.sql("SELECT alias, version FROM model_aliases").values.tolist() == [["champion", 1]]
    assert set(nbtrack.sql("SELECT kind FROM registry_history")["kind"]) >= {"created", "alias"}


def test_dataframe_order_matches_list_order_on_many_runs():
    import random

    from nbtrack.entities import Metric

    client = nbtrack.MlflowClient()
    rng = random.Random(7)
    for i in range(5000):
        run = client.create_run("0", start_time=1000 + i)
        client.log_batch(run.info.run_id, metrics=[Metric("acc", rng.random(), 1, 0)])
    for order in (["metrics.acc DESC"], None):
        df = nbtrack.search_runs(experiment_ids=["0"], order_by=order)
        listed = nbtrack.search_runs(experiment_ids=["0"], order_by=order, output_format="list")
        assert df["run_id"].tolist() == [r.info.run_id for r in listed]
        assert len(df) == 5000
    df = nbtrack.search_runs(experiment_ids=["0"], order_by=["metrics.acc DESC"])
    assert df["metrics.acc"].is_monotonic_decreasing
