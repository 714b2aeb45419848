"""Model evaluation cost: ``nbtrack.evaluate`` against MLflow 3.x's ``mlflow.evaluate`` (sqlite),
same process, same logged scikit-learn models, same data.

    .venv/bin/python benchmarks/bench_evaluate.py [--quick] [--repeat N]

Three workloads: a binary classifier (``LogisticRegression``, 5,000 x 20 rows: 13 metrics and
five plots), a 5-class classifier (same size: metrics, per-class table, four plots) and a
regressor (``Ridge``, 5,000 x 20: ten metrics, no plots). Each library logs the model once and
then evaluates its ``runs:/`` URI inside a fresh run; the calls alternate between the libraries
and medians are reported. The first call of each library is an untimed warm-up (lazy imports).
"""

from __future__ import annotations

import argparse
import logging
import os
import statistics
import sys
import time
import warnings
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


def workloads(rows: int) -> dict[str, tuple[Any, Any, str]]:
    import pandas as pd
    from sklearn.datasets import make_classification, make_regression
    from sklearn.linear_model import LogisticRegression, Ridge

    out = {}
    for name, classes in (("binary classifier", 2), ("5-class classifier", 5)):
        X, y = make_classification(n_samples=rows, n_features=20, n_informative=10, n_classes=classes, random_state=0)
        df = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
        out[name] = (LogisticRegression(max_iter=2000).fit(df, y), df.assign(target=y), "classifier")
    X, y = make_regression(n_samples=rows, n_features=20, noise=5.0, random_state=0)
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(20)])
    out["regressor"] = (Ridge().fit(df, y), df.assign(target=y), "regressor")
    return out


def timed_evaluate(lib: Any, uri: str, data: Any, model_type: str) -> float:
    with lib.start_run():
        started = time.perf_counter()
        lib.evaluate(uri, data, targets="target", model_type=model_type)
        return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="1,000 rows and 2 repeats")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    if not mlflow_available():
        sys.exit("MLflow is missing: .venv/bin/pip install -e '.[bench]'")
    clean_environment()
    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    rows, repeat = (1000, 2) if args.quick else (5000, args.repeat)
    import nbtrack

    rows_out, extra = [], {"rows": rows, "repeat": repeat, "load_average": os.getloadavg()}
    with workspace() as tmp:
        mlflow, experiment = setup_mlflow(os.path.join(tmp, "mlflow.db"), os.path.join(tmp, "mlartifacts"), "eval")
        mlflow.set_experiment(experiment_id=experiment)  # artifacts in tmp, not ./mlruns
        nbtrack.set_tracking_uri(os.path.join(tmp, "nbtrack"))
        for name, (model, data, model_type) in workloads(rows).items():
            uris = {}
            for lib in (nbtrack, mlflow):
                with lib.start_run():
                    uris[lib] = lib.sklearn.log_model(model, name="model", pip_requirements=["scikit-learn"]).model_uri
                timed_evaluate(lib, uris[lib], data, model_type)  # warm-up
            times: dict[Any, list[float]] = {nbtrack: [], mlflow: []}
            for _ in range(repeat):
                for lib in (nbtrack, mlflow):
                    times[lib].append(timed_evaluate(lib, uris[lib], data, model_type))
            ours, theirs = statistics.median(times[nbtrack]), statistics.median(times[mlflow])
            log(f"{name}: nbtrack {ours:.2f} s, mlflow {theirs:.2f} s")
            rows_out.append(Row(f"evaluate, {name}, {rows:,} rows", ours, theirs, "s", theirs / ours,
                                note=f"median of {repeat}; nbtrack {min(times[nbtrack]):.2f}-"
                                     f"{max(times[nbtrack]):.2f} s, MLflow {min(times[mlflow]):.2f}-"
                                     f"{max(times[mlflow]):.2f} s"))
    extra["load_average_after"] = os.getloadavg()
    print_table("nbtrack vs MLflow 3.x (sqlite): evaluate on a logged scikit-learn model", rows_out)
    write_results("bench_evaluate-quick" if args.quick else "bench_evaluate", rows_out, extra)


if __name__ == "__main__":
    main()
