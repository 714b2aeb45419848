"""Notebook context on runs, and runs left open by cells (re-runs, failures, interrupts)."""

from __future__ import annotations

import http.server
import json
import os
import platform
import shutil
import subprocess
import sys
import threading

import pytest
from ipshell import run, runs

import nbtrack
from nbtrack.notebook import _context


def tags_of(ip, cell_id=None, code="%%track --name t --quiet\npass"):
    result, _ = run(ip, code, cell_id=cell_id)
    assert result.success, result.error_in_exec
    return runs()["t"].data.tags, result


# -- identity ---------------------------------------------------------------------------------
def test_cell_identity_tags(ip):
    tags, result = tags_of(ip, cell_id="c0ffee")
    assert tags["nbtrack.cell_id"] == "c0ffee"
    assert tags["nbtrack.execution_count"] == str(result.execution_count)
    assert len(tags["nbtrack.cell_execution"]) == 32
    assert tags["nbtrack.python"] == platform.python_version()
    assert "nbtrack==" in tags["nbtrack.packages"]


def test_missing_identities_leave_tags_out(ip, monkeypatch):
    # As in a kernel (argv[0] is ipykernel_launcher.py), not pytest's script inside this checkout.
    monkeypatch.setattr("sys.argv", ["ipykernel_launcher.py"])
    tags, _ = tags_of(ip)  # plain IPython: no cell id, no notebook, no kernel, not in git
    for key in ("nbtrack.cell_id", "nbtrack.kernel_id", "nbtrack.notebook.found_by",
                "mlflow.source.git.commit", "nbtrack.git.dirty"):
        assert key not in tags
    assert tags["mlflow.source.type"] == "LOCAL"


def test_imported_packages_are_recorded(ip):
    import numpy

    tags, _ = tags_of(ip)
    assert f"numpy=={numpy.__version__}" in tags["nbtrack.packages"].split()


def test_notebook_path_from_jpy_session_name(ip, tmp_path, monkeypatch):
    notebook = tmp_path / "train.ipynb"
    notebook.write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    tags, _ = tags_of(ip)
    assert tags["mlflow.source.name"] == str(notebook)
    assert tags["mlflow.source.type"] == "NOTEBOOK"
    assert tags["nbtrack.notebook.found_by"] == "JPY_SESSION_NAME"


def test_relative_session_name_resolves_beside_the_kernel(ip, tmp_path, monkeypatch):
    (tmp_path / "nb.ipynb").write_text("{}")
    monkeypatch.setenv("JPY_SESSION_NAME", "some/server/root/nb.ipynb")
    tags, _ = tags_of(ip)
    assert tags["mlflow.source.name"] == str(tmp_path / "nb.ipynb")


@pytest.mark.parametrize("variable", ["__session__", "__vsc_ipynb_file__"])
def test_notebook_path_from_the_user_namespace(ip, tmp_path, variable):
    ip.user_ns[variable] = str(tmp_path / "x.ipynb")
    tags, _ = tags_of(ip)
    assert tags["mlflow.source.name"] == str(tmp_path / "x.ipynb")
    assert tags["nbtrack.notebook.found_by"] == variable


def test_kernel_id_from_the_connection_file(ip, monkeypatch):
    kernel = "6f1c2a9e-1d2b-4c3d-9e8f-0123456789ab"
    monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", f"/run/jupyter/kernel-{kernel}.json"])
    tags, _ = tags_of(ip)
    assert tags["nbtrack.kernel_id"] == kernel


def test_notebook_path_from_the_jupyter_server_sessions_api(ip, tmp_path, monkeypatch):
    kernel = "0a1b2c3d-0000-4000-8000-00000000beef"
    seen = []

    class Sessions(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            seen.append((self.path, self.headers.get("Authorization")))
            body = json.dumps([{"path": "other.ipynb", "kernel": {"id": "nope"}},
                               {"path": "work/exp.ipynb", "kernel": {"id": kernel}}]).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Sessions)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        runtime = tmp_path / "runtime"
        runtime.mkdir()
        (runtime / "jpserver-1.json").write_text(json.dumps({
            "url": f"http://127.0.0.1:{server.server_port}/", "token": "secret", "pid": os.getpid(),
            "root_dir": "/srv/notebooks"}))
        monkeypatch.setenv("JUPYTER_RUNTIME_DIR", str(runtime))
        monkeypatch.setattr(sys, "argv", ["ipykernel_launcher.py", "-f", f"/r/kernel-{kernel}.json"])
        tags, _ = tags_of(ip)
    finally:
        server.shutdown()
    assert seen == [("/api/sessions", "token secret")]
    assert tags["mlflow.source.name"] == "/srv/notebooks/work/exp.ipynb"
    assert tags["nbtrack.notebook.found_by"] == "jupyter-server"


