"""scikit-learn autolog: MLflow's params, training metrics, tags, post-training metrics,
Pipelines, parameter search with child runs, and the model with signature and example."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

sklearn = pytest.importorskip("sklearn")

from sklearn import metrics as skm  # noqa: E402
from sklearn.datasets import load_breast_cancer, load_diabetes, load_iris  # noqa: E402
from sklearn.linear_model import LinearRegression, LogisticRegression  # noqa: E402
from sklearn.metrics import balanced_accuracy_score  # noqa: E402
from sklearn.model_selection import GridSearchCV, RandomizedSearchCV, train_test_split  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.svm import SVC  # noqa: E402

import nbtrack  # noqa: E402
import nbtrack.pyfunc  # noqa: E402
from nbtrack.autolog import sklearn as sklearn_autolog  # noqa: E402


@pytest.fixture(autouse=True)
def _autolog_off_afterwards():
    yield
    nbtrack.autolog.flush(30)
    nbtrack.autolog(disable=True)


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    return train_test_split(X, y, random_state=0)


@pytest.fixture(scope="module")
def cancer():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:, :6], y


def artifacts(run_id: str, path: str | None = None) -> list[str]:
    return sorted(f.path for f in nbtrack.MlflowClient().list_artifacts(run_id, path))


def runs() -> list:
    return nbtrack.search_runs(output_format="list")


def test_classifier_params_tags_and_training_metrics(iris):
    X_train, _, y_train, _ = iris
    sklearn_autolog.autolog()
    model = LogisticRegression(C=0.5, max_iter=300)
    assert model.fit(X_train, y_train) is model
    assert nbtrack.active_run() is None
    run = nbtrack.last_active_run()
    assert run.info.status == "FINISHED"
    assert run.data.tags["mlflow.autologging"] == "sklearn"
    assert run.data.tags["estimator_name"] == "LogisticRegression"
    assert run.data.tags["estimator_class"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert run.data.params == {k: str(v) for k, v in model.get_params(deep=True).items()}
    assert run.data.params["C"] == "0.5" and run.data.params["class_weight"] == "None"
    y_pred, proba = model.predict(X_train), model.predict_proba(X_train)
    expected = {
        "training_precision_score": skm.precision_score(y_train, y_pred, average="weighted"),
        "training_recall_score": skm.recall_score(y_train, y_pred, average="weighted"),
        "training_f1_score": skm.f1_score(y_train, y_pred, average="weighted"),
        "training_accuracy_score": skm.accuracy_score(y_train, y_pred),
        "training_log_loss": skm.log_loss(y_train, proba),
        "training_roc_auc": skm.roc_auc_score(y_train, proba, average="weighted", multi_class="ovo"),
        "training_score": model.score(X_train, y_train),
    }
    assert run.data.metrics == pytest.approx(expected)
    nbtrack.autolog.flush(30)
    assert {"estimator.html", "model", "training_confusion_matrix.png"} <= set(artifacts(run.info.run_id))


def test_binary_classifier_curves_and_pos_label(cancer):
    X, y = cancer
    sklearn_autolog.autolog(pos_label=1)
    model = LogisticRegression(max_iter=2000).fit(X, y)
    run = nbtrack.last_active_run()
    y_pred = model.predict(X)
    assert run.data.metrics["training_f1_score"] == pytest.approx(skm.f1_score(y, y_pred, pos_label=1))
    nbtrack.autolog.flush(30)
    assert {"training_roc_curve.png", "training_precision_recall_curve.png"} <= set(artifacts(run.info.run_id))


def test_regressor_training_metrics():
    X, y = load_diabetes(return_X_y=True)
    nbtrack.autolog()
    model = LinearRegression().fit(X, y)
    run = nbtrack.last_active_run()
    y_pred = model.predict(X)
    mse = skm.mean_squared_error(y, y_pred)
    assert run.data.metrics == pytest.approx({
        "training_mean_squared_error": mse,
        "training_root_mean_squared_error": math.sqrt(mse),
        "training_mean_absolute_error": skm.mean_absolute_error(y, y_pred),
        "training_r2_score": skm.r2_score(y, y_pred),
        "training_score": model.score(X, y),
    })
    assert "training_confusion_matrix.png" not in artifacts(run.info.run_id)


def test_post_training_metrics_use_mlflow_key_names(iris):
    X_train, X_test, y_train, y_test = iris
    nbtrack.autolog()
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    run_id = nbtrack.last_active_run().info.run_id
    y_pred = model.predict(X_test)
    accuracy = skm.accuracy_score(y_test, y_pred)
    skm.accuracy_score(y_test, y_pred)
    skm.f1_score(y_test, y_pred, average="macro")
    score = model.score(X_test, y_test)
    X_test = X_test.copy()  # same name, another object: a second dataset
    skm.accuracy_score(y_test, model.predict(X_test))
    skm.accuracy_score(y_test.iloc[:20], model.predict(X_test.iloc[:20]))  # no variable: unknown_dataset
    metrics = nbtrack.get_run(run_id).data.metrics
    post = {k: v for k, v in metrics.items() if not k.startswith("training_")}
    assert set(post) == {"accuracy_score_X_test", "accuracy_score-2_X_test", "f1_score_X_test",
                         "LogisticRegression_score_X_test", "accuracy_score-3_X_test-2",
                         "accuracy_score-4_unknown_dataset"}
    assert post["accuracy_score_X_test"] == pytest.approx(accuracy)
    assert post["LogisticRegression_score_X_test"] == pytest.approx(score)
    info = json.loads(open(nbtrack.MlflowClient().download_artifacts(run_id, "metric_info.json")).read())
    assert info["accuracy_score_X_test"] == "accuracy_score(y_true=y_test, y_pred=y_pred)"
    assert info["f1_score_X_test"] == "f1_score(y_true=y_test, y_pred=y_pred, average='macro')"
    assert info["LogisticRegression_score_X_test"] == "LogisticRegression.score(X=X_test, y=y_test)"
    assert len(runs()) == 1  # metrics never start a run


def test_post_training_metrics_can_be_turned_off(iris):
    X_train, X_test, y_train, y_test = iris
    sklearn_autolog.autolog(log_post_training_metrics=False)
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    skm.accuracy_score(y_test, model.predict(X_test))
    assert all(k.startswith("training_") for k in nbtrack.last_active_run().data.metrics)


def test_pipeline_is_one_run_with_every_steps_params(iris):
    X_train, _, y_train, _ = iris
    nbtrack.autolog()
    pipe = Pipeline([("scale", StandardScaler()), ("clf", LogisticRegression(max_iter=300))])
    pipe.fit(X_train, y_train)
    assert len(runs()) == 1
    run = nbtrack.last_active_run()
    assert run.data.tags["estimator_name"] == "Pipeline"
    assert run.data.params["clf__C"] == "1.0" and run.data.params["scale__with_mean"] == "True"
    assert run.data.params == {k: str(v)[:6000] for k, v in pipe.get_params(deep=True).items()}
    assert run.data.metrics["training_accuracy_score"] == pytest.approx(pipe.score(X_train, y_train))


def test_preprocessing_alone_starts_no_run(iris):
    X_train, *_ = iris
    nbtrack.autolog()
    StandardScaler().fit(X_train)
    StandardScaler().fit_transform(X_train)
    assert runs() == []


def test_grid_search_parent_run_and_best_children(iris):
    X_train, _, y_train, _ = iris
    sklearn_autolog.autolog(max_tuning_runs=3)
    grid = {"C": [0.01, 0.1, 1, 10], "kernel": ["linear", "rbf"]}
    search = GridSearchCV(SVC(), grid, cv=3).fit(X_train, y_train)
    parent = nbtrack.last_active_run()
    params = parent.data.params
    assert params["cv"] == "3" and params["estimator"] == "SVC()"
    assert params["param_grid"] == str(grid)
    assert "C" not in params  # the seed estimator's untuned params are not the parent's
    assert {params["best_C"], params["best_kernel"]} == {str(search.best_params_["C"]),
                                                         search.best_params_["kernel"]}
    assert parent.data.metrics["best_cv_score"] == pytest.approx(search.best_score_)
    assert parent.data.metrics["training_score"] == pytest.approx(search.score(X_train, y_train))
    names = artifacts(parent.info.run_id)
    assert {"cv_results.csv", "model", "best_estimator", "estimator.html"} <= set(names)
    csv = pd.read_csv(nbtrack.MlflowClient().download_artifacts(parent.info.run_id, "cv_results.csv"))
    assert len(csv) == 8 and "mean_test_score" in csv.columns
    children = nbtrack.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'",
                                   output_format="list")
    assert len(children) == 3
    assert len(runs()) == 4  # one parent, three children: not one per candidate fit
    ranks = sorted(c.data.metrics["rank_test_score"] for c in children)
    assert ranks == sorted(pd.Series(search.cv_results_["rank_test_score"]).nsmallest(3))
    child = children[0]
    assert child.data.tags["mlflow.autologging"] == "sklearn"
    assert child.data.tags["estimator_name"] == "SVC"
    assert set(child.data.metrics) == {"mean_fit_time", "std_fit_time", "mean_score_time", "std_score_time",
                                       "mean_test_score", "std_test_score", "rank_test_score"}
    assert child.data.params["gamma"] == "scale"  # the seed's full params, with the searched ones
    assert child.info.status == "FINISHED"


def test_randomized_search_logs_every_candidate_with_max_tuning_runs_none(iris):
    X_train, _, y_train, _ = iris
    sklearn_autolog.autolog(max_tuning_runs=None)
    RandomizedSearchCV(LogisticRegression(max_iter=300), {"C": [0.1, 1, 10]}, n_iter=3, cv=2,
                       random_state=0).fit(X_train, y_train)
    parent = nbtrack.last_active_run()
    children = nbtrack.search_runs(filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    assert len(children) == 3


def test_max_tuning_runs_must_not_be_negative():
    with pytest.raises(nbtrack.MlflowException, match="max_tuning_runs"):
        sklearn_autolog.autolog(max_tuning_runs=-1)


def test_model_logged_with_signature_and_input_example(iris):
    X_train, X_test, y_train, _ = iris
    sklearn_autolog.autolog(log_input_examples=True)
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    run_id = nbtrack.last_active_run().info.run_id
    info = nbtrack.models.get_model_info(f"runs:/{run_id}/model")
    assert [c["name"] for c in info.signature.inputs.to_dict()] == list(X_train.columns)
    assert info.saved_input_example_info is not None
    loaded = nbtrack.pyfunc.load_model(f"runs:/{run_id}/model")
    np.testing.assert_array_equal(np.asarray(loaded.predict(X_test)), model.predict(X_test))


def test_no_model_when_log_models_is_false(iris):
    X_train, _, y_train, _ = iris
    nbtrack.autolog(log_models=False)
    LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert "model" not in artifacts(nbtrack.last_active_run().info.run_id)


def test_training_dataset_is_an_input(iris):
    X_train, _, y_train, _ = iris
    nbtrack.autolog()
    LogisticRegression(max_iter=300).fit(X_train, y_train)
    inputs = nbtrack.get_run(nbtrack.last_active_run().info.run_id).inputs.dataset_inputs
    assert [(d.dataset.name, [t.value for t in d.tags]) for d in inputs] == [("dataset", ["train"])]


def test_extra_tags_go_on_runs_autolog_starts(iris):
    X_train, _, y_train, _ = iris
    nbtrack.autolog(extra_tags={"team": "ml"})
    LogisticRegression(max_iter=300).fit(X_train, y_train)
    assert nbtrack.last_active_run().data.tags["team"] == "ml"


def test_unlabelled_fit_logs_params_and_no_training_metrics(iris):
    from sklearn.cluster import KMeans

    X_train, *_ = iris
    nbtrack.autolog()
    KMeans(n_clusters=3, n_init=2, random_state=0).fit(X_train)
    run = nbtrack.last_active_run()
    assert run.data.params["n_clusters"] == "3"
    assert run.data.metrics == {}


def test_cross_validation_helpers_start_no_run_per_fold(iris):
    from sklearn.model_selection import cross_val_score, cross_validate

    X_train, _, y_train, _ = iris
    nbtrack.autolog()
    cross_val_score(LogisticRegression(max_iter=300), X_train, y_train, cv=3)
    cross_validate(LogisticRegression(max_iter=300), X_train, y_train, cv=3)
    assert runs() == []


def test_library_calls_on_the_model_are_not_post_training_metrics(iris):
    from sklearn.inspection import permutation_importance

    X_train, X_test, y_train, y_test = iris
    nbtrack.autolog()
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    permutation_importance(model, X_test, y_test, n_repeats=3, random_state=0)
    assert all(k.startswith("training_") for k in nbtrack.last_active_run().data.metrics)


def test_metric_functions_imported_before_autolog_are_still_logged(iris):
    X_train, X_test, y_train, y_test = iris
    nbtrack.autolog()  # balanced_accuracy_score was imported with this module, long before
    model = LogisticRegression(max_iter=300).fit(X_train, y_train)
    value = balanced_accuracy_score(y_test, model.predict(X_test))
    metrics = nbtrack.get_run(nbtrack.last_active_run().info.run_id).data.metrics
    assert metrics["balanced_accuracy_score_X_test"] == pytest.approx(value)
