"""MLflow 3's run outputs and model inputs (``log_outputs``, ``log_inputs(models=...)``, ``run.outputs``)
and imported checkpoints; ``log_model``'s own output and the active model from the environment are in
tests/test_log_model_outputs_and_active_model.py."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import nbtrack
from nbtrack.entities import LoggedModelInput, LoggedModelOutput
from nbtrack.errors import InvalidParameter, NotFound


@pytest.fixture
def logged():
    X = np.arange(10.0).reshape(5, 2)
    with nbtrack.start_run() as run:
        nbtrack.log_metric("rmse", 0.25, step=3)
        info = nbtrack.sklearn.log_model(LinearRegression().fit(X, X.sum(1)), name="model", step=3)
    return run.info.run_id, info


def test_log_outputs_and_model_inputs(logged, client):
    _, info = logged
    with nbtrack.start_run() as run:
        nbtrack.log_outputs([LoggedModelOutput(info.model_id, 7)])
    client.log_outputs(run.info.run_id, [LoggedModelOutput(info.model_id, 8)])  # an ended run takes more
    consumer = client.create_run("0")
    client.log_inputs(consumer.info.run_id, models=[LoggedModelInput(info.model_id)])
    client.log_inputs(consumer.info.run_id, models=[LoggedModelInput(info.model_id)])  # once is enough
    got = nbtrack.get_run(run.info.run_id)
    assert [(o.model_id, o.step) for o in got.outputs.model_outputs] == [(info.model_id, 7), (info.model_id, 8)]
    used = nbtrack.get_run(consumer.info.run_id).inputs
    assert (used.model_inputs, used.dataset_inputs) == ([LoggedModelInput(info.model_id)], [])


def test_log_outputs_refuses_what_it_cannot_record(logged, client):
    run_id, _ = logged
    with pytest.raises(NotFound, match="m-missing"):
        client.log_outputs(run_id, [LoggedModelOutput("m-missing", 0)])
    with pytest.raises(InvalidParameter, match="LoggedModelOutput"):
        client.log_outputs(run_id, ["m-123"])
    with pytest.raises(InvalidParameter, match="list of LoggedModelOutput"):
        client.log_outputs(run_id, LoggedModelOutput("m-1", 0))
    with pytest.raises(NotFound, match="Run"):
        client.log_outputs("0" * 32, [LoggedModelOutput(logged[1].model_id, 0)])


def test_import_checkpoints_makes_one_external_model_per_entry(tmp_path):
    (tmp_path / "ckpt" / "epoch-1").mkdir(parents=True)
    (tmp_path / "ckpt" / "epoch-2.pt").write_bytes(b"weights")
    with nbtrack.start_run() as run:
        first = nbtrack.import_checkpoints(str(tmp_path / "ckpt"), model_prefix="net_")
        again = nbtrack.import_checkpoints(str(tmp_path / "ckpt"), model_prefix="net_")
        fresh = nbtrack.import_checkpoints(str(tmp_path / "ckpt"), model_prefix="net_", overwrite_checkpoints=True)
    assert [(m.name, m.status, m.source_run_id, m.tags["original_artifact_path"], m.tags["mlflow.model.external"])
            for m in first] == [("net_epoch-1", "READY", run.info.run_id, str(tmp_path / "ckpt" / "epoch-1"), "true"),
                                ("net_epoch-2.pt", "READY", run.info.run_id, str(tmp_path / "ckpt" / "epoch-2.pt"),
                                 "true")]
    assert [m.model_id for m in again] == [m.model_id for m in first]
    assert not {m.model_id for m in fresh} & {m.model_id for m in first}
    left = nbtrack.search_logged_models(filter_string="name LIKE 'net_%'", output_format="list")
    assert {m.model_id for m in left} == {m.model_id for m in fresh}
    with pytest.raises(InvalidParameter, match="source_run_id"):
        nbtrack.import_checkpoints(str(tmp_path / "ckpt"))
    with pytest.raises(InvalidParameter, match="not a folder"):
        nbtrack.import_checkpoints(str(tmp_path / "nowhere"), source_run_id=run.info.run_id)
