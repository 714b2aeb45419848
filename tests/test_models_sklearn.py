"""scikit-learn flavor: every serialization format, pyfunc, signatures, log_model."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml

sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

import nbtrack  # noqa: E402
import nbtrack.pyfunc  # noqa: E402
import nbtrack.sklearn  # noqa: E402
from nbtrack.errors import InvalidParameter, NbtrackError, NotFound  # noqa: E402
from nbtrack.models import Model  # noqa: E402


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def iris():
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500)).fit(X, y)
    return X, y, model


@pytest.mark.parametrize("fmt", ["cloudpickle", "pickle", "skops"])
def test_round_trip_in_each_format(tmp_path, iris, fmt):
    if fmt == "skops":
        pytest.importorskip("skops")
    X, _, model = iris
    nbtrack.sklearn.save_model(model, tmp_path / "m", serialization_format=fmt, input_example=X.iloc[:3])
    mlmodel = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())
    data_file = "model.skops" if fmt == "skops" else "model.pkl"
    assert mlmodel["flavors"]["sklearn"] == {
        "code": None, "pickled_model": data_file, "serialization_format": fmt,
        "sklearn_version": sklearn.__version__, "skops_trusted_types": None}
    assert mlmodel["flavors"]["python_function"]["loader_module"] == "mlflow.sklearn"
    loaded = nbtrack.sklearn.load_model(tmp_path / "m")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    pyfunc = nbtrack.pyfunc.load_model(tmp_path / "m")
    np.testing.assert_array_equal(pyfunc.predict(X), model.predict(X))
    reqs = (tmp_path / "m" / "requirements.txt").read_text()
    assert f"scikit-learn=={sklearn.__version__}" in reqs
    assert (fmt == "cloudpickle") == ("cloudpickle==" in reqs)


def test_signature_inferred_from_the_example(tmp_path, iris):
    X, _, model = iris
    nbtrack.sklearn.save_model(model, tmp_path / "m", input_example=X.iloc[:2])
    sig = Model.load(tmp_path / "m").signature
    assert sig.inputs.input_names() == list(X.columns)
    assert sig.outputs.to_dict() == [{"type": "long", "required": True}]


def test_predict_proba_as_the_pyfunc_function(tmp_path, iris):
    X, _, model = iris
    nbtrack.sklearn.save_model(model, tmp_path / "m", pyfunc_predict_fn="predict_proba")
    proba = nbtrack.pyfunc.load_model(tmp_path / "m").predict(X.iloc[:4])
    assert proba.shape == (4, 3)
    with pytest.raises(InvalidParameter, match="pyfunc_predict_fn"):
        nbtrack.sklearn.save_model(model, tmp_path / "bad", pyfunc_predict_fn="transform")


def test_wrong_columns_and_types_give_clear_errors(tmp_path, iris):
    X, _, model = iris
    nbtrack.sklearn.save_model(model, tmp_path / "m", input_example=X.iloc[:2])
    pyfunc = nbtrack.pyfunc.load_model(tmp_path / "m")
    with pytest.raises(InvalidParameter, match="missing inputs"):
        pyfunc.predict(X.drop(columns=[X.columns[0]]))
    with pytest.raises(InvalidParameter, match=r"Can not safely convert (object|str) to float64"):
        pyfunc.predict(X.astype(str).astype(object))
    assert len(pyfunc.predict(X.astype("float32"))) == len(X)


def test_unknown_format_and_non_empty_dir(tmp_path, iris):
    _, _, model = iris
    with pytest.raises(InvalidParameter, match="Unrecognized serialization format"):
        nbtrack.sklearn.save_model(model, tmp_path / "m", serialization_format="joblib")
    with pytest.raises(NotFound):
        nbtrack.sklearn.load_model(tmp_path / "nowhere")


def test_notebook_defined_classes_need_cloudpickle(tmp_path):
    script = textwrap.dedent(f"""
        import numpy as np, nbtrack.sklearn
        from sklearn.base import BaseEstimator
        from nbtrack.errors import InvalidParameter

        class Constant(BaseEstimator):
            def fit(self, X, y=None):
                return self
            def predict(self, X):
                return np.full(len(X), 7)

        nbtrack.sklearn.save_model(Constant(), {str(tmp_path / 'cp')!r})
        nbtrack.sklearn.save_model(Constant(), {str(tmp_path / 'pk')!r}, serialization_format="pickle")
    """)
    subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=child_env(), check=True)
    assert nbtrack.pyfunc.load_model(tmp_path / "cp").predict(np.zeros((2, 1))).tolist() == [7, 7]
    with pytest.raises(NbtrackError, match="serialization_format='cloudpickle'"):
        nbtrack.pyfunc.load_model(tmp_path / "pk")


def test_skops_models_without_skops_installed_fail_clearly(tmp_path, iris):
    pytest.importorskip("skops")
    _, _, model = iris
    nbtrack.sklearn.save_model(model, tmp_path / "m", serialization_format="skops")
    script = textwrap.dedent(f"""
        import sys
        sys.modules["skops"] = None
        import nbtrack.pyfunc
        from nbtrack.errors import NbtrackError
        try:
            nbtrack.pyfunc.load_model({str(tmp_path / 'm')!r})
        except NbtrackError as e:
            print("ERR", e)
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=child_env(), check=True)
    assert "ERR" in out.stdout
    assert "pip install skops" in out.stdout


def test_log_model_and_load_from_runs_uri(iris):
    X, _, model = iris
    with nbtrack.start_run() as run:
        info = nbtrack.sklearn.log_model(model, name="clf", input_example=X.iloc[:2])
    assert info.model_uri == f"models:/{info.model_id}"  # MLflow 3; the runs:/ URI below loads too
    assert info.signature.inputs.input_names() == list(X.columns)
    loaded = nbtrack.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    loaded = nbtrack.sklearn.load_model(f"runs:/{run.info.run_id}/clf")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    files = {f.path for f in nbtrack.MlflowClient().list_artifacts(run.info.run_id, "clf")}
    assert {"clf/MLmodel", "clf/model.pkl", "clf/requirements.txt"} <= files


def test_registered_model_name_registers_a_version(iris):
    X, _, model = iris
    with nbtrack.start_run():
        first = nbtrack.sklearn.log_model(model, name="clf", registered_model_name="iris")
        second = nbtrack.sklearn.log_model(model, name="clf2", registered_model_name="iris")
    assert (first.registered_model_version, second.registered_model_version) == (1, 2)
    loaded = nbtrack.sklearn.load_model("models:/iris/2")
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))


def test_dataframe_input_with_integer_columns(tmp_path):
    X = pd.DataFrame({"a": np.arange(10, dtype="int64"), "b": np.arange(10, dtype="int64") % 2})
    model = LogisticRegression().fit(X, X["b"])
    nbtrack.sklearn.save_model(model, tmp_path / "m", input_example=X.iloc[:2])
    pyfunc = nbtrack.pyfunc.load_model(tmp_path / "m")
    assert pyfunc.predict(X.astype("int32")).tolist() == model.predict(X).tolist()
    with pytest.raises(InvalidParameter, match="column a"):
        pyfunc.predict(X.astype("float64"))
