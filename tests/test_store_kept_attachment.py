"""A reader keeps its read-only attachment between reads, yet never holds the file nor reads a stale view."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from procenv import python_env

import nbtrack
from nbtrack.errors import StoreBusy

LOG_A_RUN = """
import sys, nbtrack
nbtrack.set_tracking_uri(sys.argv[1])
with nbtrack.start_run(run_name=sys.argv[2]):
    nbtrack.log_metric("loss", 0.5)
"""

HOLD_OPEN = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
print("open", flush=True)
time.sleep(60)
"""


def _child(store, code: str, *args: str) -> None:
    out = subprocess.run([sys.executable, "-c", code, str(store), *args], capture_output=True, text=True,
                         env=python_env(), timeout=120)
    assert out.returncode == 0, out.stderr


def _names(experiment_ids=("0",)) -> set[str]:
    return set(nbtrack.search_runs(experiment_ids=list(experiment_ids))["tags.mlflow.runName"])


def test_writes_of_other_processes_are_seen_by_the_next_read(store_uri):
    with nbtrack.start_run(run_name="mine"):
        nbtrack.log_metric("loss", 1.0)
    assert _names() == {"mine"}
    assert nbtrack.sql("SELECT count(*) AS n FROM runs")["n"][0] == 1
    for n in range(3):  # each child folds its run in, so the file changes between our reads
        _child(store_uri, LOG_A_RUN, f"child-{n}")
        assert _names() == {"mine", *(f"child-{i}" for i in range(n + 1))}
        assert nbtrack.sql("SELECT count(*) AS n FROM runs")["n"][0] == n + 2


def test_this_process_writes_and_reads_in_turn(store_uri):
    client = nbtrack.MlflowClient()
    for n in range(3):  # a read keeps the attachment; the next write must detach it first
        with nbtrack.start_run() as run:
            nbtrack.log_metric("loss", float(n))
        assert [m.value for m in client.get_metric_history(run.info.run_id, "loss")] == [float(n)]
        assert nbtrack.sql("SELECT count(*) AS n FROM runs")["n"][0] == n + 1
        client.set_tag(run.info.run_id, "seen", "yes")
        assert client.get_run(run.info.run_id).data.tags["seen"] == "yes"


def test_an_idle_reader_holds_no_lock(store_uri):
    with nbtrack.start_run():
        nbtrack.log_metric("loss", 1.0)
    assert len(_names()) == 1
    nbtrack.sql("SELECT 1")
    inode = os.stat(os.path.join(store_uri, "nbtrack.duckdb")).st_ino
    with open("/proc/locks") as f:
        mine = [line for line in f if f":{inode} " in line and f" {os.getpid()} " in line]
    assert mine == []
    code = "import duckdb, sys\nduckdb.connect(sys.argv[1] + '/nbtrack.duckdb').close()\n"
    _child(store_uri, code)  # a read-write open by another program succeeds between our reads


def test_a_program_holding_the_file_still_makes_reads_fail_with_store_busy(store_uri):
    with nbtrack.start_run():
        nbtrack.log_metric("loss", 1.0)
    assert len(_names()) == 1  # the attachment is kept now
    holder = subprocess.Popen([sys.executable, "-c", HOLD_OPEN, os.path.join(store_uri, "nbtrack.duckdb")],
                              stdout=subprocess.PIPE, text=True, env=python_env())
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        with pytest.raises(StoreBusy):
            nbtrack.sql("SELECT count(*) FROM runs")
        with pytest.raises(StoreBusy):
            _names()
    finally:
        holder.kill()
        holder.wait()
    assert len(_names()) == 1 and nbtrack.sql("SELECT count(*) AS n FROM runs")["n"][0] == 1


def test_a_replaced_file_is_attached_again(tmp_path, store_uri):
    with nbtrack.start_run(run_name="old"):
        nbtrack.log_metric("loss", 1.0)
    assert _names() == {"old"}
    other = tmp_path / "other"
    _child(other, LOG_A_RUN, "new")
    os.replace(other / "nbtrack.duckdb", os.path.join(store_uri, "nbtrack.duckdb"))
    assert _names() == {"new"}
    assert list(nbtrack.sql("SELECT run_name FROM runs")["run_name"]) == ["new"]


def test_closing_the_store_lets_this_process_open_the_file_itself(store_uri):
    import duckdb

    with nbtrack.start_run():
        nbtrack.log_metric("loss", 1.0)
    assert len(_names()) == 1 and nbtrack.sql("SELECT count(*) AS n FROM runs")["n"][0] == 1
    nbtrack.MlflowClient().store.close()
    con = duckdb.connect(os.path.join(store_uri, "nbtrack.duckdb"))  # read-write, in this process
    assert con.execute("SELECT count(*) FROM runs").fetchall() == [(1,)]
    con.close()
