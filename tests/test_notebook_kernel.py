"""``%%track`` in a real Jupyter kernel: saved notebooks, Run-All, restarts, live updates, quickstart."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")

from jupyter_client.manager import KernelManager  # noqa: E402
from nbclient.exceptions import CellExecutionError  # noqa: E402

import nbtrack  # noqa: E402

WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
VIEW_MIME = "application/vnd.nbtrack.view+json"

_FRONT_END_VARS = ("NBTRACK_VIEWS", "NBTRACK_JUPYTER_EXTENSION", "VSCODE_PID", "VSCODE_CWD")


def kernel_env(tmp_path):
    """The environment of a kernel no front end of nbtrack's started (nbtrack/ui/_mime.py use_widgets)."""
    env = {k: v for k, v in os.environ.items() if k not in _FRONT_END_VARS}
    return {**env, "NBTRACK_TRACKING_URI": str(tmp_path / "store")}


def execute(tmp_path, sources, allow_errors=False):
    """Execute a notebook of ``sources`` in a fresh kernel logging to tmp_path/store; save it."""
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    path = tmp_path / "test.ipynb"
    client = nbclient.NotebookClient(nb, timeout=180, kernel_name="python3", allow_errors=allow_errors,
                                     resources={"metadata": {"path": str(tmp_path)}})
    try:
        client.execute(env=kernel_env(tmp_path))
    finally:
        nbformat.write(nb, path)
    return nb, path


def store_runs(tmp_path):
    nbtrack.set_tracking_uri(str(tmp_path / "store"))
    return nbtrack.search_runs(output_format="list", search_all_experiments=True)


def test_ten_cards_make_a_small_notebook_that_reads_without_a_kernel(tmp_path):
    cell = ("%%track --name model-{i} --params lr\n"
            "lr = 0.{i}1\n"
            "for step in range(200):\n"
            "    nbtrack.log_metrics({{'loss': 1 / (step + 1), 'acc': step / 200}}, step=step)\n")
    nb, path = execute(tmp_path, ["%load_ext nbtrack\nimport nbtrack"] + [cell.format(i=i) for i in range(10)])
    assert path.stat().st_size < 1_000_000
    assert path.stat().st_size < 150_000  # in practice: a few KB per card
    assert "widgets" not in nb.metadata
    for code_cell in nb.cells[1:]:
        cards = [o for o in code_cell.outputs if o.output_type == "display_data"]
        assert len(cards) == 1
        # the run_card view's data for nbtrack's JupyterLab extension, its static HTML copy and text:
        # no widget state, no script
        assert set(cards[0].data) == {VIEW_MIME, "text/html", "text/plain"}
        assert "FINISHED" in cards[0].data["text/plain"]
        assert "<svg" in cards[0].data["text/html"] and "<script" not in cards[0].data["text/html"]
        view = cards[0].data[VIEW_MIME]
        assert view["view"] == "run_card" and view["data"]["status"] == "FINISHED"
        assert view["data"]["params"] == {"lr": f"0.{code_cell.source.split('model-')[1][0]}1"}
        assert len(view["data"]["history"]["loss"]) <= 60  # thinned: a few KB per card
        assert "<script" not in json.dumps(view) and len(json.dumps(view)) < 10_000
        assert WIDGET_MIME not in cards[0].data
    runs = store_runs(tmp_path)
    assert sorted(r.info.run_name for r in runs) == [f"model-{i}" for i in range(10)]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert {r.data.tags["mlflow.source.type"] for r in runs} == {"NOTEBOOK"}


def test_failed_tracked_cell_stops_run_all(tmp_path):
    with pytest.raises(CellExecutionError):
        execute(tmp_path, ["%load_ext nbtrack", "%%track --name fails\n1 / 0", "print('after')"])
    nb = nbformat.read(tmp_path / "test.ipynb", as_version=4)
    errors = [o for o in nb.cells[1].outputs if o.output_type == "error"]
    assert len(errors) == 1 and errors[0].ename == "ZeroDivisionError"
    assert nb.cells[2].outputs == []  # never ran
    (run,) = store_runs(tmp_path)
    assert run.info.status == "FAILED"


def test_stray_run_of_a_failed_cell_is_ended_in_a_kernel(tmp_path):
    nb, _ = execute(tmp_path, [
        "%load_ext nbtrack\nimport nbtrack",
        "run = nbtrack.start_run(run_name='stray')\nraise RuntimeError('boom')",
        "run = nbtrack.start_run(run_name='next')\nnbtrack.end_run()",
    ], allow_errors=True)
    assert not [o for o in nb.cells[2].outputs if o.output_type == "error"]
    runs = {r.info.run_name: r.info.status for r in store_runs(tmp_path)}
    assert runs == {"stray": "FAILED", "next": "FINISHED"}


def iopub_until_idle(kc, msg_id, timeout=60):
    messages = []
    while True:
        try:
            msg = kc.get_iopub_msg(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"kernel went quiet; got {[m['msg_type'] for m in messages]}") from None
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        messages.append(msg)
        if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
            return messages


