"""Team-scale benchmark: ``nbtrack server`` vs ``mlflow server``, both on one PostgreSQL cluster.

One throwaway cluster from the Debian ``postgresql`` package (durable settings: fsync and
synchronous commit on, as a team's server runs), two databases on it: ``nbtrack`` for
``nbtrack server --backend-store-uri postgresql://...`` and ``mlflow`` for
``mlflow server --backend-store-uri postgresql+psycopg://...`` (SQLAlchemy over the same psycopg 3).
The same REST requests as ``bench_server.py`` go to each, one worker each, each measure on both
servers back to back (``--sequential``: all of one, then all of the other):

- log-batch: 4 concurrent clients x 25,000 points (1,000 a request), every point counted back;
- 1,000 runs created over REST;
- search of 10,000 runs (filter + order_by, all pages of 1,000), both databases ANALYZEd after the
  fill (as autovacuum does on a live server);
- metric history of 100,000 points.

    .venv/bin/python benchmarks/bench_postgres.py [--quick]

Not in CI. Only 127.0.0.1 is contacted; the cluster and both servers are stopped by their PIDs.
"""

from __future__ import annotations

import argparse
import json
import os
import pwd
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_server import (  # noqa: E402
    Conn,
    bench_create_runs,
    bench_history,
    bench_log_batch,
    bench_search,
    fill_runs,
    free_port,
    run_all,
    start,
    stop,
)

from tests.pg_fixtures import PgCluster, pg_bindir  # noqa: E402


