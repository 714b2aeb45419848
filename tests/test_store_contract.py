"""The Store protocol contract, run against every backend (today: the embedded DuckDB store)."""

from __future__ import annotations

import math

import pytest

from nbtrack.entities import Metric
from nbtrack.errors import InvalidStore, NotFound, ResourceExists
from nbtrack.store import open_store
from nbtrack.store.duckdb.schema import MIGRATIONS

BACKENDS = ["duckdb", "rest"]


@pytest.fixture(params=BACKENDS)
def store(request, tmp_path, monkeypatch):
    if request.param == "duckdb":
        s = open_store(str(tmp_path / "contract"))
        yield s
        s.close()
        return
    # rest: a RestStore talking to nbtrack server
    from tests.server_fixtures import start_server, stop_server

    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(tmp_path / "spool"))
    proc, url = start_server(tmp_path / "served")
    try:
        s = open_store(url)
        yield s
        s.close()
    finally:
        stop_server(proc)


def test_experiment_lifecycle(store):
    eid = store.create_experiment("x", None, [("k", "v")])
    assert store.get_experiment(eid).tags == {"k": "v"}
    assert store.get_experiment_by_name("x").experiment_id == eid
    with pytest.raises(ResourceExists):
        store.create_experiment("x")
    store.rename_experiment(eid, "y")
    assert store.get_experiment_by_name("y").experiment_id == eid
    store.delete_experiment(eid)
    assert [e.name for e in store.search_experiments(view_type=2)] == ["y"]
    store.restore_experiment(eid)
    with pytest.raises(NotFound):
        store.get_experiment("999")


def test_log_batch_is_the_write_primitive(store):
    run = store.create_run("0", "u", 1000, [("t", "1")], "name")
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


def test_writes_are_visible_after_sync_from_a_second_store_instance(store, tmp_path):
    run = store.create_run("0", "u", None, [], "n")
    store.log_metric(run.info.run_id, "m", 1.0, 1, 0)
    store.sync()
    other = type(store)(store.root)  # a second instance behaves like another process
    try:
        assert other.get_run(run.info.run_id).data.metrics == {"m": 1.0}
    finally:
        other.close()


def test_search_and_frames(store):
    ids = []
    for i in range(3):
        run = store.create_run("0", "u", 1000 + i, [], f"r{i}")
        store.log_batch(run.info.run_id, [Metric("acc", i / 10, 1, 0)], [("i", str(i))])
        ids.append(run.info.run_id)
    assert store.search_run_ids(["0"], "metrics.acc > 0.05", order_by=["metrics.acc DESC"]) == ids[:0:-1]
    frame = store.runs_frame(ids)
    assert frame["params.i"].tolist() == ["0", "1", "2"]
    assert store.metric_history_frame(ids, ["acc"])["value"].tolist() == [0.0, 0.1, 0.2]


def test_schema_is_migrated_and_versioned(store):
    if not hasattr(store, "archive"):
        pytest.skip("the embedded store's schema; a server keeps its own")
    assert store.archive.schema_version() == sorted(name for name, _ in MIGRATIONS)
    store.archive.initialise()  # opening again is a no-op
    assert store.archive.schema_version() == sorted(name for name, _ in MIGRATIONS)


def test_a_store_from_a_newer_nbtrack_is_refused(tmp_path):
    import duckdb

    s = open_store(str(tmp_path / "newer"))
    s.close()
    con = duckdb.connect(str(tmp_path / "newer" / "nbtrack.duckdb"))
    con.execute("INSERT INTO schema_migrations VALUES ('9999_future', 0)")
    con.close()
    from nbtrack.store.duckdb.store import DuckDBStore

    with pytest.raises(InvalidStore, match="newer nbtrack"):
        DuckDBStore(str(tmp_path / "newer"))


def test_an_older_store_is_upgraded(tmp_path):
    """A store holding only the first migration gets the later ones on open, data intact."""
    import duckdb

    from nbtrack.store.duckdb.store import DuckDBStore

    root = tmp_path / "old"
    root.mkdir()
    con = duckdb.connect(str(root / "nbtrack.duckdb"))
    con.execute("CREATE TABLE schema_migrations (name VARCHAR PRIMARY KEY, applied_at BIGINT)")
    name, sql = MIGRATIONS[0]
    for statement in filter(str.strip, sql.split(";")):
        con.execute(statement)
    con.execute("INSERT INTO schema_migrations VALUES (?, 0)", [name])
    con.execute("INSERT INTO experiments VALUES (7, 'kept', NULL, 'active', 0, 0)")
    con.close()
    store = DuckDBStore(str(root))
    try:
        assert store.archive.schema_version() == sorted(n for n, _ in MIGRATIONS)
        assert store.get_experiment("7").name == "kept"
    finally:
        store.close()
