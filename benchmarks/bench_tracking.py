"""Tracking speed: nbtrack against MLflow 3.x on sqlite, same process, same workload.

    .venv/bin/python benchmarks/bench_tracking.py [--quick] [--skip-10m]

1. 10,000 ``log_metric`` calls in one run, timed until durable (nbtrack: until ``flush()``
   returns, which fsyncs a segment; a second clock also covers folding it into the DuckDB
   file, which readers otherwise do; MLflow's calls are synchronous). MLflow is timed on
   fewer calls and reported per point.
2. 100,000 points through ``log_batch`` (Metric objects built outside the timer). MLflow
   accepts 1,000 per call and is timed on fewer points, then extrapolated.
3. 1,000 runs with 10 params, 10 metrics and 5 tags each through the fluent API (nbtrack
   timed until ``flush()`` returns). MLflow is timed on fewer runs, then extrapolated.
4. ``python -c "import nbtrack"`` against ``import mlflow``, fresh processes.
5. 10 million points in one run (nbtrack alone, in a fresh process): peak RSS, and the
   store's size on disk per point.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import sys
import time
from typing import Any

from _common import (
    Row,
    bytecode_env,
    clean_environment,
    emit,
    folder_size,
    import_times,
        log,
    mlflow_available,
    peak_rss_mb,
    print_table,
    run_worker,
    setup_mlflow,
    speedup,
    workspace,
    write_results,
)

HEAVY = ("duckdb", "pandas", "plotly", "IPython", "pyarrow", "numpy", "ipywidgets", "matplotlib")
MUST_NOT_LOAD = ("duckdb", "pandas", "plotly", "IPython")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def fold(nb: Any) -> None:
    """Fold flushed segments into the DuckDB file now (what the next reader would otherwise do)."""
    nb.MlflowClient().store.sync()


def clocks(t0: float, logged: float, flushed: float) -> dict[str, float]:
    """Seconds from ``t0`` until the calls returned, flush() returned, and the fold finished."""
    done = time.perf_counter()
    return {"calls": logged - t0, "flush": flushed - t0, "fold": done - t0}


# -- 1. log_metric ----------------------------------------------------------------------------
def nbtrack_log_metric(nb: Any, n: int) -> dict[str, float]:
    """``n`` log_metric calls, then flush() (durable), then the fold into DuckDB."""
    with nb.start_run():
        t0 = time.perf_counter()
        for i in range(n):
            nb.log_metric("loss", 1.0 / (i + 1), step=i)
        logged = time.perf_counter()
        nb.flush()
        flushed = time.perf_counter()
        fold(nb)
        result = clocks(t0, logged, flushed)
    return result


def mlflow_log_metric(ml: Any, n: int) -> float:
    with ml.start_run():
        t0 = time.perf_counter()
        for i in range(n):
            ml.log_metric("loss", 1.0 / (i + 1), step=i)
        elapsed = time.perf_counter() - t0
    return elapsed / n


# -- 2. log_batch -----------------------------------------------------------------------------
def metric_objects(cls: type, n: int, start: int = 0) -> list:
    ts = _now_ms()
    return [cls("loss", math.exp(-i / 50_000) + 0.01 * ((i * 7919) % 1000) / 1000, ts + i // 1000, i)
            for i in range(start, start + n)]


def nbtrack_log_batch(nb: Any, experiment_id: str, n: int) -> dict[str, float]:
    """One log_batch of ``n`` Metric objects (built before the clock starts), flush(), fold."""
    from nbtrack.entities import Metric

    client = nb.MlflowClient()
    run_id = client.create_run(experiment_id).info.run_id
    metrics = metric_objects(Metric, n)
    t0 = time.perf_counter()
    client.log_batch(run_id, metrics=metrics)
    logged = time.perf_counter()
    nb.flush()
    flushed = time.perf_counter()
    fold(nb)
    result = clocks(t0, logged, flushed)
    client.set_terminated(run_id)
    return result


def mlflow_log_batch(ml: Any, experiment_id: str, n: int, chunk: int = 1000) -> float:
    from mlflow.entities import Metric

    client = ml.MlflowClient()
    run_id = client.create_run(experiment_id).info.run_id
    metrics = metric_objects(Metric, n)
    t0 = time.perf_counter()
    for i in range(0, n, chunk):
        client.log_batch(run_id, metrics=metrics[i:i + chunk])
    elapsed = time.perf_counter() - t0
    client.set_terminated(run_id)
    return n / elapsed


# -- 3. many runs -----------------------------------------------------------------------------
def run_contents(n: int) -> list[tuple[dict, dict, dict]]:
    rng = random.Random(1)
    return [({f"p{j}": f"{rng.choice(['adam', 'sgd', 0.1, 0.01, 32, 64])}" for j in range(10)},
             {f"m{j}": rng.random() for j in range(10)},
             {f"t{j}": rng.choice(["baseline", "sweep", "ablation"]) for j in range(5)})
            for _ in range(n)]


def fluent_runs(m: Any, contents: list[tuple[dict, dict, dict]]) -> float:
    """Seconds for start_run/log_params/log_metrics/set_tags/end_run per run."""
    t0 = time.perf_counter()
    for params, metrics, tags in contents:
        m.start_run()
        m.log_params(params)
        m.log_metrics(metrics)
        m.set_tags(tags)
        m.end_run()
    return time.perf_counter() - t0


def nbtrack_runs(nb: Any, contents: list[tuple[dict, dict, dict]]) -> dict[str, float]:
    t0 = time.perf_counter()
    fluent_runs(nb, contents)
    logged = time.perf_counter()
    nb.flush()
    flushed = time.perf_counter()
    fold(nb)
    return clocks(t0, logged, flushed)


# -- 4. import time -------------------------------------------------------------------------
_PROBE = ("import sys, json, nbtrack; "
          f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))")


def import_probe(env: dict[str, str]) -> dict:
    """Which heavy modules ``import nbtrack`` loads, and the biggest imports under it."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", _PROBE], check=True, capture_output=True, text=True, env=env)
    loaded = json.loads(out.stdout.strip().splitlines()[-1])
    timing = subprocess.run([sys.executable, "-X", "importtime", "-c", "import nbtrack"], check=True,
                            capture_output=True, text=True, env=env)
    # -X importtime prints children before their parent; keep the direct children of nbtrack.
    top: list[tuple[int, str]] = []
    pending: list[tuple[int, str]] = []
    for line in timing.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _self, cumulative, name = line.split(":", 1)[1].split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        if depth == 0:
            top, pending = (pending, []) if name.strip() == "nbtrack" else (top, [])
        elif depth == 1:
            pending.append((int(cumulative), name.strip()))
    top.sort(reverse=True)
    return {"loaded": loaded, "top_imports_us": top[:8]}


