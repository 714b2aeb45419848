"""``nbtrack run`` as a user types it: a real subprocess, its exit codes, Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from procenv import python_env

import nbtrack

MLPROJECT = """\
name: cli
entry_points:
  main:
    parameters:
      alpha: {type: float, default: 0.5}
    command: "python train.py {alpha}"
  fail:
    command: "python -c 'raise SystemExit(4)'"
  slow:
    command: "python slow.py"
"""
TRAIN = "import sys, nbtrack\nnbtrack.log_metric('alpha', float(sys.argv[1]))\n"
SLOW = "import os, time\nopen('pid', 'w').write(str(os.getpid()))\ntime.sleep(60)\n"


def nbtrack_cmd(*args: str, **kwargs):
    return subprocess.run([sys.executable, "-m", "nbtrack", *args], capture_output=True, text=True,
                          env=python_env(), timeout=120, **kwargs)


def make(tmp_path: Path) -> Path:
    folder = tmp_path / "proj"
    folder.mkdir()
    for name, text in (("MLproject", MLPROJECT), ("train.py", TRAIN), ("slow.py", SLOW)):
        (folder / name).write_text(text)
    return folder


def test_nbtrack_run_succeeds_fails_and_refuses_with_exit_codes(tmp_path, store_uri):
    folder = make(tmp_path)
    assert store_uri == str(tmp_path / "store")
    out = nbtrack_cmd("run", str(folder), "-P", "alpha=0.25", "--experiment-name", "cli-exp", "--run-name", "ok",
                      "--store", "store", cwd=tmp_path)  # relative to where nbtrack run is typed, not the project
    assert out.returncode == 0, out.stderr
    assert "succeeded" in out.stderr
    (run,) = nbtrack.search_runs(experiment_names=["cli-exp"], output_format="list")
    assert run.info.run_name == "ok" and run.data.metrics == {"alpha": 0.25} and run.data.params == {"alpha": "0.25"}
    failed = nbtrack_cmd("run", str(folder), "-e", "fail")
    assert failed.returncode == 1 and "FAILED" in failed.stderr
    bad = nbtrack_cmd("run", str(folder), "-P", "alpha=notafloat")
    assert bad.returncode == 1 and "'alpha' is a float" in bad.stderr and "Traceback" not in bad.stderr
    assert nbtrack_cmd("run", str(folder), "-P", "alpha").returncode == 2
    missing = nbtrack_cmd("run", str(tmp_path / "nowhere"))
    assert missing.returncode == 1 and "nowhere" in missing.stderr
    statuses = sorted(r.info.status for r in nbtrack.search_runs(search_all_experiments=True, output_format="list"))
    assert statuses == ["FAILED", "FINISHED"]  # refused runs left nothing behind


def test_ctrl_c_kills_the_command_and_ends_the_run_killed(tmp_path, store_uri):
    folder = make(tmp_path)
    proc = subprocess.Popen([sys.executable, "-m", "nbtrack", "run", str(folder), "-e", "slow"],
                            env=python_env(), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (folder / "pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    child = int((folder / "pid").read_text())
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "KILLED" in err
    (run,) = nbtrack.search_runs(search_all_experiments=True, output_format="list")
    assert run.info.status == "KILLED"
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.kill(child, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    else:
        raise AssertionError(f"the project's command (pid {child}) outlived nbtrack run")
