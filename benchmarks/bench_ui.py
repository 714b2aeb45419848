"""Inline views, kernel side: the run table at 10,000 runs, a chart of 1,000,000 points, and
a dashboard refresh at 1,000 runs.

    .venv/bin/python benchmarks/bench_ui.py [--quick]

Timed in this process with the views' real widgets (no browser): what the kernel spends
before the widget state goes out. "Cold" figures come from a fresh process (imports,
opening the store and the first query included), as in a new notebook kernel; "warm" ones
are medians of repeated calls. MLflow has no notebook views, so there is no MLflow column.
The browser side (plotly drawing what was sent) is exercised by tests/browser.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from typing import Any

from _common import (
    Row,
    clean_environment,
    emit,
    log,
    median_time,
    print_table,
    run_worker,
    workspace,
    write_results,
)

TABLE_RUNS = 10_000
CHART_POINTS = 1_000_000
DASHBOARD_RUNS = 1_000
DASHBOARD_STEPS = 100


def build_runs(root: str, n: int, steps: int = 0) -> None:
    """``n`` finished runs in experiment "bench": 6 params, 3 metrics (``steps`` points each), 2 tags."""
    import nbtrack

    nbtrack.set_tracking_uri(root)
    exp = nbtrack.set_experiment("bench").experiment_id
    store = nbtrack.MlflowClient().store
    rng = random.Random(0)
    for i in range(n):
        run = store.create_run(exp, "bench", None, [("nbtrack.cell_id", f"cell-{i % 50}")], f"run-{i}")
        rid = run.info.run_id
        store.log_batch(rid, params=[("lr", str(10 ** rng.uniform(-4, -1))), ("depth", str(rng.randint(2, 12))),
                                     ("optimizer", rng.choice(["sgd", "adam", "rmsprop"])), ("seed", str(i)),
                                     ("batch", rng.choice(["32", "64", "128"])), ("dropout", str(rng.random()))])
        count = max(steps, 1)
        for key in ("loss", "acc", "lr_now"):
            store.log_metrics_columns(rid, [key] * count, [rng.random() for _ in range(count)],
                                      [run.info.start_time + s for s in range(count)], list(range(count)))
        store.update_run_info(rid, status="FINISHED", end_time=run.info.start_time + 1000)
    nbtrack.flush()


def build_long_run(root: str, points: int) -> str:
    import numpy as np

    import nbtrack

    nbtrack.set_tracking_uri(root)
    nbtrack.set_experiment("long")
    store = nbtrack.MlflowClient().store
    with nbtrack.start_run() as run:
        steps = np.arange(points)
        values = np.exp(-steps / (points / 5)) + np.random.default_rng(0).normal(0, 0.02, points)
        store.log_metrics_columns(run.info.run_id, ["loss"] * points, values.tolist(),
                                  (run.info.start_time + steps).tolist(), steps.tolist())
    nbtrack.flush()
    return run.info.run_id


# -- workers (fresh processes: a new kernel's first call) --------------------------------------
def worker(args: list[str]) -> None:
    what, root = args[0], args[1]
    import nbtrack

    nbtrack.set_tracking_uri(root)
    t0 = time.perf_counter()
    if what == "table":
        table = nbtrack.runs_table("bench")
        assert table.total == int(args[2])
    elif what == "chart":
        chart = nbtrack.metric_chart(args[2], "loss")
        assert chart.figure.data
    elif what == "dashboard":
        dash = nbtrack.dashboard("bench", refresh=0)
        assert dash.table.total == int(args[2])
    emit({"seconds": time.perf_counter() - t0})


# -- measurements -----------------------------------------------------------------------------
def bench_table(root: str, n: int, repeat: int) -> list[Row]:
    import nbtrack

    log(f"table: building {n:,} runs")
    build_runs(root, n)
    cold = run_worker(__file__, "table", root, str(n))["seconds"]
    warm, _ = median_time(lambda: nbtrack.runs_table("bench"), repeat, warmup=1)
    table = nbtrack.runs_table("bench")

    def flip() -> None:
        table.page = (table.page + 1) % 5

    page, _ = median_time(flip, repeat)

    def sort() -> None:
        table.sort = "metric:acc" if table.sort != "metric:acc" else "param:lr"

    sorted_, _ = median_time(sort, repeat)

    def filter_() -> None:
        table.filter = "metrics.acc > 0.5 AND params.optimizer = 'adam'" if not table.filter else ""

    filtered, _ = median_time(filter_, repeat)

    def group() -> None:
        table.group_by_cell = not table.group_by_cell

    grouped, _ = median_time(group, repeat)
    return [
        Row(f"run table open, {n:,} runs (cold: new process)", cold, target="< 1 s kernel side",
            passed=None, note="includes importing pandas/plotly/anywidget and opening the store"),
        Row(f"run table open, {n:,} runs (warm)", warm, target="< 1 s", passed=warm < 1.0),
        Row("  next page", page, target="< 1 s", passed=page < 1.0),
        Row("  sort by a metric / a param", sorted_, target="< 1 s", passed=sorted_ < 1.0),
        Row("  filter (2 terms) / clear", filtered, target="< 1 s", passed=filtered < 1.0),
        Row("  latest run per cell on/off", grouped, target="< 1 s", passed=grouped < 1.0),
    ]


def bench_chart(root: str, points: int, repeat: int) -> list[Row]:
    import nbtrack

    log(f"chart: logging {points:,} points")
    run_id = build_long_run(root, points)
    cold = run_worker(__file__, "chart", root, run_id)["seconds"]
    nbtrack.metric_chart(run_id, "loss")  # warm the imports
    build, _ = median_time(lambda: nbtrack.metric_chart(run_id, "loss"), repeat)
    chart = nbtrack.metric_chart(run_id, "loss")
    drawn = len(chart.figure.data[2].x)
    fetch, _ = median_time(lambda: chart._reload(reset_range=True), repeat)
    zoom, _ = median_time(lambda: chart.zoom(points * 0.4, points * 0.45), repeat)
    live, _ = median_time(lambda: chart._poll(), repeat)
    return [
        Row(f"metric chart, {points:,} points (cold: new process)", cold,
            note="includes importing plotly and opening the store"),
        Row(f"metric chart, {points:,} points (warm, widget built)", build, target="< 200 ms",
            passed=build < 0.2, note=f"{drawn:,} points sent to the browser"),
        Row("  downsample query + redraw (full range)", fetch, target="< 200 ms", passed=fetch < 0.2),
        Row("  zoom to 5% of the range: detail fetch + redraw", zoom, target="< 200 ms", passed=zoom < 0.2),
        Row("  live poll (points after the cursor + statuses)", live, target="< 250 ms (4 per s)",
            passed=live < 0.25),
    ]


def bench_dashboard(root: str, n: int, steps: int, repeat: int) -> list[Row]:
    import nbtrack

    log(f"dashboard: building {n:,} runs x {steps} steps x 3 metrics")
    build_runs(root, n, steps)
    cold = run_worker(__file__, "dashboard", root, str(n))["seconds"]
    nbtrack.dashboard("bench", refresh=0)
    opened, _ = median_time(lambda: nbtrack.dashboard("bench", refresh=0), max(repeat // 2, 2))
    dash = nbtrack.dashboard("bench", refresh=0)
    exp = nbtrack.get_experiment_by_name("bench").experiment_id

    def new_run_arrives() -> None:
        with nbtrack.start_run(experiment_id=exp):
            nbtrack.log_metric("loss", 0.1)
        nbtrack.flush()

    def refresh() -> float:
        new_run_arrives()
        t0 = time.perf_counter()
        dash._poll()
        return time.perf_counter() - t0

    times = sorted(refresh() for _ in range(repeat))
    refresh_median = times[len(times) // 2]
    idle, _ = median_time(dash._poll, repeat)
    return [
        Row(f"dashboard open, {n:,} runs (cold: new process)", cold),
        Row(f"dashboard open, {n:,} runs (warm)", opened, target="< 2 s", passed=opened < 2.0),
        Row(f"dashboard refresh after a new run, {n:,} runs", refresh_median, target="< 1 s",
            passed=refresh_median < 1.0, note="table page + parallel coordinates + chart"),
        Row("  poll when nothing changed", idle, target="< 100 ms", passed=idle < 0.1),
    ]


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        worker(sys.argv[2:])
        return
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    opts = parser.parse_args()
    clean_environment()
    scale = 10 if opts.quick else 1
    repeat = 3 if opts.quick else 7
    rows: list[Row] = []
    extra: dict[str, Any] = {"load_average": os.getloadavg()}
    with workspace() as tmp:
        rows += bench_table(os.path.join(tmp, "table"), TABLE_RUNS // scale, repeat)
        rows += bench_chart(os.path.join(tmp, "chart"), CHART_POINTS // scale, repeat)
        rows += bench_dashboard(os.path.join(tmp, "dashboard"), DASHBOARD_RUNS // scale, DASHBOARD_STEPS, repeat)
    print_table("nbtrack inline views, kernel side (2 cores)", rows)
    extra["load_average_after"] = os.getloadavg()
    print(f"\nload average before/after: {extra['load_average']} / {extra['load_average_after']}")
    print(f"results: {write_results('bench_ui', rows, extra)}")


if __name__ == "__main__":
    main()
