"""Custom Python models: artifacts, code paths, params, model config, and log_model to a run."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

import nbtrack
import nbtrack.pyfunc
from nbtrack.errors import InvalidParameter
from nbtrack.models import Model, infer_signature
from nbtrack.models.schema import ParamSchema, ParamSpec


def python_env() -> dict[str, str]:
    """Environment for child interpreters that must import this checkout's nbtrack."""
    import os

    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


class Scale(nbtrack.pyfunc.PythonModel):
    def load_context(self, context):
        with open(context.artifacts["factor"]) as f:
            self.factor = float(f.read())
        self.config = context.model_config

    def predict(self, context, model_input, params=None):
        shift = (params or {}).get("shift", 0)
        return model_input["x"] * self.factor + shift


class NoContext(nbtrack.pyfunc.PythonModel):
    def predict(self, model_input, params=None):
        return [len(model_input)]


@pytest.fixture
def factor_file(tmp_path):
    path = tmp_path / "factor.txt"
    path.write_text("3")
    return path


def test_python_model_with_artifacts_params_and_signature(tmp_path, factor_file):
    sig = infer_signature(pd.DataFrame({"x": [1.0]}), params={"shift": 0.0})
    nbtrack.pyfunc.save_model(tmp_path / "m", python_model=Scale(), artifacts={"factor": str(factor_file)},
                              signature=sig, model_config={"mode": "fast"})
    assert (tmp_path / "m" / "artifacts" / "factor.txt").read_text() == "3"
    model = nbtrack.pyfunc.load_model(tmp_path / "m")
    assert model.predict(pd.DataFrame({"x": [1.0, 2.0]})).tolist() == [3.0, 6.0]
    assert model.predict(pd.DataFrame({"x": [1.0]}), params={"shift": 1}).tolist() == [4.0]
    assert model.unwrap_python_model().config == {"mode": "fast"}
    overridden = nbtrack.pyfunc.load_model(tmp_path / "m", model_config={"mode": "slow"})
    assert overridden.unwrap_python_model().config == {"mode": "slow"}
    with pytest.raises(InvalidParameter, match="Failed to enforce schema"):
        model.predict(pd.DataFrame({"y": [1.0]}))
    with pytest.raises(InvalidParameter, match="Invalid parameters"):
        model.predict(pd.DataFrame({"x": [1.0]}), params={"shift": "a lot"})


def test_predict_without_context_and_function_models(tmp_path):
    nbtrack.pyfunc.save_model(tmp_path / "a", python_model=NoContext())
    assert nbtrack.pyfunc.load_model(tmp_path / "a").predict(pd.DataFrame({"x": [1, 2]})) == [2]
    nbtrack.pyfunc.save_model(tmp_path / "b", python_model=lambda df: df * 2)
    out = nbtrack.pyfunc.load_model(tmp_path / "b").predict(pd.DataFrame({"x": [1]}))
    assert out["x"].tolist() == [2]


def test_signature_is_inferred_from_the_input_example(tmp_path, factor_file):
    nbtrack.pyfunc.save_model(tmp_path / "m", python_model=Scale(), artifacts={"factor": str(factor_file)},
                              input_example=pd.DataFrame({"x": [1.0]}))
    sig = Model.load(tmp_path / "m").signature
    assert sig.inputs.to_dict() == [{"type": "double", "name": "x", "required": True}]
    assert sig.outputs.to_dict() == [{"type": "double", "name": "x", "required": True}]


