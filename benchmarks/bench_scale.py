"""Scale: 100,000 runs and 10,100,000 points, nbtrack against MLflow 3.x (sqlite) in one run.

    .venv/bin/python benchmarks/bench_scale.py [--runs 100000] [--curves 100] [--curve-points 10000]
        [--history 100000] [--steps 80] [--keep DIR] [--reuse DIR] [--only NAME ...]

One MLflow sqlite store is made by MLflow (its schema, via SqlAlchemyStore) and filled with SQL in
MLflow's layout, so it takes minutes, not hours (about 4 for the MLflow store and 5 for the import at load 10-15; build
once with ``--keep`` and measure with ``--reuse``):

- experiment ``scale``: ``--runs`` runs, 10 params, 5 tags (+ ``mlflow.runName``), 10 metrics
  (one point each) and ``--steps`` (80) points of ``loss`` per run: the issue's 10,000,000 points;
- experiment ``curves``: ``--curves`` runs with a ``--curve-points``-point ``curve`` history each,
  and one run with a ``--history``-point ``loss`` history.

nbtrack's store is built from it with nbtrack's own bulk path (``nbtrack import mlflow``), so both
hold exactly the same data. Each figure is set against MLflow on that store and against DuckDB's
floor: a bare DuckDB connection with the archive attached, running the same query and returning
NumPy arrays (no nbtrack code, no locks, no fold check). Where MLflow would take minutes (every one
of 100,000 runs, 100 histories) it is timed on a sample and extrapolated linearly: the notes say so.
Peak memory is measured in fresh worker processes. Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import (
    Row,
    clean_environment,
    emit,
    log,
    median_time,
    peak_rss_mb,
    print_table,
    run_worker,
    speedup,
    write_results,
)

FILTER = "metrics.m0 > 0.9 and params.p1 = 'a'"
ORDER_BY = ["metrics.m1 DESC"]
T0 = 1_700_000_000_000


# -- the MLflow store, filled with SQL in MLflow's layout ------------------------------------------
def build_mlflow_store(path: str, runs: int, curves: int, curve_points: int, history: int,
                       steps: int) -> dict[str, Any]:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"sqlite:///{path}", os.path.join(os.path.dirname(path), "mlruns")).engine.dispose()
    con = sqlite3.connect(path)
    con.execute("PRAGMA journal_mode = OFF")
    con.execute("PRAGMA synchronous = OFF")
    for eid, name in ((1, "scale"), (2, "curves")):
        con.execute("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, "
                    "creation_time, last_update_time, workspace) VALUES (?, ?, ?, 'active', 0, 0, 'default')",
                    [eid, name, f"/tmp/none/{eid}"])
    rng = random.Random(0)
    ids = [uuid.uuid4().hex for _ in range(runs)]
    curve_ids = [uuid.uuid4().hex for _ in range(curves)]
    history_id = uuid.uuid4().hex

    def add_runs(run_ids: list[str], eid: int, prefix: str) -> None:
        con.executemany(
            "INSERT INTO runs VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', 'active', ?, ?, NULL)",
            [(r, f"{prefix}-{i:06d}", T0 + i, T0 + i + 1000, f"/tmp/none/{eid}/{r}/artifacts", eid)
             for i, r in enumerate(run_ids)])
        con.executemany("INSERT INTO tags VALUES ('mlflow.runName', ?, ?)",
                        [(f"{prefix}-{i:06d}", r) for i, r in enumerate(run_ids)])

    add_runs(ids, 1, "run")
    add_runs([*curve_ids, history_id], 2, "curve")
    choices = ["adam", "sgd", "0.1", "0.01", "32", "64", "relu"]
    labels = ["baseline", "sweep", "ablation", "final"]
    for start in range(0, runs, 10_000):  # in chunks: 100,000 runs' rows do not fit in a list comfortably
        chunk = list(enumerate(ids[start:start + 10_000], start))
        con.executemany("INSERT INTO params VALUES (?, ?, ?)",
                        [(f"p{k}", v, r) for i, r in chunk
                         for k, v in enumerate([str(i), "a" if i % 2 == 0 else "b",
                                                *(rng.choice(choices) for _ in range(8))])])
        con.executemany("INSERT INTO tags VALUES (?, ?, ?)",
                        [(f"t{k}", rng.choice(labels), r) for _, r in chunk for k in range(5)])
        points = [(f"m{k}", rng.uniform(0.5, 1.0) if k == 0 else rng.random(), T0 + i, r, 0, 0)
                  for i, r in chunk for k in range(10)]
        con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", points)
        latest = [(k, v, ts, 0, 0, r) for k, v, ts, r, _, _ in points]
        if steps:
            loss = [("loss", 1.0 / (s + 1) + (i % 97) * 1e-4, T0 + i + s, r, s, 0)
                    for i, r in chunk for s in range(steps)]
            con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", loss)
            latest += [("loss", 1.0 / steps + (i % 97) * 1e-4, T0 + i + steps - 1, steps - 1, 0, r) for i, r in chunk]
        con.executemany("INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?)", latest)
    for n, r in enumerate(curve_ids):
        con.executemany("INSERT INTO metrics VALUES ('curve', ?, ?, ?, ?, 0)",
                        [(1.0 / (s + 1) + n * 1e-6, T0 + s, r, s) for s in range(curve_points)])
        con.execute("INSERT INTO latest_metrics VALUES ('curve', ?, ?, ?, 0, ?)",
                    [1.0 / curve_points + n * 1e-6, T0 + curve_points - 1, curve_points - 1, r])
    con.executemany("INSERT INTO metrics VALUES ('loss', ?, ?, ?, ?, 0)",
                    [(s * 1e-5, T0 + s, history_id, s) for s in range(history)])
    con.execute("INSERT INTO latest_metrics VALUES ('loss', ?, ?, ?, 0, ?)",
                [(history - 1) * 1e-5, T0 + history - 1, history - 1, history_id])
    con.commit()
    con.close()
    total = runs * (10 + steps) + curves * curve_points + history
    return {"runs": runs, "curve_ids": curve_ids, "history_id": history_id, "history": history, "points": total}


# -- DuckDB's floor: the archive attached once on a bare connection ---------------------------------
class Floor:
    """A bare in-memory DuckDB with the nbtrack archive attached READ_ONLY (nothing of nbtrack's)."""

    def __init__(self, store: str) -> None:
        import duckdb

        self.con = duckdb.connect(":memory:")
        self.con.execute("ATTACH ? AS arc (READ_ONLY)", [os.path.join(store, "nbtrack.duckdb")])

    def close(self) -> None:
        self.con.execute("DETACH arc")
        self.con.close()

    def history(self, run_id: str, key: str) -> Any:
        return self.con.execute("SELECT key, value, timestamp, step FROM arc.metrics WHERE run_id = ? AND key = ? "
                                "ORDER BY step, timestamp", [run_id, key]).fetchnumpy()

    def histories(self, run_ids: list[str], key: str) -> Any:
        return self.con.sql(  # Arrow: NumPy would make a Python str per row for run_id and key
            "SELECT m.run_id, m.key, m.step, m.timestamp, m.value FROM arc.metrics m "
            "JOIN (SELECT unnest(?) AS run_id, generate_subscripts(?, 1) AS pos) s USING (run_id) "
            "WHERE m.key = ? ORDER BY s.pos, m.key, m.step, m.timestamp", params=[run_ids, run_ids, key]).to_arrow_table()

    def all_runs(self) -> Any:
        """The four long tables behind search_runs' frame, as Arrow (no pivot, no pandas)."""
        ids = "(SELECT run_id FROM arc.runs WHERE experiment_id = 1)"
        out = [self.con.sql("SELECT run_id, experiment_id, status, artifact_uri, start_time, end_time "
                            "FROM arc.runs WHERE experiment_id = 1 ORDER BY start_time DESC").to_arrow_table()]
        for table in ("latest_metrics", "params", "tags"):
            out.append(self.con.sql(f"SELECT run_id, key, value FROM arc.{table} WHERE run_id IN {ids}").to_arrow_table())
        return out

    def select_one(self) -> Any:
        return self.con.execute("SELECT 1 AS x").df()


# -- workers (fresh processes) ---------------------------------------------------------------------
def worker_search(store: str, repeat: str) -> None:
    import nbtrack

    nbtrack.set_tracking_uri(store)
    t0 = time.perf_counter()
    df = nbtrack.search_runs(experiment_ids=["1"])
    cold = time.perf_counter() - t0
    warm, _ = median_time(lambda: nbtrack.search_runs(experiment_ids=["1"]), int(repeat))
    emit({"rows": len(df), "columns": len(df.columns), "cold": cold, "warm": warm, "rss_peak_mb": peak_rss_mb()})


# -- the comparison --------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=100_000)
    parser.add_argument("--curves", type=int, default=100)
    parser.add_argument("--curve-points", type=int, default=10_000)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--steps", type=int, default=80, help="extra 'loss' points per run of experiment 'scale'")
    parser.add_argument("--mlflow-sample", type=int, default=10_000, help="runs MLflow searches (extrapolated)")
    parser.add_argument("--keep", help="build the stores in this folder and keep them")
    parser.add_argument("--reuse", help="use the stores a --keep run left in this folder")
    parser.add_argument("--only", nargs="*", default=[], help="history, histories, search, page, sql, memory")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    clean_environment()
    if args.worker:
        worker_search(*args.worker[1:])
        return
    work = args.reuse or args.keep or tempfile.mkdtemp(prefix="bench-scale-")
    os.makedirs(work, exist_ok=True)
    try:
        rows, meta = run(work, args)
    finally:
        if not (args.keep or args.reuse):
            shutil.rmtree(work, ignore_errors=True)
    print_table("nbtrack vs MLflow 3.x (sqlite) vs bare DuckDB: scale", rows)
    write_results("bench_scale", rows, meta)


def run(work: str, args: argparse.Namespace) -> tuple[list[Row], dict[str, Any]]:
    import json

    db, store = os.path.join(work, "mlflow.db"), os.path.join(work, "nbtrack")
    meta_path = os.path.join(work, "meta.json")
    rows: list[Row] = []
    if args.reuse:
        with open(meta_path) as f:
            meta = json.load(f)
        log(f"reusing the stores in {work} ({meta['runs']:,} runs, {meta['points']:,} points)")
    else:
        log(f"building the MLflow store: {args.runs:,} runs, {args.curves} x {args.curve_points:,} + "
            f"{args.history:,} points")
        t0 = time.perf_counter()
        meta = build_mlflow_store(db, args.runs, args.curves, args.curve_points, args.history, args.steps)
        log(f"  built in {time.perf_counter() - t0:.1f} s ({meta['points']:,} points)")
        from nbtrack.migrate import import_mlflow

        t0 = time.perf_counter()
        report = import_mlflow(f"sqlite:///{db}", store).to_dict()
        meta["import_seconds"] = seconds = time.perf_counter() - t0
        imported = report["imported"]["runs"]
        rows.append(Row(f"build: `nbtrack import mlflow` of {imported:,} runs, {meta['points']:,} points", seconds,
                        None, "s", None, "", None, f"{imported / seconds:,.0f} runs/s, "
                        f"{meta['points'] / seconds / 1e6:.2f} M points/s"))
        with open(meta_path, "w") as f:
            json.dump(meta, f)
    only = set(args.only)

    def wanted(name: str) -> bool:
        return not only or name in only

    import mlflow

    import nbtrack

    mlflow.set_tracking_uri(f"sqlite:///{db}")
    os.environ.pop("MLFLOW_TRACKING_URI", None)
    nbtrack.set_tracking_uri(store)
    ml, nb = mlflow.MlflowClient(), nbtrack.MlflowClient()
    floor = Floor(store)
    floor_times: dict[str, float] = {}
    try:  # the floor first, alone: its attached archive is released before nbtrack reads
        h, c = meta["history_id"], meta["curve_ids"]
        if wanted("history"):
            floor_times["history"], _ = median_time(lambda: floor.history(h, "loss"), 7, warmup=1)
        if wanted("histories"):
            floor_times["histories"], _ = median_time(lambda: floor.histories(c, "curve"), 7, warmup=1)
        if wanted("search"):
            floor_times["search"], _ = median_time(floor.all_runs, 3, warmup=1)
        if wanted("sql"):
            floor_times["sql"], _ = median_time(floor.select_one, 51, warmup=5)
    finally:
        floor.close()
    load = os.getloadavg()
    meta["load_before"] = load
    if wanted("history"):
        rows += bench_history(nb, ml, meta, floor_times["history"])
    if wanted("histories"):
        rows += bench_histories(nbtrack, ml, meta, floor_times["histories"])
    if wanted("search"):
        rows += bench_search(nbtrack, mlflow, meta, floor_times["search"], args.mlflow_sample)
    if wanted("page"):
        rows += bench_page(nb, ml, meta)
    if wanted("sql"):
        rows += bench_sql(nbtrack, floor_times["sql"])
    if wanted("memory"):
        found = run_worker(os.path.abspath(__file__), "search", store, "3")
        rows.append(Row(f"{found['rows']:,}-run search process: peak RSS (VmHWM)", found["rss_peak_mb"], None, "MB",
                        None, "< 600 MB", found["rss_peak_mb"] < 600,
                        f"fresh process: search_runs of every run, cold {found['cold']:.2f} s then 3 warm "
                        f"(median {found['warm']:.2f} s); shape ({found['rows']:,}, {found['columns']})"))
    meta["load_after"] = os.getloadavg()
    log(f"load average before {load[0]:.1f}, after {meta['load_after'][0]:.1f}")
    return rows, {k: v for k, v in meta.items() if k != "curve_ids"}


def bench_history(nb: Any, ml: Any, meta: dict[str, Any], floor: float) -> list[Row]:
    h, n = meta["history_id"], meta.get("history", 100_000)
    log("get_metric_history of the long history")
    got = nb.get_metric_history(h, "loss")
    want = ml.get_metric_history(h, "loss")
    same = [(m.key, m.value, m.timestamp, m.step) for m in got] == [(m.key, m.value, m.timestamp, m.step) for m in want]
    t_nb, _ = median_time(lambda: nb.get_metric_history(h, "loss"), 7, warmup=1)
    t_ml, _ = median_time(lambda: ml.get_metric_history(h, "loss"), 3)
    t_use, _ = median_time(lambda: sum(m.value for m in nb.get_metric_history(h, "loss")), 5)
    ratio = speedup(t_nb, t_ml)
    return [
        Row(f"get_metric_history, {len(got):,} points", t_nb, t_ml, "s", ratio, ">= 100x MLflow, <= 3x floor",
            bool(ratio and ratio >= 100 and t_nb <= 3 * floor),
            f"floor (bare DuckDB -> NumPy) {floor * 1000:.1f} ms, nbtrack / floor {t_nb / floor:.1f}x; "
            f"same points as MLflow: {'yes' if same else 'NO'}; median of 7 (MLflow 3); n={n:,}"),
        Row("... and reading every point's value (sum(m.value for m in history))", t_use, None, "s", None, "", None,
            f"nbtrack / floor {t_use / floor:.1f}x"),
    ]


def bench_histories(nbtrack: Any, ml: Any, meta: dict[str, Any], floor: float) -> list[Row]:
    ids = meta["curve_ids"]
    log(f"metric_history of {len(ids)} runs")
    df = nbtrack.metric_history(ids, "curve")
    t_nb, _ = median_time(lambda: nbtrack.metric_history(ids, "curve"), 7, warmup=1)
    sample = ids[:10]
    t_ml, _ = median_time(lambda: [ml.get_metric_history(r, "curve") for r in sample], 1)
    t_ml *= len(ids) / len(sample)
    return [Row(f"nbtrack.metric_history, {len(ids)} runs -> DataFrame ({len(df):,} rows)", t_nb, t_ml, "s",
                speedup(t_nb, t_ml), "< 100 ms", t_nb < 0.1,
                f"floor (same query -> Arrow) {floor * 1000:.1f} ms, nbtrack / floor {t_nb / floor:.1f}x; MLflow: "
                f"get_metric_history per run, timed on {len(sample)} runs and extrapolated")]


def bench_search(nbtrack: Any, mlflow: Any, meta: dict[str, Any], floor: float, sample: int) -> list[Row]:
    log("search_runs of every run")
    df = nbtrack.search_runs(experiment_ids=["1"])
    t_nb, _ = median_time(lambda: nbtrack.search_runs(experiment_ids=["1"]), 3)
    log(f"MLflow search_runs of {sample:,} runs (extrapolated)")
    t0 = time.perf_counter()
    ml_df = mlflow.search_runs(experiment_ids=["1"], max_results=sample)
    t_ml = (time.perf_counter() - t0) * meta["runs"] / max(len(ml_df), 1)
    same_cols = sorted(df.columns) == sorted(ml_df.columns)
    rows = [Row(f"all {len(df):,} runs -> DataFrame (search_runs), warm", t_nb, t_ml, "s", speedup(t_nb, t_ml),
                "< 1 s", t_nb < 1.0,
                f"shape {df.shape}; same columns as MLflow: {'yes' if same_cols else 'NO'}; floor (the four long "
                f"tables -> Arrow, no pivot) {floor * 1000:.0f} ms; median of 3; MLflow: {len(ml_df):,} runs "
                f"(max_results) timed once and extrapolated")]
    log("filtered search")
    kw = {"experiment_ids": ["1"], "filter_string": FILTER, "order_by": ORDER_BY}
    got = nbtrack.search_runs(**kw)
    t_nb, _ = median_time(lambda: nbtrack.search_runs(**kw), 7, warmup=1)
    t0 = time.perf_counter()
    ml_got = mlflow.search_runs(**kw, max_results=meta["runs"])
    t_ml = time.perf_counter() - t0
    same = list(got["run_id"]) == list(ml_got["run_id"])
    rows.append(Row(f"filtered search -> DataFrame, {len(got):,} rows, warm", t_nb, t_ml, "s", speedup(t_nb, t_ml),
                    "< 100 ms", t_nb < 0.1, f"`{FILTER}` order_by {ORDER_BY}; same runs in the same order as "
                    f"MLflow: {'yes' if same else 'NO'}; median of 7 (MLflow once)"))
    return rows


def bench_page(nb: Any, ml: Any, meta: dict[str, Any]) -> list[Row]:
    log("the run table's first page")
    store = nb.store
    page = store.runs_page(["1"], None, None, True, 0, 50)
    t_nb, _ = median_time(lambda: store.runs_page(["1"], None, None, True, 0, 50), 7, warmup=1)
    t_ml, _ = median_time(lambda: ml.search_runs(["1"], max_results=50), 3)
    return [Row(f"run table first page (Store.runs_page, 50 of {meta['runs']:,} runs)", t_nb, t_ml, "s",
                speedup(t_nb, t_ml), "< 200 ms", t_nb < 0.2,
                f"{len(page)} rows; MLflow: MlflowClient.search_runs(max_results=50), what its UI's first page asks; "
                "median of 7 (MLflow 3)")]


def bench_sql(nbtrack: Any, floor: float) -> list[Row]:
    log("nbtrack.sql per call")
    nbtrack.sql("SELECT 1 AS x")
    times = [median_time(lambda: nbtrack.sql("SELECT 1 AS x"), 1)[0] for _ in range(101)]
    t_nb = statistics.median(times)
    return [Row("nbtrack.sql('SELECT 1 AS x') per call", t_nb, None, "s", None, "< 2 ms", t_nb < 0.002,
                f"bare DuckDB .df() of the same {floor * 1000:.2f} ms; overhead {(t_nb - floor) * 1000:.2f} ms; "
                "median of 101 (includes the read's fold check, the lock and the check that the kept attachment's "
                "file is unchanged)")]


if __name__ == "__main__":
    main()
