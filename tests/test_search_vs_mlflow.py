"""The same searches on the same runs return the same runs in the same order as MLflow 3.x."""

from __future__ import annotations

import math

import pytest

import nbtrack
from nbtrack.entities import Metric, Param, RunTag

mlflow = pytest.importorskip("mlflow")

# Start times are distinct: the tiebreak is run_id, and the two stores draw different random ids.
RUNS = [  # name, start_time, status, params, metrics, tags
    ("r0", 1000, "FINISHED", {"model": "LogisticRegression", "C": "1"}, {"acc": 0.91, "rmse": 0.5}, {"team": "a"}),
    ("r1", 2000, "FINISHED", {"model": "logisticregression", "C": "10"}, {"acc": 0.95, "rmse": 1.5}, {"team": "b"}),
    ("r2", 3000, "FAILED", {"model": "RandomForest"}, {"acc": math.nan}, {"team": "a", "flag": "x"}),
    ("r3", 4000, "FINISHED", {"model": "RandomForest", "C": "0.1"}, {"acc": 0.5}, {}),
    ("r4", 5000, "RUNNING", {"model": "GBM"}, {"rmse": 0.2, "acc": 0.95}, {"team": "Prod"}),
    ("r5", 6000, "FINISHED", {"model": "GBM", "C": "1"}, {"acc": 0.7, "spacey name": 3.0}, {"team": "dev"}),
    ("r6", 7000, "KILLED", {}, {"acc": -1.0, "rmse": math.inf}, {"team": "prod"}),
]

FILTERS = [
    "",
    "metrics.rmse < 1 and params.model = 'GBM'",
    "metrics.acc >= 0.9",
    "metrics.acc > 0.9",
    "metrics.acc != 0.5",
    "metrics.acc = 0.95",
    "metrics.rmse > 1",
    "metric.acc <= 0.7",
    "params.model LIKE 'Log%'",
    "params.model ILIKE 'log%'",
    "params.C != '1'",
    "param.model = 'RandomForest' AND metrics.acc < 1",
    "tags.team = 'a'",
    "tags.team LIKE '%rod'",
    "tags.team ILIKE 'PROD'",
    "tags.team != 'a'",
    "tags.flag IS NULL",
    "tags.flag IS NOT NULL",
    "params.C IS NULL",
    "attributes.status = 'FINISHED'",
    "attributes.status != 'FINISHED'",
    "attribute.run_name = 'r3'",
    "run_name LIKE 'r%' and metrics.acc > 0",
    "attributes.start_time > 2500",
    "attributes.start_time >= 6000",
    "created <= 3000",
    "metrics.`spacey name` > 2",
    'metrics."acc" < 0.9',
    "tags.`mlflow.runName` = 'r1'",
]

ORDERS = [
    None,
    ["metrics.acc DESC"],
    ["metrics.acc"],
    ["metrics.rmse ASC"],
    ["params.model ASC", "metrics.acc DESC"],
    ["params.C DESC"],
    ["tags.team"],
    ["attributes.start_time ASC"],
    ["attributes.run_name DESC"],
    ["attributes.status"],
]


def _load(client, experiment_id: str) -> None:
    for name, start, status, params, metrics, tags in RUNS:
        run = client.create_run(experiment_id, start_time=start, run_name=name)
        rid = run.info.run_id
        client.log_batch(rid, metrics=[Metric(k, v, start, 0) for k, v in metrics.items()],
                         params=[Param(k, v) for k, v in params.items()],
                         tags=[RunTag(k, v) for k, v in tags.items()])
        if status != "RUNNING":
            client.set_terminated(rid, status, end_time=start + 1)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    from mlflow.entities import Metric as MMetric
    from mlflow.entities import Param as MParam
    from mlflow.entities import RunTag as MRunTag

    root = tmp_path_factory.mktemp("differential")
    theirs = mlflow.MlflowClient(tracking_uri=f"sqlite:///{root}/mlflow.db")
    their_exp = theirs.create_experiment("x", artifact_location=str(root / "mlruns"))
    for name, start, status, params, metrics, tags in RUNS:
        run = theirs.create_run(their_exp, start_time=start, run_name=name)
        rid = run.info.run_id
        theirs.log_batch(rid, metrics=[MMetric(k, v, start, 0) for k, v in metrics.items()],
                         params=[MParam(k, v) for k, v in params.items()],
                         tags=[MRunTag(k, v) for k, v in tags.items()])
        if status != "RUNNING":
            theirs.set_terminated(rid, status, end_time=start + 1)
    ours = nbtrack.MlflowClient(str(root / "nbtrack"))
    our_exp = ours.create_experiment("x")
    _load(ours, our_exp)
    return (ours, our_exp), (theirs, their_exp)


def _names(client, exp, filter_string, order_by):
    runs = client.search_runs([exp], filter_string, order_by=order_by, max_results=100)
    return [r.info.run_name for r in runs]


@pytest.mark.parametrize("filter_string", FILTERS)
def test_filters_match_mlflow(both, filter_string):
    (ours, our_exp), (theirs, their_exp) = both
    expected = _names(theirs, their_exp, filter_string, None)
    assert _names(ours, our_exp, filter_string, None) == expected


@pytest.mark.parametrize("order_by", ORDERS)
def test_order_by_matches_mlflow(both, order_by):
    (ours, our_exp), (theirs, their_exp) = both
    expected = _names(theirs, their_exp, "", order_by)
    assert _names(ours, our_exp, "", order_by) == expected
