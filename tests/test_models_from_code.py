"""Models from code (``log_model(python_model="agent.py")``, ``set_model``, ``ModelConfig``), and the
tools around a model's environment: ``predict`` in a built virtualenv/uv environment,
``infer_pip_requirements``, ``update_model_requirements``, ``validate_serving_input``."""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap

import pandas as pd
import pytest
import yaml
from procenv import python_env

import nbtrack
from nbtrack.errors import InvalidParameter, NbtrackError

AGENT = textwrap.dedent('''
    import nbtrack
    from nbtrack.models import ModelConfig

    config = ModelConfig(development_config={"greeting": "dev"})

    class Greeter(nbtrack.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            return [f"{config.get('greeting')} {name}" for name in model_input["name"]]

    nbtrack.models.set_model(Greeter())
''')
NAMES = pd.DataFrame({"name": ["ada", "bob"]})


@pytest.fixture
def agent(tmp_path):
    path = tmp_path / "agent.py"
    path.write_text(AGENT)
    return str(path)


def test_a_model_from_code_is_saved_as_its_file_and_run_when_loaded(agent, tmp_path):
    with nbtrack.start_run():
        info = nbtrack.pyfunc.log_model(name="agent", python_model=agent, model_config={"greeting": "hi"},
                                        input_example=NAMES)
    model = nbtrack.pyfunc.load_model(info.model_uri)
    assert model.predict(NAMES) == ["hi ada", "hi bob"]
    assert nbtrack.pyfunc.load_model(info.model_uri, model_config={"greeting": "yo"}).predict(NAMES)[0] == "yo ada"
    local = nbtrack.artifacts.download_artifacts(info.model_uri, dst_path=str(tmp_path / "copy"))
    conf = yaml.safe_load(open(os.path.join(local, "MLmodel")))["flavors"]["python_function"]
    assert conf["loader_module"] == "mlflow.pyfunc.loaders.code_model"
    assert (conf["model_code_path"], conf["config"]) == (agent, {"greeting": "hi"})
    assert os.path.isfile(os.path.join(local, "agent.py")) and not os.path.exists(os.path.join(local, "python_model.pkl"))
    assert info.signature.inputs.input_names() == ["name"]  # inferred by running the file's model


def test_model_config_reads_a_yaml_file_and_says_what_is_missing(agent, tmp_path):
    config = tmp_path / "config.yaml"
    config.write_text("greeting: from yaml\n")
    nbtrack.pyfunc.save_model(str(tmp_path / "m"), python_model=agent, model_config=str(config))
    assert nbtrack.pyfunc.load_model(str(tmp_path / "m")).predict(NAMES)[1] == "from yaml bob"
    from nbtrack.models import ModelConfig

    assert ModelConfig(development_config=str(config)).to_dict() == {"greeting": "from yaml"}
    with pytest.raises(KeyError, match="'absent' not found"):
        ModelConfig(development_config={"a": 1}).get("absent")
    with pytest.raises(FileNotFoundError, match="not found"):
        ModelConfig(development_config=str(tmp_path / "nowhere.yaml"))


