"""Team scale on PostgreSQL: several processes migrate one database at once, and two ``nbtrack server``
replicas over one database answer requests dealt to them in turn, as a round-robin load balancer
would; every request reads what the previous one wrote through the other replica. Over one bucket
(``--artifacts-destination s3://``), with a working folder and TMPDIR each, the replicas share no
local folder: a multipart upload's parts and completion and a model registration spread over both.

Real components only: the session's throwaway PostgreSQL cluster (tests/pg_fixtures.py), server
processes on loopback ports, HTTP through httpx.
"""

from __future__ import annotations

import itertools
import os
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


@pytest.fixture
def s3_replicas(tmp_path, request):
    """Two servers over one database and one bucket (``--artifacts-destination s3://``), each with
    its own working folder and TMPDIR; the database's files root is a folder no one creates.
    Yields (client per replica, bucket, boto3 client, that files root, the TMPDIRs)."""
    boto3 = pytest.importorskip("boto3")
    from tests.s3_fixtures import new_bucket, s3_env

    env = s3_env()
    bucket = new_bucket()
    uri = pg_uri(request, tmp_path)  # files root: tmp_path / "pgfiles", never created if nothing is local
    started, temps = [], []
    try:
        for i in range(2):
            own = tmp_path / f"replica-{i}"
            (own / "tmp").mkdir(parents=True)
            temps.append(own / "tmp")
            started.append(start_server(uri, env={**env, "TMPDIR": str(own / "tmp"), "HOME": str(own)},
                                        log_path=own / "server.log", artifacts_destination=f"s3://{bucket}/dest"))
        clients = [httpx.Client(base_url=url, timeout=60) for _, url in started]
        s3 = boto3.client("s3", endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"], aws_access_key_id="testing",
                          aws_secret_access_key="testing", region_name="us-east-1")
        yield clients, bucket, s3, tmp_path / "pgfiles", temps
        for c in clients:
            c.close()
    finally:
        for proc, _ in started:
            stop_server(proc)


def _keys(s3, bucket, prefix=""):
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", []))


