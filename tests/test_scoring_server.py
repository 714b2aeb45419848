"""The scoring server over real HTTP: a real uvicorn in a subprocess on a free loopback port."""

from __future__ import annotations

import concurrent.futures
import http.client
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("uvicorn")
pytest.importorskip("starlette")
sklearn = pytest.importorskip("sklearn")

from sklearn.datasets import load_iris  # noqa: E402
from sklearn.linear_model import LogisticRegression  # noqa: E402

import nbtrack.pyfunc  # noqa: E402
import nbtrack.sklearn  # noqa: E402
from nbtrack.models.schema import ParamSchema, ParamSpec  # noqa: E402
from nbtrack.models.signature import infer_signature  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
BODY_LIMIT = 4096


def child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, model_dir: Path, *extra: str) -> None:
        self.port = free_port()
        self.log = model_dir.parent / f"server-{self.port}.log"
        cmd = [sys.executable, "-m", "nbtrack", "models", "serve", "-m", str(model_dir), "-p", str(self.port),
               "--max-body-size", str(BODY_LIMIT), *extra]
        self.out = open(self.log, "w")
        self.proc = subprocess.Popen(cmd, stdout=self.out, stderr=subprocess.STDOUT, env=child_env())
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early:\n{self.log.read_text()}")
            try:
                if self.request("GET", "/ping")[0] == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"server did not start:\n{self.log.read_text()}")

    def request(self, method: str, path: str, body: bytes | str | None = None,
                content_type: str | None = "application/json", headers: dict[str, str] | None = None):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            hdrs = dict(headers or {})
            if content_type:
                hdrs["Content-Type"] = content_type
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.read().decode()
        finally:
            conn.close()

    def invoke(self, payload, content_type="application/json"):
        body = payload if isinstance(payload, (str, bytes)) else json.dumps(payload)
        status, text = self.request("POST", "/invocations", body, content_type)
        return status, json.loads(text)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.out.close()


@pytest.fixture(scope="module")
def iris_model(tmp_path_factory):
    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    path = tmp_path_factory.mktemp("served") / "iris"
    nbtrack.sklearn.save_model(model, path, input_example=X.iloc[:3])
    return path, X, model


@pytest.fixture(scope="module")
def server(iris_model):
    srv = Server(iris_model[0])
    yield srv
    srv.stop()


@pytest.fixture(autouse=True)
def _pickle_this_module_by_value():
    """Model classes below live in this test module, which the server process cannot import;
    pickle them by value, as classes defined in a notebook are."""
    import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
    yield
    cloudpickle.unregister_pickle_by_value(sys.modules[__name__])


def records(X: pd.DataFrame) -> list[dict]:
    return X.to_dict(orient="records")


def test_ping_health_version(server):
    assert server.request("GET", "/ping") == (200, "\n")
    assert server.request("GET", "/health") == (200, "\n")
    status, version = server.request("GET", "/version")
    assert status == 200
    assert version == nbtrack.__version__


def test_all_json_formats_and_csv_agree(server, iris_model):
    _, X, model = iris_model
    rows = X.iloc[[0, 60, 120]]
    expected = model.predict(rows).tolist()
    split = json.loads(rows.to_json(orient="split", index=False))
    for payload in ({"dataframe_split": split}, {"dataframe_records": records(rows)},
                    {"instances": records(rows)}, {"inputs": {c: rows[c].tolist() for c in rows}}):
        assert server.invoke(payload) == (200, {"predictions": expected}), payload
    assert server.invoke(rows.to_csv(index=False), "text/csv") == (200, {"predictions": expected})
    assert server.invoke(rows.to_csv(index=False), "text/csv; charset=utf-8") == (200, {"predictions": expected})


def test_serving_input_example_is_a_valid_request(server, iris_model):
    path, X, model = iris_model
    body = (path / "serving_input_example.json").read_text()
    assert server.invoke(body) == (200, {"predictions": model.predict(X.iloc[:3]).tolist()})


