"""System metrics overhead on a training loop: the same ~6 s loop without monitoring, with
MLflow's default interval (10 s), with 1 s and with 0.1 s, alternated, medians reported.

    .venv/bin/python benchmarks/bench_system_metrics.py [--rounds 3] [--seconds 6]

Also reports the process CPU the monitor uses while the process idles, and the cost of one
sample (all samplers), both measured directly, which a loaded machine disturbs far less than
wall-clock loop times.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

import numpy as np

import nbtrack
from nbtrack.tracking import system_metrics


def train(steps: int) -> float:
    """SGD on a least-squares problem, logging the loss every 50 steps; returns seconds taken."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(4000, 200))
    w_true = rng.normal(size=200)
    y = X @ w_true
    w = np.zeros(200)
    started = time.perf_counter()
    for step in range(steps):
        idx = rng.integers(0, len(X), 256)
        grad = X[idx].T @ (X[idx] @ w - y[idx]) / 256
        w -= 0.01 * grad
        if step % 50 == 0:
            nbtrack.log_metric("loss", float(np.mean((X[:500] @ w - y[:500]) ** 2)), step=step)
    return time.perf_counter() - started


def calibrate(seconds: float) -> int:
    with nbtrack.start_run(log_system_metrics=False):
        train(300)  # warm-up: imports, first store writes
        t = train(2000)
    return int(2000 * seconds / t)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=6.0)
    args = parser.parse_args()
    nbtrack.set_tracking_uri(tempfile.mkdtemp())
    steps = calibrate(args.seconds)
    settings = {"off": None, "10 s (default)": 10.0, "1 s": 1.0, "0.1 s": 0.1}
    times: dict[str, list[float]] = {k: [] for k in settings}
    points: dict[str, int] = {}
    for _ in range(args.rounds):
        for label, interval in settings.items():
            nbtrack.set_system_metrics_sampling_interval(interval)
            with nbtrack.start_run(log_system_metrics=interval is not None) as run:
                times[label].append(train(steps))
            history = nbtrack.MlflowClient().get_metric_history(run.info.run_id, "system/cpu_utilization_percentage")
            points[label] = len(history)
    base = statistics.median(times["off"])
    print(f"loop of {steps} steps, {args.rounds} rounds, medians:")
    for label, values in times.items():
        med = statistics.median(values)
        print(f"  {label:>15}: {med:6.3f} s  ({(med / base - 1) * 100:+.1f}%)  points/run={points[label]}")
    # CPU the monitor uses (sampling, log_batch and the store's background flushes it causes)
    # while the process idles for 20 s: far less disturbed by other processes than wall time
    idle = {}
    for label, interval in settings.items():
        nbtrack.set_system_metrics_sampling_interval(interval)
        cpu = time.process_time()
        with nbtrack.start_run(log_system_metrics=interval is not None):
            time.sleep(20)
        idle[label] = time.process_time() - cpu
    for label, used in idle.items():
        extra = used - idle["off"]
        print(f"  process CPU over 20 s idle, {label:>15}: {used * 1e3:7.1f} ms "
              f"(monitor: {extra * 1e3:+.1f} ms = {extra / 20 * 100:.3f}% of a core)")
    client = nbtrack.MlflowClient()
    with nbtrack.start_run() as run:
        monitor = system_metrics.SystemMetricsMonitor(client, run.info.run_id)
        started = time.perf_counter()
        for _ in range(200):
            monitor.collect_metrics()
        print(f"one sample of every sampler: {(time.perf_counter() - started) / 200 * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
