"""A process killed mid-run: what it flushed is kept and the run is marked KILLED, not RUNNING."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
from procenv import python_env

import nbtrack

PROCS = Path(__file__).parent / "procs"


@pytest.mark.slow
def test_sigkill_mid_run_keeps_flushed_points_and_marks_killed(tmp_path):
    store = str(tmp_path / "s")
    proc = subprocess.Popen([sys.executable, str(PROCS / "killed.py"), store], stdout=subprocess.PIPE,
                            text=True, env=python_env())
    assert proc.stdout is not None
    run_id = proc.stdout.readline().strip()
    durable = 0
    while durable < 3000:
        durable = int(proc.stdout.readline())
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)

    nbtrack.set_tracking_uri(store)
    run = nbtrack.get_run(run_id)
    assert run.info.status == "KILLED"
    assert run.info.end_time is not None
    steps = [m.step for m in nbtrack.MlflowClient().get_metric_history(run_id, "loss")]
    assert len(steps) >= durable                       # everything flushed before the kill
    assert len(steps) == len(set(steps))               # nothing twice
    assert steps == list(range(len(steps)))            # and no holes
    assert nbtrack.search_runs(experiment_ids=["0"], filter_string="attributes.status = 'RUNNING'").empty


def test_runs_still_active_at_exit_are_ended(tmp_path):
    store = str(tmp_path / "s")
    code = ("import sys, nbtrack\nnbtrack.set_tracking_uri(sys.argv[1])\n"
            "r = nbtrack.start_run()\nnbtrack.log_metric('m', 3.0)\nprint(r.info.run_id)\n")
    out = subprocess.run([sys.executable, "-c", code, store], capture_output=True, text=True,
                         env=python_env(), timeout=120, check=True)
    assert "Traceback" not in out.stderr and "leaked" not in out.stderr, out.stderr
    nbtrack.set_tracking_uri(store)
    run = nbtrack.get_run(out.stdout.strip())
    assert run.info.status == "FINISHED" and run.data.metrics == {"m": 3.0}


def test_uncaught_exception_at_exit_ends_the_run_failed(tmp_path):
    store = str(tmp_path / "s")
    code = ("import sys, nbtrack\nnbtrack.set_tracking_uri(sys.argv[1])\n"
            "r = nbtrack.start_run()\nprint(r.info.run_id, flush=True)\nraise SystemError('boom')\n")
    out = subprocess.run([sys.executable, "-c", code, store], capture_output=True, text=True,
                         env=python_env(), timeout=120)
    assert out.returncode == 1 and "boom" in out.stderr
    nbtrack.set_tracking_uri(store)
    assert nbtrack.get_run(out.stdout.strip()).info.status == "FAILED"
