"""Models cross between nbtrack and the real MLflow 3.18 in both directions.

MLflow runs in child processes (so importing it does not change this test process), and
nbtrack loads MLflow's models in a child where ``import mlflow`` is blocked, proving they
load without MLflow installed. Skips when mlflow is not importable.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

if importlib.util.find_spec("mlflow") is None:
    pytest.skip("mlflow is not installed (pip install 'nbtrack[bench]')", allow_module_level=True)

import nbtrack.pyfunc
from nbtrack.models import Model

ROOT = Path(__file__).resolve().parent.parent
HAVE = {m: importlib.util.find_spec(m) is not None for m in ("sklearn", "xgboost", "lightgbm", "torch", "skops")}


def run_python(code: str, *, block_mlflow: bool = False, timeout: int = 300) -> str:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env["MLFLOW_TRACKING_URI"] = "sqlite:///:memory:"
    prelude = "import sys\nsys.modules['mlflow'] = None\n" if block_mlflow else ""
    out = subprocess.run([sys.executable, "-c", prelude + textwrap.dedent(code)], env=env, capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"child failed:\n{out.stdout}\n{out.stderr}")
    return out.stdout.strip().splitlines()[-1]


DATA = """
import numpy as np, pandas as pd
rng = np.random.default_rng(0)
X = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])
y = (X["a"] + X["b"] > 0).astype(int)
"""


def data():
    ns: dict = {}
    exec(DATA, ns)
    return ns["X"], ns["y"]


# ---- MLflow writes, nbtrack reads (without mlflow) --------------------------------------------


@pytest.fixture(scope="module")
def mlflow_models(tmp_path_factory):
    out = tmp_path_factory.mktemp("mlflow_saved")
    (out / "factor.txt").write_text("10")
    reqs = "pip_requirements=['numpy']"
    script = DATA + f"""
import json, cloudpickle, sys
import mlflow, mlflow.pyfunc
OUT = {str(out)!r}

class Times(mlflow.pyfunc.PythonModel):
    def load_context(self, context):
        self.factor = float(open(context.artifacts["factor"]).read())
    def predict(self, context, model_input, params=None):
        return model_input["a"] * self.factor * (params or {{}}).get("sign", 1)

sig = mlflow.models.infer_signature(X, params={{"sign": 1}})
mlflow.pyfunc.save_model(OUT + "/pyfunc", python_model=Times(), artifacts={{"factor": OUT + "/factor.txt"}},
                         signature=sig, input_example=X.iloc[:2], {reqs})
saved = ["pyfunc"]
expected = {{}}
if {HAVE["sklearn"]}:
    import mlflow.sklearn
    from sklearn.linear_model import LogisticRegression
    clf = LogisticRegression().fit(X, y)
    expected["sk_cloudpickle"] = expected["sk_skops"] = clf.predict(X).tolist()
    mlflow.sklearn.save_model(clf, OUT + "/sk_cloudpickle", serialization_format="cloudpickle",
                              input_example=X.iloc[:2], {reqs})
    if {HAVE["skops"]}:
        mlflow.sklearn.save_model(clf, OUT + "/sk_skops", input_example=X.iloc[:2], {reqs})
        saved.append("sk_skops")
    saved.append("sk_cloudpickle")
if {HAVE["xgboost"]}:
    import mlflow.xgboost, xgboost
    xgb = xgboost.XGBClassifier(n_estimators=3).fit(X, y)
    expected["xgb"] = xgb.predict(X).tolist()
    mlflow.xgboost.save_model(xgb, OUT + "/xgb", input_example=X.iloc[:2], {reqs})
    saved.append("xgb")
if {HAVE["lightgbm"]}:
    import mlflow.lightgbm, lightgbm
    lgb = lightgbm.LGBMClassifier(n_estimators=3, min_child_samples=5, verbose=-1).fit(X, y)
    expected["lgb"] = lgb.predict(X).tolist()
    mlflow.lightgbm.save_model(lgb, OUT + "/lgb", serialization_format="cloudpickle",
                               input_example=X.iloc[:2], {reqs})
    saved.append("lgb")
if {HAVE["torch"]}:
    import mlflow.pytorch, torch
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2))
    x = X.to_numpy(dtype="float32")
    mlflow.pytorch.save_model(net, OUT + "/torch_pickle", serialization_format="pickle", input_example=x[:2], {reqs})
    mlflow.pytorch.save_model(net, OUT + "/torch_pt2", input_example=x[:2], {reqs})
    np.save(OUT + "/torch_expected.npy", net(torch.from_numpy(x)).detach().numpy())
    saved += ["torch_pickle", "torch_pt2"]
