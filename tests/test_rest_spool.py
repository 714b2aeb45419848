"""Run data logged while the tracking server is down is spooled and arrives once it is back:
in order, exactly once. The server process is really killed (SIGKILL of its process group, by
id) and restarted on the same port over the same data; the real mlflow server and nbtrack server."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from procenv import python_env

import nbtrack
from nbtrack.errors import ServerUnreachable
from nbtrack.store import open_store
from tests.tracking_servers import KINDS, mlflow_read, shared_server

pytestmark = pytest.mark.timeout(300)


@pytest.fixture(scope="module", params=KINDS)
def server(request):
    return shared_server(request.param, request)


@pytest.fixture
def remote(server, monkeypatch, tmp_path):
    if server.proc is None:
        server.start()
    monkeypatch.setenv("NBTRACK_TRACKING_URI", server.url)
    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    yield server
    open_store(server.url).close(timeout=5)


_HISTORY = """
import json, mlflow
c = mlflow.MlflowClient()
r = c.get_run("{rid}")
print(json.dumps(dict(status=r.info.status, params=r.data.params, tags=r.data.tags,
                      steps=[m.step for m in c.get_metric_history("{rid}", "loss")])))
"""


def _spooled(folder) -> int:
    return sum(len(p.read_text().splitlines()) for p in folder.glob("*.jsonl"))


def test_points_logged_during_an_outage_arrive_in_order_exactly_once(remote, tmp_path):
    nbtrack.set_experiment("outage")
    run = nbtrack.start_run(run_name="through-an-outage")
    rid = run.info.run_id
    for step in range(500):
        nbtrack.log_metric("loss", float(step), step=step)
    nbtrack.flush()
    remote.stop()  # kill -9: connections refused from now on
    started = time.monotonic()
    for step in range(500, 3500):
        nbtrack.log_metric("loss", float(step), step=step)
    nbtrack.log_param("phase", "outage")
    nbtrack.set_tag("during", "outage")
    nbtrack.end_run()  # the status change waits in line behind the points
    assert time.monotonic() - started < 1.0  # logging never waits for the server
    deadline = time.monotonic() + 20
    while _spooled(tmp_path / "spool") < 4 and time.monotonic() < deadline:
        time.sleep(0.1)  # the background sender finds the server gone and spools
    assert _spooled(tmp_path / "spool") >= 4  # 3,000 points, then the param and tag, then the status
    with pytest.raises(ServerUnreachable, match="wait in"):
        open_store(remote.url).writer.flush(timeout=1)
    remote.start()
    nbtrack.flush()  # returns once the server has acknowledged everything
    assert _spooled(tmp_path / "spool") == 0
    seen = json.loads(mlflow_read(remote.url, _HISTORY.format(rid=rid)))
    assert seen["steps"] == list(range(3500))  # every point once, none twice
    assert seen["status"] == "FINISHED" and seen["params"] == {"phase": "outage"}
    assert seen["tags"]["during"] == "outage"
    history = nbtrack.MlflowClient().get_metric_history(rid, "loss")
    assert [m.value for m in history] == [float(s) for s in range(3500)]


_WRITER = """
import sys, nbtrack
nbtrack.set_experiment("orphan")
run = nbtrack.start_run()
nbtrack.log_metric("loss", 0.0, step=0)
nbtrack.flush()
print(run.info.run_id, flush=True)
sys.stdin.readline()  # the test stops the server now
for step in range(1, 1200):
    nbtrack.log_metric("loss", float(step), step=step)
