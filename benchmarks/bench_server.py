"""Tracking-server benchmark: ``nbtrack server`` vs ``mlflow server`` (sqlite), same machine, same run.

Both servers run one worker on a free loopback port; the same REST requests go to each:

- log-batch: 4 concurrent clients x 25,000 points, 1,000 points a request (MLflow's batch limit):
  points/s, request latency p50/p99 (client side, and nbtrack's own Server-Timing), errors, and
  every point counted back through get-history (lost points);
- 1,000 runs created over REST (runs/create, sequential);
- search of 10,000 runs over REST (runs/search with a filter and order_by, paged 1,000 a page);
- metric history of 100,000 points over REST (metrics/get-history).

    .venv/bin/python benchmarks/bench_server.py [--quick]

Only 127.0.0.1 is contacted; every server started is stopped by its PID.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
API = "/api/2.0/mlflow/"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(cmd: list[str], port: int, log: Path) -> subprocess.Popen[bytes]:
    path = os.path.dirname(cmd[0]) + os.pathsep + os.environ.get("PATH", "")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_TRACKING", "NBTRACK_"))}
    env.update(PYTHONPATH=str(ROOT), PATH=path, MLFLOW_DISABLE_TELEMETRY="true", DO_NOT_TRACK="true")
    out = open(log, "w")
    proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"{cmd[:4]} exited:\n{log.read_text()[-3000:]}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/health")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    stop(proc)
    raise SystemExit(f"server did not start:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


class Conn:
    """One keep-alive connection; ``call`` returns (status, JSON body, seconds, server ms or None)."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any, float, float | None]:
        data = None if body is None else json.dumps(body).encode()
        t0 = time.perf_counter()
        self.conn.request(method, API + path, body=data, headers={"Content-Type": "application/json"})
        r = self.conn.getresponse()
        raw = r.read()
        elapsed = time.perf_counter() - t0
        timing = r.getheader("Server-Timing")
        server_ms = float(timing.split("dur=")[1]) if timing and "dur=" in timing else None
        return r.status, json.loads(raw) if raw else {}, elapsed, server_ms


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


