"""The MLmodel file, input examples, environment files and model URIs."""

from __future__ import annotations

import importlib.metadata as md
import json
import os
import platform

import numpy as np
import pandas as pd
import pytest
import yaml

import nbtrack
from nbtrack.errors import InvalidParameter, NbtrackError, NotFound, ResourceExists
from nbtrack.models import Model, infer_signature, register_uri_resolver, resolve_model_uri
from nbtrack.models.environment import nbtrack_pin, resolve_requirements
from nbtrack.models.example import Example
from nbtrack.models.python_model import PythonModel, save_model
from nbtrack.models.uri import unregister_uri_resolver


class Echo(PythonModel):
    def predict(self, context, model_input, params=None):
        return model_input


MLFLOW_MLMODEL = """\
artifact_path: /x/artifacts
flavors:
  python_function:
    env: {conda: conda.yaml, virtualenv: python_env.yaml}
    loader_module: mlflow.sklearn
    model_path: model.skops
    predict_fn: predict
    python_version: 3.11.7
  sklearn: {code: null, pickled_model: model.skops, serialization_format: skops, sklearn_version: 1.9.1, skops_trusted_types: null}
is_signature_from_type_hint: false
mlflow_version: 3.18.0
model_id: m-1c85a7aac7084b229a868ee38a6749a5
model_size_bytes: 11634
model_uuid: m-1c85a7aac7084b229a868ee38a6749a5
prompts: null
run_id: 3f8fd46218e942bc8b247f82924c0a8d
signature:
  inputs: '[{"type": "double", "name": "a", "required": true}]'
  outputs: '[{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]'
  params: null
type_hint_from_example: false
utc_time_created: '2026-11-22 10:16:48.923609'
"""


def test_mlflow_mlmodel_round_trips_without_losing_keys(tmp_path):
    (tmp_path / "MLmodel").write_text(MLFLOW_MLMODEL)
    model = Model.load(tmp_path)
    assert model.mlflow_version == "3.18.0"
    assert model.model_id.startswith("m-")
    assert model.get_input_schema().input_names() == ["a"]
    model.save(tmp_path / "again")
    assert yaml.safe_load((tmp_path / "again").read_text()) == yaml.safe_load(MLFLOW_MLMODEL)


def test_missing_and_broken_mlmodel_errors(tmp_path):
    with pytest.raises(NotFound, match="MLmodel"):
        Model.load(tmp_path)
    (tmp_path / "MLmodel").write_text("- just\n- a list\n")
    with pytest.raises(InvalidParameter, match="not an MLmodel file"):
        Model.load(tmp_path)


def test_saved_model_layout_matches_mlflow(tmp_path):
    X = pd.DataFrame({"a": [1.0, 2.0]})
    save_model(tmp_path / "m", python_model=Echo(), input_example=X)
    files = sorted(os.listdir(tmp_path / "m"))
    assert files == ["MLmodel", "conda.yaml", "input_example.json", "python_env.yaml",
                     "python_model.pkl", "requirements.txt", "serving_input_example.json"]
    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.pyfunc.model"
    assert mlmodel["saved_input_example_info"] == {
        "artifact_path": "input_example.json", "pandas_orient": "split",
        "serving_input_path": "serving_input_example.json", "type": "dataframe"}
    assert json.loads((tmp_path / "m" / "input_example.json").read_text()) == {"columns": ["a"], "data": [[1.0], [2.0]]}
    assert "dataframe_split" in json.loads((tmp_path / "m" / "serving_input_example.json").read_text())
    assert mlmodel["model_size_bytes"] > 0
    assert "run_id" not in mlmodel