def test_bad_model_files_are_refused_with_the_reason(tmp_path):
    with pytest.raises(InvalidParameter, match="does not exist.*agent.py"):
        nbtrack.pyfunc.save_model(str(tmp_path / "a"), python_model=str(tmp_path / "agent"))
    silent = tmp_path / "silent.py"
    silent.write_text("x = 1\n")
    with pytest.raises(NbtrackError, match="set_model"):
        nbtrack.pyfunc.save_model(str(tmp_path / "b"), python_model=str(silent))
    broken = tmp_path / "broken.py"
    broken.write_text("raise RuntimeError('no GPU here')\n")
    with pytest.raises(NbtrackError, match="broken.py.*no GPU here"):
        nbtrack.pyfunc.save_model(str(tmp_path / "c"), python_model=str(broken))
    with pytest.raises(InvalidParameter, match="PythonModel"):
        nbtrack.models.set_model("agent.py")


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs the real mlflow (bench extra)")
def test_models_from_code_load_across_nbtrack_and_mlflow(agent, tmp_path):
    ours = str(tmp_path / "ours")
    nbtrack.pyfunc.save_model(ours, python_model=agent, model_config={"greeting": "hi"})
    theirs_file = tmp_path / "mlflow_agent.py"
    theirs_file.write_text(AGENT.replace("import nbtrack\n", "import mlflow as nbtrack\n")
                           .replace("from nbtrack.models", "from mlflow.models"))
    script = textwrap.dedent(f'''
        import json, os, sys, warnings
        warnings.simplefilter("ignore")
        os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"
        import mlflow, pandas as pd
        mlflow.pyfunc.save_model({str(tmp_path / "theirs")!r}, python_model={str(theirs_file)!r},
                                 model_config={{"greeting": "hello"}})
        print("RESULT" + json.dumps(list(mlflow.pyfunc.load_model({ours!r}).predict(pd.DataFrame({{"name": ["c"]}})))))
    ''')
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=python_env(),
                          cwd=tmp_path, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.split("RESULT")[1]) == ["hi c"]  # MLflow runs nbtrack's file with its config
    load = (f"import json, nbtrack, pandas as pd; m = nbtrack.pyfunc.load_model({str(tmp_path / 'theirs')!r}); "
            "print('RESULT' + json.dumps(list(m.predict(pd.DataFrame({'name': ['ada']})))))")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", load], capture_output=True, text=True,
                          env=python_env(), cwd=tmp_path, timeout=300)  # its own process: the file imports mlflow
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.split("RESULT")[1]) == ["hello ada"]


def test_validate_serving_input_scores_a_payload_as_the_server_would(agent, tmp_path):
    nbtrack.pyfunc.save_model(str(tmp_path / "m"), python_model=agent, model_config={"greeting": "hi"},
                              input_example=NAMES)
    body = {"dataframe_split": {"columns": ["name"], "data": [["zoe"]]}}
    assert nbtrack.models.validate_serving_input(str(tmp_path / "m"), body) == ["hi zoe"]
    assert nbtrack.models.validate_serving_input(str(tmp_path / "m"), json.dumps(body)) == ["hi zoe"]
    with pytest.raises(InvalidParameter, match="dataframe_split"):
        nbtrack.models.validate_serving_input(str(tmp_path / "m"), {"rows": []})


def _version_model(tmp_path, requirements):
    """A model whose predict answers with the installed version of ``six``: where it ran."""
    class SixVersion(nbtrack.pyfunc.PythonModel):
        def predict(self, context, model_input, params=None):
            import six

            return [six.__version__] * len(model_input)

    path = str(tmp_path / "six_model")
    nbtrack.pyfunc.save_model(path, python_model=SixVersion(), pip_requirements=requirements)
    return path


def test_predict_locally_prints_or_writes_the_predictions(tmp_path, capsys):
    import six

    path = _version_model(tmp_path, ["six"])
    nbtrack.models.predict(path, NAMES, env_manager="local")
    assert json.loads(capsys.readouterr().out) == {"predictions": [six.__version__] * 2}
    (tmp_path / "in.csv").write_text("name\nada\n")
    nbtrack.models.predict(path, input_path=str(tmp_path / "in.csv"), content_type="csv",
                           output_path=str(tmp_path / "out.json"), env_manager="local")
    assert json.loads((tmp_path / "out.json").read_text()) == {"predictions": [six.__version__]}
    for bad, match in [({"content_type": "xml"}, "Content type"), ({"env_manager": "pipenv"}, "env_manager"),
                       ({"extra_envs": {"A": "1"}}, "only supported"), ({"input_path": "x.json"}, "Both")]:
        with pytest.raises(InvalidParameter, match=match):
            nbtrack.models.predict(path, NAMES, **{"env_manager": "local", **bad})


