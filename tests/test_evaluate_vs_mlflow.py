"""``evaluate`` gives what MLflow 3.x's ``mlflow.evaluate`` gives: one script, run once on the real
mlflow (its own sqlite store) and once on nbtrack, each in a subprocess, then compared: metric
names and values, artifact names and kinds, the files logged, the dataset inputs, validation."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
import sys
import textwrap

import pytest
from procenv import python_env

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None or importlib.util.find_spec("sklearn") is None,
                                reason="needs the real mlflow (the bench extra) and scikit-learn")

SCRIPT = textwrap.dedent('''
    import json, sys, time, warnings, logging
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    import numpy as np, pandas as pd
    from sklearn.datasets import load_breast_cancer, load_iris, load_diabetes
    from sklearn.linear_model import LinearRegression, LogisticRegression
    REQS = ["scikit-learn"]  # skips requirement inference, which is most of log_model's time
    if sys.argv[1] == "mlflow":
        import os
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        import mlflow
        from mlflow.models import MetricThreshold, make_metric
        from mlflow.metrics import MetricValue
        mlflow.set_tracking_uri("file://" + sys.argv[2] + "/mlruns")  # no schema migrations to wait for
        mlflow.set_experiment("eval")
    else:
        import nbtrack as mlflow
        from nbtrack.models import MetricThreshold, make_metric
        from nbtrack.metrics import MetricValue
        mlflow.set_tracking_uri(sys.argv[2] + "/store")
    out = {}

    def frame(loader, n=None):
        X, y = loader(return_X_y=True, as_frame=True)
        X = X.iloc[:, :n] if n else X
        return X, X.assign(target=y)

    def record(name, fn):
        started = time.time()
        with mlflow.start_run() as run:
            try:
                res = fn()
            except Exception as e:
                out[name] = {"error": type(e).__name__, "message": str(e)}
                return None
        r = mlflow.get_run(run.info.run_id)
        files = sorted(f.path for f in mlflow.MlflowClient().list_artifacts(run.info.run_id) if f.path != "model")
        out[name] = {
            "metrics": {k: float(v) for k, v in res.metrics.items()},
            "metric_types": {k: type(v).__name__ for k, v in res.metrics.items()},
            "logged": {k: float(v) for k, v in r.data.metrics.items()},
            "artifacts": {k: type(v).__name__ for k, v in res.artifacts.items()},
            "files": files,
            "inputs": [[d.dataset.name, d.dataset.digest, d.dataset.source_type,
                        sorted([t.key, t.value] for t in d.tags), d.dataset.schema, d.dataset.profile]
                       for d in r.inputs.dataset_inputs],
            "run_id_matches": res.run_id == run.info.run_id,
            "tables": {k: list(v.columns) for k, v in res.tables.items()},
            "datasets_tag": [{k: v for k, v in e.items() if k != "model"}  # model ids differ
                             for e in json.loads(r.data.tags.get("mlflow.datasets", "[]"))],
            "contents": {k: (v.content.to_dict("list") if type(v).__name__ == "CsvEvaluationArtifact" else v.content)
                         for k, v in res.artifacts.items()
                         if type(v).__name__ in ("CsvEvaluationArtifact", "JsonEvaluationArtifact")},
        }
        print(name, round(time.time() - started, 2), file=sys.stderr)
        return res

    X, bc = frame(load_breast_cancer, 8)
    clf = LogisticRegression(max_iter=3000).fit(X, bc.target)
    with mlflow.start_run():
        uri = mlflow.sklearn.log_model(clf, name="model", pip_requirements=REQS).model_uri

    def double_mae(predictions, targets):
        return float(np.abs(predictions - targets).mean() * 2)

    def per_row(predictions, targets):
        return MetricValue(scores=[float(p == t) for p, t in zip(predictions, targets)])

    def uses_other(predictions, double_mae, accuracy_score):
        return double_mae.aggregate_results["double_mae"] + accuracy_score.aggregate_results["accuracy_score"]

    def legacy(eval_df, builtin_metrics):
        return builtin_metrics["accuracy_score"] / 2

    def artifacts_fn(eval_df, builtin_metrics, artifacts_dir):
        import matplotlib.figure
        fig = matplotlib.figure.Figure(); fig.add_subplot().plot([0, 1], [1, 0])
        return {"summary": {"n": len(eval_df), "acc": builtin_metrics["accuracy_score"].aggregate_results["accuracy_score"]},
                "head": eval_df.head(3), "array": np.arange(4), "figure": fig}

    extra = [make_metric(eval_fn=double_mae, greater_is_better=False),
             make_metric(eval_fn=per_row, greater_is_better=True),
             make_metric(eval_fn=uses_other, greater_is_better=True, name="uses_other"),
             make_metric(eval_fn=legacy, greater_is_better=True, version="v2")]
    record("binary_uri_extras", lambda: mlflow.models.evaluate(
        uri, bc, targets="target", model_type="classifier", extra_metrics=extra,
        custom_artifacts=[artifacts_fn], evaluator_config={"metric_prefix": "val_"}))
    record("dataset_pos_label_weights", lambda: mlflow.evaluate(
        uri, mlflow.data.from_pandas(bc, targets="target", name="bc_eval"), model_type="classifier",
        evaluator_config={"pos_label": 0, "sample_weights": np.linspace(0.5, 1.5, len(bc))}))
    static = bc.assign(pred=clf.predict(X))
    record("static_predictions", lambda: mlflow.evaluate(data=static, targets="target", predictions="pred",
                                                         model_type="classifier"))

    Xi, iris = frame(load_iris)
    multi = LogisticRegression(max_iter=2000).fit(Xi, iris.target)
    with mlflow.start_run():
        iris_uri = mlflow.sklearn.log_model(multi, name="model", pip_requirements=REQS).model_uri
    record("multiclass_loaded", lambda: mlflow.evaluate(mlflow.pyfunc.load_model(iris_uri), iris, targets="target",
                                                        model_type="classifier"))

    Xd, diab = frame(load_diabetes)
    reg = LinearRegression().fit(Xd, diab.target)
    with mlflow.start_run():
        reg_uri = mlflow.sklearn.log_model(reg, name="model", pip_requirements=REQS).model_uri
    cand = record("regressor", lambda: mlflow.evaluate(reg_uri, diab, targets="target", model_type="regressor",
                                                       extra_metrics=[make_metric(eval_fn=double_mae, greater_is_better=False)]))
    worse = record("regressor_callable", lambda: mlflow.evaluate(lambda df: np.full(len(df), 150.0), diab,
                                                                 targets="target", model_type="regressor"))
    reg_np = LinearRegression().fit(Xd.to_numpy(), diab.target)
    record("numpy_regressor", lambda: mlflow.evaluate(lambda df: reg_np.predict(df.to_numpy()), Xd.to_numpy(),
                                                      targets=diab.target.to_numpy(), model_type="regressor"))
    record("no_model_type", lambda: mlflow.evaluate(reg_uri, diab, targets="target", model_type=None,
                                                    extra_metrics=[make_metric(eval_fn=double_mae, greater_is_better=False)]))
    record("missing_targets", lambda: mlflow.evaluate(reg_uri, diab, model_type="regressor"))

    checks = {
        "pass": {"r2_score": MetricThreshold(threshold=0.3, min_absolute_change=0.1, greater_is_better=True)},
        "fail_threshold": {"r2_score": MetricThreshold(threshold=0.9, greater_is_better=True),
                           "mean_squared_error": MetricThreshold(min_relative_change=0.99, greater_is_better=False)},
        "missing": {"nope": MetricThreshold(threshold=1, greater_is_better=True)},
    }
    out["validation"] = {}
    for name, thresholds in checks.items():
        try:
            mlflow.validate_evaluation_results(thresholds, cand, worse)
            out["validation"][name] = "passed"
        except Exception as e:
            out["validation"][name] = [type(e).__name__, str(e)]
    try:
        MetricThreshold(threshold=1)
    except Exception as e:
        out["validation"]["bad_threshold"] = [type(e).__name__, str(e)]
    print(json.dumps(out, default=lambda v: v.item() if hasattr(v, "item") else str(v)))
''')


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    """Both tools' outputs, from subprocesses that run concurrently."""
    procs = {}
    for tool in ("mlflow", "nbtrack"):
        folder = tmp_path_factory.mktemp(tool)
        procs[tool] = subprocess.Popen([sys.executable, "-c", SCRIPT, tool, str(folder)], cwd=folder,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=python_env())
    out = {}
    for tool, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=240)
        assert proc.returncode == 0, f"{tool} script failed:\n{stderr[-3000:]}"
        out[tool] = json.loads(stdout.strip().splitlines()[-1])
    return out["mlflow"], out["nbtrack"]


