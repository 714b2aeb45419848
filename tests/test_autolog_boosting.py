"""XGBoost and LightGBM autolog: native train and the scikit-learn wrappers, per-iteration
evaluation metrics with steps, early stopping, feature importance (JSON and plot), models."""

from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("sklearn")

from sklearn.datasets import load_breast_cancer
from sklearn.model_selection import train_test_split

import nbtrack
from nbtrack.autolog import AutologWarning
from nbtrack.autolog import lightgbm as lightgbm_autolog
from nbtrack.autolog import xgboost as xgboost_autolog
from nbtrack.autolog._runs import Target


@pytest.fixture(autouse=True)
def _autolog_off_afterwards():
    yield
    nbtrack.autolog.flush(30)
    nbtrack.autolog(disable=True)


@pytest.fixture(scope="module")
def data():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X = X.iloc[:, :8]
    return train_test_split(X, y, random_state=0)


def history(run_id: str, key: str) -> list[tuple[int, float]]:
    return [(m.step, m.value) for m in nbtrack.MlflowClient().get_metric_history(run_id, key)]


def artifact_names(run_id: str) -> set[str]:
    nbtrack.autolog.flush(30)
    return {f.path for f in nbtrack.MlflowClient().list_artifacts(run_id)}


def read_json(run_id: str, path: str) -> dict:
    with open(nbtrack.MlflowClient().download_artifacts(run_id, path)) as f:
        return json.load(f)


# -- XGBoost ------------------------------------------------------------------------------------
def test_xgboost_train_metrics_by_iteration_and_early_stopping(data):
    xgb = pytest.importorskip("xgboost")
    X_train, X_test, y_train, y_test = data
    xgboost_autolog.autolog(importance_types=["weight", "gain"], log_input_examples=True)
    dtrain, dvalid = xgb.DMatrix(X_train, label=y_train), xgb.DMatrix(X_test, label=y_test)
    params = {"objective": "binary:logistic", "eval_metric": ["logloss", "auc"], "max_depth": 2, "eta": 0.3}
    booster = xgb.train(params, dtrain, 200, evals=[(dtrain, "train"), (dvalid, "validation")],
                        early_stopping_rounds=3, verbose_eval=False)
    run = nbtrack.last_active_run()
    assert run.info.status == "FINISHED" and run.data.tags["mlflow.autologging"] == "xgboost"
    assert run.data.params["max_depth"] == "2" and run.data.params["eta"] == "0.3"
    assert run.data.params["num_boost_round"] == "200" and run.data.params["early_stopping_rounds"] == "3"
    iterations = history(run.info.run_id, "validation-logloss")
    stopped = len(iterations) - 2  # the last point is the best iteration, one step past the end
    assert [s for s, _ in iterations] == list(range(stopped + 2))
    assert stopped < 199
    assert run.data.metrics["stopped_iteration"] == stopped
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert iterations[-1][1] == pytest.approx(iterations[booster.best_iteration][1])
    assert {"train-auc", "validation-auc", "train-logloss"} <= set(run.data.metrics)
    names = artifact_names(run.info.run_id)
    assert {"feature_importance_weight.json", "feature_importance_weight.png", "feature_importance_gain.json",
            "feature_importance_gain.png", "model"} <= names
    assert read_json(run.info.run_id, "feature_importance_weight.json") == booster.get_score(importance_type="weight")
    info = nbtrack.models.get_model_info(f"runs:/{run.info.run_id}/model")
    assert info.signature is not None and info.saved_input_example_info is not None
    loaded = nbtrack.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(dvalid), booster.predict(dvalid))


def test_xgboost_classifier_wrapper_logs_itself_as_the_model(data):
    xgb = pytest.importorskip("xgboost")
    X_train, X_test, y_train, y_test = data
    nbtrack.autolog()
    model = xgb.XGBClassifier(n_estimators=15, max_depth=2, eval_metric="logloss")
    assert model.fit(X_train, y_train, eval_set=[(X_test, y_test)], verbose=False) is model
    runs = nbtrack.search_runs(output_format="list")
    assert len(runs) == 1  # fit and its inner train(): one run
    run = runs[0]
    assert run.data.params["num_boost_round"] == "15"  # the wrapper's n_estimators, as train() saw it
    assert [s for s, _ in history(run.info.run_id, "validation_0-logloss")] == list(range(15))
    assert "feature_importance_weight.json" in artifact_names(run.info.run_id)
    loaded = nbtrack.xgboost.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded).__name__ == "XGBClassifier"
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))


