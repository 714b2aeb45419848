"""Team scale on PostgreSQL: several processes migrate one database at once, and two ``nbtrack server``
replicas over one database answer requests dealt to them in turn, as a round-robin load balancer
would; every request reads what the previous one wrote through the other replica.

Real components only: the session's throwaway PostgreSQL cluster (tests/pg_fixtures.py), server
processes on loopback ports, HTTP through httpx.
"""

from __future__ import annotations

import itertools
import subprocess
import sys
import uuid

import pytest
from procenv import python_env

from tests.pg_fixtures import pg_cluster, pg_uri
from tests.server_fixtures import start_server, stop_server

httpx = pytest.importorskip("httpx")
pytest.importorskip("psycopg")

API = "/api/2.0/mlflow/"


def test_processes_migrating_an_empty_database_at_once_take_turns(tmp_path):
    """MLflow's SQLite store broke when two processes created it at once; here four
    ``nbtrack db upgrade`` run together on an empty database and each migration is applied once."""
    cluster = pg_cluster()
    name = f"empty_{uuid.uuid4().hex[:8]}"
    cluster.execute(f"CREATE DATABASE {name}")  # no template: nothing migrated yet
    uri = cluster.uri(name)
    procs = [subprocess.Popen([sys.executable, "-m", "nbtrack", "db", "upgrade", uri, "--files-root",
                               str(tmp_path / "files")], env=python_env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], outs
    from nbtrack.store.postgres.schema import MIGRATIONS, applied

    assert applied(uri) == [n for n, _ in MIGRATIONS]
    applied_by = [int(out.split("applied ", 1)[1].split(" ", 1)[0]) for out, _ in outs]
    assert sum(applied_by) == len(MIGRATIONS)  # each migration applied by exactly one of them
    again = subprocess.run([sys.executable, "-m", "nbtrack", "db", "upgrade", uri], env=python_env(),
                           capture_output=True, text=True, check=True)
    assert "applied 0 migration(s)" in again.stdout and str(tmp_path / "files") in again.stdout


def test_db_upgrade_refuses_what_is_not_a_reachable_postgresql_database(tmp_path):
    bad = subprocess.run([sys.executable, "-m", "nbtrack", "db", "upgrade", str(tmp_path)], env=python_env(),
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "is not a PostgreSQL URI" in bad.stderr and "Traceback" not in bad.stderr
    port = pg_cluster().port
    gone = subprocess.run([sys.executable, "-m", "nbtrack", "db", "upgrade",
                           f"postgresql://nb:secret@127.0.0.1:{port}/no_such_db"], env=python_env(),
                          capture_output=True, text=True)
    assert gone.returncode == 1 and "Cannot connect to PostgreSQL" in gone.stderr
    assert "secret" not in gone.stderr and "Traceback" not in gone.stderr


@pytest.fixture
def replicas(tmp_path, request):
    """Two servers over one database; yields an httpx client per replica."""
    uri = pg_uri(request, tmp_path)
    started = []
    try:
        for i in range(2):
            started.append(start_server(uri, log_path=tmp_path / f"replica-{i}.log"))
        clients = [httpx.Client(base_url=url, timeout=30) for _, url in started]
        yield clients
        for c in clients:
            c.close()
    finally:
        for proc, _ in started:
            stop_server(proc)


def _call(http, method, path, body=None):
    r = http.request(method, API + path, json=body) if method == "POST" else http.get(API + path, params=body)
    assert r.status_code == 200, r.text
    return r.json()


def test_two_replicas_behind_round_robin_serve_one_database(replicas):
    turn = itertools.cycle(replicas)  # each request goes to the next replica

    def call(method, path, body=None):
        return _call(next(turn), method, path, body)

    exp = call("POST", "experiments/create", {"name": "shared"})["experiment_id"]
    assert call("GET", "experiments/get-by-name", {"experiment_name": "shared"})["experiment"]["experiment_id"] == exp
    runs = []
    for i in range(6):
        run_id = call("POST", "runs/create", {"experiment_id": exp, "start_time": 1000 + i})["run"]["info"]["run_id"]
        call("POST", "runs/log-batch", {"run_id": run_id, "params": [{"key": "i", "value": str(i)}],
                                        "metrics": [{"key": "acc", "value": i / 10, "timestamp": 1, "step": s}
                                                    for s in range(50)]})
        call("POST", "runs/log-metric", {"run_id": run_id, "key": "loss", "value": "NaN" if i == 0 else 1 / i,
                                         "timestamp": 2, "step": 0})
        runs.append(run_id)
    # a param is immutable whichever replica is asked to change it
    r = next(turn).post(API + "runs/log-parameter", json={"run_id": runs[0], "key": "i", "value": "other"})
    assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE"
    for run_id, i in zip(runs, range(6), strict=True):
        got = call("GET", "runs/get", {"run_id": run_id})["run"]["data"]
        metrics = {m["key"]: m["value"] for m in got["metrics"]}
        assert metrics["acc"] == i / 10 and {p["key"]: p["value"] for p in got["params"]} == {"i": str(i)}
        assert metrics["loss"] == "NaN" if i == 0 else metrics["loss"] == 1 / i
    history = call("GET", "metrics/get-history", {"run_id": runs[3], "metric_key": "acc"})["metrics"]
    assert len(history) == 50
    for _ in range(2):  # both replicas answer the same search
        found = call("POST", "runs/search", {"experiment_ids": [exp], "filter": "metrics.acc > 0.25",
                                             "order_by": ["metrics.acc DESC"]})
        assert [r["info"]["run_id"] for r in found["runs"]] == runs[:2:-1]
    # registry: create on one, version on the other, alias on the first, resolve on the second
    call("POST", "registered-models/create", {"name": "shared-model"})
    for run_id in runs[:2]:
        call("POST", "model-versions/create", {"name": "shared-model", "source": f"runs:/{run_id}/model",
                                               "run_id": run_id})
    call("POST", "registered-models/alias", {"name": "shared-model", "alias": "champion", "version": "2"})
    got = call("GET", "registered-models/alias", {"name": "shared-model", "alias": "champion"})
    assert got["model_version"]["version"] == "2" and got["model_version"]["run_id"] == runs[1]
    # artifacts: uploaded through one replica, listed and downloaded through the other
    a, b = replicas
    path = f"/api/2.0/mlflow-artifacts/artifacts/{exp}/{runs[0]}/artifacts/notes.txt"
    assert a.put(path, content=b"hello from a").status_code == 200
    assert b.get(path).content == b"hello from a"
