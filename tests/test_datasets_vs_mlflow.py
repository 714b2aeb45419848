"""``nbtrack.data`` describes data as ``mlflow.data`` does: one script, run on the real mlflow and
on nbtrack (subprocesses, concurrently), compares digests, schemas, profiles, sources and what
``log_input`` stores and ``get_run`` reads back."""

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
    import json, os, sys, warnings
    warnings.simplefilter("ignore")
    import numpy as np, pandas as pd
    if sys.argv[1] == "mlflow":
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        import mlflow
        from mlflow.data.meta_dataset import MetaDataset
        from mlflow.types import ColSpec, Schema
        mlflow.set_tracking_uri("file://" + sys.argv[2] + "/mlruns")
    else:
        import nbtrack as mlflow
        from nbtrack.data.meta_dataset import MetaDataset
        from nbtrack.models.schema import ColSpec, Schema
        mlflow.set_tracking_uri(sys.argv[2] + "/store")
    from importlib import import_module
    HTTPDatasetSource = import_module(mlflow.__name__ + ".data.http_dataset_source").HTTPDatasetSource

    rng = np.random.default_rng(0)
    n = 12_345  # more rows than the 10,000 a digest reads
    big = pd.DataFrame({"f": rng.normal(size=n), "i": rng.integers(0, 9, n), "s": rng.choice(["a", "b"], n)})
    frames = {
        "numeric": pd.DataFrame({"x": [1.5, 2.5, 3.5], "y": [1, 2, 3]}),
        "mixed": pd.DataFrame({"name": ["tom", "nick", "july"], "age": [10, 15, 14], "label": [1, 0, 1],
                               "maybe": ["a", None, "c"], "flag": [True, False, True]}),
        "big": big,
        "unsorted_columns": pd.DataFrame({"z": [1.0, 2.0], "a": ["p", "q"], "m": [3, 4]}),
        "custom_index": pd.DataFrame({"v": [0.1, 0.2, 0.3]}, index=[10, 20, 30]),
        "int_column_names": pd.DataFrame(np.arange(6.0).reshape(3, 2)),
        "dates_and_categories": pd.DataFrame({"d": pd.date_range("2024-01-01", periods=3), "c": pd.Categorical(["u", "v", "u"]),
                                              "w": [1.0, 2.0, 3.0]}),
        "float32_int8": pd.DataFrame({"a": np.array([1, 2], dtype=np.float32), "b": np.array([3, 4], dtype=np.int8)}),
    }
    arrays = {
        "1d": (np.arange(10.0), None),
        "2d_targets": (rng.normal(size=(50, 4)), rng.integers(0, 2, 50)),
        "3d": (np.arange(24.0).reshape(2, 3, 4), np.array([0, 1])),
        "big": (rng.normal(size=(3000, 5)), None),
        "int32": (np.arange(12, dtype=np.int32).reshape(3, 4), None),
        "strings": (np.array(["a", "b", "c"]), None),
        "dict": ({"b": np.ones((4, 2)), "a": np.zeros((4, 3))}, {"y": np.arange(4)}),
    }
    out = {}

    def describe(ds):
        d = ds.to_dict()
        return {"dict": {k: (json.loads(v) if k in ("source", "schema", "profile") and v else v) for k, v in d.items()},
                "digest": ds.digest, "name": ds.name, "profile": json.loads(json.dumps(ds.profile, default=str)),
                "source_class": type(ds.source).__name__, "class": type(ds).__name__}

    for name, df in frames.items():
        out["pandas_" + name] = describe(mlflow.data.from_pandas(df, source="data/" + name + ".csv"))
    out["pandas_targets_predictions"] = describe(mlflow.data.from_pandas(
        frames["mixed"], source="file:///tmp/mixed.csv", targets="label", predictions="age", name="mixed"))
    out["pandas_http"] = describe(mlflow.data.from_pandas(frames["numeric"], source="https://example.com/x.csv"))
    out["pandas_s3"] = describe(mlflow.data.from_pandas(frames["numeric"], source="s3://bucket/x.parquet"))
    out["pandas_digest_given"] = describe(mlflow.data.from_pandas(frames["numeric"], source="x.csv", digest="abc123"))
    for name, (features, targets) in arrays.items():
        out["numpy_" + name] = describe(mlflow.data.from_numpy(features, source="arrays.npz", targets=targets))
    out["numpy_digest_given"] = describe(mlflow.data.from_numpy(np.ones(3), source="a.npy", digest="d1"))
    url = HTTPDatasetSource(url="https://ai.stanford.edu/~amaas/data/sentiment/aclImdb_v1.tar.gz")
    out["meta"] = describe(MetaDataset(url, name="imdb"))
    out["meta_schema"] = describe(MetaDataset(url, schema=Schema([ColSpec("string", "text"), ColSpec("integer", "label")])))
    code = mlflow.data.from_pandas(frames["numeric"])
    out["code_source"] = {"source_class": type(code.source).__name__, "keys": sorted(code.source.to_dict()["tags"])[:3],
                          "digest": code.digest}
    try:
        mlflow.data.from_pandas(frames["numeric"], targets="nope")
    except Exception as e:
        out["missing_targets"] = str(e)

    logged = {"train": mlflow.data.from_pandas(frames["mixed"], source="data/mixed.csv", targets="label", name="train"),
              "eval": mlflow.data.from_numpy(arrays["2d_targets"][0], targets=arrays["2d_targets"][1],
                                           source="https://example.com/e.npz", name="eval"),
              "meta": MetaDataset(url, name="imdb")}
    with mlflow.start_run() as run:
        mlflow.log_input(logged["train"], context="training", tags={"team": "a"})
        mlflow.log_input(logged["eval"], context="eval")
        mlflow.log_input(logged["meta"])
    inputs = mlflow.get_run(run.info.run_id).inputs.dataset_inputs
    out["logged"] = sorted([[i.dataset.name, i.dataset.digest, i.dataset.source_type, json.loads(i.dataset.source),
                             json.loads(i.dataset.schema) if i.dataset.schema else None,
                             json.loads(i.dataset.profile) if i.dataset.profile else None,
                             sorted([t.key, t.value] for t in i.tags),
                             type(mlflow.data.get_source(i)).__name__, mlflow.data.get_source(i).to_dict()]
                            for i in inputs], key=lambda r: r[0])
    local = mlflow.data.get_source([i for i in inputs if i.dataset.name == "train"][0].dataset)
    out["local_load"] = os.path.basename(local.load()) if os.path.exists("data/mixed.csv") else "absent"
    print(json.dumps(out, default=str))