def test_save_refuses_a_non_empty_directory(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("x")
    with pytest.raises(ResourceExists, match="already exists and is not empty"):
        save_model(tmp_path / "m", python_model=Echo())


@pytest.mark.parametrize(("example", "kind", "stored"), [
    (np.array([[1.0, np.nan]]), "ndarray", [[1.0, None]]),
    ({"x": np.array([1, 2])}, "ndarray", {"x": [1, 2]}),
    ({"q": "hi", "k": [1, 2]}, "json_object", {"q": "hi", "k": [1, 2]}),
    (["a", "b"], "json_object", ["a", "b"]),
    (3.5, "json_object", 3.5),
])
def test_input_example_kinds(example, kind, stored):
    ex = Example(example)
    assert ex.info["type"] == kind
    assert json.loads(ex.json_input_example) == stored
    assert "inputs" in json.loads(ex.json_serving_input)


def test_input_example_with_params_and_reload(tmp_path):
    save_model(tmp_path / "m", python_model=Echo(), input_example=(pd.DataFrame({"a": [1]}), {"k": 2}))
    model = nbtrack.pyfunc.load_model(tmp_path / "m")
    assert model.metadata.saved_input_example_info["params"] == "true"
    assert model.metadata.load_input_example_params(str(tmp_path / "m")) == {"k": 2}
    assert model.input_example.to_dict() == {"a": {0: 1}}
    assert model.metadata.get_params_schema().to_dict() == [{"name": "k", "default": 2, "shape": None, "type": "long"}]
    served = json.loads(model.metadata.get_serving_input(str(tmp_path / "m")))
    assert served["params"] == {"k": 2}


def test_unsupported_input_example_says_what_is_accepted():
    with pytest.raises(InvalidParameter, match="Expected the input example to be"):
        Example(object())


def test_requirements_are_pinned_to_installed_versions(tmp_path):
    save_model(tmp_path / "m", python_model=Echo())
    reqs = (tmp_path / "m" / "requirements.txt").read_text().splitlines()
    assert f"cloudpickle=={md.version('cloudpickle')}" in reqs
    env = yaml.safe_load((tmp_path / "m" / "python_env.yaml").read_text())
    assert env["python"] == platform.python_version()
    assert env["dependencies"] == ["-r requirements.txt"]
    conda = yaml.safe_load((tmp_path / "m" / "conda.yaml").read_text())
    assert conda["dependencies"][0] == f"python={platform.python_version()}"
    assert conda["dependencies"][-1] == {"pip": reqs}


def test_pip_requirements_extra_requirements_and_constraints(tmp_path):
    (tmp_path / "c.txt").write_text("numpy<3\n")
    reqs, constraints, _ = resolve_requirements(["a==1"], extra_pip_requirements=["b>=2", f"-c {tmp_path / 'c.txt'}"])
    assert reqs == [nbtrack_pin(), "a==1", "b>=2", "-c constraints.txt"]
    assert constraints == ["numpy<3"]
    reqs, _, _ = resolve_requirements(["a==1"], pip_requirements=["only==3"])
    assert reqs == [nbtrack_pin(), "only==3"]  # nbtrack is always pinned, as MLflow pins mlflow
    with pytest.raises(InvalidParameter, match="Only one of"):
        resolve_requirements([], pip_requirements=["x"], extra_pip_requirements=["y"])
    with pytest.raises(InvalidParameter, match="does not exist"):
        resolve_requirements([], pip_requirements=str(tmp_path / "missing.txt"))
    save_model(tmp_path / "m", python_model=Echo(), extra_pip_requirements=["b>=2", f"-c {tmp_path / 'c.txt'}"])
    assert (tmp_path / "m" / "constraints.txt").read_text() == "numpy<3"


def test_conda_env_argument_is_used(tmp_path):
    env = {"name": "x", "channels": ["defaults"], "dependencies": ["python=3.11", {"pip": ["pandas==2.2.0"]}]}
    save_model(tmp_path / "m", python_model=Echo(), conda_env=env)
    assert (tmp_path / "m" / "requirements.txt").read_text() == f"{nbtrack_pin()}\npandas==2.2.0"


def test_resolve_local_paths_and_file_uris(tmp_path):
    assert resolve_model_uri(tmp_path) == str(tmp_path)
    assert resolve_model_uri(tmp_path.as_uri()) == str(tmp_path)
    with pytest.raises(NotFound, match="No model found"):
        resolve_model_uri(tmp_path / "nope")
    with pytest.raises(InvalidParameter, match="Unsupported model URI scheme 'gs'.*s3: URIs"):
        resolve_model_uri("gs://bucket/model")  # (s3:// is read through boto3, tests/test_s3_artifacts.py)
    with pytest.raises(InvalidParameter, match="empty"):
        resolve_model_uri("")


def test_plugged_resolvers_handle_their_scheme(tmp_path):
    save_model(tmp_path / "m", python_model=Echo())
    seen = []

    def resolver(uri, dst_path):
        seen.append(uri)
        return str(tmp_path / "m")

    register_uri_resolver("lab", resolver)
    try:
        model = nbtrack.pyfunc.load_model("lab:/clf/1")
        assert model.predict(pd.DataFrame({"a": [1]}))["a"].tolist() == [1]
        assert seen == ["lab:/clf/1"]
    finally:
        unregister_uri_resolver("lab")
    with pytest.raises(InvalidParameter, match="Unsupported model URI scheme 'lab'"):
        resolve_model_uri("lab:/clf/1")


def test_models_uri_resolves_through_the_registry(tmp_path):
    with nbtrack.start_run():
        info = nbtrack.pyfunc.log_model(name="m", python_model=Echo(), registered_model_name="echo")
    assert info.registered_model_version == 1
    model = nbtrack.pyfunc.load_model("models:/echo/1")
    assert model.predict(pd.DataFrame({"a": [5]}))["a"].tolist() == [5]
    with pytest.raises(NbtrackError):
        resolve_model_uri("models:/nope/1")


def test_runs_uri_resolves_through_the_tracking_layer(tmp_path):
    save_model(tmp_path / "m", python_model=Echo())
    with nbtrack.start_run() as run:
        nbtrack.log_artifacts(str(tmp_path / "m"), artifact_path="model")
    local = resolve_model_uri(f"runs:/{run.info.run_id}/model")
    assert os.path.isfile(os.path.join(local, "MLmodel"))
    with pytest.raises(NbtrackError):
        resolve_model_uri(f"runs:/{run.info.run_id}/missing")


def test_signature_argument_must_be_a_signature(tmp_path):
    with pytest.raises(InvalidParameter, match="ModelSignature"):
        save_model(tmp_path / "m", python_model=Echo(), signature={"inputs": "x"})
    save_model(tmp_path / "ok", python_model=Echo(), signature=infer_signature(pd.DataFrame({"a": [1.0]})))
    assert Model.load(tmp_path / "ok").get_input_schema().input_names() == ["a"]
