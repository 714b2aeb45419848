"""The ``Store`` protocol itself (what ``nbtrack.MlflowClient().store`` is) on every backend: the
write primitive, a second instance reading after ``sync``, frames, and the named view operations
the notebook views, the side panel and the web UI read through."""

from __future__ import annotations

import math

import pytest

import nbtrack
from nbtrack.entities import Metric
from nbtrack.errors import NotFound, ResourceExists


@pytest.fixture
def store(backend):
    return nbtrack.MlflowClient().store


def test_experiment_lifecycle(store, backend):
    x, y = backend.name("x"), backend.name("y")
    eid = store.create_experiment(x, None, [("k", "v")])
    assert store.get_experiment(eid).tags == {"k": "v"}
    assert store.get_experiment_by_name(x).experiment_id == eid
    with pytest.raises(ResourceExists):
        store.create_experiment(x)
    store.rename_experiment(eid, y)
    assert store.get_experiment_by_name(y).experiment_id == eid
    store.delete_experiment(eid)
    assert [e.name for e in store.search_experiments(view_type=2, filter_string=f"name LIKE '{backend.name()}%'")] \
        == [y]
    store.restore_experiment(eid)
    with pytest.raises(NotFound):
        store.get_experiment("999999")


def test_log_batch_is_the_write_primitive(store, backend):
    run = store.create_run(store.create_experiment(backend.name()), "u", 1000, [("t", "1")], "name")
    rid = run.info.run_id
    store.log_batch(rid, [Metric("m", v, 1000 + i, i) for i, v in enumerate([1.0, math.nan, 3.0])],
                    [("p", "v")], [("t", "2")])
    store.update_run_info(rid, status="FINISHED", end_time=2000)
    got = store.get_run(rid)
    assert got.info.status == "FINISHED" and got.info.end_time == 2000 and got.info.start_time == 1000
    assert got.data.metrics == {"m": 3.0} and got.data.params == {"p": "v"}
    tags = {k: v for k, v in got.data.tags.items() if k != "mlflow.user"}  # a server may add it from user_id
    assert tags == {"t": "2", "mlflow.runName": "name"}
    history = store.get_metric_history(rid, "m")
    assert [h.step for h in history] == [0, 1, 2] and math.isnan(history[1].value)


def test_writes_are_visible_after_sync_from_a_second_store_instance(store, backend):
    run = store.create_run(store.create_experiment(backend.name()), "u", None, [], "n")
    store.log_metric(run.info.run_id, "m", 1.0, 1, 0)
    store.sync()
    other = type(store)(store.root)  # a second instance behaves like another process
    try:
        assert other.get_run(run.info.run_id).data.metrics == {"m": 1.0}
    finally:
        other.close()


def test_search_and_frames(store, backend):
    eid = store.create_experiment(backend.name())
    ids = []
    for i in range(3):
        run = store.create_run(eid, "u", 1000 + i, [], f"r{i}")
        store.log_batch(run.info.run_id, [Metric("acc", i / 10, 1, 0)], [("i", str(i))])
        ids.append(run.info.run_id)
    assert store.search_run_ids([eid], "metrics.acc > 0.05", order_by=["metrics.acc DESC"]) == ids[:0:-1]
    frame = store.runs_frame(ids)
    assert frame["params.i"].tolist() == ["0", "1", "2"]
    assert store.metric_history_frame(ids, ["acc"])["value"].tolist() == [0.0, 0.1, 0.2]


# -- view operations: what the notebook views, the side panel and the web UI read ----------------
def _seeded(store, unique):
    """Three runs in a fresh experiment: two of one cell (tag), one with a longer history. Run
    names and tag values are ``unique``-prefixed: runs_with_tag and find_runs look store-wide."""
    eid = store.create_experiment(unique)
    ids = []
    for i in range(3):
        run = store.create_run(eid, "u", 1000 + i, [("cell", f"{unique}-c1" if i < 2 else f"{unique}-c2")],
                               f"{unique}-r{i}")
        rid = run.info.run_id
        points = [Metric("loss", 1.0 / (s + 1) + i, 1000 + s, s) for s in range(100)]
        if i == 2:
            points.append(Metric("loss", math.inf, 5000, 100))
        store.log_batch(rid, [*points, Metric("acc", 0.5 + i / 10, 2000, 0)], [("lr", str(0.1 * (i + 1)))],
                        [("note", "it's")])
        ids.append(rid)
    store.update_run_info(ids[0], status="FINISHED", end_time=3000)
    store.sync()
    return eid, ids