json.dump(expected, open(OUT + "/expected.json", "w"))
print(json.dumps(saved))
"""
    saved = json.loads(run_python(script))
    return out, saved


def test_mlflow_pythonmodel_loads_without_mlflow(mlflow_models):
    out, _ = mlflow_models
    code = DATA + f"""
import json, nbtrack.pyfunc
m = nbtrack.pyfunc.load_model({str(out / 'pyfunc')!r})
p1 = m.predict(X.iloc[:3]).tolist()
p2 = m.predict(X.iloc[:3], params={{"sign": -1}}).tolist()
print(json.dumps([p1, p2, m.metadata.get_params_schema().to_dict(), list(m.input_example.columns)]))
"""
    p1, p2, params, columns = json.loads(run_python(code, block_mlflow=True))
    X, _ = data()
    np.testing.assert_allclose(p1, X["a"].iloc[:3] * 10)
    np.testing.assert_allclose(p2, -X["a"].iloc[:3] * 10)
    assert params == [{"name": "sign", "default": 1, "shape": None, "type": "long"}]
    assert columns == ["a", "b", "c"]


@pytest.mark.parametrize("name", ["sk_cloudpickle", "sk_skops", "xgb", "lgb"])
def test_mlflow_tabular_flavors_load_without_mlflow(mlflow_models, name):
    out, saved = mlflow_models
    if name not in saved:
        pytest.skip(f"{name}: framework not installed")
    code = DATA + f"""
import json, nbtrack.pyfunc
m = nbtrack.pyfunc.load_model({str(out / name)!r})
print(json.dumps([np.asarray(m.predict(X)).tolist(), m.metadata.signature.to_dict()]))
"""
    preds, sig = json.loads(run_python(code, block_mlflow=True))
    assert preds == json.loads((out / "expected.json").read_text())[name]
    assert json.loads(sig["inputs"]) == [{"type": "double", "name": c, "required": True} for c in "abc"]


@pytest.mark.parametrize("name", ["torch_pickle", "torch_pt2"])
def test_mlflow_pytorch_loads_without_mlflow(mlflow_models, name):
    out, saved = mlflow_models
    if name not in saved:
        pytest.skip("torch not installed")
    code = DATA + f"""
import json, nbtrack.pyfunc
m = nbtrack.pyfunc.load_model({str(out / name)!r})
print(json.dumps(m.predict(X.to_numpy(dtype="float32")).tolist()))
"""
    preds = json.loads(run_python(code, block_mlflow=True))
    np.testing.assert_allclose(preds, np.load(out / "torch_expected.npy"), rtol=1e-5)


# ---- nbtrack writes, MLflow reads -------------------------------------------------------------


class Plus(nbtrack.pyfunc.PythonModel):
    def load_context(self, context):
        self.offset = float(Path(context.artifacts["offset"]).read_text())

    def predict(self, context, model_input, params=None):
        return model_input["a"] + self.offset


def _save_nbtrack_models(out: Path) -> dict[str, tuple[list, str]]:
    """Save one model per flavor; return {name: (expected predictions, input expression)}."""
    import cloudpickle

    X, y = data()
    expected: dict[str, tuple[list, str]] = {}
    (out / "offset.txt").write_text("100")
    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    try:
        nbtrack.pyfunc.save_model(out / "pyfunc", python_model=Plus(), artifacts={"offset": str(out / "offset.txt")},
                                  input_example=X.iloc[:2])
    finally:
        cloudpickle.unregister_pickle_by_value(sys.modules[__name__])
    expected["pyfunc"] = ((X["a"] + 100).tolist(), "X")
    if HAVE["sklearn"]:
        from sklearn.linear_model import LogisticRegression

        from nbtrack import sklearn as nb_sklearn

        clf = LogisticRegression().fit(X, y)
        for fmt in ("cloudpickle", "pickle", "skops")[: 3 if HAVE["skops"] else 2]:
            nb_sklearn.save_model(clf, out / f"sk_{fmt}", serialization_format=fmt, input_example=X.iloc[:2])
            expected[f"sk_{fmt}"] = (clf.predict(X).tolist(), "X")
    if HAVE["xgboost"] and HAVE["lightgbm"]:
        import lightgbm
        import xgboost

        from nbtrack import lightgbm as nb_lightgbm
        from nbtrack import xgboost as nb_xgboost

        xgb = xgboost.XGBClassifier(n_estimators=3).fit(X, y)
        lgb = lightgbm.LGBMClassifier(n_estimators=3, min_child_samples=5, verbose=-1).fit(X, y)
        nb_xgboost.save_model(xgb, out / "xgb")
        nb_lightgbm.save_model(lgb, out / "lgb")
        expected["xgb"] = (xgb.predict(X).tolist(), "X")
        expected["lgb"] = (lgb.predict(X).tolist(), "X")
    if HAVE["torch"]:
        import torch

        from nbtrack import pytorch as nb_pytorch

        torch.manual_seed(0)
        net = torch.nn.Sequential(torch.nn.Linear(3, 1))
        x = X.to_numpy(dtype="float32")
        nb_pytorch.save_model(net, out / "torch_pickle", input_example=x[:2])
        nb_pytorch.save_model(net, out / "torch_pt2", serialization_format="pt2", input_example=x[:2])
        preds = net(torch.from_numpy(x.copy())).detach().numpy().tolist()
        expected["torch_pickle"] = expected["torch_pt2"] = (preds, 'X.to_numpy(dtype="float32")')
    return expected


@pytest.fixture(scope="module")
def loaded_by_mlflow(tmp_path_factory):
    """Save every nbtrack flavor, then load and score them all in one MLflow process."""
    out = tmp_path_factory.mktemp("nbtrack_saved")
    expected = _save_nbtrack_models(out)
    jobs = {name: expr for name, (_, expr) in expected.items()}
    code = DATA + f"""
