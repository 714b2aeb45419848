"""`nbtrack import mlflow` on a 10,000-run MLflow sqlite store with a 100,000-point history,
against what MLflow's own API would take to copy it (search_runs + get_metric_history + re-logging
into another MLflow store), runs/s.

    .venv/bin/python benchmarks/bench_import.py [--runs 10000] [--sample 500]

The MLflow store is made by MLflow (its schema, via SqlAlchemyStore) and filled with SQL in
MLflow's layout (10 params, 5 tags and 2 metrics per run; one run with a 100,000-point history), so
building it takes seconds. MLflow's copy is timed on ``--sample`` runs and extrapolated linearly
(search_runs is timed on the whole store). Not part of CI.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sqlite3
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _common import clean_environment


def build_mlflow_store(path: str, runs: int, long_history: int) -> list[str]:
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    SqlAlchemyStore(f"sqlite:///{path}", os.path.join(os.path.dirname(path), "mlruns")).engine.dispose()
    con = sqlite3.connect(path)
    con.execute("INSERT INTO experiments (experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
                "last_update_time, workspace) VALUES (1, 'bench', '/tmp/none', 'active', 0, 0, 'default')")
    ids = [uuid.uuid4().hex for _ in range(runs)]
    t0 = 1_700_000_000_000
    con.executemany("INSERT INTO runs VALUES (?, ?, 'LOCAL', '', '', 'bench', 'FINISHED', ?, ?, '', 'active', ?, 1, NULL)",
                    [(r, f"run-{i}", t0 + i, t0 + i + 1000, f"/tmp/none/{r}/artifacts") for i, r in enumerate(ids)])
    con.executemany("INSERT INTO params VALUES (?, ?, ?)",
                    [(f"p{k}", str(i * k), r) for i, r in enumerate(ids) for k in range(10)])
    con.executemany("INSERT INTO tags VALUES (?, ?, ?)",
                    [(f"t{k}", f"v{i % 7}", r) for i, r in enumerate(ids) for k in range(5)])
    points = [("loss", 1.0 / (i + 1), t0 + i, r, 0, 0) for i, r in enumerate(ids)]
    points += [("acc", (i % 100) / 100, t0 + i, r, 0, 0) for i, r in enumerate(ids)]
    points += [("curve", s * 1e-5, t0 + s, ids[0], s, 0) for s in range(long_history)]
    con.executemany("INSERT INTO metrics VALUES (?, ?, ?, ?, ?, ?)", points)
    con.executemany("INSERT INTO latest_metrics VALUES (?, ?, ?, ?, ?, ?)",
                    [(k, v, ts, st, nan, r) for k, v, ts, r, st, nan in points if k != "curve"]
                    + [("curve", (long_history - 1) * 1e-5, t0 + long_history - 1, long_history - 1, 0, ids[0])])
    con.commit()
    con.close()
    return ids


def time_nbtrack(db: str, dest: str) -> tuple[float, dict]:
    from nbtrack.migrate import import_mlflow

    start = time.perf_counter()
    report = import_mlflow(f"sqlite:///{db}", dest)
    return time.perf_counter() - start, report.to_dict()


def time_mlflow_copy(db: str, ids: list[str], sample: int, workdir: str) -> tuple[float, float, float]:
    """(search_runs of every run, per-run copy of ``sample`` runs, the sample's size)."""
    import mlflow
    from mlflow.entities import Metric, Param, RunTag

    src = mlflow.MlflowClient(f"sqlite:///{db}")
    mlflow.set_tracking_uri(f"sqlite:///{db}")
    start = time.perf_counter()
    frame = mlflow.search_runs(["1"], max_results=100000)
    search_s = time.perf_counter() - start
    assert len(frame) == len(ids)
    dst = mlflow.MlflowClient(f"sqlite:///{os.path.join(workdir, 'copy.db')}")
    exp = dst.create_experiment("bench")
    chosen = [ids[0], *ids[1:sample]]  # the long history is in the sample, as it is in the store
    start = time.perf_counter()
    for run_id in chosen:
        run = src.get_run(run_id)
        new = dst.create_run(exp, start_time=run.info.start_time, tags=run.data.tags, run_name=run.info.run_name)
        metrics = [Metric(m.key, m.value, m.timestamp, m.step) for key in run.data.metrics
                   for m in src.get_metric_history(run_id, key)]
        for i in range(0, max(len(metrics), 1), 1000):
            dst.log_batch(new.info.run_id, metrics=metrics[i:i + 1000],
                          params=[Param(k, v) for k, v in run.data.params.items()] if i == 0 else [],
                          tags=[RunTag(k, v) for k, v in run.data.tags.items()] if i == 0 else [])
        dst.set_terminated(new.info.run_id, run.info.status, run.info.end_time)
    return search_s, time.perf_counter() - start, len(chosen)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10000)
    parser.add_argument("--history", type=int, default=100000)
    parser.add_argument("--sample", type=int, default=500)
    args = parser.parse_args()
    clean_environment()
    work = tempfile.mkdtemp(prefix="bench-import-")
    try:
        db = os.path.join(work, "mlflow.db")
        start = time.perf_counter()
        ids = build_mlflow_store(db, args.runs, args.history)
        print(f"built the MLflow store ({args.runs:,} runs, {2 * args.runs + args.history:,} points) "
              f"in {time.perf_counter() - start:.1f} s")
        seconds, report = time_nbtrack(db, os.path.join(work, "nbtrack"))
        again, report2 = time_nbtrack(db, os.path.join(work, "nbtrack"))
        search_s, copy_s, n = time_mlflow_copy(db, ids, args.sample, work)
        # the sample holds the 100,000-point run; the other runs cost what the sample's others did
        mlflow_total = search_s + copy_s * (len(ids) / n)
        rows = [
            ("nbtrack import mlflow", f"{seconds:.2f} s", f"{report['imported']['runs'] / seconds:,.0f} runs/s"),
            ("  run again (nothing new)", f"{again:.2f} s", f"{report2['skipped']['runs']:,} skipped"),
            ("MLflow search_runs (all)", f"{search_s:.2f} s", ""),
            (f"MLflow copy, {n} runs", f"{copy_s:.2f} s", f"{n / copy_s:,.0f} runs/s"),
            (f"MLflow copy, {len(ids):,} runs (extrapolated)", f"{mlflow_total:.0f} s",
             f"{len(ids) / mlflow_total:,.1f} runs/s"),
            ("ratio", f"{mlflow_total / seconds:,.0f}x", "target >= 10x and >= 5,000 runs/s"),
        ]
        for row in rows:
            print(f"{row[0]:<42} {row[1]:>12}  {row[2]}")
        print("imported:", report["imported"])
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