def import_rows(tmp: str, extra: dict) -> list[Row]:
    cached = bytecode_env(os.path.join(tmp, "pycache"))
    for module in ("nbtrack", "mlflow"):  # fill the bytecode cache first
        import_times(module, 1, cached)
    base = import_times("sys", 5, cached)
    nb = import_times("nbtrack", 5, cached)
    ml = import_times("mlflow", 5, cached)
    nb_src = import_times("nbtrack", 3)  # as this shell runs it (PYTHONDONTWRITEBYTECODE may be set)
    probe = import_probe(cached)
    bad = [m for m in MUST_NOT_LOAD if m in probe["loaded"]]
    top = ", ".join(f"{name} {us / 1000:.0f} ms" for us, name in probe["top_imports_us"][:6])
    extra["import"] = {"python_only": base, "nbtrack": nb, "mlflow": ml, "nbtrack_inherited_env": nb_src,
                       **probe}
    return [
        Row("python -c 'import <lib>', process wall time", nb["wall"], ml["wall"], "s",
            speedup(nb["wall"], ml["wall"]), "< 150 ms", nb["wall"] < 0.150,
            f"median of 5 fresh processes, bytecode cached; bare interpreter {base['wall'] * 1e3:.0f} ms; "
            f"with PYTHONDONTWRITEBYTECODE as in this shell: {nb_src['wall'] * 1e3:.0f} ms"),
        Row("  the import statement alone", nb["import"], ml["import"], "s",
            speedup(nb["import"], ml["import"]), "", None, f"largest imports under nbtrack: {top}"),
        Row("  duckdb/pandas/plotly/IPython not loaded", None, None, "", None, "none loaded", not bad,
            f"heavy modules after import nbtrack: {probe['loaded'] or 'none'}"),
    ]