def test_xgboost_in_a_pipeline_is_the_pipelines_run(data):
    xgb = pytest.importorskip("xgboost")
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X_train, _, y_train, _ = data
    nbtrack.autolog()
    make_pipeline(StandardScaler(), xgb.XGBClassifier(n_estimators=5)).fit(X_train, y_train)
    runs = nbtrack.search_runs(output_format="list")
    assert [r.data.tags["mlflow.autologging"] for r in runs] == ["sklearn"]


def test_a_failing_metrics_callback_does_not_stop_training(data, monkeypatch):
    xgb = pytest.importorskip("xgboost")
    X_train, _, y_train, _ = data
    xgboost_autolog.autolog()

    def broken(self, metrics, step=0):
        raise RuntimeError("metrics store down")

    monkeypatch.setattr(Target, "log_metrics", broken)
    dtrain = xgb.DMatrix(X_train, label=y_train)
    with pytest.warns(AutologWarning, match="metrics store down") as record:
        booster = xgb.train({"objective": "binary:logistic"}, dtrain, 10, evals=[(dtrain, "train")],
                            verbose_eval=False)
    assert booster.num_boosted_rounds() == 10
    assert len([w for w in record if issubclass(w.category, AutologWarning)]) == 1


# -- LightGBM -----------------------------------------------------------------------------------
def test_lightgbm_train_metrics_early_stopping_and_importance(data):
    lgb = pytest.importorskip("lightgbm")
    X_train, X_test, y_train, y_test = data
    lightgbm_autolog.autolog()
    train_set = lgb.Dataset(X_train, label=y_train)
    valid_set = lgb.Dataset(X_test, label=y_test, reference=train_set)
    booster = lgb.train({"objective": "binary", "metric": "binary_logloss", "verbose": -1, "num_leaves": 4},
                        train_set, 300, valid_sets=[valid_set], valid_names=["valid"],
                        callbacks=[lgb.early_stopping(3, verbose=False)])
    run = nbtrack.last_active_run()
    assert run.data.tags["mlflow.autologging"] == "lightgbm"
    assert run.data.params["num_leaves"] == "4" and run.data.params["num_boost_round"] == "300"
    points = history(run.info.run_id, "valid-binary_logloss")
    trained = len(points) - 1
    assert [s for s, _ in points] == list(range(trained + 1))
    assert run.data.metrics["stopped_iteration"] == trained
    assert run.data.metrics["best_iteration"] == booster.best_iteration
    assert points[-1][1] == pytest.approx(points[booster.best_iteration - 1][1])
    names = artifact_names(run.info.run_id)
    assert {"feature_importance_split.json", "feature_importance_split.png", "feature_importance_gain.json",
            "feature_importance_gain.png", "model"} <= names
    split = read_json(run.info.run_id, "feature_importance_split.json")
    assert split == dict(zip(booster.feature_name(), booster.feature_importance("split").tolist(), strict=True))
    loaded = nbtrack.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    np.testing.assert_allclose(loaded.predict(X_test), booster.predict(X_test))
    assert nbtrack.models.get_model_info(f"runs:/{run.info.run_id}/model").signature is not None


def test_lightgbm_classifier_wrapper(data):
    lgb = pytest.importorskip("lightgbm")
    X_train, X_test, y_train, y_test = data
    nbtrack.autolog()
    model = lgb.LGBMClassifier(n_estimators=12, num_leaves=4, verbose=-1)
    model.fit(X_train, y_train, eval_X=(X_test,), eval_y=(y_test,))
    runs = nbtrack.search_runs(output_format="list")
    assert len(runs) == 1
    run = runs[0]
    assert run.data.params["num_boost_round"] == "12"
    assert [s for s, _ in history(run.info.run_id, "valid_0-binary_logloss")] == list(range(12))
    loaded = nbtrack.lightgbm.load_model(f"runs:/{run.info.run_id}/model")
    assert type(loaded).__name__ == "LGBMClassifier"
    np.testing.assert_array_equal(loaded.predict(X_test), model.predict(X_test))


def test_interrupted_training_ends_the_autolog_run_killed(data):
    lgb = pytest.importorskip("lightgbm")
    X_train, _, y_train, _ = data
    lightgbm_autolog.autolog()

    def interrupt(env):
        if env.iteration == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        lgb.train({"objective": "binary", "verbose": -1}, lgb.Dataset(X_train, label=y_train), 10,
                  callbacks=[interrupt])
    assert nbtrack.active_run() is None
    assert nbtrack.last_active_run().info.status == "KILLED"
