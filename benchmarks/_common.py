"""Shared helpers for the benchmarks: timing, fresh worker processes, MLflow setup, reporting.

Every benchmark runs nbtrack and MLflow (sqlite backend) in the same process on the same
workload, prints one table (absolute figures, the ratio, the target, pass or fail) and
writes the same rows as JSON to ``benchmarks/results/<name>.json``.

Keep this module's imports light: benchmark scripts re-run themselves as worker
processes (to measure import time, cold calls and peak memory), and whatever this module
imports is counted in those workers.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
CACHE = os.path.join(RESULTS, "cache")

# Settings of the user's shell that would point either library somewhere else.
_FOREIGN_ENV = ("MLFLOW_TRACKING_URI", "NBTRACK_TRACKING_URI", "MLFLOW_EXPERIMENT_NAME",
                "MLFLOW_EXPERIMENT_ID", "MLFLOW_RUN_ID")
# MLflow 3 sends usage telemetry unless told not to; a benchmark must not phone home.
_QUIET_ENV = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}


def clean_environment() -> None:
    """Make this process (and the workers it starts) independent of the caller's shell."""
    for name in _FOREIGN_ENV:
        os.environ.pop(name, None)
    os.environ.update(_QUIET_ENV)


def worker_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _FOREIGN_ENV}
    env.update(_QUIET_ENV)
    return env


# -- timing -------------------------------------------------------------------------------
def median_time(fn: Callable[[], Any], repeat: int, warmup: int = 0) -> tuple[float, list[float]]:
    """Median wall time of ``fn()`` over ``repeat`` calls (after ``warmup`` untimed calls)."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), times


def peak_rss_mb() -> float:
    """Peak resident set size of this process so far, in MB.

    On Linux this is VmHWM, not ``getrusage().ru_maxrss``: a child started with
    vfork/exec (as ``subprocess`` does) inherits its parent's maxrss, so a worker spawned
    by a 400 MB benchmark process would report at least 400 MB.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kib / 1024 if sys.platform != "darwin" else kib / 2**20


def folder_size(path: str) -> tuple[int, int]:
    """(bytes on disk as ``du`` counts them, apparent bytes) of everything under ``path``."""
    disk = apparent = 0
    for base, _dirs, files in os.walk(path):
        for name in files:
            st = os.lstat(os.path.join(base, name))
            disk += st.st_blocks * 512
            apparent += st.st_size
    return disk, apparent


# -- worker processes -----------------------------------------------------------------------
def run_worker(script: str, *args: str, timeout: float = 3600) -> dict[str, Any]:
    """Run ``python <script> --worker <args>`` in a fresh process; return the JSON it prints last."""
    cmd = [sys.executable, script, "--worker", *args]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=worker_env(), cwd=tempfile.gettempdir())
    lines = [line for line in proc.stdout.splitlines() if line.startswith("{")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"worker {args} failed (exit {proc.returncode}):\n{proc.stdout[-3000:]}\n{_stderr_tail(proc.stderr)}")
    return json.loads(lines[-1])


def _stderr_tail(stderr: str) -> str:
    # duckdb 2.0.0's bindings print a page of nanobind "leaked" notices at interpreter exit.
    kept = [line for line in stderr.splitlines() if not any(s in line for s in ("leaked", "nanobind", "skipped remainder"))]
    return "\n".join(kept[-40:])


def emit(result: dict[str, Any]) -> None:
    """What a worker hands back: one JSON line on stdout."""
    print(json.dumps(result), flush=True)


def import_times(module: str, repeat: int, env: dict[str, str] | None = None) -> dict[str, Any]:
    """``python -c "import <module>"`` in ``repeat`` fresh processes (environment ``env``, whole).

    Returns the median wall time of the whole process (interpreter start included) and the
    median time of the import statement alone, measured inside the child.
    """
    code = f"import time; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
    walls, inner = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True,
                             env=env or worker_env(), cwd=tempfile.gettempdir())
        walls.append(time.perf_counter() - t0)
        inner.append(float(out.stdout.strip().splitlines()[-1]))
    return {"wall": statistics.median(walls), "import": statistics.median(inner), "walls": walls,
            "imports": inner}