def test_code_paths_are_importable_at_load(tmp_path):
    pkg = tmp_path / "src" / "helpers_nbtrack_test.py"
    pkg.parent.mkdir()
    pkg.write_text("def double(x):\n    return x * 2\n")
    (tmp_path / "model.py").write_text(textwrap.dedent("""
        import nbtrack.pyfunc

        class UsesHelper(nbtrack.pyfunc.PythonModel):
            def predict(self, context, model_input, params=None):
                import helpers_nbtrack_test
                return helpers_nbtrack_test.double(model_input)
    """))
    script = textwrap.dedent(f"""
        import sys
        sys.path.insert(0, {str(tmp_path)!r})
        import model, nbtrack.pyfunc
        nbtrack.pyfunc.save_model({str(tmp_path / 'm')!r}, python_model=model.UsesHelper(),
                                  code_paths=[{str(pkg)!r}, {str(tmp_path / 'model.py')!r}])
    """)
    subprocess.run([sys.executable, "-c", script], check=True, env=python_env())
    assert sorted(p.name for p in (tmp_path / "m" / "code").iterdir()) == ["helpers_nbtrack_test.py", "model.py"]
    load = textwrap.dedent(f"""
        import nbtrack.pyfunc
        print(nbtrack.pyfunc.load_model({str(tmp_path / 'm')!r}).predict(21))
    """)
    out = subprocess.run([sys.executable, "-c", load], check=True, env=python_env(), capture_output=True,
                         text=True, cwd=tmp_path / "src" / "..").stdout
    assert out.strip() == "42"


def test_bad_arguments_say_what_to_do(tmp_path):
    with pytest.raises(InvalidParameter, match="exactly one of"):
        nbtrack.pyfunc.save_model(tmp_path / "m")
    with pytest.raises(InvalidParameter, match="does not exist"):
        nbtrack.pyfunc.save_model(tmp_path / "m2", python_model=NoContext(), artifacts={"a": "/no/such/file"})
    with pytest.raises(InvalidParameter, match="code_paths"):
        nbtrack.pyfunc.save_model(tmp_path / "m3", python_model=NoContext(), code_paths="not-a-list.py")


def test_log_model_logs_to_the_active_run_and_records_history(factor_file):
    with nbtrack.start_run() as run:
        info = nbtrack.pyfunc.log_model(name="scaler", python_model=Scale(),
                                        artifacts={"factor": str(factor_file)})
    assert info.model_uri == f"models:/{info.model_id}"  # MLflow 3; runs:/<run>/scaler loads too
    assert info.run_id == run.info.run_id
    assert info.artifact_path == "scaler"
    assert info.flavors["python_function"]["loader_module"] == "mlflow.pyfunc.model"
    model = nbtrack.pyfunc.load_model(info.model_uri)
    assert model.predict(pd.DataFrame({"x": [2.0]})).tolist() == [6.0]
    history = json.loads(nbtrack.get_run(run.info.run_id).data.tags["mlflow.log-model.history"])
    assert [h["artifact_path"] for h in history] == ["scaler"]
    assert history[0]["model_uuid"] == info.model_uuid
    assert model.metadata.run_id == run.info.run_id


def test_log_model_starts_a_run_when_none_is_active():
    assert nbtrack.active_run() is None
    info = nbtrack.pyfunc.log_model(name="m", python_model=NoContext())
    assert nbtrack.active_run().info.run_id == info.run_id


def test_log_model_argument_errors():
    with pytest.raises(InvalidParameter, match="Both `artifact_path`"):
        nbtrack.pyfunc.log_model(artifact_path="a", name="b", python_model=NoContext())
    with pytest.raises(InvalidParameter, match="Invalid model name"):
        nbtrack.pyfunc.log_model(name="../escape", python_model=NoContext())
    with pytest.raises(InvalidParameter):
        nbtrack.pyfunc.log_model(name="m", python_model=NoContext(), registered_model_name="")


def test_params_schema_defaults_reach_the_model(tmp_path):
    class Echo(nbtrack.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return params

    sig = infer_signature(np.zeros((1, 2)))
    sig.params = ParamSchema([ParamSpec("k", "long", 7)])
    nbtrack.pyfunc.save_model(tmp_path / "m", python_model=Echo(), signature=sig)
    assert nbtrack.pyfunc.load_model(tmp_path / "m").predict(np.zeros((1, 2))) == {"k": 7}
