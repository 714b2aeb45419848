"""Multipart upload in nbtrack server's ``mlflow-artifacts`` proxy, over real HTTP.

The real ``mlflow`` client (``MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD=true``, small parts) uploads a
file in parts to a server that requires a token, and downloads it back byte for byte; then the
protocol's rules one by one: the confinement of the folder and the file name (every escape
pattern of the security tests), the read-only registry prefix, upload ids that are not ours,
part numbers out of range, a complete whose parts or path do not match, abort, and no credentials
needed on a part URL but needed for create/complete/abort. Requests go out byte for byte with
``http.client``.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.server_fixtures import nbtrack_server
from tests.test_server_security import PAYLOADS, raw, url_form

TOKEN = "mpu-token-5c2e8a"
AUTH = {"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/json"}
MPU = "/api/2.0/mlflow-artifacts/mpu"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("mpu")
    store = root / "store"
    with nbtrack_server(store, auth="token", env={"NBTRACK_TOKEN": TOKEN}) as url:
        yield url, store, root


def _post(url: str, path: str, body: dict) -> tuple[int, dict]:
    status, data = raw(url, "POST", path, json.dumps(body).encode(), AUTH)
    return status, json.loads(data) if data else {}


def _create(url: str, folder: str, name: str, parts: int) -> dict:
    status, body = _post(url, f"{MPU}/create/{folder}", {"path": f"/home/u/{name}", "num_parts": parts})
    assert status == 200, body
    return body


def _put_part(url: str, credential: dict, data: bytes, headers: dict | None = None) -> tuple[int, str]:
    u = urlparse(credential["url"])
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request("PUT", u.path, body=data, headers=headers or {})
        r = conn.getresponse()
        r.read()
        return r.status, r.getheader("ETag") or ""
    finally:
        conn.close()


def test_real_mlflow_client_uploads_in_parts_and_reads_back(served):
    pytest.importorskip("mlflow")
    url, store, root = served
    data = os.urandom(2500) + b"end"
    local = root / "weights.bin"
    local.write_bytes(data)
    script = f"""
import mlflow, sys
from mlflow.store.artifact.http_artifact_repo import HttpArtifactRepository
calls = []
real = HttpArtifactRepository._try_multipart_upload
def spy(self, *a, **k):
    calls.append(a)
    return real(self, *a, **k)
HttpArtifactRepository._try_multipart_upload = spy
with mlflow.start_run() as run:
    mlflow.log_artifact({str(local)!r}, "big")
assert calls, "the client did not use multipart upload"
got = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, artifact_path="big/weights.bin",
                                          dst_path={str(root / 'down')!r})
print(run.info.run_id, got)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NBTRACK_"))}
    env.update(MLFLOW_TRACKING_URI=url, MLFLOW_TRACKING_TOKEN=TOKEN, MLFLOW_ENABLE_PROXY_MULTIPART_UPLOAD="true",
               MLFLOW_MULTIPART_UPLOAD_MINIMUM_FILE_SIZE="1", MLFLOW_MULTIPART_UPLOAD_CHUNK_SIZE="1000",
               HOME=str(root))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180,
                          cwd=root)
    assert done.returncode == 0, done.stderr[-3000:]
    run_id, downloaded = done.stdout.split()[-2:]
    assert Path(downloaded).read_bytes() == data
    stored = list(store.glob(f"artifacts/*/{run_id}/artifacts/big/weights.bin"))
    assert len(stored) == 1 and stored[0].read_bytes() == data
    assert not any((store / ".multipart").iterdir())  # nothing left behind


def test_parts_need_no_credentials_but_create_complete_abort_do(served):
    url, store, _ = served
    status, _ = raw(url, "POST", f"{MPU}/create/x", json.dumps({"path": "f.bin", "num_parts": 1}).encode())
    assert status == 401
    created = _create(url, "x", "f.bin", 2)
    etags = [_put_part(url, c, b"part%d" % c["part_number"]) for c in created["credentials"]]
    assert [s for s, _ in etags] == [200, 200]
    body = {"path": "f.bin", "upload_id": created["upload_id"],
            "parts": [{"part_number": i + 1, "etag": e} for i, (_, e) in enumerate(etags)]}
    assert raw(url, "POST", f"{MPU}/complete/x", json.dumps(body).encode())[0] == 401
    assert _post(url, f"{MPU}/complete/x", body)[0] == 200
    assert (store / "artifacts" / "x" / "f.bin").read_bytes() == b"part1part2"
    # the upload is gone: its part URLs write nothing any more
    assert _put_part(url, created["credentials"][0], b"late")[0] == 404