CASES = ["binary_uri_extras", "dataset_pos_label_weights", "static_predictions", "multiclass_loaded",
         "regressor", "regressor_callable", "numpy_regressor", "no_model_type"]


def _close(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("case", CASES)
def test_same_metrics(results, case):
    ours, theirs = results[1][case], results[0][case]
    assert "error" not in ours, ours
    assert sorted(ours["metrics"]) == sorted(theirs["metrics"])
    different = {k: (ours["metrics"][k], v) for k, v in theirs["metrics"].items() if not _close(ours["metrics"][k], v)}
    assert not different
    assert ours["metric_types"] == theirs["metric_types"]


@pytest.mark.parametrize("case", CASES)
def test_same_metrics_logged_to_the_run(results, case):
    ours, theirs = results[1][case], results[0][case]
    assert sorted(ours["logged"]) == sorted(theirs["logged"])
    assert all(_close(ours["logged"][k], v) for k, v in theirs["logged"].items())
    assert ours["run_id_matches"] and theirs["run_id_matches"]


@pytest.mark.parametrize("case", CASES)
def test_same_artifacts_and_files(results, case):
    ours, theirs = results[1][case], results[0][case]
    assert ours["artifacts"] == theirs["artifacts"]
    assert ours["files"] == theirs["files"]
    assert ours["tables"] == theirs["tables"]


@pytest.mark.parametrize("case", ["binary_uri_extras", "multiclass_loaded"])
def test_same_table_and_json_contents(results, case):
    ours, theirs = results[1][case]["contents"], results[0][case]["contents"]
    assert ours.keys() == theirs.keys() and ours
    assert json.loads(json.dumps(ours), parse_float=lambda s: round(float(s), 9)) == \
        json.loads(json.dumps(theirs), parse_float=lambda s: round(float(s), 9))


@pytest.mark.parametrize("case", CASES)
def test_same_dataset_inputs(results, case):
    ours, theirs = results[1][case], results[0][case]
    assert len(ours["inputs"]) == len(theirs["inputs"]) == 1
    (name, digest, kind, tags, schema, profile), theirs_input = ours["inputs"][0], theirs["inputs"][0]
    assert [name, digest, kind, tags] == theirs_input[:4]
    assert json.loads(profile) == json.loads(theirs_input[5])
    assert json.loads(schema) == json.loads(theirs_input[4])
    assert ours["datasets_tag"] == theirs["datasets_tag"]  # the legacy mlflow.datasets tag, with MLflow's hash
    assert bool(ours["datasets_tag"]) == (case in ("binary_uri_extras", "dataset_pos_label_weights",
                                                   "multiclass_loaded", "regressor", "no_model_type"))


def test_same_errors(results):
    ours, theirs = results[1]["missing_targets"], results[0]["missing_targets"]
    assert ours["message"] == theirs["message"]
    assert ours["error"] == "InvalidParameter" and theirs["error"] == "MlflowException"


def test_same_validation_outcomes(results):
    ours, theirs = results[1]["validation"], results[0]["validation"]
    assert ours.keys() == theirs.keys()
    assert ours["pass"] == theirs["pass"] == "passed"
    for name in ("fail_threshold", "missing"):
        assert ours[name][0] == theirs[name][0] == "ModelValidationFailedException"
        assert ours[name][1] == theirs[name][1]
    assert ours["bad_threshold"][1] == theirs["bad_threshold"][1]
