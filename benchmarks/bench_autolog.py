"""Autolog overhead: nbtrack against MLflow 3.x (sqlite), same process, same scikit-learn fit.

    .venv/bin/python benchmarks/bench_autolog.py [--quick] [--repeat N]

The workload is a ``GradientBoostingClassifier`` on 8,000 x 20 synthetic rows, with
``n_estimators`` calibrated so that a plain ``fit`` takes about one second here. Each library
is then timed on the same fit with its default ``autolog()``: params, tags, seven training
metrics, ``estimator.html``, the classifier figures, the training dataset and the model
(MLflow is given ``serialization_format="cloudpickle"``, nbtrack's default, so both save the
same model). Blocks of fits (plain, nbtrack, MLflow) alternate over two rounds and medians
are reported; the first fit of each block is an untimed warm-up (lazy imports, first run).

nbtrack draws its figures on a background thread, so it is reported three ways: the time
until ``fit`` returns (what the user waits for); the cost per fit when fits run back to back
and the block ends with everything done (figures drained, ``nbtrack.flush()``): the overhead
the target is about; and one fit alone followed by all of its work, with nothing to overlap
the background thread (the worst case). MLflow's calls are synchronous: its ``fit`` returns
with everything written.
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

from _common import (
    Row,
    clean_environment,
    log,
    mlflow_available,
    print_table,
    setup_mlflow,
    workspace,
    write_results,
)

TARGET_OVERHEAD = 0.05


def dataset(rows: int) -> tuple[Any, Any]:
    from sklearn.datasets import make_classification

    return make_classification(n_samples=rows, n_features=20, n_informative=10, random_state=0)


def estimator(n: int) -> Any:
    from sklearn.ensemble import GradientBoostingClassifier

    return GradientBoostingClassifier(n_estimators=n, max_depth=3, random_state=0)


def calibrate(X: Any, y: Any, seconds: float) -> int:
    """``n_estimators`` for which a plain fit takes about ``seconds``."""
    probe = 20
    estimator(probe).fit(X, y)  # warm
    t0 = time.perf_counter()
    estimator(probe).fit(X, y)
    per_tree = (time.perf_counter() - t0) / probe
    return max(5, round(seconds / per_tree))


def time_block(fit: Callable[[], Any], repeat: int, finish: Callable[[], None] | None = None) -> dict[str, Any]:
    """One warm-up fit, then ``repeat`` fits back to back and ``finish()``: per-fit return times,
    and the whole block's wall time divided by ``repeat`` (background work included)."""
    fit()
    if finish is not None:
        finish()
    returns = []
    t0 = time.perf_counter()
    for _ in range(repeat):
        t = time.perf_counter()
        fit()
        returns.append(time.perf_counter() - t)
    if finish is not None:
        finish()
    return {"returns": returns, "per_fit": (time.perf_counter() - t0) / repeat}


def time_serial(fit: Callable[[], Any], repeat: int, finish: Callable[[], None]) -> list[float]:
    """Each fit followed by ``finish()`` before the next starts: nothing overlaps the background work."""
    found = []
    for _ in range(repeat):
        t = time.perf_counter()
        fit()
        finish()
        found.append(time.perf_counter() - t)
    return found


