"""The registry and client surface against the real mlflow: one script, run on both (subprocesses,
concurrently), compares what copy_model_version, the fluent registry search, a registry in another
store, load_table, log_stream, log_inputs and mlflow.artifacts' helpers return."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap

import pytest
from procenv import python_env

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs the real mlflow (bench extra)")

SCRIPT = textwrap.dedent('''
    import io, json, os, sys, warnings
    warnings.simplefilter("ignore")
    import pandas as pd
    home = sys.argv[2]
    if sys.argv[1] == "mlflow":
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        import mlflow
        mlflow.set_tracking_uri("file://" + home + "/mlruns")
        other_registry = "file://" + home + "/registry"
    else:
        import nbtrack as mlflow
        mlflow.set_tracking_uri(home + "/store")
        other_registry = home + "/registry"
    from importlib import import_module
    artifact_utils = import_module(mlflow.__name__ + ".tracking.artifact_utils")
    client = mlflow.MlflowClient()
    out = {}

    os.makedirs(home + "/model")
    with open(home + "/model/MLmodel", "w") as f:
        f.write("flavors: {}\\n")
    runs = []
    for i, rows in enumerate([{"q": ["a", "b"], "score": [1.0, 2.0]}, {"q": ["c"], "score": [3.0]}]):
        with mlflow.start_run() as run:
            mlflow.log_param("i", str(i))
            mlflow.log_table(rows, "eval.json")
            mlflow.log_artifacts(home + "/model", "model")
        runs.append(run.info.run_id)
    table = mlflow.load_table("eval.json", extra_columns=["run_id", "params.i"])
    out["table_columns"] = list(table.columns)
    out["table_rows"] = sorted([r.q, r.score, runs.index(r.run_id), r["params.i"]] for _, r in table.iterrows())
    out["table_one_run"] = list(client.load_table("0", "eval.json", run_ids=[runs[1]])["q"])
    try:
        mlflow.load_table("nope.json")
    except Exception as e:
        out["table_missing"] = getattr(e, "error_code", None)

    mv = mlflow.register_model(f"runs:/{runs[0]}/model", "iris", tags={"k": "v"})
    client.update_model_version("iris", mv.version, "first")
    client.set_registered_model_alias("iris", "champion", mv.version)
    mlflow.set_model_version_tag("iris", "1", "validated", "yes")
    copy = client.copy_model_version("models:/iris@champion", "iris-prod")
    out["copy"] = [copy.name, int(copy.version), copy.source, copy.run_id == runs[0], copy.tags, copy.description]
    again = client.copy_model_version("models:/iris/1", "iris-prod")
    out["copy_again"] = int(again.version)
    out["search_models"] = [m.name for m in mlflow.search_registered_models(filter_string="name LIKE 'iris%'",
                                                                            order_by=["name DESC"])]
    out["search_models_max"] = len(mlflow.search_registered_models(max_results=1))
    out["search_versions"] = sorted(int(v.version) for v in mlflow.search_model_versions(
        filter_string="name = 'iris-prod'"))
    out["registry_default"] = mlflow.get_registry_uri() == mlflow.get_tracking_uri()
    mlflow.set_registry_uri(other_registry)
    out["registry_set"] = mlflow.get_registry_uri() == other_registry
    mlflow.register_model(f"runs:/{runs[1]}/model", "elsewhere")
    out["registry_other"] = [m.name for m in mlflow.MlflowClient(registry_uri=other_registry).search_registered_models()]
    out["registry_tracking"] = sorted(m.name for m in mlflow.MlflowClient(
        mlflow.get_tracking_uri(), registry_uri=mlflow.get_tracking_uri()).search_registered_models())

    with mlflow.start_run() as run:
        mlflow.log_stream(io.BytesIO(b"\\x00\\x01bytes"), "blobs/b.bin")
        mlflow.log_text("hello", "notes/a.txt")
        mlflow.log_dict({"k": [1, 2]}, "notes/d.json")
        train = mlflow.data.from_pandas(pd.DataFrame({"x": [1, 2]}), name="train")
        test = mlflow.data.from_pandas(pd.DataFrame({"x": [3]}), name="test")
        mlflow.log_inputs([train, test], contexts=["training", "testing"], tags_list=[{"a": "1"}, None])
    rid = run.info.run_id
    with open(mlflow.artifacts.download_artifacts(f"runs:/{rid}/blobs/b.bin"), "rb") as f:
        out["stream"] = list(f.read())
    out["listed"] = sorted(f.path for f in mlflow.artifacts.list_artifacts(f"runs:/{rid}/notes"))
    out["listed_by_id"] = sorted(f.path for f in mlflow.artifacts.list_artifacts(run_id=rid, artifact_path="notes"))
    out["text"] = mlflow.artifacts.load_text(f"runs:/{rid}/notes/a.txt")
    out["dict"] = mlflow.artifacts.load_dict(f"runs:/{rid}/notes/d.json")
    out["artifact_uri_tail"] = artifact_utils.get_artifact_uri(rid, "notes").split(rid)[1]
    inputs = mlflow.get_run(rid).inputs.dataset_inputs
    out["inputs"] = sorted([i.dataset.name, sorted([t.key, t.value] for t in i.tags)] for i in inputs)
    print(json.dumps(out, default=str))
''')


@pytest.fixture(scope="module")
def results(tmp_path_factory):
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


CASES = ["table_columns", "table_rows", "table_one_run", "table_missing", "copy", "copy_again", "search_models",
         "search_models_max", "search_versions", "registry_default", "registry_set", "registry_other",
         "registry_tracking", "stream", "listed", "listed_by_id", "text", "dict", "artifact_uri_tail", "inputs"]


@pytest.mark.parametrize("case", CASES)
def test_same_as_mlflow(results, case):
    theirs, ours = results
    assert ours[case] == theirs[case]
