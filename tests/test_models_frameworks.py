"""XGBoost, LightGBM and PyTorch flavors; each test skips when its framework is absent."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest
import yaml

from nbtrack.errors import InvalidParameter
from nbtrack.models import Model


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(60, 3)), columns=["a", "b", "c"])
    y = (X["a"] + X["b"] > 0).astype(int)
    return X, y


# ---- XGBoost ---------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["ubj", "json"])
def test_xgboost_sklearn_api_round_trip(tmp_path, data, fmt):
    xgb = pytest.importorskip("xgboost")
    import nbtrack.xgboost

    X, y = data
    model = xgb.XGBClassifier(n_estimators=5, max_depth=2).fit(X, y)
    nbtrack.xgboost.save_model(model, tmp_path / "m", model_format=fmt, input_example=X.iloc[:2])
    conf = yaml.safe_load((tmp_path / "m" / "MLmodel").read_text())["flavors"]
    assert conf["xgboost"]["model_class"] == "xgboost.sklearn.XGBClassifier"
    assert conf["python_function"] == {**conf["python_function"], "loader_module": "mlflow.xgboost", "data": f"model.{fmt}"}
    loaded = nbtrack.xgboost.load_model(tmp_path / "m")
    assert isinstance(loaded, xgb.XGBClassifier)
    np.testing.assert_array_equal(loaded.predict(X), model.predict(X))
    np.testing.assert_array_equal(nbtrack.pyfunc.load_model(tmp_path / "m").predict(X), model.predict(X))


def test_xgboost_booster_and_log_model(data):
    xgb = pytest.importorskip("xgboost")
    import nbtrack.xgboost

    X, y = data
    booster = xgb.train({"max_depth": 2}, xgb.DMatrix(X, label=y), num_boost_round=3)
    with nbtrack.start_run():
        info = nbtrack.xgboost.log_model(booster, name="booster", input_example=X.iloc[:3])
    assert info.signature.inputs.input_names() == ["a", "b", "c"]
    preds = nbtrack.pyfunc.load_model(info.model_uri).predict(X)
    np.testing.assert_allclose(preds, booster.predict(xgb.DMatrix(X)))
    assert isinstance(nbtrack.xgboost.load_model(info.model_uri), xgb.Booster)


def test_xgboost_refuses_foreign_model_classes(tmp_path, data):
    xgb = pytest.importorskip("xgboost")
    import nbtrack.xgboost

    X, y = data
    nbtrack.xgboost.save_model(xgb.XGBRegressor(n_estimators=2).fit(X, y), tmp_path / "m")
    text = (tmp_path / "m" / "MLmodel").read_text().replace("xgboost.sklearn.XGBRegressor", "os.system")
    (tmp_path / "m" / "MLmodel").write_text(text)
    with pytest.raises(InvalidParameter, match="only xgboost classes"):
        nbtrack.xgboost.load_model(tmp_path / "m")


# ---- LightGBM --------------------------------------------------------------------------------


def test_lightgbm_sklearn_and_booster(tmp_path, data):
    lgb = pytest.importorskip("lightgbm")
    import nbtrack.lightgbm

    X, y = data
    clf = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(X, y)
    nbtrack.lightgbm.save_model(clf, tmp_path / "clf", input_example=X.iloc[:2])
    assert (tmp_path / "clf" / "model.pkl").exists()
    np.testing.assert_array_equal(nbtrack.lightgbm.load_model(tmp_path / "clf").predict(X), clf.predict(X))
    booster = lgb.train({"verbose": -1}, lgb.Dataset(X, label=y), num_boost_round=3)
    nbtrack.lightgbm.save_model(booster, tmp_path / "booster")
    assert (tmp_path / "booster" / "model.lgb").exists()
    np.testing.assert_allclose(nbtrack.pyfunc.load_model(tmp_path / "booster").predict(X), booster.predict(X))
    with pytest.raises(InvalidParameter, match=r"lightgbm\.Booster"):
        nbtrack.lightgbm.save_model(object(), tmp_path / "bad")


# ---- PyTorch ---------------------------------------------------------------------------------

TORCH_MODEL = """
import torch

class Net(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.linear = torch.nn.Linear(3, 2)

    def forward(self, x):
        return self.linear(x)
"""


def test_pytorch_pickle_round_trip_with_notebook_class(tmp_path):
    pytest.importorskip("torch")
    script = TORCH_MODEL + textwrap.dedent(f"""
        import numpy as np, nbtrack.pytorch
        torch.manual_seed(0)
        net = Net()
        x = np.ones((2, 3), dtype="float32")
        nbtrack.pytorch.save_model(net, {str(tmp_path / 'm')!r}, input_example=x)
        np.save({str(tmp_path / 'expected.npy')!r}, net(torch.from_numpy(x)).detach().numpy())
    """)
    subprocess.run([sys.executable, "-c", script], check=True, env=child_env())
    import torch

    import nbtrack.pytorch

    x = np.ones((2, 3), dtype="float32")
    expected = np.load(tmp_path / "expected.npy")
    model = nbtrack.pyfunc.load_model(tmp_path / "m")
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-6)
    assert model.metadata.signature.inputs.to_dict() == [
        {"type": "tensor", "tensor-spec": {"dtype": "float32", "shape": [-1, 3]}}]
    net = nbtrack.pytorch.load_model(tmp_path / "m")
    assert not net.training
    np.testing.assert_allclose(net(torch.from_numpy(x)).detach().numpy(), expected, rtol=1e-6)
    assert (tmp_path / "m" / "data" / "pickle_module_info.txt").read_text() == "mlflow.pytorch.pickle_module"
    with pytest.raises(InvalidParameter, match="Shape of input"):
        model.predict(np.ones((2, 4), dtype="float32"))


def test_pytorch_pt2_export_and_log_model():
    torch = pytest.importorskip("torch")
    import nbtrack.pytorch

    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 1))
    x = np.random.default_rng(0).normal(size=(5, 3)).astype("float32")
    with nbtrack.start_run():
        info = nbtrack.pytorch.log_model(net, name="net", serialization_format="pt2", input_example=x)
    model = nbtrack.pyfunc.load_model(info.model_uri)
    expected = net(torch.from_numpy(x)).detach().numpy()
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5)
    np.testing.assert_allclose(model.predict(x[:2]), expected[:2], rtol=1e-5)
    flavor = Model.load(info.model_uri).flavors["pytorch"]
    assert flavor["model_data"] == "data"


def test_pytorch_pt2_needs_an_example(tmp_path):
    torch = pytest.importorskip("torch")
    import nbtrack.pytorch

    with pytest.raises(InvalidParameter, match="input_example"):
        nbtrack.pytorch.save_model(torch.nn.Linear(2, 1), tmp_path / "m", serialization_format="pt2")
    with pytest.raises(InvalidParameter, match=r"torch\.nn\.Module"):
        nbtrack.pytorch.save_model("not a module", tmp_path / "m2")
