"""``nbtrack.ui.models_view``: a run's or an experiment's MLflow 3 logged models as a static table."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression

import nbtrack
from nbtrack.entities import LoggedModelOutput
from nbtrack.errors import InvalidParameter
from nbtrack.ui.models_view import latest_metrics, models_view


@pytest.fixture
def logged():
    X = np.arange(10.0).reshape(5, 2)
    with nbtrack.start_run() as run:
        for step in (1, 2):
            nbtrack.log_metric("rmse", 1.0 / step, step=step)
        info = nbtrack.sklearn.log_model(LinearRegression().fit(X, X.sum(1)), name="lin<reg>", step=2,
                                         params={"alpha": "0.1"}, tags={"team": "a&b"})
    pending = nbtrack.initialize_logged_model(name="draft", experiment_id=run.info.experiment_id)
    with nbtrack.start_run() as other:
        nbtrack.log_outputs([LoggedModelOutput(pending.model_id, 5)])
    return run.info.run_id, other.info.run_id, info, pending


def test_a_runs_models_with_status_step_metrics_params_and_tags(logged):
    run_id, _, info, _ = logged
    view = models_view(run_id=run_id)
    assert [m.model_id for m in view.models] == [info.model_id]
    page = view._repr_html_()
    assert "lin&lt;reg&gt;" in page and info.model_id in page and "READY" in page  # escaped
    assert "rmse=0.5" in page and "alpha=0.1" in page and "team=a&amp;b" in page
    assert f'href="#nbtrack-run-{run_id}"' in page and "<td style=\"padding:2px 10px 2px 0;text-align:left;" \
                                                       "vertical-align:top\">2</td>" in page
    assert "lin<reg>" in repr(view) and "rmse=0.5" in repr(view)


def test_a_run_shows_the_models_it_recorded_as_outputs(logged):
    _, other_id, _, pending = logged
    view = models_view(run_id=other_id)
    assert [(m.model_id, m.status) for m in view.models] == [(pending.model_id, "PENDING")]
    assert view.steps == {pending.model_id: 5} and "PENDING" in view._repr_html_()


def test_an_experiments_models_newest_first_and_refresh(logged):
    run_id, _, info, pending = logged
    exp = nbtrack.get_run(run_id).info.experiment_id
    view = models_view(experiment_ids=exp)
    assert [m.model_id for m in view.models] == [pending.model_id, info.model_id]
    nbtrack.finalize_logged_model(pending.model_id, "FAILED")
    assert "FAILED" in view.refresh()._repr_html_()
    assert models_view().models == view.models  # the active experiment by default
    import nbtrack.ui.models_view as module

    assert module(run_id=run_id).models[0].model_id == info.model_id  # the module is callable too


def test_empty_and_bad_arguments(tmp_path):
    empty = nbtrack.create_experiment("empty")
    assert "no logged models" in models_view(experiment_ids=[empty])._repr_html_()
    with pytest.raises(InvalidParameter, match="not both"):
        models_view(run_id="a" * 32, experiment_ids=["0"])


def test_latest_metric_per_key_and_dataset():
    from nbtrack.entities import Metric

    got = latest_metrics([Metric("a", 1.0, 5, 1), Metric("a", 2.0, 1, 2), Metric("a", 3.0, 9, 1),
                          Metric("a", 4.0, 0, 0, dataset_name="eval")])
    assert {k: m.value for k, m in got.items()} == {"a": 2.0, "a (eval)": 4.0}


def test_the_extension_gets_the_models_as_data(logged, monkeypatch):
    import json

    from nbtrack.ui._mime import MIME

    monkeypatch.setenv("NBTRACK_VIEWS", "extension")
    run_id, _, info, _ = logged
    bundle = models_view(run_id=run_id)._repr_mimebundle_()
    spec = json.loads(json.dumps(bundle[MIME], allow_nan=False))
    assert spec["view"] == "models_view" and spec["options"] == {"run_id": run_id, "experiment_ids": None}
    data = spec["data"]
    exp = nbtrack.get_run(run_id).info.experiment_id
    assert data["experiment_ids"] == [exp] and data["title"] == f"logged models of run {run_id[:8]}"
    (model,) = data["models"]
    assert (model["model_id"], model["name"], model["status"], model["step"]) == (info.model_id, "lin<reg>", "READY", 2)
    assert model["params"] == {"alpha": "0.1"} and model["tags"]["team"] == "a&b" and model["source_run_id"] == run_id
    assert "lin&lt;reg&gt;" in bundle["text/html"]


def test_non_finite_metric_values_are_spelled_as_the_wire_does():
    from nbtrack.entities import LoggedModel, Metric
    from nbtrack.ui.models_view import model_data

    model = LoggedModel("m-1", "0", "m", "/x", 1, 1, metrics=[Metric("loss", float("nan"), 1, 0),
                                                               Metric("gain", float("inf"), 1, 0)])
    assert [m["value"] for m in model_data(model, None)["metrics"]] == ["NaN", "Infinity"]


def test_without_the_extension_the_models_show_as_html(logged, monkeypatch):
    from nbtrack.ui._mime import MIME

    monkeypatch.setenv("NBTRACK_VIEWS", "widgets")
    bundle = models_view(run_id=logged[0])._repr_mimebundle_()
    assert MIME not in bundle and "lin&lt;reg&gt;" in bundle["text/html"]