@pytest.mark.parametrize("manager", ["uv", "virtualenv"])
def test_predict_runs_the_model_in_its_own_environment(tmp_path, manager, monkeypatch):
    """A model pinned to six==1.16.0 (this venv has another version) answers 1.16.0 from its
    environment; the environment is cached, and extra_envs reach the scoring process."""
    import six

    if six.__version__ == "1.16.0":
        pytest.skip("this environment already has six 1.16.0")
    if manager == "uv" and shutil.which("uv") is None and not os.path.exists(os.path.join(os.path.dirname(sys.executable), "uv")):
        pytest.skip("uv is not installed")
    monkeypatch.setenv("PATH", os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"])
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    path = _version_model(tmp_path, ["six==1.16.0"])
    out = tmp_path / "out.json"
    nbtrack.models.predict(path, NAMES, env_manager=manager, output_path=str(out), extra_envs={"NBTRACK_X": "1"})
    assert json.loads(out.read_text()) == {"predictions": ["1.16.0", "1.16.0"]}
    nbtrack.models.predict(path, NAMES, env_manager=manager, output_path=str(out),
                           pip_requirements_override=["six==1.15.0"])  # an environment of its own
    assert json.loads(out.read_text()) == {"predictions": ["1.15.0", "1.15.0"]}
    nbtrack.models.predict(path, NAMES, env_manager=manager, output_path=str(out))  # built once: reused
    assert json.loads(out.read_text()) == {"predictions": ["1.16.0", "1.16.0"]}
    envs = [e for e in os.listdir(tmp_path / "cache" / "nbtrack" / "envs") if not e.endswith(".lock")]
    assert len(envs) == 2


def test_infer_pip_requirements_lists_what_loading_the_model_imports(tmp_path):
    import numpy as np
    import sklearn
    from sklearn.linear_model import LinearRegression

    path = str(tmp_path / "lr")
    nbtrack.sklearn.save_model(LinearRegression().fit(np.ones((3, 1)), [1, 2, 3]), path)
    found = nbtrack.models.infer_pip_requirements(path, "sklearn")
    assert f"scikit-learn=={sklearn.__version__}" in found
    assert not any(r.startswith(("nbtrack", "setuptools", "numpy")) for r in found)  # numpy: sklearn needs it
    assert nbtrack.models.infer_pip_requirements(str(tmp_path / "none"), "sklearn", fallback=["x"]) == ["x"]
    with pytest.raises(InvalidParameter, match="uv project"):
        nbtrack.models.infer_pip_requirements(path, "sklearn", uv_project_dir=str(tmp_path))


def test_update_model_requirements_edits_both_copies_of_a_logged_model(tmp_path):
    import numpy as np
    from sklearn.linear_model import LinearRegression

    with nbtrack.start_run() as run:
        info = nbtrack.sklearn.log_model(LinearRegression().fit(np.ones((3, 1)), [1, 2, 3]), name="lr")
    nbtrack.models.update_model_requirements(f"runs:/{run.info.run_id}/lr", "add", ["Pandas>=2.0", "numpy==2.0.0"])
    nbtrack.models.update_model_requirements(info.model_uri, "remove", ["scikit-learn"])
    for uri in (f"runs:/{run.info.run_id}/lr", info.model_uri):
        local = nbtrack.artifacts.download_artifacts(uri, dst_path=str(tmp_path / uri.split("/")[-1]))
        reqs = open(os.path.join(local, "requirements.txt")).read().splitlines()
        assert "pandas>=2.0" in reqs and "numpy==2.0.0" in reqs and not any(r.startswith("scikit") for r in reqs)
        pip = next(d["pip"] for d in yaml.safe_load(open(os.path.join(local, "conda.yaml")))["dependencies"]
                   if isinstance(d, dict))
        assert "pandas>=2.0" in pip and not any(r.startswith("scikit") for r in pip)
    nbtrack.register_model(info.model_uri, "lr")
    with pytest.raises(InvalidParameter, match="models:/"):
        nbtrack.models.update_model_requirements("models:/lr/1", "add", ["six"])
    with pytest.raises(InvalidParameter, match="invalid requirements"):
        nbtrack.models.update_model_requirements(info.model_uri, "add", ["not a requirement!"])
    with pytest.raises(InvalidParameter, match="'add' or 'remove'"):
        nbtrack.models.update_model_requirements(info.model_uri, "replace", ["six"])