# -- 5. ten million points (worker) ---------------------------------------------------------
def worker_ten_million(store: str, points: int, chunk: int) -> None:
    import nbtrack
    from nbtrack.entities import Metric

    nbtrack.set_tracking_uri(store)
    client = nbtrack.MlflowClient()
    run_id = client.create_run("0").info.run_id
    rss_start = peak_rss_mb()
    rng = random.Random(0)
    t0 = time.perf_counter()
    build = 0.0
    for start in range(0, points, chunk):
        b0 = time.perf_counter()
        ts = _now_ms()
        metrics = [Metric("loss", math.exp(-i / 2e6) + rng.gauss(0, 0.01), ts, i)
                   for i in range(start, min(start + chunk, points))]
        build += time.perf_counter() - b0
        client.log_batch(run_id, metrics=metrics)
        del metrics
    client.set_terminated(run_id)
    nbtrack.flush()
    elapsed = time.perf_counter() - t0
    rss_logging = peak_rss_mb()
    t0 = time.perf_counter()
    fold(nbtrack)
    fold_seconds = time.perf_counter() - t0
    rss_peak = peak_rss_mb()
    disk, apparent = folder_size(store)
    count = nbtrack.sql("SELECT count(*) AS n FROM metrics WHERE run_id = ?", [run_id])["n"][0]
    emit({"points": points, "stored": int(count), "seconds": elapsed, "build_seconds": build,
          "fold_seconds": fold_seconds, "rss_start_mb": rss_start, "rss_logging_mb": rss_logging,
          "rss_peak_mb": rss_peak, "disk_bytes": disk, "apparent_bytes": apparent})


# -- main -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for checking the harness")
    parser.add_argument("--skip-10m", action="store_true", help="skip the 10-million-point run")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    clean_environment()
    if args.worker:
        name, *rest = args.worker
        if name == "ten-million":
            worker_ten_million(rest[0], int(rest[1]), int(rest[2]))
        return
    if not mlflow_available():
        sys.exit("MLflow is not installed: .venv/bin/pip install -e '.[bench]'")
    q = args.quick
    sizes = {
        "log_metric": 1_000 if q else 10_000, "log_metric_mlflow": 100 if q else 500,
        "log_batch": 10_000 if q else 100_000, "log_batch_mlflow": 2_000 if q else 10_000,
        "runs": 100 if q else 1_000, "runs_mlflow": 10 if q else 50,
        "ten_million": 1_000_000 if q else 10_000_000, "repeat": 3 if q else 5,
    }
    with workspace(args.keep) as tmp:
        rows, extra = run_all(tmp, sizes, skip_10m=args.skip_10m)
    print_table("nbtrack vs MLflow 3.x (sqlite): tracking", rows)
    write_results("bench_tracking-quick" if q else "bench_tracking", rows, {"sizes": sizes, **extra})