''')


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    procs = {}
    for tool in ("mlflow", "nbtrack"):
        folder = tmp_path_factory.mktemp(tool)
        (folder / "data").mkdir()
        (folder / "data" / "mixed.csv").write_text("name,age\\n")
        procs[tool] = subprocess.Popen([sys.executable, "-c", SCRIPT, tool, str(folder)], cwd=folder,
                                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=python_env())
    out = {}
    for tool, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=180)
        assert proc.returncode == 0, f"{tool} script failed:\n{stderr[-3000:]}"
        out[tool] = json.loads(stdout.strip().splitlines()[-1])
    return out["mlflow"], out["nbtrack"]


DESCRIBED = ["pandas_numeric", "pandas_mixed", "pandas_big", "pandas_unsorted_columns", "pandas_custom_index",
             "pandas_int_column_names", "pandas_dates_and_categories", "pandas_float32_int8",
             "pandas_targets_predictions", "pandas_http", "pandas_s3", "pandas_digest_given",
             "numpy_1d", "numpy_2d_targets", "numpy_3d", "numpy_big", "numpy_int32", "numpy_strings", "numpy_dict",
             "numpy_digest_given", "meta", "meta_schema"]


@pytest.mark.parametrize("case", DESCRIBED)
def test_same_digest(results, case):
    assert results[1][case]["digest"] == results[0][case]["digest"]


@pytest.mark.parametrize("case", DESCRIBED)
def test_same_to_dict_schema_profile_and_source(results, case):
    theirs, ours = results[0][case], results[1][case]
    assert ours["dict"] == theirs["dict"]
    assert ours["profile"] == theirs["profile"]
    assert (ours["name"], ours["source_class"], ours["class"]) == (theirs["name"], theirs["source_class"], theirs["class"])


def test_code_source_by_default(results):
    theirs, ours = results[0]["code_source"], results[1]["code_source"]
    assert ours == theirs
    assert ours["keys"] == ["mlflow.source.name", "mlflow.source.type", "mlflow.user"]


def test_same_error_for_a_missing_targets_column(results):
    assert results[1]["missing_targets"].startswith(results[0]["missing_targets"])


def test_log_input_round_trips_as_in_mlflow(results):
    assert results[1]["logged"] == results[0]["logged"]
    assert [r[0] for r in results[1]["logged"]] == ["eval", "imdb", "train"]
    assert ["mlflow.data.context", "training"] in results[1]["logged"][2][6]


def test_local_source_loads_to_its_path(results):
    assert results[1]["local_load"] == results[0]["local_load"] == "mixed.csv"