def test_view_operations(store, backend):
    unique = backend.name()
    eid, ids = _seeded(store, unique)
    page = store.runs_page([eid], "metrics.acc > 0.55", "metric:acc", True, 0, 10, None, True)
    assert page["run_id"].tolist() == [ids[2], ids[1]] and page["total"].tolist() == [2, 2]
    row = page.iloc[0]
    values = dict(zip(zip(row["kinds"], row["keys"], strict=True), zip(row["nums"], row["texts"], strict=True),
                      strict=True))
    assert values[("metric", "loss")][0] == math.inf and values[("param", "lr")][1] == str(0.1 * 3)
    assert values[("tag", "note")][1] == "it's"
    catalogue = {(c["kind"], c["key"]): c["n"] for c in page["catalogue"].iloc[0]}
    assert catalogue[("metric", "acc")] == 2 and catalogue[("param", "lr")] == 2
    grouped = store.runs_page([eid], None, None, True, 0, 10, "cell", False)
    assert grouped["run_id"].tolist() == [ids[2], ids[1]] and grouped["n_cell"].tolist() == [1, 2]
    assert store.runs_page([eid], None, "attr:run_name", False, 1, 1)["run_name"].tolist() == [f"{unique}-r1"]

    fingerprint = store.runs_fingerprint([eid])
    assert fingerprint[0] == 3 and fingerprint[3] == 2  # runs, running runs
    stats = store.key_stats([eid], "params.lr != '0.1'")
    assert {(r.kind, r.key): r.n for r in stats.itertuples()} == {("param", "lr"): 2, ("metric", "acc"): 2,
                                                                  ("metric", "loss"): 2}
    assert set(store.key_stats(run_ids=[ids[0]])["key"]) == {"lr", "acc", "loss"}
    wide = store.runs_wide([eid], None, ["lr"], ["acc"], 2, order_metric="acc")
    assert wide["run_id"].tolist() == [ids[2], ids[1]] and wide["metric:acc"].tolist() == [0.7, 0.6]
    assert wide["total"].tolist() == [3, 3] and wide["param:lr"].iloc[0] == str(0.1 * 3)
    exact = store.runs_wide([], None, [], ["loss"], 3, run_ids=[ids[1], ids[0]])
    assert exact["run_id"].tolist() == [ids[1], ids[0]]
    twice = store.runs_wide([eid], None, ["lr", "lr"], ["acc", "acc"], 1)  # a key asked twice: one column
    assert list(twice.columns).count("metric:acc") == 1 and list(twice.columns).count("param:lr") == 1

    buckets = store.metric_buckets(ids, ["loss"], "step", 10, None, True)
    runs = buckets[buckets["bucket"] == -3]
    assert set(runs["run_name"]) == {f"{unique}-r{i}" for i in range(3)}
    lines = buckets[buckets["bucket"] >= 0]
    assert lines.groupby("run_id")["n"].sum().to_dict() == {ids[0]: 100, ids[1]: 100, ids[2]: 100}  # inf dropped
    zoomed = store.metric_buckets([ids[0]], ["loss"], "step", 500, (10.0, 19.0), False)
    assert zoomed[zoomed["bucket"] >= 0]["n"].sum() == 10  # a zoom into few steps: every point
    after = store.metric_points_after([(ids[0], "loss", 97, 1097), (ids[1], "acc", -1, 0)], "step", 100)
    points = after[after["what"] == "p"]
    assert sorted(zip(points["run_id"], points["step"], strict=True)) == sorted([(ids[0], 98), (ids[0], 99),
                                                                                 (ids[1], 0)])
    assert set(after[after["what"] == "s"]["status"]) == {"FINISHED", "RUNNING"}
    assert store.run_summaries([ids[0]])["run_name"].tolist() == [f"{unique}-r0"]
    assert store.top_metric_keys(ids, 1) == ["acc"]
    assert store.runs_with_tag("cell", f"{unique}-c1") == sorted(ids[:2])
    assert store.find_runs(ids[1][:10])["run_id"].tolist() == [ids[1]]
    assert store.find_runs(f"{unique}-r2")["run_id"].tolist() == [ids[2]]
    thin = store.thin_history(ids[2], ["loss"], 10)
    assert len(thin) <= 12 and thin["step"].iloc[0] == 0 and thin["step"].iloc[-1] == 100
    assert thin["value"].iloc[-1] == math.inf


def test_view_operations_refuse_bad_input(store):
    from nbtrack.errors import InvalidParameter, NbtrackError

    with pytest.raises(NbtrackError, match="unknown comparator '>>' at column 13") as info:  # InvalidFilter
        store.runs_page(["0"], "metrics.acc >> 1")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(InvalidParameter, match="Unknown sort column"):
        store.runs_page(["0"], None, "attr:; DROP TABLE runs")
    with pytest.raises(InvalidParameter, match="x_axis"):
        store.metric_buckets(["x"], ["loss"], "epoch")