@pytest.fixture
def kernel(tmp_path):
    km = KernelManager(kernel_name="python3")
    km.start_kernel(cwd=str(tmp_path), env=kernel_env(tmp_path))
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield km, kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def test_live_card_updates_in_place_in_a_kernel(kernel):
    _, kc = kernel
    iopub_until_idle(kc, kc.execute("%load_ext nbtrack\nimport nbtrack, time"))
    code = ("%%track --name live\n"
            "for step in range(15):\n"
            "    nbtrack.log_metric('loss', 1 / (step + 1), step=step)\n"
            "    time.sleep(0.1)\n")
    messages = iopub_until_idle(kc, kc.execute(code))
    kinds = [m["msg_type"] for m in messages if m["msg_type"] in ("display_data", "update_display_data")]
    assert kinds[0] == "display_data" and kinds.count("display_data") == 1
    assert 2 <= kinds.count("update_display_data") <= 15  # live, throttled (the cell runs ~1.5 s)
    display_ids = {m["content"]["transient"]["display_id"] for m in messages
                   if m["msg_type"] in ("display_data", "update_display_data")}
    assert len(display_ids) == 1
    updates = [m["content"]["data"] for m in messages if m["msg_type"] == "update_display_data"]
    last = updates[-1]
    assert "FINISHED" in last["text/plain"] and "step 14" in last["text/html"]
    # a kernel no front end of nbtrack's started cannot tell who draws the card: the updates carry
    # the extension's view and the static copy, and both are live while the cell runs
    running = [u for u in updates[:-1] if "RUNNING" in u["text/plain"]]
    assert running and all(u[VIEW_MIME]["data"]["status"] == "RUNNING" for u in running)
    assert last[VIEW_MIME]["data"]["status"] == "FINISHED" and last[VIEW_MIME]["data"]["steps"]["loss"] == 14


def execute_as_jupyterlab(kc, code, cell_id):
    """Send ``code`` the way JupyterLab does: the cell id in the request's metadata."""
    msg = kc.session.msg("execute_request", {"code": code, "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False},
                         metadata={"cellId": cell_id})
    kc.shell_channel.send(msg)
    return iopub_until_idle(kc, msg["header"]["msg_id"])


def test_cell_ids_from_jupyterlab_tag_runs_and_reruns(kernel, tmp_path):
    _, kc = kernel
    iopub_until_idle(kc, kc.execute("%load_ext nbtrack\nimport nbtrack"))
    for _ in range(2):
        execute_as_jupyterlab(kc, "%%track --quiet\n1 / 0", "cell-a")  # fails twice
    execute_as_jupyterlab(kc, "run = nbtrack.start_run(run_name='open')", "cell-b")
    messages = execute_as_jupyterlab(kc, "run = nbtrack.start_run(run_name='open')", "cell-b")
    assert not [m for m in messages if m["msg_type"] == "error"]  # no "already active"
    runs = store_runs(tmp_path)
    by_cell = sorted((r.data.tags["nbtrack.cell_id"], r.info.status) for r in runs)
    assert by_cell == [("cell-a", "FAILED"), ("cell-a", "FAILED"), ("cell-b", "FINISHED"), ("cell-b", "RUNNING")]
    counts = sorted(int(r.data.tags["nbtrack.execution_count"]) for r in runs)
    assert counts == [2, 3, 4, 5]  # In[2] .. In[5]: the numbers the notebook shows


def test_runs_of_a_restarted_kernel_are_marked_killed(kernel, tmp_path):
    km, kc = kernel
    messages = iopub_until_idle(kc, kc.execute(
        "import nbtrack\nrun = nbtrack.start_run(run_name='interrupted')\nnbtrack.flush()\nprint(run.info.run_id)"))
    printed = "".join(m["content"]["text"] for m in messages if m["msg_type"] == "stream")
    run_id = printed.split()[0]
    assert "%load_ext nbtrack" in printed  # `import nbtrack` in a kernel suggests the extension
    km.restart_kernel(now=True)
    nbtrack.set_tracking_uri(str(tmp_path / "store"))
    assert nbtrack.get_run(run_id).info.status == "KILLED"


def test_quickstart_command_runs_the_notebook(tmp_path):
    out = subprocess.run([sys.executable, "-m", "nbtrack", "quickstart", "--dir", str(tmp_path / "qs")],
                         capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    assert "jupyter" in out.stdout and str(tmp_path / "qs" / ".nbtrack") in out.stdout
    nb = nbformat.read(tmp_path / "qs" / "quickstart.ipynb", as_version=4)
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert nb.metadata["kernelspec"]["name"] == "python3"
    nbtrack.set_tracking_uri(str(tmp_path / "qs" / ".nbtrack"))
    runs = nbtrack.search_runs(experiment_names=["quickstart"], output_format="list")
    assert len(runs) >= 5 and {r.info.status for r in runs} == {"FINISHED"}