def bench_log_batch(port: int, exp: str, clients: int, points: int, batch: int) -> dict[str, Any]:
    lat: list[float] = []
    server: list[float] = []
    errors: list[str] = []
    run_ids: list[str] = []
    lock = threading.Lock()

    def client(i: int) -> None:
        c = Conn(port)
        _, body, _, _ = c.call("POST", "runs/create", {"experiment_id": exp, "start_time": 0})
        run_id = body["run"]["info"]["run_id"]
        with lock:
            run_ids.append(run_id)
        for b in range(points // batch):
            metrics = [{"key": "loss", "value": (b * batch + j) * 1e-3, "timestamp": 1_700_000_000_000 + j,
                        "step": b * batch + j} for j in range(batch)]
            status, out, dt, sms = c.call("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})
            with lock:
                lat.append(dt)
                if sms is not None:
                    server.append(sms)
                if status != 200:
                    errors.append(f"{status} {str(out)[:100]}")

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - t0
    c = Conn(port)
    counted = sum(len(c.call("GET", f"metrics/get-history?run_id={r}&metric_key=loss")[1].get("metrics", []))
                  for r in run_ids)
    total = clients * (points // batch) * batch
    return {"points_per_s": total / wall, "p50_ms": pct(lat, 0.5) * 1000, "p99_ms": pct(lat, 0.99) * 1000,
            "server_p50_ms": pct(server, 0.5) if server else None, "errors": len(errors),
            "lost": total - counted, "seconds": wall}


def bench_create_runs(port: int, exp: str, n: int) -> dict[str, Any]:
    c = Conn(port)
    lat = [c.call("POST", "runs/create", {"experiment_id": exp, "start_time": i})[2] for i in range(n)]
    return {"runs_per_s": n / sum(lat), "p50_ms": pct(lat, 0.5) * 1000, "p99_ms": pct(lat, 0.99) * 1000}


def fill_runs(port: int, exp: str, n: int, clients: int = 4) -> None:
    """``n`` runs with a param and a metric each (not timed; several clients, so it takes less long)."""

    def fill(part: range) -> None:
        c = Conn(port)
        for i in part:
            created = c.call("POST", "runs/create", {"experiment_id": exp, "start_time": i})[1]
            c.call("POST", "runs/log-batch", {"run_id": created["run"]["info"]["run_id"],
                                              "params": [{"key": "model", "value": f"m{i % 7}"}],
                                              "metrics": [{"key": "acc", "value": (i % 1000) / 1000,
                                                           "timestamp": i, "step": 0}]})

    threads = [threading.Thread(target=fill, args=(range(k, n, clients),)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def bench_search(port: int, exp: str, repeat: int) -> dict[str, Any]:
    c = Conn(port)
    body = {"experiment_ids": [exp], "filter": "metrics.acc > 0.1", "order_by": ["metrics.acc DESC"],
            "max_results": 1000}
    t0 = time.perf_counter()  # the first read after the writes also folds what they left pending
    c.call("POST", "runs/search", {**body, "max_results": 1})
    first_read = time.perf_counter() - t0
    times, found = [], 0
    for _ in range(repeat):
        t0, found, token = time.perf_counter(), 0, None
        while True:
            _, out, _, _ = c.call("POST", "runs/search", {**body, **({"page_token": token} if token else {})})
            found += len(out.get("runs", []))
            token = out.get("next_page_token")
            if not token:
                break
        times.append(time.perf_counter() - t0)
    first = [c.call("POST", "runs/search", {**body, "max_results": 100})[2] for _ in range(repeat)]
    return {"all_pages_s": statistics.median(times), "runs_found": found,
            "first_100_ms": statistics.median(first) * 1000, "first_read_s": first_read}


def bench_history(port: int, exp: str, points: int, repeat: int) -> dict[str, Any]:
    c = Conn(port)
    run_id = c.call("POST", "runs/create", {"experiment_id": exp, "start_time": 0})[1]["run"]["info"]["run_id"]
    for b in range(points // 1000):
        metrics = [{"key": "h", "value": float(b * 1000 + j), "timestamp": b * 1000 + j, "step": b * 1000 + j}
                   for j in range(1000)]
        c.call("POST", "runs/log-batch", {"run_id": run_id, "metrics": metrics})
    times, n = [], 0
    for _ in range(repeat):
        _, out, dt, _ = c.call("GET", f"metrics/get-history?run_id={run_id}&metric_key=h")
        times.append(dt)
        n = len(out.get("metrics", []))
    return {"seconds": statistics.median(times), "points": n}


def run_all(port: int, sizes: dict[str, int], label: str, only: str | None = None,
            after_fill: Any = None) -> dict[str, Any]:
    """Every measure in turn; ``after_fill()`` runs between filling the search runs and searching."""
    c = Conn(port)
    exps = {name: c.call("POST", "experiments/create", {"name": f"bench-{name}"})[1]["experiment_id"]
            for name in ("batch", "create", "search", "history")}
    if only == "search":
        fill_runs(port, exps["search"], sizes["search"])
        if after_fill is not None:
            after_fill()
        return {"search": bench_search(port, exps["search"], 3)}
    print(f"[{label}] log-batch ...", flush=True)
    out = {"log_batch": bench_log_batch(port, exps["batch"], 4, sizes["points"], 1000)}
    print(f"[{label}] create runs ...", flush=True)
    out["create_runs"] = bench_create_runs(port, exps["create"], sizes["create"])
    print(f"[{label}] filling {sizes['search']} runs for search ...", flush=True)
    fill_runs(port, exps["search"], sizes["search"])
    if after_fill is not None:
        after_fill()
    out["search"] = bench_search(port, exps["search"], 3)
    print(f"[{label}] metric history ...", flush=True)
    out["history"] = bench_history(port, exps["history"], sizes["history"], 3)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--only", choices=["search"], help="run one part (its figures alone)")
    args = parser.parse_args()
    sizes = ({"points": 5000, "create": 200, "search": 1000, "history": 10000} if args.quick else
             {"points": 25000, "create": 1000, "search": 10000, "history": 100000})
    py = Path(sys.executable)
    work = Path(tempfile.mkdtemp(prefix="bench-server-"))
    results: dict[str, Any] = {}
    try:
        servers = {
            "nbtrack": lambda port: [str(py), "-m", "nbtrack", "server", "--backend-store-uri", str(work / "nb"),
                                     "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            "mlflow": lambda port: [str(py.with_name("mlflow")), "server", "--backend-store-uri",
                                    f"sqlite:///{work / 'mlflow.db'}", "--artifacts-destination", str(work / "mlart"),
                                    "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        }
        for name, cmd in servers.items():
            port = free_port()
            proc = start(cmd(port), port, work / f"{name}.log")
            try:
                results[name] = run_all(port, sizes, name, args.only)
            finally:
                stop(proc)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if args.only:
        print(json.dumps(results, indent=2))
        return
    report(results, sizes)


def report(results: dict[str, Any], sizes: dict[str, int]) -> None:
    nb, ml = results["nbtrack"], results["mlflow"]
    rows = [
        ("log-batch points/s (4 clients)", nb["log_batch"]["points_per_s"], ml["log_batch"]["points_per_s"]),
        ("log-batch p50 ms", nb["log_batch"]["p50_ms"], ml["log_batch"]["p50_ms"]),
        ("log-batch p99 ms", nb["log_batch"]["p99_ms"], ml["log_batch"]["p99_ms"]),
        ("log-batch errors / lost points", f"{nb['log_batch']['errors']} / {nb['log_batch']['lost']}",
         f"{ml['log_batch']['errors']} / {ml['log_batch']['lost']}"),
        (f"create {sizes['create']} runs: runs/s", nb["create_runs"]["runs_per_s"], ml["create_runs"]["runs_per_s"]),
        ("create run p50 ms", nb["create_runs"]["p50_ms"], ml["create_runs"]["p50_ms"]),
        (f"search {sizes['search']} runs, all pages s", nb["search"]["all_pages_s"], ml["search"]["all_pages_s"]),
        ("search first 100 ms", nb["search"]["first_100_ms"], ml["search"]["first_100_ms"]),
        (f"get-history {sizes['history']} points s", nb["history"]["seconds"], ml["history"]["seconds"]),
    ]
    print("\n| measure | nbtrack server | mlflow server (sqlite) | nbtrack / mlflow |\n|---|---|---|---|")
    for label, a, b in rows:
        ratio = f"{a / b:.2f}x" if isinstance(a, float) and isinstance(b, float) and b else ""
        fa = f"{a:,.1f}" if isinstance(a, float) else str(a)
        fb = f"{b:,.1f}" if isinstance(b, float) else str(b)
        print(f"| {label} | {fa} | {fb} | {ratio} |")
    print(f"\nfirst search after the writes (folds pending segments): nbtrack {nb['search']['first_read_s']:.1f} s, "
          f"mlflow {ml['search']['first_read_s']:.1f} s")
    print(f"nbtrack log-batch server-side p50 (Server-Timing): {nb['log_batch']['server_p50_ms']:.2f} ms; "
          f"search found {nb['search']['runs_found']} / {ml['search']['runs_found']} runs; history returned "
          f"{nb['history']['points']} / {ml['history']['points']} points")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_server.json").write_text(json.dumps({"sizes": sizes, **results}, indent=2))


if __name__ == "__main__":
    main()