def run_all(tmp: str, rows_n: int, seconds: float, repeat: int) -> tuple[list[Row], dict[str, Any]]:
    import nbtrack

    X, y = dataset(rows_n)
    n = calibrate(X, y, seconds)
    log(f"workload: GradientBoostingClassifier(n_estimators={n}) on {rows_n:,} x 20")

    def fit() -> None:
        estimator(n).fit(X, y)

    def finish() -> None:
        nbtrack.autolog.flush()
        nbtrack.flush()

    nbtrack.set_tracking_uri(os.path.join(tmp, "nbtrack"))
    nbtrack.set_experiment("bench-autolog")
    mlflow, experiment = setup_mlflow(os.path.join(tmp, "mlflow.db"), os.path.join(tmp, "mlartifacts"),
                                      "bench-autolog")
    mlflow.set_experiment(experiment_id=experiment)
    logging.getLogger("mlflow").setLevel(logging.ERROR)
    blocks: dict[str, list[dict[str, Any]]] = {"plain": [], "nbtrack": [], "mlflow": []}
    serial: list[float] = []
    for round_ in (1, 2):
        log(f"round {round_}: plain x {repeat}")
        blocks["plain"].append(time_block(fit, repeat))
        log(f"round {round_}: nbtrack autolog x {repeat}")
        nbtrack.autolog()
        blocks["nbtrack"].append(time_block(fit, repeat, finish))
        serial += time_serial(fit, max(2, repeat // 2), finish)
        nbtrack.autolog(disable=True)
        log(f"round {round_}: MLflow autolog x {repeat}")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            mlflow.sklearn.autolog(serialization_format="cloudpickle", silent=True)
            blocks["mlflow"].append(time_block(fit, repeat))
            mlflow.sklearn.autolog(disable=True)

    def returns(name: str) -> float:
        return statistics.median(t for b in blocks[name] for t in b["returns"])

    def per_fit(name: str) -> float:
        return statistics.median(b["per_fit"] for b in blocks[name])

    base = returns("plain")
    base_loop = per_fit("plain")
    latency, sustained, isolated = returns("nbtrack"), per_fit("nbtrack"), statistics.median(serial)
    ml_latency, ml_sustained = returns("mlflow"), per_fit("mlflow")

    def over(t: float, reference: float) -> str:
        return f"{t / reference - 1:+.1%} ({(t - reference) * 1e3:+.0f} ms)"

    sustained_over = sustained / base_loop - 1
    ml_over = ml_sustained / base_loop - 1
    rows = [
        Row(f"plain fit (no autolog), n_estimators={n}", base, base, "s", None, "about 1 s", None,
            f"median of {sum(len(b['returns']) for b in blocks['plain'])} fits"),
        Row("autolog: until fit returns (the user waits)", latency, ml_latency, "s",
            (ml_latency - base) / max(latency - base, 1e-9), "", None,
            f"nbtrack {over(latency, base)}, MLflow {over(ml_latency, base)}; ratio = MLflow's added "
            "time / nbtrack's"),
        Row("autolog: per fit, fits back to back, all work done", sustained, ml_sustained, "s",
            (ml_sustained - base_loop) / max(sustained - base_loop, 1e-9),
            f"overhead < {TARGET_OVERHEAD:.0%}", sustained_over < TARGET_OVERHEAD,
            f"{repeat} fits, then figures drained and store flushed, / {repeat}; nbtrack "
            f"{over(sustained, base_loop)}, MLflow {over(ml_sustained, base_loop)}"),
        Row("autolog: one fit alone, until all work is done", isolated, ml_latency, "s", None,
            "less than MLflow", isolated < ml_latency,
            f"fit, figures drained, store flushed, nothing overlapping; nbtrack {over(isolated, base)}"),
    ]
    extra = {"n_estimators": n, "rows": rows_n, "blocks": blocks, "nbtrack_serial": serial,
             "overhead_nbtrack_sustained": sustained_over, "overhead_mlflow_sustained": ml_over,
             "overhead_nbtrack_latency": latency / base - 1, "overhead_nbtrack_isolated": isolated / base - 1}
    return rows, extra


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a 0.3 s fit and 2 repeats, to check the harness")
    parser.add_argument("--repeat", type=int, default=None, help="timed fits per block (default 5)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary stores")
    args = parser.parse_args()
    clean_environment()
    if not mlflow_available():
        sys.exit("MLflow is not installed: .venv/bin/pip install -e '.[bench]'")
    repeat = args.repeat or (2 if args.quick else 5)
    with workspace(args.keep) as tmp:
        rows, extra = run_all(tmp, 8_000, 0.3 if args.quick else 1.0, repeat)
    print_table("nbtrack vs MLflow 3.x (sqlite): autolog overhead on one scikit-learn fit", rows)
    write_results("bench_autolog-quick" if args.quick else "bench_autolog", rows, extra)


if __name__ == "__main__":
    main()
