"""``log_model`` records its model as an output of the run (MLflow 3), and the active model comes from
``set_active_model`` (a name with quotes too) or, in a process started with it, ``MLFLOW_ACTIVE_MODEL_ID``
(``_MLFLOW_ACTIVE_MODEL_ID``, MLflow's older name)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import nbtrack
from nbtrack.entities import LoggedModelOutput


@pytest.fixture
def logged():
    X = np.arange(10.0).reshape(5, 2)
    with nbtrack.start_run() as run:
        nbtrack.log_metric("rmse", 0.25, step=3)
        info = nbtrack.sklearn.log_model(LinearRegression().fit(X, X.sum(1)), name="model", step=3)
    return run.info.run_id, info


def test_log_model_records_the_model_as_an_output_of_its_run(logged):
    run_id, info = logged
    outputs = nbtrack.get_run(run_id).outputs
    assert outputs.model_outputs == [LoggedModelOutput(info.model_id, 3)]
    assert outputs.to_dictionary() == {"model_outputs": [{"model_id": info.model_id, "step": 3}]}


def test_active_model_from_the_environment(monkeypatch, logged):
    _, info = logged
    monkeypatch.setenv("_MLFLOW_ACTIVE_MODEL_ID", "m-legacy")
    assert nbtrack.get_active_model_id() == "m-legacy"
    monkeypatch.setenv("MLFLOW_ACTIVE_MODEL_ID", info.model_id)  # the public name wins
    assert nbtrack.get_active_model_id() == info.model_id
    with nbtrack.start_run():
        nbtrack.log_metric("from_env", 1.0)
    assert "from_env" in {m.key for m in nbtrack.get_logged_model(info.model_id).metrics}
    with nbtrack.set_active_model(name="other") as other:
        assert nbtrack.get_active_model_id() == other.model_id
    assert nbtrack.get_active_model_id() == info.model_id
    nbtrack.clear_active_model()  # as MLflow: clears the variables too
    assert nbtrack.get_active_model_id() is None
    import os

    assert "MLFLOW_ACTIVE_MODEL_ID" not in os.environ and "_MLFLOW_ACTIVE_MODEL_ID" not in os.environ


def test_set_active_model_by_a_name_with_quotes():
    for name in ("it's", "a 'quoted' name", "o''k"):
        first = nbtrack.set_active_model(name=name)
        model = nbtrack.get_logged_model(first.model_id)
        assert (model.name, model.status, model.tags.get("mlflow.model.external")) == (name, "READY", "true")
        assert nbtrack.set_active_model(name=name).model_id == first.model_id
    nbtrack.clear_active_model()


def test_a_resumed_run_starts_with_its_outputs(logged):
    run_id, info = logged
    with nbtrack.start_run(run_id=run_id) as resumed:
        assert resumed.outputs.model_outputs == [LoggedModelOutput(info.model_id, 3)]
