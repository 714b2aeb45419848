"""Scoring-server benchmark: nbtrack vs ``mlflow models serve --env-manager local``.

One scikit-learn model (iris logistic regression, saved once by nbtrack; MLflow loads the
same directory) is served by both servers, one uvicorn worker each, on free loopback ports.
For each payload size the script measures latency (sequential requests on a keep-alive
connection: p50/p99) and throughput (a fixed number of requests from concurrent clients),
then prints nbtrack/MLflow ratios. Every loop is bounded; only 127.0.0.1 is contacted.

    .venv/bin/python benchmarks/bench_serving.py [--requests 2000] [--clients 8]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(cmd: list[str], port: int, log: Path) -> subprocess.Popen:
    # mlflow starts `uvicorn` through bash, so the interpreter's bin directory must be on PATH
    path = os.path.dirname(cmd[0]) + os.pathsep + os.environ.get("PATH", "")
    env = dict(os.environ, PYTHONPATH=str(ROOT), PATH=path)
    out = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[:4]} exited:\n{log.read_text()}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/ping")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server did not start:\n{log.read_text()}")


def post(conn: http.client.HTTPConnection, body: bytes) -> float:
    t0 = time.perf_counter()
    conn.request("POST", "/invocations", body=body, headers={"Content-Type": "application/json"})
    resp = conn.getresponse()
    data = resp.read()
    elapsed = time.perf_counter() - t0
    if resp.status != 200:
        raise SystemExit(f"unexpected {resp.status}: {data[:300]!r}")
    return elapsed


def latency(port: int, body: bytes, n: int) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for _ in range(min(50, n)):  # warm-up
        post(conn, body)
    times = [post(conn, body) for _ in range(n)]
    conn.close()
    return times


def throughput(port: int, body: bytes, n: int, clients: int) -> float:
    per_client = n // clients

    def worker(_: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        for _ in range(per_client):
            post(conn, body)
        conn.close()

    t0 = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(clients) as pool:
        list(pool.map(worker, range(clients)))
    return per_client * clients / (time.perf_counter() - t0)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=2000, help="requests per measurement")
    parser.add_argument("--clients", type=int, default=8, help="concurrent clients for throughput")
    parser.add_argument("--mlflow-python", default=sys.executable, help="interpreter with mlflow installed")
    args = parser.parse_args()

    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    import nbtrack.sklearn

    X, y = load_iris(return_X_y=True, as_frame=True)
    model = LogisticRegression(max_iter=500).fit(X, y)
    work = Path(tempfile.mkdtemp(prefix="bench-serving-"))
    model_dir = work / "iris"
    nbtrack.sklearn.save_model(model, model_dir, input_example=X.iloc[:2])

    servers = {
        "nbtrack": [sys.executable, "-m", "nbtrack", "models", "serve", "-m", str(model_dir)],
        "mlflow": [args.mlflow_python, "-m", "mlflow", "models", "serve", "-m", str(model_dir),
                   "--env-manager", "local", "-h", "127.0.0.1"],
    }
    payloads = {
        "1 row": {"dataframe_split": json.loads(X.iloc[:1].to_json(orient="split", index=False))},
        "100 rows": {"dataframe_split": json.loads(X.sample(100, replace=True, random_state=0)
                                                   .to_json(orient="split", index=False))},
    }
    results: dict[tuple[str, str], dict[str, float]] = {}
    try:
        for name, cmd in servers.items():
            port = free_port()
            proc = start([*cmd, "-p", str(port)], port, work / f"{name}.log")
            try:
                for label, payload in payloads.items():
                    body = json.dumps(payload).encode()
                    lat = latency(port, body, args.requests)
                    rps = throughput(port, body, args.requests, args.clients)
                    results[(name, label)] = {"p50": pct(lat, 0.5) * 1e3, "p99": pct(lat, 0.99) * 1e3,
                                              "mean": statistics.fmean(lat) * 1e3, "rps": rps}
            finally:
                proc.terminate()
                proc.wait(timeout=30)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"\n{args.requests} requests per measurement, {args.clients} clients for throughput, "
          "1 uvicorn worker each, loopback\n")
    print(f"{'payload':<10} {'server':<8} {'p50 ms':>8} {'p99 ms':>8} {'mean ms':>8} {'req/s':>8}")
    for label in payloads:
        for name in servers:
            r = results[(name, label)]
            print(f"{label:<10} {name:<8} {r['p50']:8.2f} {r['p99']:8.2f} {r['mean']:8.2f} {r['rps']:8.0f}")
    print("\nnbtrack / mlflow (latency: lower is better; throughput: higher is better)")
    for label in payloads:
        a, b = results[("nbtrack", label)], results[("mlflow", label)]
        print(f"{label:<10} p50 {a['p50'] / b['p50']:.2f}x   p99 {a['p99'] / b['p99']:.2f}x   "
              f"throughput {a['rps'] / b['rps']:.2f}x")


if __name__ == "__main__":
    main()
