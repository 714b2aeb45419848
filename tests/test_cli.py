"""The ``nbtrack`` command and ``python -m nbtrack``."""

from __future__ import annotations

import subprocess
import sys

from procenv import python_env

import nbtrack


def test_python_dash_m_and_console_script_work(store_uri):
    with nbtrack.start_run(run_name="cli-run"):
        nbtrack.log_metric("acc", 0.75)
        nbtrack.log_param("model", "rf")
    nbtrack.flush()
    out = subprocess.run([sys.executable, "-m", "nbtrack", "runs", "--store", store_uri,
                          "--filter", "metrics.acc > 0.5"], capture_output=True, text=True,
                         env=python_env(), check=True)
    assert "cli-run" in out.stdout and "0.75" in out.stdout and "rf" in out.stdout
    out = subprocess.run([sys.executable, "-m", "nbtrack", "experiments", "--store", store_uri],
                         capture_output=True, text=True, env=python_env(), check=True)
    assert "Default" in out.stdout
    out = subprocess.run([sys.executable, "-m", "nbtrack", "--help"], capture_output=True, text=True,
                         env=python_env(), check=True)
    assert "quickstart" in out.stdout


def test_bad_filter_on_the_command_line_is_one_clear_line(store_uri):
    nbtrack.create_experiment("exists")  # creates the store
    out = subprocess.run([sys.executable, "-m", "nbtrack", "runs", "list", "--store", store_uri,
                          "--filter", "metrics.acc >> 1"], capture_output=True, text=True, env=python_env())
    assert out.returncode == 1
    assert "unknown comparator" in out.stderr and "Traceback" not in out.stderr


def test_a_mistyped_store_is_an_error_naming_it_and_creates_nothing(tmp_path):
    typo = tmp_path / "stroe" / "x"
    out = subprocess.run([sys.executable, "-m", "nbtrack", "runs", "--store", str(typo)], capture_output=True,
                         text=True, env=python_env())
    assert out.returncode == 3 and str(typo) in out.stderr and "Traceback" not in out.stderr
    assert not (tmp_path / "stroe").exists()
