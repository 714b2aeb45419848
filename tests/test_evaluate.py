"""``nbtrack.evaluate`` beyond the MLflow comparison: runs like any other, errors that say what to
do, validation arithmetic, results saved and loaded, outputs matched to metric parameters."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import nbtrack
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.models import MetricThreshold, make_metric
from nbtrack.models.evaluation import (
    EvaluationResult,
    ModelValidationFailedException,
    validate_evaluation_results,
)

pytest.importorskip("sklearn")


@pytest.fixture
def regression():
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"a": rng.normal(size=60), "b": rng.normal(size=60)})
    return df.assign(y=2 * df.a - df.b + rng.normal(scale=0.1, size=60))


def linear(df):
    return 2 * df["a"] - df["b"]


def test_evaluation_is_a_run_found_by_search(regression):
    result = nbtrack.evaluate(linear, regression, targets="y", model_type="regressor")
    assert nbtrack.active_run() is None  # the run evaluate started is ended
    runs = nbtrack.search_runs(filter_string="metrics.r2_score > 0.9")
    assert list(runs.run_id) == [result.run_id]
    assert math.isclose(runs["metrics.mean_absolute_error"][0], result.metrics["mean_absolute_error"])
    assert "score" not in result.metrics  # only scikit-learn models are scored


def test_inside_a_run_logs_into_it(regression):
    with nbtrack.start_run() as run:
        result = nbtrack.evaluate(linear, regression, targets="y", model_type="regressor",
                                  evaluator_config={"metric_prefix": "test_"})
    assert result.run_id == run.info.run_id
    logged = nbtrack.get_run(run.info.run_id)
    assert "test_r2_score" in logged.data.metrics
    [dataset_input] = logged.inputs.dataset_inputs
    assert [(t.key, t.value) for t in dataset_input.tags] == [("mlflow.data.context", "test_")]


def test_string_labels_match_scikit_learn():
    from sklearn.metrics import f1_score, precision_score

    df = pd.DataFrame({"x": [0.1, 0.9, 0.8, 0.2, 0.7, 0.4], "y": ["no", "yes", "yes", "no", "no", "yes"]})
    result = nbtrack.evaluate(lambda d: np.where(d["x"] > 0.5, "yes", "no"), df, targets="y", model_type="classifier")
    predicted = np.where(df.x > 0.5, "yes", "no")
    assert result.metrics["precision_score"] == precision_score(df.y, predicted, pos_label="yes")
    assert result.metrics["f1_score"] == f1_score(df.y, predicted, pos_label="yes")
    assert sorted(result.artifacts) == ["confusion_matrix"]  # no probabilities: no curves
    image = result.artifacts["confusion_matrix"].content
    assert image.size[0] > 500 and image.format == "PNG"


def test_multi_output_model_feeds_other_columns_to_metrics(regression):
    def model(df):
        return pd.DataFrame({"pred": linear(df), "spread": np.ones(len(df))})

    def mean_spread(spread):
        return float(spread.mean())

    result = nbtrack.evaluate(model, regression, targets="y", model_type="regressor", predictions="pred",
                              extra_metrics=[make_metric(eval_fn=mean_spread, greater_is_better=False)])
    assert result.metrics["mean_spread"] == 1.0


def test_metric_with_missing_inputs_says_how_to_map_them(regression):
    def needs(predictions, nowhere):
        return 1.0

    with pytest.raises(InvalidParameter, match=r"(?s)missing columns \['nowhere'\].*col_mapping"):
        nbtrack.evaluate(linear, regression, targets="y", model_type="regressor",
                         extra_metrics=[make_metric(eval_fn=needs, greater_is_better=True)])
    result = nbtrack.evaluate(linear, regression, targets="y", model_type="regressor",
                              extra_metrics=[make_metric(eval_fn=needs, greater_is_better=True)],
                              evaluator_config={"col_mapping": {"nowhere": "a"}})
    assert result.metrics["needs"] == 1.0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"data": None}, "data argument cannot be None"),
    ({"env_manager": "conda"}, "env_manager='conda' is not supported"),
    ({"inference_params": {"t": 1}}, "inference_params"),
    ({"model_type": "question-answering"}, "GenAI evaluation"),
    ({"model_type": "ranker"}, "Unknown model_type"),
    ({"evaluators": ["shap"]}, "Unknown evaluators"),
    ({"targets": None}, "targets argument must be specified for regressor"),
    ({"extra_metrics": [len]}, "wrong type"),
])
def test_bad_arguments_raise_nbtrack_errors(regression, kwargs, message):
    args = {"data": regression, "targets": "y", "model_type": "regressor", **kwargs}
    with pytest.raises(NbtrackError, match=message):
        nbtrack.evaluate(linear, **args)


def test_a_dataset_carries_its_own_targets(regression):
    dataset = nbtrack.data.from_pandas(regression, targets="y")
    with pytest.raises(InvalidParameter, match="top-level targets"):
        nbtrack.evaluate(linear, dataset, targets="y", model_type="regressor")
    result = nbtrack.evaluate(linear, dataset, model_type="regressor")
    assert nbtrack.get_run(result.run_id).inputs.dataset_inputs[0].dataset.digest == dataset.digest


def test_make_metric_names():
    with pytest.raises(InvalidParameter, match="lambda"):
        make_metric(eval_fn=lambda predictions: 1.0, greater_is_better=True)
    with pytest.raises(InvalidParameter, match="forward slashes"):
        make_metric(eval_fn=len, greater_is_better=True, name="a/b")
    assert make_metric(eval_fn=lambda p: 1, greater_is_better=True, name="one").long_name == "one"


def _result(**metrics):
    return EvaluationResult(metrics, {})


@pytest.mark.parametrize(("threshold", "candidate", "baseline", "ok"), [
    (MetricThreshold(min_relative_change=0.1, greater_is_better=True), -0.4, -0.5, True),  # R2 below 0: +20%
    (MetricThreshold(min_relative_change=0.1, greater_is_better=True), -0.48, -0.5, False),  # +4%
    (MetricThreshold(min_relative_change=0.5, greater_is_better=False), 0.0, 0.0, False),  # zero baseline
    (MetricThreshold(min_relative_change=0.5, greater_is_better=False), -0.1, 0.0, True),
    (MetricThreshold(min_absolute_change=0.1, greater_is_better=True), 0.35, 0.2, True),
    (MetricThreshold(min_absolute_change=0.1, greater_is_better=True), 0.25, 0.2, False),
    (MetricThreshold(threshold=5, greater_is_better=False), 5, None, True),
])
def test_validation_arithmetic(threshold, candidate, baseline, ok):
    base = _result(m=baseline) if baseline is not None else None
    if ok:
        validate_evaluation_results({"m": threshold}, _result(m=candidate), base)
    else:
        with pytest.raises(ModelValidationFailedException) as failed:
            validate_evaluation_results({"m": threshold}, _result(m=candidate), base)
        assert list(failed.value.failures) == ["m"]


def test_validation_errors():
    with pytest.raises(InvalidParameter, match="must be a positive number"):
        MetricThreshold(min_absolute_change=-1, greater_is_better=True)
    with pytest.raises(InvalidParameter, match="between 0 and 1"):
        MetricThreshold(min_relative_change=1.5, greater_is_better=True)
    with pytest.raises(InvalidParameter, match="dictionary that maps strings"):
        validate_evaluation_results({"m": 0.5}, _result(m=1))
    with pytest.raises(ModelValidationFailedException, match="missing from the evaluation result of the baseline"):
        validate_evaluation_results({"m": MetricThreshold(min_absolute_change=1, greater_is_better=True)},
                                    _result(m=1), _result(other=1))


def test_result_saves_and_loads(regression, tmp_path):
    def table(eval_df, builtin_metrics, artifacts_dir):
        return {"errors": eval_df.assign(err=eval_df.prediction - eval_df.target), "meta": {"rows": len(eval_df)}}

    result = nbtrack.evaluate(linear, regression, targets="y", model_type="regressor", custom_artifacts=[table])
    assert {f.path for f in nbtrack.MlflowClient().list_artifacts(result.run_id)} == {"errors.csv", "meta.json"}
    result.save(str(tmp_path / "saved"))
    again = EvaluationResult.load(str(tmp_path / "saved"))
    assert again.metrics == pytest.approx(result.metrics)
    assert again.artifacts["meta"].content == {"rows": 60}
    pd.testing.assert_frame_equal(again.artifacts["errors"].content, result.artifacts["errors"].content)


def test_registered_model_uri_evaluates_like_its_run_uri(regression):
    from sklearn.linear_model import Ridge

    model = Ridge().fit(regression[["a", "b"]], regression.y)
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(model, name="model", registered_model_name="ridge")
    by_run = nbtrack.evaluate(info.model_uri, regression, targets="y", model_type="regressor")
    by_name = nbtrack.evaluate("models:/ridge/1", regression, targets="y", model_type="regressor")
    assert by_name.metrics == by_run.metrics
    assert by_run.metrics["score"] == model.score(regression[["a", "b"]], regression.y)


def test_metrics_are_logged_again_for_a_model_id(regression):
    result = nbtrack.evaluate(linear, regression, targets="y", model_type="regressor", model_id="m-0123")
    history = nbtrack.MlflowClient().get_metric_history(result.run_id, "r2_score")
    # as MLflow 3: logged for the run, then for the run and the model; the second point is the same
    # (step, value) and is kept once when it lands in the same millisecond, as an exact repeat
    assert {m.value for m in history} == {result.metrics["r2_score"]} and len(history) in (1, 2)
