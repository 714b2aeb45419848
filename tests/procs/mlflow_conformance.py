"""The real ``mlflow`` client against an nbtrack server: ``python mlflow_conformance.py URL OUT.json``.

Run in its own process so mlflow's global state stays out of the test process. Writes what the
client saw to OUT.json for the test to compare with what nbtrack reads from the store.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from sklearn.linear_model import LogisticRegression


def main(url: str, out_path: str) -> None:
    mlflow.set_tracking_uri(url)
    exp_id = mlflow.create_experiment("conformance", tags={"project": "nbtrack"})
    mlflow.set_experiment("conformance")
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]] * 5)
    y = np.array([0, 1, 0, 1] * 5)
    out: dict = {"experiment_id": exp_id, "runs": {}}
    for name, c in (("weak", 0.01), ("strong", 10.0)):
        with mlflow.start_run(run_name=name, tags={"team": "vision"}) as run:
            model = LogisticRegression(C=c).fit(X, y)
            mlflow.log_params({"C": c, "solver": "lbfgs"})
            for step in range(10):
                mlflow.log_metric("loss", 1.0 / (step + 1) / c, step=step)
            mlflow.log_metrics({"acc": float(model.score(X, y)), "c": c})
            mlflow.set_tags({"stage": "dev", "name_tag": name})
            mlflow.log_input(mlflow.data.from_pandas(pd.DataFrame(X, columns=["a", "b"]), name="toy"), context="train")
            mlflow.log_dict({"C": c}, "meta/config.json")
            mlflow.log_text("hello " + name, "notes.txt")
            with tempfile.TemporaryDirectory() as tmp:
                mlflow.sklearn.save_model(model, os.path.join(tmp, "model"), pip_requirements=["scikit-learn"])
                mlflow.log_artifacts(os.path.join(tmp, "model"), "model")
            out["runs"][name] = {"run_id": run.info.run_id, "predictions": model.predict_proba(X[:4]).tolist()}
    with mlflow.start_run(run_name="log_model") as run:  # MLflow 3: logged-model endpoints and the proxy
        mlflow.log_param("alpha", 0.5)
        mlflow.log_metric("acc", 0.75)
        info = mlflow.sklearn.log_model(model, name="m", registered_model_name="logged-model",
                                        pip_requirements=["scikit-learn"])
    lm = mlflow.get_logged_model(info.model_id)
    MlflowClient().set_registered_model_alias("logged-model", "best", 1)
    out["log_model"] = {
        "model_id": info.model_id, "model_uri": info.model_uri, "run_id": run.info.run_id,
        "version": info.registered_model_version,
        "logged": [lm.name, str(lm.status), lm.source_run_id, lm.params, lm.artifact_location,
                   sorted((m.key, m.value, m.step, m.model_id) for m in lm.metrics)],
        "searched": [m.model_id for m in mlflow.search_logged_models(experiment_ids=[exp_id], output_format="list")],
        "filtered": [m.name for m in mlflow.search_logged_models(
            experiment_ids=[exp_id], filter_string="params.alpha = '0.5' AND metrics.acc > 0.5", output_format="list")],
        "predict": np.asarray(mlflow.pyfunc.load_model(info.model_uri).predict(X[:4])).tolist(),
        "alias_predict": np.asarray(mlflow.pyfunc.load_model("models:/logged-model@best").predict(X[:4])).tolist(),
        "history": [(h.step, h.value) for h in MlflowClient().get_metric_history(run.info.run_id, "acc")],
    }
    client = MlflowClient()
    strong = out["runs"]["strong"]["run_id"]
    found = mlflow.search_runs(experiment_ids=[exp_id], filter_string="metrics.acc > 0.1 and params.solver = 'lbfgs'",
                               order_by=["metrics.c DESC"])
    out["search_order"] = found["run_id"].tolist()
    out["search_like"] = mlflow.search_runs([exp_id], "tags.name_tag LIKE 'we%'")["run_id"].tolist()
    page1 = client.search_runs([exp_id], order_by=["params.C ASC"], max_results=1)
    page2 = client.search_runs([exp_id], order_by=["params.C ASC"], max_results=1, page_token=page1.token)
    out["paged"] = [r.info.run_id for r in [*page1, *page2]]
    out["history"] = [(m.step, m.value) for m in client.get_metric_history(strong, "loss")]
    got = client.get_run(strong)
    out["get_run"] = {"params": got.data.params, "metrics": got.data.metrics,
                      "tags": {k: v for k, v in got.data.tags.items() if not k.startswith("mlflow.")},
                      "datasets": [d.dataset.name for d in got.inputs.dataset_inputs], "status": got.info.status}
    out["artifacts"] = sorted(f.path for f in client.list_artifacts(strong))
    out["config"] = mlflow.artifacts.load_dict(f"runs:/{strong}/meta/config.json")
    out["experiment"] = {"name": client.get_experiment(exp_id).name, "tags": client.get_experiment(exp_id).tags}
    for name in ("weak", "strong"):
        mv = mlflow.register_model(f"runs:/{out['runs'][name]['run_id']}/model", "conformance-model")
        out["runs"][name]["version"] = mv.version
    client.transition_model_version_stage("conformance-model", 1, "Staging")
    client.set_registered_model_alias("conformance-model", "champion", 2)
    client.set_model_version_tag("conformance-model", "2", "validated", "yes")
    out["alias_version"] = client.get_model_version_by_alias("conformance-model", "champion").version
    out["staging"] = [v.version for v in client.get_latest_versions("conformance-model", stages=["Staging"])]
    out["search_versions"] = sorted(v.version for v in client.search_model_versions("name = 'conformance-model'"))
    loaded = mlflow.pyfunc.load_model("models:/conformance-model@champion")
    out["alias_predictions"] = np.asarray(loaded.predict(pd.DataFrame(X[:4]))).tolist()
    sk = mlflow.sklearn.load_model("models:/conformance-model/Staging")
    out["staging_predictions"] = sk.predict_proba(X[:4]).tolist()
    with open(out_path, "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