def run_all(tmp: str, sizes: dict[str, int], skip_10m: bool) -> tuple[list[Row], dict]:
    import statistics

    import nbtrack

    nbtrack.set_tracking_uri(os.path.join(tmp, "nbtrack"))
    nb_exp = nbtrack.set_experiment("bench-tracking").experiment_id
    mlflow, ml_exp = setup_mlflow(os.path.join(tmp, "mlflow.db"), os.path.join(tmp, "mlartifacts"),
                                  "bench-tracking")
    mlflow.set_experiment(experiment_id=ml_exp)
    # Warm up both (store open, lazy imports, sqlite engine, first run): not what is measured.
    nbtrack_log_metric(nbtrack, 100)
    mlflow_log_metric(mlflow, 5)
    rows: list[Row] = []
    extra: dict = {}
    repeat = sizes["repeat"]

    def median(results: list[dict[str, float]], clock: str) -> float:
        return statistics.median(r[clock] for r in results)

    n, n_ml = sizes["log_metric"], sizes["log_metric_mlflow"]
    log(f"log_metric: nbtrack {n} calls x {repeat}, MLflow {n_ml} calls")
    nb_runs = [nbtrack_log_metric(nbtrack, n) for _ in range(repeat)]
    ml = mlflow_log_metric(mlflow, n_ml)
    nb, nb_fold = median(nb_runs, "flush") / n, median(nb_runs, "fold") / n
    ratio = speedup(nb, ml)
    rows.append(Row(f"log_metric, per point ({n:,} calls, durable)", nb, ml, "s", ratio, ">= 100x faster",
                    ratio is not None and ratio >= 100,
                    f"nbtrack: median of {repeat} runs of {n:,} calls until flush() returns (fsynced "
                    f"segment); MLflow: {n_ml} synchronous calls"))
    rows.append(Row("  ... and folded into the DuckDB file", nb_fold, ml, "s", speedup(nb_fold, ml), "", None,
                    "the fold a reader would otherwise do first (store.sync())"))
    extra["log_metric_nbtrack"] = nb_runs

    n, n_ml = sizes["log_batch"], sizes["log_batch_mlflow"]
    log(f"log_batch: nbtrack {n} points x {repeat}, MLflow {n_ml} points")
    nb_rates = [nbtrack_log_batch(nbtrack, nb_exp, n) for _ in range(repeat)]
    ml = mlflow_log_batch(mlflow, ml_exp, n_ml)
    nb = n / median(nb_rates, "flush")
    rows.append(Row(f"log_batch, {n:,} points, durable", nb, ml, "points/s", nb / ml, ">= 1 M points/s",
                    nb >= 1e6, f"nbtrack: one call until flush() returns, median of {repeat}; MLflow: "
                    f"{n_ml:,} points in calls of 1,000, rate extrapolated to {n:,} (= {n / ml:.1f} s)"))
    for clock, label in (("calls", "  the log_batch call alone (buffered)"),
                         ("fold", "  ... and folded into the DuckDB file")):
        rate = n / median(nb_rates, clock)
        rows.append(Row(label, rate, ml, "points/s", rate / ml, "", None, ""))
    extra["log_batch_nbtrack"] = nb_rates

    n, n_ml = sizes["runs"], sizes["runs_mlflow"]
    log(f"runs: nbtrack {n} runs x {repeat}, MLflow {n_ml} runs")
    contents = run_contents(n)
    nb_times = [nbtrack_runs(nbtrack, contents) for _ in range(repeat)]
    ml = fluent_runs(mlflow, contents[:n_ml]) * n / n_ml
    nb, nb_fold = median(nb_times, "flush"), median(nb_times, "fold")
    rows.append(Row(f"{n:,} runs x (10 params, 10 metrics, 5 tags), fluent", nb, ml, "s",
                    speedup(nb, ml), "< 1 s", nb < 1.0,
                    f"nbtrack: until flush() returns, median of {repeat}; MLflow: {n_ml} runs "
                    f"timed, extrapolated x{n // n_ml}"))
    rows.append(Row("  ... and folded into the DuckDB file", nb_fold, ml, "s", speedup(nb_fold, ml), "", None, ""))
    extra["runs_nbtrack"] = nb_times

    log("import time: fresh processes x 5")
    rows.extend(import_rows(tmp, extra))

    if not skip_10m:
        points = sizes["ten_million"]
        log(f"{points:,} points in one run (fresh process)")
        result = run_worker(os.path.abspath(__file__), "ten-million", os.path.join(tmp, "ten-million"),
                            str(points), "100000")
        per_point = result["disk_bytes"] / result["points"]
        rows.append(Row(f"{points:,} points: peak RSS of the process", result["rss_peak_mb"], None, "MB",
                        None, "< 300 MB", result["rss_peak_mb"] < 300,
                        f"after import + create_run: {result['rss_start_mb']:.0f} MB; until flush() "
                        f"returned: {result['rss_logging_mb']:.0f} MB; final fold into DuckDB included. "
                        f"Logged in {result['seconds']:.1f} s incl. flush ({result['build_seconds']:.1f} s "
                        f"of it building Metric objects), final fold {result['fold_seconds']:.1f} s; "
                        f"{result['stored']:,} points stored"))
        rows.append(Row(f"{points:,} points: store on disk per point", per_point, None, "B/point", None,
                        "< 20 B/point", per_point < 20,
                        f"du {result['disk_bytes'] / 2**20:.0f} MiB, apparent "
                        f"{result['apparent_bytes'] / result['points']:.1f} B/point"))
        extra["ten_million"] = result
    return rows, extra


if __name__ == "__main__":
    main()