@pytest.mark.skipif(shutil.which("git") is None, reason="needs git")
def test_git_commit_branch_and_dirty_state(ip, tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo)]
    subprocess.run([*git, "init", "-q", "-b", "main"], check=True)
    (repo / "model.py").write_text("A = 1\n")
    subprocess.run([*git, "add", "model.py"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "first"], check=True)
    head = subprocess.run([*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    os.chdir(repo)
    tags, _ = tags_of(ip)
    assert tags["mlflow.source.git.commit"] == head
    assert tags["mlflow.source.git.branch"] == "main"
    assert tags["nbtrack.git.dirty"] == "false"
    (repo / "model.py").write_text("A = 2\n")  # an edited module, not yet committed
    run(ip, "%%track --name t2 --quiet\npass")
    assert runs()["t2"].data.tags["nbtrack.git.dirty"] == "true"


def test_a_failing_provider_does_not_stop_the_run(ip, monkeypatch):
    def broken(shell):
        raise RuntimeError("no notebook for you")

    monkeypatch.setattr(_context, "notebook_path", broken)
    result, _ = run(ip, "%%track --name t --quiet\npass")
    assert result.success
    assert runs()["t"].info.status == "FINISHED"


def test_bare_runs_get_the_cell_source_too(ip):
    code = "for i in range(2):\n    with nbtrack.start_run(run_name=f'loop{i}'):\n        pass"
    run(ip, code, cell_id="loop-cell")
    client = nbtrack.MlflowClient()
    for name in ("loop0", "loop1"):
        found = runs()[name]
        assert found.data.tags["nbtrack.cell_id"] == "loop-cell"
        with open(client.download_artifacts(found.info.run_id, "cell/source.py")) as f:
            assert f.read() == code


# -- runs left open by cells ---------------------------------------------------------------------
def test_run_of_a_failed_cell_is_ended_failed(ip):
    result, out = run(ip, "r = nbtrack.start_run(run_name='stray')\n1 / 0", cell_id="a")
    assert not result.success
    assert nbtrack.active_run() is None
    assert "left open as FAILED" in out.stdout
    assert runs()["stray"].info.status == "FAILED"
    result, _ = run(ip, "r = nbtrack.start_run(run_name='next')", cell_id="b")
    assert result.success  # no "Run ... is already active"


def test_run_of_an_interrupted_cell_is_ended_killed(ip):
    run(ip, "r = nbtrack.start_run(run_name='stray')\nraise KeyboardInterrupt", cell_id="a")
    assert nbtrack.active_run() is None
    assert runs()["stray"].info.status == "KILLED"


def test_run_started_in_one_cell_is_used_by_later_cells(ip):
    run(ip, "r = nbtrack.start_run(run_name='long')", cell_id="start")
    run(ip, "nbtrack.log_metric('loss', 0.5, step=1)", cell_id="train")
    result, _ = run(ip, "nbtrack.log_metric('loss', 0.25, step=2)", cell_id="train-more")
    assert result.success
    assert nbtrack.active_run().info.run_name == "long"
    nbtrack.end_run()
    assert runs()["long"].data.metrics == {"loss": 0.25}


def test_a_later_failing_cell_does_not_end_an_earlier_run(ip):
    run(ip, "r = nbtrack.start_run(run_name='long')", cell_id="start")
    result, _ = run(ip, "1 / 0", cell_id="oops")
    assert not result.success
    assert nbtrack.active_run().info.run_name == "long"


@pytest.mark.parametrize("cell_id", ["start", None])
def test_rerunning_the_cell_that_started_a_run_finishes_it_first(ip, cell_id):
    code = "r = nbtrack.start_run(run_name=NAME)"
    ip.user_ns["NAME"] = "first"
    run(ip, code, cell_id=cell_id)
    run(ip, "nbtrack.start_run(run_name='child', nested=True)", cell_id="child-cell")
    ip.user_ns["NAME"] = "second"
    result, out = run(ip, code, cell_id=cell_id)
    assert result.success, result.error_in_exec
    assert "left open by the previous execution of this cell" in out.stdout
    assert nbtrack.active_run().info.run_name == "second"
    nbtrack.end_run()
    found = runs()
    assert found["first"].info.status == "FINISHED"
    assert found["child"].info.status == "FINISHED"
    if cell_id:
        assert found["first"].data.tags["nbtrack.cell_id"] == found["second"].data.tags["nbtrack.cell_id"]


def test_another_cell_starting_a_run_still_gets_mlflows_error(ip):
    run(ip, "r = nbtrack.start_run(run_name='one')", cell_id="a")
    result, _ = run(ip, "nbtrack.start_run(run_name='two')", cell_id="b")
    assert "already active" in str(result.error_in_exec)
    assert nbtrack.active_run().info.run_name == "one"


def test_runs_of_a_dead_process_are_marked_killed(tmp_path):
    """A kernel that dies (restart, crash) leaves no RUNNING run behind."""
    store = str(tmp_path / "store")
    code = (f"import os, nbtrack; nbtrack.set_tracking_uri({store!r}); r = nbtrack.start_run(run_name='dead'); "
            "nbtrack.flush(); print(r.info.run_id, flush=True); os._exit(0)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    run_id = done.stdout.strip()
    nbtrack.set_tracking_uri(store)
    assert nbtrack.get_run(run_id).info.status == "KILLED"
