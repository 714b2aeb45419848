"""An exact repeat of a metric point (same key, step, timestamp and value) is kept once, as MLflow's SQL
store keeps it: what a request replayed after a lost acknowledgement would otherwise double."""

from __future__ import annotations

import math

import nbtrack
from nbtrack.entities import Metric


def _history(run_id, key="loss"):
    return [(m.step, m.timestamp, m.value) for m in nbtrack.MlflowClient().get_metric_history(run_id, key)]


def test_exact_repeats_are_kept_once_and_near_repeats_are_all_kept():
    client = nbtrack.MlflowClient()
    with nbtrack.start_run() as run:
        rid = run.info.run_id
        points = [Metric("loss", 0.5, 1000, 1), Metric("loss", math.nan, 1001, 2), Metric("loss", 0.25, 1002, 3)]
        client.log_batch(rid, metrics=points)
        nbtrack.flush()
        assert len(_history(rid)) == 3  # folded once
        client.log_batch(rid, metrics=points)  # the same request again, in a later segment
        client.log_batch(rid, metrics=[Metric("loss", 0.5, 1000, 1)] * 3)  # and repeated within one batch
        client.log_batch(rid, metrics=[Metric("loss", 0.75, 1000, 1),  # another value at the same step and time
                                       Metric("loss", 0.5, 1003, 1),  # the same value at another time
                                       Metric("loss", 0.5, 1000, 4)])  # ... at another step
    got = _history(rid)
    assert len(got) == 6
    assert [(s, t) for s, t, _ in got] == [(1, 1000), (1, 1000), (1, 1003), (2, 1001), (3, 1002), (4, 1000)]
    assert sum(math.isnan(v) for _, _, v in got) == 1
    assert nbtrack.get_run(rid).data.metrics["loss"] == 0.5  # the latest: greatest (step, timestamp, value)
