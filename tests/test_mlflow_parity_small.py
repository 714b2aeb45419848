"""Small differences from MLflow, closed: requirements pin nbtrack as MLflow pins mlflow,
``artifact_path=""`` is refused, and an MLflow SQLite URI says how to bring its runs over."""

from __future__ import annotations

import os

import pytest

import nbtrack
from nbtrack.models.environment import installed_version

sklearn = pytest.importorskip("sklearn")

from sklearn.linear_model import LinearRegression  # noqa: E402


@pytest.fixture(scope="module")
def model():
    return LinearRegression().fit([[1.0], [2.0], [3.0]], [1.0, 2.0, 3.0])


def _requirements(model_dir) -> list[str]:
    with open(os.path.join(model_dir, "requirements.txt")) as f:
        return f.read().splitlines()


def test_requirements_pin_the_nbtrack_version_that_saved_the_model(model, tmp_path):
    nbtrack.sklearn.save_model(model, tmp_path / "m")
    reqs = _requirements(tmp_path / "m")
    version = installed_version("nbtrack") or nbtrack.__version__
    assert reqs[0] == f"nbtrack=={version}"
    assert any(r.startswith("scikit-learn==") for r in reqs)


def test_nbtrack_is_pinned_even_with_explicit_requirements(model, tmp_path):
    nbtrack.sklearn.save_model(model, tmp_path / "a", pip_requirements=["scikit-learn"])
    assert [r.split("==")[0] for r in _requirements(tmp_path / "a")] == ["nbtrack", "scikit-learn"]
    nbtrack.sklearn.save_model(model, tmp_path / "b", extra_pip_requirements=["requests"])
    assert "requests" in _requirements(tmp_path / "b")
    assert _requirements(tmp_path / "b")[0].startswith("nbtrack==")


def test_a_requirement_naming_nbtrack_is_kept_as_given(model, tmp_path):
    nbtrack.sklearn.save_model(model, tmp_path / "c", pip_requirements=["nbtrack>=0.1", "scikit-learn"])
    assert _requirements(tmp_path / "c") == ["nbtrack>=0.1", "scikit-learn"]


def test_conda_env_gets_the_pin_too(model, tmp_path):
    import yaml

    nbtrack.sklearn.save_model(model, tmp_path / "d")
    with open(tmp_path / "d" / "conda.yaml") as f:
        env = yaml.safe_load(f)
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict))
    assert pip[0].startswith("nbtrack==")


def test_empty_artifact_path_is_refused_as_mlflow_does(model):
    with nbtrack.start_run(), pytest.raises(nbtrack.InvalidParameter, match=r"Invalid model name \(''\)"):
        nbtrack.sklearn.log_model(model, artifact_path="")


def test_empty_name_falls_back_to_the_default(model):
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(model, name="")
    assert info.artifact_path == "model" and info.model_uri == f"models:/{info.model_id}"


@pytest.mark.parametrize("uri", ["sqlite:///tmp/mlflow.db", "sqlite:////abs/mlruns.db", "sqlite+pysqlite:///x.db"])
def test_an_mlflow_sqlite_uri_names_the_import_command(uri):
    with pytest.raises(nbtrack.InvalidStore) as caught:
        nbtrack.set_tracking_uri(uri)
    assert f"nbtrack import mlflow {uri}" in str(caught.value)
    assert "Running the import again adds only what is new" in str(caught.value)
    assert nbtrack.get_tracking_uri() != uri  # the setting is left as it was


def test_an_mlflow_sqlite_uri_from_the_environment_is_refused_on_first_use(monkeypatch):
    monkeypatch.setenv("NBTRACK_TRACKING_URI", "sqlite:///mlflow.db")
    with pytest.raises(nbtrack.InvalidStore, match="nbtrack import mlflow sqlite:///mlflow.db"):
        nbtrack.search_experiments()