@pytest.mark.parametrize("payload", PAYLOADS)
def test_folder_and_file_name_are_confined(served, payload):
    url, store, root = served
    before = set(root.rglob("*"))
    folder = f"{MPU}/create/{url_form(payload)}"
    status, body = raw(url, "POST", folder, json.dumps({"path": "f.bin", "num_parts": 1}).encode(), AUTH)
    if status == 200:  # a name that only looks odd ('....//x' is a folder '....'): it must land inside
        created = json.loads(body)
        _, etag = _put_part(url, created["credentials"][0], b"inside")
        done = {"path": "f.bin", "upload_id": created["upload_id"], "parts": [{"part_number": 1, "etag": etag}]}
        assert raw(url, "POST", folder.replace("/create/", "/complete/"), json.dumps(done).encode(), AUTH)[0] == 200
    else:
        assert status in (400, 403, 404), (payload, status, body)
    status, body = _post(url, f"{MPU}/create/ok", {"path": payload, "num_parts": 1})
    if status == 200:  # the client's path is a local file: only its last part names the artifact
        created = body
        assert _put_part(url, created["credentials"][0], b"x")[0] == 200
        _post(url, f"{MPU}/abort/ok", {"path": payload, "upload_id": created["upload_id"]})
    else:
        assert status == 400, (payload, status, body)
    written = set(root.rglob("*")) - before
    assert all(store / "artifacts" in p.parents or store / ".multipart" in p.parents for p in written), written


def test_registry_prefix_is_read_only(served):
    url, _, _ = served
    status, body = _post(url, f"{MPU}/create/_registry/m/1", {"path": "f.bin", "num_parts": 1})
    assert status == 403 and body["error_code"] == "PERMISSION_DENIED"


def test_bad_ids_parts_and_mismatches_are_refused(served):
    url, store, _ = served
    created = _create(url, "d", "g.bin", 2)
    upload_id, creds = created["upload_id"], created["credentials"]
    part = creds[0]["url"].rsplit("/mpu/part/", 1)[0] + "/mpu/part"
    for bad in ("../../x", "%2e%2e%2f%2e%2e", "ZZ" * 16, upload_id[:-1]):
        status, _ = _put_part(url, {"url": f"{part}/{bad}/1"}, b"x")
        assert status in (400, 404, 405), bad  # 405: the path matched no PUT route at all
    assert _put_part(url, {"url": f"{part}/{upload_id}/3"}, b"x")[0] == 400  # only parts 1 and 2
    assert _put_part(url, {"url": f"{part}/{upload_id}/0"}, b"x")[0] == 400
    _, etag1 = _put_part(url, creds[0], b"one")
    base = {"path": "g.bin", "upload_id": upload_id}
    status, body = _post(url, f"{MPU}/complete/d", {**base, "parts": [{"part_number": 1, "etag": etag1}]})
    assert status == 400 and "parts 1 to 2" in body["message"]
    status, body = _post(url, f"{MPU}/complete/d", {**base, "parts": [{"part_number": 1, "etag": etag1},
                                                                      {"part_number": 2, "etag": etag1}]})
    assert status == 400 and "not uploaded" in body["message"]
    status, body = _post(url, f"{MPU}/complete/elsewhere", {**base, "parts": []})
    assert status == 400 and "writes" in body["message"]
    status, body = _post(url, f"{MPU}/complete/d", {"path": "g.bin", "upload_id": "../../etc", "parts": []})
    assert status == 400 and body["error_code"] == "INVALID_PARAMETER_VALUE"
    assert _post(url, f"{MPU}/frobnicate/d", base)[0] == 404
    assert _post(url, f"{MPU}/abort/d", base)[0] == 200
    assert not (store / ".multipart" / upload_id).exists() and not (store / "artifacts" / "d" / "g.bin").exists()
    assert _post(url, f"{MPU}/abort/d", base)[0] == 404
    status, body = _post(url, f"{MPU}/create/d", {"path": "g.bin", "num_parts": 0})
    assert status == 400 and "num_parts" in body["message"]
    status, body = _post(url, f"{MPU}/create/d", {"num_parts": 1})
    assert status == 400  # path is required


def test_server_info_announces_multipart(served):
    url, _, _ = served
    status, body = raw(url, "GET", "/api/3.0/mlflow/server-info", headers=AUTH)
    assert status == 200 and json.loads(body)["multipart_uploads_enabled"] is True
