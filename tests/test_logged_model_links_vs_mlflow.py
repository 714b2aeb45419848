"""MLflow 3's run outputs, model inputs, model versions of logged models, the active model from the
environment, Hugging Face datasets and the model-environment tools, compared with the real mlflow:
one script, run on each (subprocesses at once, each with its own store), and the values, names,
types and files it reports compared (model ids as the order they were created in)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest
from procenv import python_env

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs the real mlflow (bench extra)")

CHILD = """
import json, os, sys, warnings
warnings.simplefilter("ignore")
if sys.argv[1] == "mlflow":
    import mlflow
    mlflow.set_tracking_uri("file://" + sys.argv[2] + "/mlruns")
else:
    import nbtrack as mlflow
    mlflow.set_tracking_uri(sys.argv[2] + "/store")
active = mlflow.get_active_model_id()
with mlflow.start_run():
    mlflow.log_metric("env_linked", 1.5)
mlflow.clear_active_model()
print("CHILD" + json.dumps([active, mlflow.get_active_model_id(), "MLFLOW_ACTIVE_MODEL_ID" in os.environ]))
"""

SCRIPT = textwrap.dedent('''
    import contextlib, io, json, os, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np, pandas as pd
    from sklearn.linear_model import LinearRegression
    if sys.argv[1] == "mlflow":
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        import mlflow
        from mlflow.entities import LoggedModelInput, LoggedModelOutput
        mlflow.set_tracking_uri("file://" + sys.argv[2] + "/mlruns")
    else:
        import nbtrack as mlflow
        from nbtrack.entities import LoggedModelInput, LoggedModelOutput
        mlflow.set_tracking_uri(sys.argv[2] + "/store")
    client = mlflow.MlflowClient()
    ids = []

    def mid(model_id):
        return ids.index(model_id) if model_id in ids else model_id

    def outputs(run_id):
        run = client.get_run(run_id)
        # sorted: MLflow's file store lists outputs in folder order, not in the order logged
        return {"outputs": sorted([mid(o.model_id), o.step, type(o).__name__] for o in run.outputs.model_outputs),
                "inputs": [[mid(i.model_id), type(i).__name__] for i in run.inputs.model_inputs],
                "dict": {k: sorted(({**d, "model_id": mid(d["model_id"])} for d in v), key=lambda d: d["model_id"])
                         for k, v in run.outputs.to_dictionary().items()}}

    X = np.arange(20.0).reshape(10, 2)
    out = {}
    with mlflow.start_run() as run:
        mlflow.log_metric("rmse", 0.5, step=2)
        info = mlflow.sklearn.log_model(LinearRegression().fit(X, X.sum(1)), name="model", step=2,
                                        input_example=X[:2])
        ids.append(info.model_id)
        second = mlflow.sklearn.log_model(LinearRegression().fit(X, X[:, 0]), name="other")
        ids.append(second.model_id)
        out["active_outputs"] = [[mid(o.model_id), o.step] for o in mlflow.active_run().outputs.model_outputs]
    rid = run.info.run_id
    out["after_log_model"] = outputs(rid)
    with mlflow.start_run() as later:
        mlflow.log_outputs([LoggedModelOutput(info.model_id, 9)])
    client.log_outputs(later.info.run_id, [LoggedModelOutput(second.model_id, 1)])
    client.log_inputs(later.info.run_id, models=[LoggedModelInput(info.model_id)])
    out["log_outputs"] = outputs(later.info.run_id)

    def version(mv):
        return {"model_id": mid(mv.model_id), "source": mv.source.replace(mv.model_id or "-", "<model_id>"),
                "same_run": mv.run_id == rid, "params": mv.params, "version": mv.version,
                "metrics": [[m.key, m.value, m.step, mid(m.model_id)] for m in mv.metrics or []]}

    out["by_model_uri"] = version(mlflow.register_model(info.model_uri, "reg"))
    out["by_runs_uri"] = version(mlflow.register_model(f"runs:/{rid}/model", "reg"))
    out["create_with_model_id"] = version(client.create_model_version("reg", info.model_uri, model_id=info.model_id))
    out["get"] = version(client.get_model_version("reg", 3))
    out["model_versions_tag"] = json.loads(client.get_logged_model(info.model_id).tags["mlflow.modelVersions"])
    try:  # MLflow's file store takes an unknown id; nbtrack refuses it (NotFound), a deliberate difference
        client.create_model_version("reg", info.model_uri, model_id="m-00000000000000000000000000000000")
        out["unknown_model_id"] = "accepted"
    except Exception as e:
        out["unknown_model_id"] = type(e).__name__
    loaded = mlflow.pyfunc.load_model("models:/reg/1")
    out["predict_registered"] = [round(float(v), 6) for v in loaded.predict(X[:2])]

    # the active model of a child process, from its environment (what the variables are for)
    import subprocess
    child = sys.argv[3]
    for key, name, model in (("env", "MLFLOW_ACTIVE_MODEL_ID", second), ("legacy_env", "_MLFLOW_ACTIVE_MODEL_ID", info)):
        done = subprocess.run([sys.executable, "-c", child, *sys.argv[1:3]], capture_output=True, text=True,
                              env={**os.environ, name: model.model_id})
        active, cleared, still_set = json.loads(done.stdout.split("CHILD")[-1])
        out[key + "_active"] = [mid(active), cleared, still_set]
        out[key + "_linked"] = [[m.key, m.value] for m in client.get_logged_model(model.model_id).metrics
                                if m.key == "env_linked"]

    # the model-environment tools on the registered model's files
    serving = {"dataframe_split": {"columns": ["0", "1"], "data": [[1.0, 2.0]]}}
    local = mlflow.artifacts.download_artifacts(info.model_uri, dst_path=sys.argv[2] + "/copy")
    out["validate_serving_input"] = [round(float(v), 6) for v in
                                     mlflow.models.validate_serving_input(local, {"inputs": [[1.0, 2.0]]})]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        mlflow.models.predict(local, X[:2], env_manager="local")
    out["predict_local"] = json.loads(printed.getvalue().strip().splitlines()[-1])
    mlflow.models.predict(local, X[:1], env_manager="local", output_path=sys.argv[2] + "/pred.json")
    out["predict_output_path"] = json.loads(open(sys.argv[2] + "/pred.json").read())
    import sklearn
    out["infer_has_sklearn"] = f"scikit-learn=={sklearn.__version__}" in mlflow.models.infer_pip_requirements(local, "sklearn")
    mlflow.models.update_model_requirements(local, "add", ["Pandas>=2.0", "numpy==2.0.0"])
    mlflow.models.update_model_requirements(local, "remove", ["scikit-learn"])
    reqs = [r for r in open(local + "/requirements.txt").read().splitlines()
            if not r.startswith(("mlflow", "nbtrack"))]
    out["updated_requirements"] = sorted(r for r in reqs if r.split("=")[0].split(">")[0] in ("pandas", "numpy",
                                                                                               "scikit-learn"))

    # Hugging Face datasets
    import datasets
    hf = datasets.Dataset.from_dict({"text": ["a", "bb", "ccc"], "label": [0, 1, 0], "score": [0.5, 1.5, 2.5]})
    csv = sys.argv[2] + "/hf.csv"
    pd.DataFrame({"x": [1, 2], "y": ["p", "q"]}).to_csv(csv, index=False)
    from_csv = datasets.load_dataset("csv", data_files=csv, split="train")
    cases = {"memory": mlflow.data.from_huggingface(hf, targets="label", name="hf"),
             "with_path": mlflow.data.from_huggingface(from_csv, path="csv", data_files=csv),
             "with_source": mlflow.data.from_huggingface(hf, source="s3://bucket/hf.parquet", digest="d1")}
    hfout = {}
    for key, ds in cases.items():
        d = ds.to_dict()
        hfout[key] = {"class": type(ds).__name__, "digest": ds.digest, "name": ds.name, "targets": ds.targets,
                      "profile": ds.profile, "source_type": d["source_type"], "source_class": type(ds.source).__name__,
                      "schema": json.loads(d["schema"]) if d.get("schema") else None,
                      "profile_json": json.loads(d["profile"]),
                      "source": {k: v.replace(sys.argv[2], "<dir>") if isinstance(v, str) else v
                                 for k, v in json.loads(d["source"]).items() if k != "tags"}}
    with mlflow.start_run() as hf_run:
        mlflow.log_input(cases["with_path"], context="training")
    logged = client.get_run(hf_run.info.run_id).inputs.dataset_inputs[0]
    reloaded = mlflow.data.get_source(logged)
    hfout["logged"] = [logged.dataset.name, logged.dataset.digest, logged.dataset.source_type,
                       type(reloaded).__name__, reloaded.load().num_rows]
    try:
        mlflow.data.from_huggingface(datasets.DatasetDict({"train": hf}))
    except Exception as e:
        hfout["dataset_dict"] = isinstance(e, mlflow.MlflowException)
    out["huggingface"] = hfout
    print("RESULT" + json.dumps(out, default=str))
''')


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    pytest.importorskip("datasets")
    pytest.importorskip("sklearn")
    env = {**python_env(), "MLFLOW_TRACKING_URI": "", "NBTRACK_TRACKING_URI": "", "GIT_PYTHON_REFRESH": "quiet",
           "MLFLOW_ENABLE_SYSTEM_METRICS_LOGGING": "false", "HF_DATASETS_OFFLINE": "1",
           "HF_HOME": str(tmp_path_factory.mktemp("hf_home"))}
    for name in ("MLFLOW_ACTIVE_MODEL_ID", "_MLFLOW_ACTIVE_MODEL_ID"):
        env.pop(name, None)
    procs = {}
    for tool in ("mlflow", "nbtrack"):
        folder = tmp_path_factory.mktemp(tool)
        procs[tool] = subprocess.Popen([sys.executable, "-c", SCRIPT, tool, str(folder), CHILD], cwd=folder, env=env,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out = {}
    for tool, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=300)
        assert proc.returncode == 0, f"{tool} script failed:\n{stderr[-3000:]}"
        out[tool] = json.loads(stdout.split("RESULT")[-1])
    return out["mlflow"], out["nbtrack"]


CASES = ["active_outputs", "after_log_model", "log_outputs", "by_model_uri", "by_runs_uri", "create_with_model_id",
         "get", "model_versions_tag", "predict_registered", "env_active", "env_linked", "legacy_env_active",
         "legacy_env_linked", "validate_serving_input", "predict_local", "predict_output_path", "infer_has_sklearn",
         "updated_requirements"]


@pytest.mark.parametrize("case", CASES)
def test_same_as_mlflow(results, case):
    theirs, ours = results
    assert ours[case] == theirs[case]


def test_an_unknown_model_id_is_refused_where_mlflow_takes_it(results):
    theirs, ours = results
    assert (theirs["unknown_model_id"], ours["unknown_model_id"]) == ("accepted", "NotFound")


@pytest.mark.parametrize("case", ["memory", "with_path", "with_source", "logged", "dataset_dict"])
def test_same_huggingface_dataset_as_mlflow(results, case):
    theirs, ours = results
    assert ours["huggingface"][case] == theirs["huggingface"][case]