def bytecode_env(cache_dir: str) -> dict[str, str]:
    """Let Python cache bytecode (in ``cache_dir``, outside the source tree), as an installed wheel has.

    Developer shells here set PYTHONDONTWRITEBYTECODE, which recompiles every module of an
    editable install on each start; that is not what a user of the package pays.
    """
    env = {k: v for k, v in worker_env().items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = cache_dir
    return env


@contextmanager
def workspace(keep: bool = False) -> Iterator[str]:
    path = tempfile.mkdtemp(prefix="nbtrack-bench-")
    try:
        yield path
    finally:
        if keep:
            print(f"(kept workspace {path})")
        else:
            shutil.rmtree(path, ignore_errors=True)


# -- MLflow -----------------------------------------------------------------------------------
def mlflow_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("mlflow") is not None


def setup_mlflow(db_path: str, artifact_dir: str, experiment: str) -> tuple[Any, str]:
    """Point MLflow at a sqlite file; return (the mlflow module, the experiment id)."""
    import logging

    import mlflow

    for name in ("alembic", "mlflow"):  # migrations log a screenful at INFO on a fresh db
        logging.getLogger(name).setLevel(logging.WARNING)

    mlflow.set_tracking_uri(f"sqlite:///{db_path}")
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # mlflow exports it; keep it from our workers
    found = mlflow.get_experiment_by_name(experiment)
    if found is not None:
        return mlflow, found.experiment_id
    os.makedirs(artifact_dir, exist_ok=True)
    return mlflow, mlflow.create_experiment(experiment, artifact_location=artifact_dir)


def versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in ("nbtrack", "mlflow", "duckdb", "pyarrow", "pandas"):
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "not installed"
    return found


# -- reporting --------------------------------------------------------------------------------
@dataclass
class Row:
    """One line of a benchmark table.

    ``nbtrack`` and ``mlflow`` are in ``unit``; ``ratio`` is how many times better nbtrack
    is (a speed-up for times, a quotient for rates); ``passed`` is None when there is no target.
    """

    name: str
    nbtrack: float | None
    mlflow: float | None = None
    unit: str = "s"
    ratio: float | None = None
    target: str = ""
    passed: bool | None = None
    note: str = ""


def speedup(nbtrack: float | None, mlflow: float | None) -> float | None:
    if not nbtrack or mlflow is None:
        return None
    return mlflow / nbtrack


def fmt(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        if value >= 1:
            return f"{value:.2f} s"
        if value >= 1e-3:
            return f"{value * 1e3:.1f} ms"
        return f"{value * 1e6:.1f} us"
    if unit == "points/s":
        return f"{value / 1e6:.2f} M/s" if value >= 1e6 else f"{value / 1e3:.1f} k/s"
    if unit == "MB":
        return f"{value:.0f} MB"
    if unit == "B/point":
        return f"{value:.1f} B/pt"
    if unit == "rows":
        return f"{value:,.0f}"
    return f"{value:g} {unit}"


def print_table(title: str, rows: list[Row]) -> None:
    head = ("benchmark", "nbtrack", "MLflow (sqlite)", "ratio", "target", "result")
    body = []
    for r in rows:
        ratio = f"{r.ratio:,.0f}x" if r.ratio is not None and r.ratio >= 10 else (
            f"{r.ratio:.1f}x" if r.ratio is not None else "-")
        result = "-" if r.passed is None else ("PASS" if r.passed else "FAIL")
        body.append((r.name, fmt(r.nbtrack, r.unit), fmt(r.mlflow, r.unit), ratio, r.target or "-", result))
    widths = [max(len(str(line[i])) for line in [head, *body]) for i in range(len(head))]
    print(f"\n{title}")
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for line in body:
        print("  ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)))
    notes = [(r.name, r.note) for r in rows if r.note]
    if notes:
        print()
        for name, note in notes:
            print(f"  * {name}: {note}")


def write_results(name: str, rows: list[Row], extra: dict[str, Any]) -> str:
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, f"{name}.json")
    payload = {
        "benchmark": name,
        "when": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform()},
        "versions": versions(),
        "rows": [asdict(r) for r in rows],
        **extra,
    }
    with open(path, "w") as f:
        json.dump(payload, f, indent=2)
    print(f"\nwrote {path}")
    return path


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)