def test_parquet_body(server, iris_model):
    _, X, model = iris_model
    import io

    buf = io.BytesIO()
    X.iloc[:5].to_parquet(buf)
    status, out = server.invoke(buf.getvalue(), "application/vnd.apache.parquet")
    assert (status, out) == (200, {"predictions": model.predict(X.iloc[:5]).tolist()})


def test_malformed_json_is_400_bad_request(server):
    status, out = server.invoke('{"dataframe_split": ')
    assert status == 400
    assert out["error_code"] == "BAD_REQUEST"
    assert "valid JSON" in out["message"]


def test_wrong_shapes_of_payload_are_400(server):
    status, out = server.invoke([1, 2])
    assert (status, out["error_code"]) == (400, "BAD_REQUEST")
    assert "Received a list" in out["message"]
    status, out = server.invoke({"data": [[1, 2, 3, 4]]})
    assert status == 400
    assert "exactly one of the input fields" in out["message"]
    status, out = server.invoke({"dataframe_split": [[1]]})
    assert (status, out["error_code"]) == (400, "BAD_REQUEST")
    status, out = server.invoke({"dataframe_records": [{"a": 1}], "params": [1]})
    assert status == 400


def test_wrong_columns_are_400_invalid_parameter(server, iris_model):
    _, X, _ = iris_model
    status, out = server.invoke({"dataframe_records": [{"sepal length (cm)": 1.0}]})
    assert (status, out["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    assert "missing inputs" in out["message"]
    bad = records(X.iloc[:1].astype(object))
    bad[0]["sepal width (cm)"] = "wide"
    status, out = server.invoke({"dataframe_records": bad})
    assert status == 400
    assert "sepal width (cm)" in out["message"]
    assert set(out) == {"error_code", "message"}


def test_unsupported_content_types_are_415(server):
    assert server.request("POST", "/invocations", "x", "text/plain")[0] == 415
    assert server.request("POST", "/invocations", "{}", "application/json; charset=latin-1")[0] == 415
    assert server.request("POST", "/invocations", "{}", "application/json; format=pandas-split")[0] == 415
    status, text = server.request("POST", "/invocations", "{}", None)
    assert status == 415
    assert "Content-Type" in json.loads(text)["message"]


def test_body_over_the_limit_is_413(server):
    big = json.dumps({"inputs": ["x" * BODY_LIMIT]})
    status, text = server.request("POST", "/invocations", big)
    assert status == 413
    assert json.loads(text)["error_code"] == "REQUEST_LIMIT_EXCEEDED"


def test_chunked_body_over_the_limit_is_413(server):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        chunks = (b"x" * 1024 for _ in range(8))
        conn.request("POST", "/invocations", body=chunks, encode_chunked=True,
                     headers={"Content-Type": "application/json", "Transfer-Encoding": "chunked"})
        resp = conn.getresponse()
        assert resp.status == 413
        resp.read()
    finally:
        conn.close()


def test_unknown_routes_and_methods(server):
    assert server.request("GET", "/nope")[0] == 404
    assert server.request("GET", "/invocations")[0] == 405


def test_concurrent_requests_all_answer_correctly(server, iris_model):
    _, X, model = iris_model
    expected = model.predict(X).tolist()

    def one(i: int):
        rows = X.iloc[[i % len(X)]]
        return server.invoke({"dataframe_records": records(rows)}), expected[i % len(X)]

    with concurrent.futures.ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one, range(200)))
    for (status, out), want in results:
        assert status == 200
        assert out == {"predictions": [want]}


