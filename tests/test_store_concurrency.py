"""Many processes on one store: no lock errors, nothing lost or duplicated, readers keep up."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from procenv import python_env

import nbtrack

PROCS = Path(__file__).parent / "procs"


@pytest.mark.slow
def test_four_writers_and_a_reader_lose_nothing(tmp_path):
    store = str(tmp_path / "shared")
    stop = tmp_path / "stop"
    env = python_env()
    reader = subprocess.Popen([sys.executable, str(PROCS / "reader.py"), store, str(stop)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    writers = [subprocess.Popen([sys.executable, str(PROCS / "writer.py"), store, f"w{i}", "5", "20000"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for i in range(4)]
    outs = [w.communicate(timeout=240) for w in writers]
    time.sleep(1.0)  # let the reader see the final state
    stop.write_text("")
    reader_out, reader_err = reader.communicate(timeout=60)
    for w, (_, err) in zip(writers, outs, strict=True):
        assert w.returncode == 0, err
        assert "Error" not in err, err
    assert reader.returncode == 0, reader_err
    stats = json.loads(reader_out)
    assert stats["n_errors"] == 0, stats["errors"]
    assert stats["polls"] > 5

    nbtrack.set_tracking_uri(store)
    per_run = nbtrack.sql("""
        SELECT r.run_name, count(*) AS n, count(DISTINCT m.step) AS distinct_steps, r.status
        FROM metrics m JOIN runs r USING (run_id) GROUP BY r.run_name, r.status ORDER BY r.run_name""")
    assert len(per_run) == 20
    assert (per_run["n"] == 20000).all(), per_run            # every point is there ...
    assert (per_run["distinct_steps"] == 20000).all()         # ... exactly once
    assert (per_run["status"] == "FINISHED").all()
    params = nbtrack.sql("SELECT count(*) AS n FROM params")
    assert int(params["n"][0]) == 40
    # The reader saw the data grow while it was written, never more than 2 s behind.
    counts = stats["counts"]
    assert counts[-1] == 400_000 and len(set(counts)) > 3
    lags = sorted(stats["lags"])
    assert lags and lags[int(len(lags) * 0.9)] < 2000, lags[-10:]


@pytest.mark.slow
def test_four_processes_creating_one_new_store_at_once(tmp_path):
    store = str(tmp_path / "fresh")
    code = ("import sys, nbtrack; nbtrack.set_tracking_uri(sys.argv[1]); "
            "nbtrack.set_experiment('race');\n"
            "with nbtrack.start_run(): nbtrack.log_metric('x', 1.0)\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, store], stderr=subprocess.PIPE, text=True,
                              env=python_env()) for _ in range(4)]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
    nbtrack.set_tracking_uri(store)
    experiments = [e.name for e in nbtrack.search_experiments()]
    assert sorted(experiments) == ["Default", "race"]
    runs = nbtrack.sql("SELECT count(*) AS n FROM runs")
    assert int(runs["n"][0]) == 4


_COUNT_LOSS = """
import sys, nbtrack
nbtrack.set_tracking_uri(sys.argv[1])
print(nbtrack.sql(
    "SELECT r.run_name, count(*) AS n, count(DISTINCT m.step) AS d, any_value(r.status) AS s "
    "FROM metrics m JOIN runs r USING (run_id) WHERE m.key = 'loss' "
    "GROUP BY r.run_name ORDER BY r.run_name").to_json(orient="records"))
"""


@pytest.mark.slow
def test_a_writer_logging_poisoned_values_in_a_four_writer_run_loses_nothing(tmp_path):
    """Values no store can hold are refused at the call; every valid point of all four writers,
    the poisoned one included, is in the store, and the store reads in a fresh process."""
    store = str(tmp_path / "shared")
    env = python_env()
    writers = [subprocess.Popen([sys.executable, str(PROCS / "writer.py"), store, f"w{i}", "2", "10000",
                                 *(["poison"] if i == 0 else [])],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
               for i in range(4)]
    outs = [w.communicate(timeout=240) for w in writers]
    for w, (_, err) in zip(writers, outs, strict=True):
        assert w.returncode == 0, err
    assert "tried=16 refused=16" in outs[0][0], outs[0]
    assert "dropped" not in outs[0][1], outs[0][1]  # refused at the call, never dropped at a flush
    out = subprocess.run([sys.executable, "-c", _COUNT_LOSS, store], capture_output=True, text=True,
                         env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    rows = json.loads(out.stdout)
    assert [r["run_name"] for r in rows] == [f"w{i}-{r}" for i in range(4) for r in range(2)]
    assert all(r["n"] == 10000 and r["d"] == 10000 and r["s"] == "FINISHED" for r in rows), rows
    assert not os.path.exists(os.path.join(store, "quarantine"))