def test_replicas_on_s3_share_no_local_folder_for_multipart_uploads_and_registry_copies(s3_replicas):
    """A multipart upload created on one replica takes its parts on both and completes on the
    other; a model registered on one is read back through the other; every byte is in the bucket,
    the database's local files root is never created, and the replicas' temporary folders differ."""
    (a, b), bucket, s3, files_root, temps = s3_replicas
    exp = _call(a, "POST", "experiments/create", {"name": "s3-replicas"})["experiment_id"]
    location = _call(b, "GET", "experiments/get", {"experiment_id": exp})["experiment"]["artifact_location"]
    assert location.startswith("mlflow-artifacts:/")
    run = _call(a, "POST", "runs/create", {"experiment_id": exp})["run"]["info"]
    folder = f"{location.removeprefix('mlflow-artifacts:/')}/{run['run_id']}/artifacts"
    art = "/api/2.0/mlflow-artifacts/"

    # multipart: S3's own upload; parts of 5 MiB (S3's least but for the last), dealt to both replicas
    parts_data = [os.urandom(5 * 1024 * 1024), os.urandom(5 * 1024 * 1024), b"the end"]
    created = a.post(art + f"mpu/create/{folder}/big", json={"path": "weights.bin", "num_parts": 3})
    assert created.status_code == 200, created.text
    upload = created.json()
    assert [c["part_number"] for c in upload["credentials"]] == [1, 2, 3]
    etags = []
    for n, (cred, data) in enumerate(zip(upload["credentials"], parts_data, strict=True)):
        replica = (b, a)[n % 2]
        path = cred["url"].split("://", 1)[1].split("/", 1)[1]  # the part URL names the replica that created it
        r = replica.put("/" + path, content=data)
        assert r.status_code == 200, r.text
        etags.append(r.headers["ETag"])
    assert _keys(s3, bucket, "dest/.nbtrack-multipart/") == [f"dest/.nbtrack-multipart/{upload['upload_id']}.json"]
    hidden = b.get(art + "artifacts/.nbtrack-multipart/" + upload["upload_id"] + ".json")
    assert hidden.status_code == 400  # the uploads in progress are not served
    done = b.post(art + f"mpu/complete/{folder}/big", json={
        "path": "weights.bin", "upload_id": upload["upload_id"],
        "parts": [{"part_number": i + 1, "etag": e} for i, e in enumerate(etags)]})
    assert done.status_code == 200, done.text
    assert a.get(art + f"artifacts/{folder}/big/weights.bin").content == b"".join(parts_data)
    assert _keys(s3, bucket, "dest/.nbtrack-multipart/") == []
    again = a.post(art + f"mpu/complete/{folder}/big", json={"path": "weights.bin", "upload_id": upload["upload_id"],
                                                             "parts": [{"part_number": 1, "etag": etags[0]}]})
    assert again.status_code == 404 and "No multipart upload" in again.json()["message"]

    # registry: the model goes up through one replica, is registered on the other, read on the first
    mlmodel = b"artifact_path: model\nflavors: {}\n"
    assert a.put(art + f"artifacts/{folder}/model/MLmodel", content=mlmodel).status_code == 200
    _call(a, "POST", "registered-models/create", {"name": "on-s3"})
    mv = _call(b, "POST", "model-versions/create", {"name": "on-s3", "source": f"runs:/{run['run_id']}/model",
                                                   "run_id": run["run_id"]})["model_version"]
    uri = _call(a, "GET", "model-versions/get-download-uri", {"name": "on-s3", "version": mv["version"]})
    assert uri["artifact_uri"].startswith("mlflow-artifacts:/_registry/")
    copy = uri["artifact_uri"].removeprefix("mlflow-artifacts:/")
    assert a.get(art + f"artifacts/{copy}/MLmodel").content == mlmodel
    copies = _keys(s3, bucket, "dest/_registry/")
    assert copies == [f"dest/{copy}/MLmodel"]
    assert a.put(art + f"artifacts/{copy}/MLmodel", content=b"x").status_code == 403  # read-only
    root = a.get(art + "artifacts").json()
    assert {f["path"] for f in root.get("files", [])} == {location.removeprefix("mlflow-artifacts:/")}
    gone = b.request("DELETE", API + "model-versions/delete", json={"name": "on-s3", "version": mv["version"]})
    assert gone.status_code == 200, gone.text
    assert _keys(s3, bucket, "dest/_registry/") == []  # the version's copy went with it

    assert not files_root.exists()  # nothing of the database's went to a local folder
    assert temps[0] != temps[1]


def test_postgresql_registry_refuses_a_folder_holding_its_files_root(tmp_path, request, monkeypatch):
    """The embedded store's check, now shared (store/model_copies.py): registering the folder that
    holds the database's files root would copy the registry into itself."""
    import nbtrack
    from nbtrack.errors import InvalidParameter

    monkeypatch.setenv("NBTRACK_TRACKING_URI", pg_uri(request, tmp_path))  # files root: tmp_path / "pgfiles"
    (tmp_path / "pgfiles").mkdir()
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "MLmodel").write_text("artifact_path: model\nflavors: {}\n")
    with pytest.raises(InvalidParameter, match="holds the store itself"):
        nbtrack.register_model(str(tmp_path), "whole-folder")
    assert nbtrack.register_model(str(tmp_path / "model"), "just-the-model").version == 1
    assert os.listdir(tmp_path / "pgfiles" / "registry" / ".staging") == []


def test_a_dropped_connection_costs_one_failed_call_at_most(tmp_path, request):
    """The pool skips its check for a connection handed back less than a second ago (one round
    trip less on every call): a connection the server dropped in that window fails one call, as
    StoreBusy, and is replaced; one idle for longer is checked and replaced before it is lent."""
    import time

    from nbtrack.errors import StoreBusy
    from nbtrack.store.postgres.store import PostgresStore

    uri = pg_uri(request, tmp_path)
    store = PostgresStore(uri)
    database = uri.rsplit("/", 1)[1]

    def drop_connections():
        pg_cluster().execute(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{database}'")

    try:
        eid = store.create_experiment("dropped")
        drop_connections()
        with pytest.raises(StoreBusy, match="cannot be reached or dropped the connection"):
            store.get_experiment(eid)  # lent unchecked: it was handed back a moment ago
        assert store.get_experiment(eid).name == "dropped"
        drop_connections()
        time.sleep(1.2)
        assert store.get_experiment(eid).name == "dropped"  # checked, replaced, no failed call
    finally:
        store.close()