class EchoParams(nbtrack.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        return {"n": len(model_input), "params": params}


def test_params_reach_the_model_and_are_validated(tmp_path):
    sig = infer_signature(pd.DataFrame({"x": [1.0]}))
    sig.params = ParamSchema([ParamSpec("k", "long", 3), ParamSpec("t", "double", 0.5)])
    nbtrack.pyfunc.save_model(tmp_path / "echo", python_model=EchoParams(), signature=sig)
    srv = Server(tmp_path / "echo")
    try:
        status, out = srv.invoke({"dataframe_records": [{"x": 1.0}, {"x": 2.0}], "params": {"t": 1}})
        assert (status, out) == (200, {"predictions": {"n": 2, "params": {"k": 3, "t": 1.0}}})
        status, out = srv.invoke({"dataframe_records": [{"x": 1.0}], "params": {"k": "many"}})
        assert (status, out["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    finally:
        srv.stop()


class Slow(nbtrack.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        import time as _time

        _time.sleep(float(model_input["s"].iloc[0]))
        return [1]


class Broken(nbtrack.pyfunc.PythonModel):
    def predict(self, context, model_input, params=None):
        raise ZeroDivisionError("model bug")


def test_timeout_gives_504_and_model_errors_give_400(tmp_path):
    nbtrack.pyfunc.save_model(tmp_path / "slow", python_model=Slow())
    srv = Server(tmp_path / "slow", "--timeout", "1.5")
    try:
        assert srv.invoke({"dataframe_records": [{"s": 0}]}) == (200, {"predictions": [1]})
        status, out = srv.invoke({"dataframe_records": [{"s": 4}]})
        assert (status, out["error_code"]) == (504, "TEMPORARILY_UNAVAILABLE")
    finally:
        srv.stop()
    nbtrack.pyfunc.save_model(tmp_path / "broken", python_model=Broken())
    srv = Server(tmp_path / "broken")
    try:
        status, out = srv.invoke({"inputs": [1]})
        assert (status, out["error_code"]) == (400, "BAD_REQUEST")
        assert "ZeroDivisionError: model bug" in out["message"]
    finally:
        srv.stop()


def test_tensor_model_takes_inputs_and_instances(tmp_path):
    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    nbtrack.sklearn.save_model(model, tmp_path / "tensor", input_example=X[:2])
    srv = Server(tmp_path / "tensor", "--workers", "2")
    try:
        expected = model.predict(X[:3]).tolist()
        assert srv.invoke({"inputs": X[:3].tolist()}) == (200, {"predictions": expected})
        assert srv.invoke({"instances": X[:3].tolist()}) == (200, {"predictions": expected})
        status, out = srv.invoke({"inputs": np.ones((2, 3)).tolist()})
        assert status == 400
        assert "Shape of input" in out["message"]
    finally:
        srv.stop()


def test_cli_predict_reads_and_writes_files(tmp_path, iris_model):
    path, X, model = iris_model
    (tmp_path / "in.json").write_text(json.dumps({"dataframe_records": records(X.iloc[:4])}))
    subprocess.run([sys.executable, "-m", "nbtrack", "models", "predict", "-m", str(path), "-i",
                    str(tmp_path / "in.json"), "-o", str(tmp_path / "out.json")], check=True, env=child_env())
    assert json.loads((tmp_path / "out.json").read_text()) == {"predictions": model.predict(X.iloc[:4]).tolist()}
    X.iloc[:2].to_csv(tmp_path / "in.csv", index=False)
    out = subprocess.run([sys.executable, "-m", "nbtrack", "models", "predict", "-m", str(path), "-i",
                          str(tmp_path / "in.csv"), "-t", "csv"], check=True, env=child_env(),
                         capture_output=True, text=True).stdout
    assert json.loads(out) == {"predictions": model.predict(X.iloc[:2]).tolist()}
    bad = subprocess.run([sys.executable, "-m", "nbtrack", "models", "predict", "-m", str(path), "-i",
                          str(tmp_path / "in.csv")], env=child_env(), capture_output=True, text=True)
    assert bad.returncode != 0
    assert "valid JSON" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_serve_refuses_other_env_managers(iris_model):
    out = subprocess.run([sys.executable, "-m", "nbtrack", "models", "serve", "-m", str(iris_model[0]),
                          "--env-manager", "conda"], env=child_env(), capture_output=True, text=True)
    assert out.returncode != 0
    assert "--env-manager local" in out.stderr