import json, mlflow.pyfunc
from mlflow.models import Model
result = {{}}
for name, expr in {jobs!r}.items():
    path = {str(out)!r} + "/" + name
    m = mlflow.pyfunc.load_model(path)
    sig = Model.load(path).signature
    result[name] = [np.asarray(m.predict(eval(expr))).tolist(), sig.to_dict() if sig else None]
print(json.dumps(result))
"""
    return out, expected, json.loads(run_python(code))


@pytest.mark.parametrize("name", ["pyfunc", "sk_cloudpickle", "sk_pickle", "sk_skops", "xgb", "lgb",
                                  "torch_pickle", "torch_pt2"])
def test_nbtrack_models_load_and_predict_in_mlflow(loaded_by_mlflow, name):
    out, expected, result = loaded_by_mlflow
    if name not in expected:
        pytest.skip(f"{name}: framework not installed")
    preds, sig = result[name]
    np.testing.assert_allclose(np.asarray(preds, dtype=float), np.asarray(expected[name][0], dtype=float), rtol=1e-5)
    ours = Model.load(out / name).signature
    assert sig == (ours.to_dict() if ours else None)


def test_signature_json_is_identical_to_mlflows():
    X, _ = data()
    X["n"] = np.arange(len(X), dtype="int32")
    X["s"] = "x"
    code = DATA + """
import json
from mlflow.models import infer_signature
X["n"] = np.arange(len(X), dtype="int32")
X["s"] = "x"
sigs = [infer_signature(X, X["a"].to_numpy()).to_dict(),
        infer_signature(np.zeros((2, 28, 28), dtype="uint8")).to_dict(),
        infer_signature([{"q": "a", "k": [1, 2]}, {"q": "b"}]).to_dict(),
        infer_signature(params={"t": 0.5, "stops": ["a"], "n": 3}).to_dict()]
print(json.dumps(sigs))
"""
    theirs = json.loads(run_python(code))
    from nbtrack.models import infer_signature

    ours = [infer_signature(X, X["a"].to_numpy()).to_dict(),
            infer_signature(np.zeros((2, 28, 28), dtype="uint8")).to_dict(),
            infer_signature([{"q": "a", "k": [1, 2]}, {"q": "b"}]).to_dict(),
            infer_signature(params={"t": 0.5, "stops": ["a"], "n": 3}).to_dict()]
    assert ours == theirs


def test_mlflow_client_scores_an_nbtrack_served_payload_format(tmp_path):
    """MLflow's own serving-payload helper produces bodies our parser accepts."""
    X, _ = data()
    code = DATA + """
from mlflow.models.utils import convert_input_example_to_serving_input
print(convert_input_example_to_serving_input(X.iloc[:2]).replace("\\n", ""))
"""
    body = run_python(code)
    from nbtrack.models.payload import parse_json_request

    frame, params = parse_json_request(body, None)
    pd.testing.assert_frame_equal(frame, X.iloc[:2].reset_index(drop=True))
    assert params is None
