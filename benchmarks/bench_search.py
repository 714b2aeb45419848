"""Search speed: nbtrack against MLflow 3.x on sqlite, same process, same runs.

    .venv/bin/python benchmarks/bench_search.py [--quick] [--rebuild-mlflow] [--skip-100k]

Both stores get the same 10,000 runs (10 params, 10 metrics, 5 tags each, built through
``MlflowClient``: create_run, log_batch, set_terminated) and one run with a 100,000-point
metric history. Building the MLflow side takes minutes, so its sqlite file is kept in
``benchmarks/results/cache/`` and reused (the table says so); ``--rebuild-mlflow`` rebuilds it.

Timed: a filtered, ordered search returning about 1,000 rows, warm (median) and cold (the
first call in a fresh process); every run as a DataFrame; ``get_metric_history`` and
``nbtrack.metric_history`` on the 100,000-point run. Then 100,000 runs in nbtrack alone,
each phase in a fresh process so its peak memory is its own.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import sys
import time
from collections.abc import Iterator
from typing import Any

from _common import (
    CACHE,
    Row,
    clean_environment,
    emit,
    log,
    median_time,
    mlflow_available,
    peak_rss_mb,
    print_table,
    run_worker,
    setup_mlflow,
    speedup,
    workspace,
    write_results,
)

DATA_VERSION = 1  # bump when the generated runs change: the cached MLflow store is keyed on it
# p1 = 'a' for half the runs and m0 > 0.9 for a fifth of them: about 10% of the runs match.
FILTER = "metrics.m0 > 0.9 and params.p1 = 'a'"
ORDER_BY = ["metrics.m1 DESC"]
HISTORY_POINTS = 100_000


def generate_runs(n: int, seed: int = 0) -> Iterator[tuple[str, dict[str, str], dict[str, float], dict[str, str]]]:
    """The runs both stores get: (name, params, metrics, tags), generated lazily (100k runs fit in RAM
    only as a stream)."""
    rng = random.Random(seed)
    for i in range(n):
        params = {"p0": str(i), "p1": "a" if i % 2 == 0 else "b"}
        params.update({f"p{j}": rng.choice(["adam", "sgd", "0.1", "0.01", "32", "64", "relu"]) for j in range(2, 10)})
        metrics = {"m0": rng.uniform(0.5, 1.0)}
        metrics.update({f"m{j}": rng.random() for j in range(1, 10)})
        tags = {f"t{j}": rng.choice(["baseline", "sweep", "ablation", "final"]) for j in range(5)}
        yield f"run-{i:06d}", params, metrics, tags


def build_runs(client: Any, entities: Any, experiment_id: str, n: int) -> float:
    """Create ``n`` runs through the MlflowClient API; return the seconds it took."""
    metric_cls, param_cls, tag_cls = entities
    t0 = time.perf_counter()
    for name, params, metrics, tags in generate_runs(n):
        run_id = client.create_run(experiment_id, run_name=name).info.run_id
        ts = time.time_ns() // 1_000_000
        client.log_batch(run_id, metrics=[metric_cls(k, v, ts, 0) for k, v in metrics.items()],
                         params=[param_cls(k, v) for k, v in params.items()],
                         tags=[tag_cls(k, v) for k, v in tags.items()])
        client.set_terminated(run_id)
    return time.perf_counter() - t0


def build_history(client: Any, metric_cls: type, experiment_id: str, points: int, chunk: int) -> str:
    run_id = client.create_run(experiment_id, run_name="history").info.run_id
    ts = time.time_ns() // 1_000_000
    metrics = [metric_cls("loss", 1.0 / (1 + i), ts + i, i) for i in range(points)]
    for i in range(0, points, chunk):
        client.log_batch(run_id, metrics=metrics[i:i + chunk])
    client.set_terminated(run_id)
    return run_id


# -- the two stores ---------------------------------------------------------------------------
def nbtrack_store(tmp: str, n: int) -> tuple[Any, dict[str, Any]]:
    import nbtrack
    from nbtrack.entities import Metric, Param, RunTag

    nbtrack.set_tracking_uri(os.path.join(tmp, "nbtrack"))
    client = nbtrack.MlflowClient()
    eid = client.create_experiment("bench-search")
    seconds = build_runs(client, (Metric, Param, RunTag), eid, n)
    history = build_history(client, Metric, client.create_experiment("bench-history"), HISTORY_POINTS,
                            HISTORY_POINTS)
    t0 = time.perf_counter()
    client.store.sync()  # flush() and the fold into DuckDB that the first search would otherwise do
    seconds += time.perf_counter() - t0
    return nbtrack, {"experiment_id": eid, "history_run_id": history, "build_seconds": seconds,
                     "uri": os.path.join(tmp, "nbtrack")}


def mlflow_store(tmp: str, n: int, rebuild: bool) -> tuple[Any, dict[str, Any]]:
    """MLflow on sqlite with the same runs; built once and cached (it takes minutes)."""
    from importlib.metadata import version

    name = f"mlflow-search-v{DATA_VERSION}-mlflow{version('mlflow')}-{n}runs"
    cached_db, cached_meta = os.path.join(CACHE, name + ".db"), os.path.join(CACHE, name + ".json")
    db = os.path.join(tmp, "mlflow.db")
    artifacts = os.path.join(tmp, "mlartifacts")
    if not rebuild and os.path.exists(cached_db) and os.path.exists(cached_meta):
        shutil.copyfile(cached_db, db)  # a private copy: the cache file is never written to
        with open(cached_meta) as f:
            meta = json.load(f)
        mlflow, _ = setup_mlflow(db, artifacts, "bench-search")
        log(f"MLflow store: reusing {cached_db} (built {meta['built_at']})")
        return mlflow, {**meta, "cached": True, "uri": f"sqlite:///{db}"}
    log(f"MLflow store: building {n:,} runs + a {HISTORY_POINTS:,}-point history (slow; cached afterwards)")
    mlflow, eid = setup_mlflow(db, artifacts, "bench-search")
    from mlflow.entities import Metric, Param, RunTag

    client = mlflow.MlflowClient()
    seconds = build_runs(client, (Metric, Param, RunTag), eid, n)
    t0 = time.perf_counter()
    history_eid = client.create_experiment("bench-history", artifact_location=artifacts)
    history = build_history(client, Metric, history_eid, HISTORY_POINTS, 1000)  # 1,000 per call: its limit
    meta = {"experiment_id": eid, "history_run_id": history, "build_seconds": seconds,
            "history_build_seconds": time.perf_counter() - t0, "built_at": time.strftime("%Y-%m-%d %H:%M"),
            "runs": n}
    os.makedirs(CACHE, exist_ok=True)
    shutil.copyfile(db, cached_db)
    with open(cached_meta, "w") as f:
        json.dump(meta, f, indent=2)
    return mlflow, {**meta, "cached": False, "uri": f"sqlite:///{db}"}


# -- workers (fresh processes) ------------------------------------------------------------------
def worker_cold_search(lib: str, uri: str, experiment_id: str, pandas_first: str = "no") -> None:
    """The first filtered search in a fresh process (store open and engine creation included).

    With ``pandas_first`` = "yes", pandas is imported before the clock starts, as in a notebook.
    """
    if pandas_first == "yes":
        import pandas  # noqa: F401
    t0 = time.perf_counter()
    if lib == "nbtrack":
        import nbtrack as module
    else:
        import mlflow as module
    imported = time.perf_counter() - t0
    module.set_tracking_uri(uri)
    t0 = time.perf_counter()
    df = module.search_runs(experiment_ids=[experiment_id], filter_string=FILTER, order_by=ORDER_BY)
    emit({"seconds": time.perf_counter() - t0, "import_seconds": imported, "rows": len(df)})


def worker_build(uri: str, n: int) -> None:
    import nbtrack
    from nbtrack.entities import Metric, Param, RunTag

    nbtrack.set_tracking_uri(uri)
    client = nbtrack.MlflowClient()
    eid = client.create_experiment("bench-search-100k")
    seconds = build_runs(client, (Metric, Param, RunTag), eid, n)
    t0 = time.perf_counter()
    client.store.sync()  # flush() and the fold into DuckDB
    flush = time.perf_counter() - t0
    stored = nbtrack.sql("SELECT count(*) AS n FROM runs WHERE experiment_id = ?", [eid])["n"][0]
    emit({"experiment_id": eid, "seconds": seconds + flush, "flush_seconds": flush, "runs_stored": int(stored),
          "rss_peak_mb": peak_rss_mb()})


def worker_search(uri: str, experiment_id: str, repeat: int) -> None:
    import nbtrack

    nbtrack.set_tracking_uri(uri)
    t0 = time.perf_counter()
    df = nbtrack.search_runs(experiment_ids=[experiment_id])
    cold = time.perf_counter() - t0
    warm, warm_all = median_time(lambda: nbtrack.search_runs(experiment_ids=[experiment_id]), repeat)
    filtered, _ = median_time(lambda: nbtrack.search_runs(experiment_ids=[experiment_id], filter_string=FILTER,
                                                          order_by=ORDER_BY), repeat, warmup=1)
    rows = len(nbtrack.search_runs(experiment_ids=[experiment_id], filter_string=FILTER, order_by=ORDER_BY))
    emit({"full_rows": len(df), "full_columns": len(df.columns), "full_cold": cold, "full_warm": warm,
          "full_warm_all": warm_all, "filtered_warm": filtered, "filtered_rows": rows,
          "rss_peak_mb": peak_rss_mb()})


# -- main ---------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="small sizes, for checking the harness")
    parser.add_argument("--rebuild-mlflow", action="store_true", help="rebuild the cached MLflow store")
    parser.add_argument("--skip-100k", action="store_true", help="skip the 100,000-run part")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    clean_environment()
    if args.worker:
        name, *rest = args.worker
        if name == "cold-search":
            worker_cold_search(*rest)
        elif name == "build":
            worker_build(rest[0], int(rest[1]))
        elif name == "search":
            worker_search(rest[0], rest[1], int(rest[2]))
        return
    if not mlflow_available():
        sys.exit("MLflow is not installed: .venv/bin/pip install -e '.[bench]'")
    sizes = {"runs": 1_000 if args.quick else 10_000, "big": 10_000 if args.quick else 100_000}
    with workspace(args.keep) as tmp:
        rows, extra = compare(tmp, sizes["runs"], args.rebuild_mlflow)
        if not args.skip_100k:
            rows += nbtrack_alone(tmp, sizes["big"], extra)
    print_table("nbtrack vs MLflow 3.x (sqlite): search", rows)
    write_results("bench_search-quick" if args.quick else "bench_search", rows, {"sizes": sizes, "filter": FILTER, "order_by": ORDER_BY, **extra})


def compare(tmp: str, n: int, rebuild: bool) -> tuple[list[Row], dict[str, Any]]:
    log(f"nbtrack store: building {n:,} runs + a {HISTORY_POINTS:,}-point history")
    nbtrack, nb = nbtrack_store(tmp, n)
    mlflow, ml = mlflow_store(tmp, n, rebuild)
    ml_client, nb_client = mlflow.MlflowClient(), nbtrack.MlflowClient()
    rows = [Row(f"build {n:,} runs (create_run + log_batch + set_terminated)", nb["build_seconds"],
                ml["build_seconds"], "s", speedup(nb["build_seconds"], ml["build_seconds"]), "", None,
                "nbtrack includes flush() and the fold into DuckDB; MLflow " + (f"built {ml['built_at']}, cached" if ml["cached"]
                                                      else "built in this run"))]

    def searcher(lib: Any, eid: str, **kw: Any) -> Any:
        return lambda: lib.search_runs(experiment_ids=[eid], **kw)

    filtered = {"filter_string": FILTER, "order_by": ORDER_BY}
    log("filtered search, warm")
    nb_df = searcher(nbtrack, nb["experiment_id"], **filtered)()
    ml_df = searcher(mlflow, ml["experiment_id"], **filtered)()
    same = list(nb_df["tags.mlflow.runName"]) == list(ml_df["tags.mlflow.runName"])
    t_nb, nb_all = median_time(searcher(nbtrack, nb["experiment_id"], **filtered), 9, warmup=1)
    t_ml, ml_all = median_time(searcher(mlflow, ml["experiment_id"], **filtered), 3)
    ratio = speedup(t_nb, t_ml)
    rows.append(Row(f"filtered search -> DataFrame, {len(nb_df):,} rows, warm", t_nb, t_ml, "s", ratio,
                    ">= 20x, < 35 ms", bool(ratio and ratio >= 20 and t_nb < 0.035),
                    f"`{FILTER}` order_by {ORDER_BY}; median of 9 (MLflow 3); MLflow returned "
                    f"{len(ml_df):,} rows; same runs in the same order: {'yes' if same else 'NO'}"))

    def client_search(client: Any, eid: str) -> Any:
        return lambda: client.search_runs([eid], FILTER, order_by=ORDER_BY, max_results=5000)

    t_nbc, _ = median_time(client_search(nb_client, nb["experiment_id"]), 9, warmup=1)
    t_mlc, _ = median_time(client_search(ml_client, ml["experiment_id"]), 3)
    ratio = speedup(t_nbc, t_mlc)
    rows.append(Row("filtered search -> list[Run] (Client), warm", t_nbc, t_mlc, "s", ratio, ">= 20x, < 35 ms",
                    bool(ratio and ratio >= 20 and t_nbc < 0.035), "MlflowClient.search_runs, max_results=5000"))

    log("filtered search, cold (fresh processes)")
    script = os.path.abspath(__file__)
    cold: dict[str, list[dict[str, Any]]] = {}
    for pandas_first in ("no", "yes"):
        for lib, store in (("nbtrack", nb), ("mlflow", ml)):
            cold[f"{lib}-pandas-{pandas_first}"] = [
                run_worker(script, "cold-search", lib, store["uri"], store["experiment_id"], pandas_first)
                for _ in range(3)]
        c_nb = sorted(r["seconds"] for r in cold[f"nbtrack-pandas-{pandas_first}"])[1]
        c_ml = sorted(r["seconds"] for r in cold[f"mlflow-pandas-{pandas_first}"])[1]
        ratio = speedup(c_nb, c_ml)
        label = "pandas imported first, as in a notebook" if pandas_first == "yes" else "pandas not yet imported"
        rows.append(Row(f"filtered search -> DataFrame, cold ({label})", c_nb, c_ml, "s", ratio, ">= 20x",
                        bool(ratio and ratio >= 20),
                        "" if pandas_first == "yes" else
                        "first call in a fresh process, median of 3; `import <lib>` not counted, store "
                        "open and lazy imports counted; OS file cache warm"))

    log("all runs as a DataFrame")
    nb_full = searcher(nbtrack, nb["experiment_id"])()
    t_nb, _ = median_time(searcher(nbtrack, nb["experiment_id"]), 5)
    t_ml, _ = median_time(searcher(mlflow, ml["experiment_id"]), 2)
    ml_full = searcher(mlflow, ml["experiment_id"])()
    same_cols = sorted(nb_full.columns) == sorted(ml_full.columns)
    ratio = speedup(t_nb, t_ml)
    rows.append(Row(f"all {n:,} runs -> DataFrame, warm", t_nb, t_ml, "s", ratio, ">= 50x",
                    bool(ratio and ratio >= 50),
                    f"{nb_full.shape} vs MLflow {ml_full.shape}; same columns: {'yes' if same_cols else 'NO'}; "
                    "median of 5 (MLflow 2)"))

    log(f"metric history of {HISTORY_POINTS:,} points")
    nb_hist = nb_client.get_metric_history(nb["history_run_id"], "loss")
    t_nb, _ = median_time(lambda: nb_client.get_metric_history(nb["history_run_id"], "loss"), 5)
    t_ml, _ = median_time(lambda: ml_client.get_metric_history(ml["history_run_id"], "loss"), 3)
    ratio = speedup(t_nb, t_ml)
    rows.append(Row(f"get_metric_history, {HISTORY_POINTS:,} points", t_nb, t_ml, "s", ratio, ">= 100x",
                    bool(ratio and ratio >= 100), f"nbtrack returned {len(nb_hist):,} Metric objects"))
    t_nbh, _ = median_time(lambda: nbtrack.metric_history(nb["history_run_id"], "loss"), 5, warmup=1)
    ratio = speedup(t_nbh, t_ml)
    rows.append(Row("nbtrack.metric_history -> DataFrame (vs MLflow get_metric_history)", t_nbh, t_ml, "s",
                    ratio, ">= 100x", bool(ratio and ratio >= 100), "MLflow has no DataFrame form of it"))
    extra = {"nbtrack_store": nb, "mlflow_store": ml, "filtered_nbtrack_times": nb_all,
             "filtered_mlflow_times": ml_all, "cold": cold}
    return rows, extra


def nbtrack_alone(tmp: str, n: int, extra: dict[str, Any]) -> list[Row]:
    script = os.path.abspath(__file__)
    uri = os.path.join(tmp, "nbtrack-100k")
    log(f"nbtrack alone: building {n:,} runs (fresh process)")
    built = run_worker(script, "build", uri, str(n))
    log(f"nbtrack alone: searching {n:,} runs (fresh process)")
    found = run_worker(script, "search", uri, built["experiment_id"], "3")
    extra["nbtrack_100k"] = {"build": built, "search": found}
    peak = max(built["rss_peak_mb"], found["rss_peak_mb"])
    complete = built["runs_stored"] == n and found["full_rows"] == n
    if not complete:
        log(f"WARNING: {n:,} runs built, {built['runs_stored']:,} in the store after the build, "
            f"{found['full_rows']:,} returned by search_runs in a fresh process")
    return [
        Row(f"{n:,} runs: build via MlflowClient (nbtrack alone)", built["seconds"], None, "s", None,
            "every run stored", complete,
            f"flush() and fold at the end took {built['flush_seconds']:.1f} s; {built['runs_stored']:,} runs "
            f"stored, {found['full_rows']:,} returned by the search"),
        Row(f"{n:,} runs -> DataFrame, warm", found["full_warm"], None, "s", None, "< 1 s",
            found["full_warm"] < 1.0, f"cold (1st call, fresh process): {found['full_cold']:.2f} s; "
            f"shape ({found['full_rows']:,}, {found['full_columns']})"),
        Row(f"{n:,} runs: filtered search -> DataFrame, warm", found["filtered_warm"], None, "s", None, "", None,
            f"{found['filtered_rows']:,} rows"),
        Row(f"{n:,} runs: peak RSS (build / search process)", peak, None, "MB", None, "< 1 GB", peak < 1024,
            f"build {built['rss_peak_mb']:.0f} MB, search {found['rss_peak_mb']:.0f} MB"),
    ]


if __name__ == "__main__":
    main()