nbtrack.end_run()
"""


@pytest.mark.parametrize("server", ["nbtrack"], indirect=True)  # client-side; restarting mlflow costs 17 s
def test_a_spool_left_by_a_process_that_exited_is_sent_by_the_next_one(remote, tmp_path):
    env = {**python_env(), "NBTRACK_TRACKING_URI": remote.url, "NBTRACK_SPOOL_DIR": str(tmp_path / "spool"),
           "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "NBTRACK_EXIT_FLUSH_TIMEOUT": "1"}
    writer = subprocess.Popen([sys.executable, "-c", _WRITER], env=env, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert writer.stdout is not None and writer.stdin is not None
    rid = writer.stdout.readline().strip()
    assert rid, writer.stderr.read() if writer.stderr else ""
    remote.stop()
    writer.stdin.write("go\n")
    writer.stdin.close()
    assert writer.wait(timeout=60) == 0
    assert _spooled(tmp_path / "spool") >= 2  # its points and its status, left behind
    remote.start()
    nbtrack.flush()  # this process's client adopts the dead writer's spool when it opens, and sends it
    assert _spooled(tmp_path / "spool") == 0
    seen = json.loads(mlflow_read(remote.url, _HISTORY.format(rid=rid)))
    assert seen["steps"] == list(range(1200)) and seen["status"] == "FINISHED"


def test_a_replay_interrupted_after_an_acknowledgement_resumes_after_it(tmp_path, monkeypatch):
    from nbtrack.store.rest.spool import Spool

    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(tmp_path))
    spool = Spool("http://127.0.0.1:1")
    spool.append([("runs/log-batch", {"n": i}) for i in range(3)])
    offset, _, body = next(spool.pending())
    assert body == {"n": 0}
    spool.ack(offset)  # the server acknowledged the first request; then the process died
    with open(spool.path, "ab") as f:
        f.write(b'{"endpoint": "runs/log-batch", "body": {"n": 9')  # a torn append from the crash
    reopened = Spool("http://127.0.0.1:1", spool.path)
    assert [b["n"] for _, _, b in reopened.pending()] == [1, 2]  # not 0 again, not the torn line
    reopened.append([("runs/update", {"n": 3})])  # starts on a fresh line after the torn one
    assert [b["n"] for _, _, b in reopened.pending()] == [1, 2, 3]
    for end, _, _ in list(reopened.pending()):
        reopened.ack(end)
    assert not reopened and not list(tmp_path.iterdir())  # all acknowledged: the files are gone


@pytest.mark.parametrize("server", ["nbtrack"], indirect=True)
def test_a_forked_child_does_not_send_its_parents_queue_again(remote, monkeypatch):
    import os

    monkeypatch.setenv("NBTRACK_FLUSH_INTERVAL", "60")  # the parent's points are still queued at the fork
    nbtrack.set_experiment("fork")
    with nbtrack.start_run() as run:
        for step in range(10):
            nbtrack.log_metric("loss", float(step), step=step)
        pid = os.fork()
        if pid == 0:  # the child logs its own points and leaves
            code = 1
            try:
                for step in range(10, 15):
                    nbtrack.MlflowClient().log_metric(run.info.run_id, "loss", float(step), step=step)
                nbtrack.flush()
                code = 0
            finally:
                os._exit(code)
        assert os.waitpid(pid, 0)[1] == 0
    nbtrack.flush()
    steps = [m.step for m in nbtrack.MlflowClient().get_metric_history(run.info.run_id, "loss")]
    assert steps == list(range(15))  # the parent's ten once, the child's five once


class _Busy(BaseHTTPRequestHandler):
    """A real HTTP peer that answers log-batch with 503 while ``busy``, then records what it accepts."""

    busy = True
    accepted: list[dict] = []

    def _answer(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:  # runs/get: a live run
        info = {"run_id": "r1", "experiment_id": "0", "status": "RUNNING", "lifecycle_stage": "active",
                "artifact_uri": "mlflow-artifacts:/0/r1/artifacts"}
        self._answer(200, {"run": {"info": info, "data": {}}})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if type(self).busy:
            self._answer(503, {"error_code": "TEMPORARILY_UNAVAILABLE", "message": "busy"})
            return
        type(self).accepted.append(body)
        self._answer(200, {})

    def log_message(self, *args: object) -> None:
        pass


def test_a_server_that_stays_busy_gets_the_points_later_not_never(tmp_path, monkeypatch):
    from nbtrack.store.rest.store import RestStore

    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(tmp_path / "spool"))
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Busy)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    store = RestStore(f"http://127.0.0.1:{httpd.server_port}")
    try:
        for step in range(10):
            store.log_metric("r1", "loss", float(step), 1000 + step, step)
        deadline = time.monotonic() + 20
        while _spooled(tmp_path / "spool") == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert _spooled(tmp_path / "spool") == 1 and _Busy.accepted == []  # kept, not dropped
        _Busy.busy = False
        store.flush()
        steps = [m["step"] for body in _Busy.accepted for m in body.get("metrics", [])]
        assert steps == list(range(10))
    finally:
        store.close(timeout=1)
        httpd.shutdown()


@pytest.mark.parametrize("server", ["nbtrack"], indirect=True)
def test_a_tracked_cell_ends_promptly_when_the_server_went_away(remote, ip, tmp_path):
    nbtrack.set_experiment("cells")
    ip.user_ns["outage"] = remote.stop
    ip.user_ns["clock"] = time.monotonic
    ip.run_cell_magic("track", "--name offline --quiet",
                      "for i in range(100):\n    nbtrack.log_metric('m', float(i), step=i)\n"
                      "outage()\nstopped = clock()")
    ended = time.monotonic() - ip.user_ns["stopped"]
    assert ended < 5  # the cell's end does not wait for the server: its data is in the spool
    assert _spooled(tmp_path / "spool") >= 2
    remote.start()
    nbtrack.flush()
    run = nbtrack.last_active_run()
    assert run.info.status == "FINISHED" and run.info.run_name == "offline"
    assert [m.step for m in nbtrack.MlflowClient().get_metric_history(run.info.run_id, "m")] == list(range(100))