def cluster(work: Path) -> PgCluster:
    bindir = pg_bindir()
    if bindir is None:
        raise SystemExit("PostgreSQL is not installed; run scripts/setup-services.sh as root")
    run_as = None
    if os.geteuid() == 0:
        pwd.getpwnam("postgres")
        run_as = "postgres"
    c = PgCluster(work / "pg", free_port(), bindir, run_as, durable=True)
    c.start()
    for name in ("nbtrack", "mlflow"):
        c.execute(f"CREATE DATABASE {name}")
    return c


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    parser.add_argument("--only", choices=["search"], help="run one part (its figures alone, as JSON)")
    parser.add_argument("--sequential", action="store_true",
                        help="all of nbtrack's measures, then all of MLflow's (default: each measure on both "
                             "servers back to back, so that both see the same machine load)")
    args = parser.parse_args()
    sizes = ({"points": 5000, "create": 200, "search": 1000, "history": 10000} if args.quick else
             {"points": 25000, "create": 1000, "search": 10000, "history": 100000})
    py = Path(sys.executable)
    work = Path(tempfile.mkdtemp(prefix="bench-postgres-"))
    os.chmod(work, 0o755)  # the cluster's user must reach its folder
    results: dict[str, Any] = {}
    pg = cluster(work)
    try:
        from nbtrack.store.postgres.schema import set_files_root, upgrade

        nb_uri = pg.uri("nbtrack")
        upgrade(nb_uri)
        set_files_root(nb_uri, str(work / "nbfiles"))
        servers = {
            "nbtrack": lambda port: [str(py), "-m", "nbtrack", "server", "--backend-store-uri", nb_uri,
                                     "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
            "mlflow": lambda port: [str(py.with_name("mlflow")), "server", "--backend-store-uri",
                                    pg.uri("mlflow").replace("postgresql://", "postgresql+psycopg://"),
                                    "--artifacts-destination", str(work / "mlart"),
                                    "--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        }
        if args.sequential:
            for name, cmd in servers.items():
                port = free_port()
                proc = start(cmd(port), port, work / f"{name}.log")
                try:
                    # ANALYZE once the runs are in, for both: a live server's autovacuum does it within
                    # a minute, and the planner needs row estimates of a just-filled table
                    results[name] = run_all(port, sizes, name, args.only,
                                            after_fill=lambda db=name: pg.execute("ANALYZE", db))
                finally:
                    stop(proc)
        else:
            results = interleaved(servers, sizes, work, pg)
    finally:
        pg.stop()
        shutil.rmtree(work, ignore_errors=True)
    if args.only:
        print(json.dumps(results, indent=2))
        return
    report(results, sizes)


def interleaved(servers: dict[str, Any], sizes: dict[str, int], work: Path, pg: PgCluster) -> dict[str, Any]:
    """Both servers up; each measure runs on nbtrack then at once on MLflow. On a shared machine the
    load moves by 2-3x within minutes, and measuring one server for 5 minutes, then the other, made
    a ratio swing from 1.5x to 13.7x between two runs of the same code."""
    procs, ports = [], {}
    try:
        for name, cmd in servers.items():
            ports[name] = free_port()
            procs.append(start(cmd(ports[name]), ports[name], work / f"{name}.log"))
        exps = {name: {e: Conn(port).call("POST", "experiments/create", {"name": f"bench-{e}"})[1]["experiment_id"]
                       for e in ("batch", "create", "search", "history")} for name, port in ports.items()}
        out: dict[str, dict[str, Any]] = {name: {} for name in ports}
        steps = [
            ("log_batch", lambda n: bench_log_batch(ports[n], exps[n]["batch"], 4, sizes["points"], 1000)),
            ("create_runs", lambda n: bench_create_runs(ports[n], exps[n]["create"], sizes["create"])),
            ("fill", lambda n: (fill_runs(ports[n], exps[n]["search"], sizes["search"]), pg.execute("ANALYZE", n))),
            ("search", lambda n: bench_search(ports[n], exps[n]["search"], 3)),
            ("history", lambda n: bench_history(ports[n], exps[n]["history"], sizes["history"], 3)),
        ]
        for step, fn in steps:
            for name in ports:
                print(f"[{name}] {step} ...", flush=True)
                result = fn(name)
                if step != "fill":
                    out[name][step] = result
        return out
    finally:
        for proc in procs:
            stop(proc)


def report(results: dict[str, Any], sizes: dict[str, int]) -> None:
    nb, ml = results["nbtrack"], results["mlflow"]
    rows = [
        ("log-batch points/s (4 clients)", nb["log_batch"]["points_per_s"], ml["log_batch"]["points_per_s"], True),
        ("log-batch p50 ms", nb["log_batch"]["p50_ms"], ml["log_batch"]["p50_ms"], False),
        ("log-batch p99 ms", nb["log_batch"]["p99_ms"], ml["log_batch"]["p99_ms"], False),
        ("log-batch errors / lost points", f"{nb['log_batch']['errors']} / {nb['log_batch']['lost']}",
         f"{ml['log_batch']['errors']} / {ml['log_batch']['lost']}", None),
        (f"create {sizes['create']} runs: runs/s", nb["create_runs"]["runs_per_s"], ml["create_runs"]["runs_per_s"],
         True),
        ("create run p50 ms", nb["create_runs"]["p50_ms"], ml["create_runs"]["p50_ms"], False),
        (f"search {sizes['search']} runs, all pages s", nb["search"]["all_pages_s"], ml["search"]["all_pages_s"],
         False),
        ("search first 100 ms", nb["search"]["first_100_ms"], ml["search"]["first_100_ms"], False),
        (f"get-history {sizes['history']} points s", nb["history"]["seconds"], ml["history"]["seconds"], False),
    ]
    print("\n| measure (one PostgreSQL 15 cluster) | nbtrack server | mlflow server | nbtrack advantage |\n"
          "|---|---|---|---|")
    for label, a, b, higher_better in rows:
        ratio = ""
        if isinstance(a, float) and isinstance(b, float) and a and b:
            ratio = f"{(a / b if higher_better else b / a):.1f}x"
        fa = f"{a:,.1f}" if isinstance(a, float) else str(a)
        fb = f"{b:,.1f}" if isinstance(b, float) else str(b)
        print(f"| {label} | {fa} | {fb} | {ratio} |")
    print(f"search found {nb['search']['runs_found']} / {ml['search']['runs_found']} runs; history returned "
          f"{nb['history']['points']} / {ml['history']['points']} points")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_postgres.json").write_text(json.dumps({"sizes": sizes, **results}, indent=2))


if __name__ == "__main__":
    main()
