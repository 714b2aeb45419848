"""nbtrack server security over real HTTP: path confinement (every pattern, 0 escapes) and auth.

Requests are sent with ``http.client`` so the path goes out byte for byte (httpx and browsers
would normalise ``..`` away before it ever reached the server).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
from pathlib import Path
from urllib.parse import quote, urlparse

import pytest

from nbtrack.server.tracking import exposure_warning
from tests.server_fixtures import nbtrack_server

SECRET = "TOPSECRET-6f1d"
PAYLOADS = [
    "../secret.txt", "../../secret.txt", "../../../outside/secret.txt", "./../secret.txt", "a/../../secret.txt",
    "..%2fsecret.txt", "%2e%2e/secret.txt", "%2e%2e%2fsecret.txt", "%2E%2E%2F%2E%2E%2Fsecret.txt",
    "%252e%252e%252fsecret.txt", "%25252e%25252e/secret.txt", "..%5csecret.txt", "..\\secret.txt",
    "..\\..\\secret.txt", "/etc/passwd", "//etc/passwd", "//proc/self/root/etc/passwd", "/proc/self/environ",
    "file:///etc/passwd", "file:/etc/passwd", "file://localhost/etc/passwd", "s3://bucket/key",
    "http://127.0.0.1:1/x", "C:\\Windows\\win.ini", "C:/Windows/win.ini", "..%00/secret.txt", "a%00.txt",
    "....//secret.txt", "..%c0%afsecret.txt", "../nbtrack.duckdb", "%2e%2e/nbtrack.duckdb",
    "_registry/../../nbtrack.duckdb", "_registry/.staging/x",
]


def raw(url: str, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
        ) -> tuple[int, bytes]:
    u = urlparse(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def url_form(payload: str) -> str:
    """The payload as it can go in a request line: control bytes escaped, the rest literal."""
    return "".join(c if 0x20 < ord(c) < 0x7f else quote(c) for c in payload)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    root = tmp_path_factory.mktemp("sec")
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(SECRET)
    (root / "secret.txt").write_text(SECRET)
    store = root / "store"
    with nbtrack_server(store) as url:
        status, body = raw(url, "POST", "/api/2.0/mlflow/runs/create", json.dumps({"experiment_id": "0"}).encode())
        assert status == 200, body
        run_id = json.loads(body)["run"]["info"]["run_id"]
        run_dir = store / "artifacts" / "0" / run_id / "artifacts"
        raw(url, "PUT", f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/ok.txt", b"fine")
        os.symlink(outside, run_dir / "evil")
        os.symlink(outside / "secret.txt", run_dir / "evilfile")
        yield url, root, store, run_id


def _escaped(root: Path, store: Path) -> list[str]:
    """What an escape would leave behind: a changed or missing sentinel, PWNED written outside the
    served folder, or an outside secret copied into the store's registry."""
    found = []
    for sentinel in (root / "secret.txt", root / "outside" / "secret.txt"):
        if not sentinel.is_file() or sentinel.read_text() != SECRET:
            found.append(f"{sentinel} was changed or removed")
    if not (store / "nbtrack.duckdb").is_file():
        found.append("the store's database was removed")
    served = (str(store / "artifacts"), str(store / "registry"))
    for path in root.rglob("*"):
        if not path.is_file() or path.is_symlink():
            continue
        internal = path.suffix in (".duckdb", ".parquet", ".log", ".lock")
        if not str(path).startswith(served) and not internal and b"PWNED" in path.read_bytes()[:100]:
            found.append(f"{path} was written")
        head = path.read_bytes()[:200]
        if str(path).startswith(served[1]) and (SECRET.encode() in head or b"root:x:0" in head):
            found.append(f"{path}: an outside file was registered")
    return found


def _run_payloads(site) -> tuple[int, int, list[str]]:
    url, root, store, run_id = site
    base = f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/"
    top = "/api/2.0/mlflow-artifacts/artifacts/"
    tried = refused = 0
    escapes: list[str] = []
    payloads = [*PAYLOADS, "evil/secret.txt", "evilfile", "evil/pwned.txt"]
    for payload in payloads:
        p = url_form(payload)
        attempts = [
            ("GET", top + p, None), ("GET", base + p, None),
            ("PUT", top + p, b"PWNED"), ("PUT", base + p, b"PWNED"),
            ("GET", "/api/2.0/mlflow-artifacts/artifacts?path=" + quote(payload), None),
            ("GET", f"/api/2.0/mlflow/artifacts/list?run_id={run_id}&path=" + quote(payload), None),
            ("GET", "/api/2.0/mlflow/artifacts/list?run_id=" + quote(payload), None),
            ("POST", "/api/2.0/mlflow/experiments/create",
             json.dumps({"name": f"x-{tried}", "artifact_location": payload}).encode()),
            ("POST", "/api/2.0/mlflow/model-versions/create",
             json.dumps({"name": "sec-model", "source": payload}).encode()),
            ("POST", "/api/2.0/mlflow/model-versions/create",
             json.dumps({"name": "sec-model", "source": "mlflow-artifacts:/" + payload}).encode()),
            ("POST", "/api/2.0/mlflow/model-versions/create",
             json.dumps({"name": "sec-model", "source": f"runs:/{run_id}/" + payload}).encode()),
        ]
        raw(url, "POST", "/api/2.0/mlflow/registered-models/create", json.dumps({"name": "sec-model"}).encode())
        for method, path, body in attempts:
            tried += 1
            status, answer = raw(url, method, path, body)
            assert status < 500, (method, path, status, answer[:300])
            if status >= 400:
                refused += 1
            if SECRET.encode() in answer or b"DUCK" in answer[:8]:
                escapes.append(f"{method} {path}: leaked a file")
            if b'"artifact_location"' in answer and b"mlflow-artifacts:/" not in answer:
                escapes.append(f"{method} {path}: accepted a location outside the served folder")
            if method == "POST" and "model-versions" in path and status == 200:
                version = json.loads(answer)["model_version"]["version"]
                _, uri = raw(url, "GET", "/api/2.0/mlflow/model-versions/get-download-uri?name=sec-model"
                                         f"&version={version}")
                target = json.loads(uri)["artifact_uri"]
                if not target.startswith("mlflow-artifacts:/"):
                    escapes.append(f"{method} {path} {body!r}: download URI {target!r} is not served")
        escapes += [f"{payload}: {what}" for what in _escaped(root, store)]
    for payload in payloads:  # deletes last: each must leave every outside file in place
        for path in (top + url_form(payload), base + url_form(payload)):
            tried += 1
            status, answer = raw(url, "DELETE", path)
            assert status < 500, (path, status, answer[:300])
            refused += status >= 400
    escapes += [f"DELETE: {what}" for what in _escaped(root, store)]
    return tried, refused, escapes


def test_no_traversal_pattern_escapes(site, capsys):
    tried, refused, escapes = _run_payloads(site)
    with capsys.disabled():
        print(f"\nartifact confinement: {tried} requests tried, {refused} refused, {len(escapes)} escaped")
    assert escapes == []
    assert tried > 400 and refused > 0.85 * tried
    url, root, _, run_id = site
    assert (root / "secret.txt").read_text() == SECRET and (root / "outside" / "secret.txt").read_text() == SECRET
    assert raw(url, "GET", f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/ok.txt") == (200, b"fine")


def test_traversal_is_refused_with_mlflow_error_body(site):
    url, _, _, run_id = site
    status, body = raw(url, "GET", f"/api/2.0/mlflow-artifacts/artifacts/0/{run_id}/artifacts/%2e%2e/%2e%2e/x")
    assert status == 400 and json.loads(body)["error_code"] == "INVALID_PARAMETER_VALUE"
    status, body = raw(url, "PUT", "/api/2.0/mlflow-artifacts/artifacts/_registry/x/1/MLmodel", b"x")
    assert status == 403 and json.loads(body)["error_code"] == "PERMISSION_DENIED"


# -- auth -------------------------------------------------------------------------------------
RW, RO = "rw-token-0123456789", "ro-token-abcdefghij"


def _auth(kind: str, secret: str) -> dict[str, str]:
    if kind == "token":
        return {"Authorization": f"Bearer {secret}"}
    return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}


@pytest.mark.parametrize("kind", ["token", "basic"])
def test_auth_read_only_and_read_write(tmp_path, kind):
    rw, ro = (RW, RO) if kind == "token" else ("alice:" + RW, "bob:" + RO)
    creds = tmp_path / "creds"
    creds.write_text(f"# team\nrw {rw}\nro {ro}\n")
    create = json.dumps({"name": "auth-exp"}).encode()
    with nbtrack_server(tmp_path / "store", auth=kind, auth_file=creds) as url:
        status, body = raw(url, "POST", "/api/2.0/mlflow/experiments/create", create)
        assert status == 401 and json.loads(body)["error_code"] == "UNAUTHENTICATED"
        status, body = raw(url, "GET", "/api/2.0/mlflow/experiments/search", headers=_auth(kind, "wrong-secret-xx"))
        assert status == 401
        status, body = raw(url, "POST", "/api/2.0/mlflow/experiments/create", create, _auth(kind, ro))
        assert status == 403 and json.loads(body)["error_code"] == "PERMISSION_DENIED"
        status, _ = raw(url, "PUT", "/api/2.0/mlflow-artifacts/artifacts/0/x.txt", b"x", _auth(kind, ro))
        assert status == 403
        status, _ = raw(url, "GET", "/api/2.0/mlflow-artifacts/artifacts?path=0")
        assert status == 401
        assert raw(url, "POST", "/api/2.0/mlflow/experiments/create", create, _auth(kind, rw))[0] == 200
        status, body = raw(url, "GET", "/api/2.0/mlflow/experiments/get-by-name?experiment_name=auth-exp",
                           headers=_auth(kind, ro))
        assert status == 200 and json.loads(body)["experiment"]["name"] == "auth-exp"
        status, _ = raw(url, "POST", "/api/2.0/mlflow/runs/search", b"{}", _auth(kind, ro))
        assert status == 200  # a search is a read, though it is a POST
        assert raw(url, "GET", "/health")[0] == 200
    log = "".join(p.read_text(errors="replace") for p in tmp_path.glob("server-*.log"))
    assert "POST /api/2.0/mlflow/experiments/create" in log  # the access log is on ...
    assert RW not in log and RO not in log and "wrong-secret" not in log  # ... and holds no secret


def test_token_from_environment(tmp_path):
    with nbtrack_server(tmp_path / "store", auth="token", env={"NBTRACK_TOKEN": RW}) as url:
        assert raw(url, "GET", "/api/2.0/mlflow/experiments/search")[0] == 401
        assert raw(url, "GET", "/api/2.0/mlflow/experiments/search", headers=_auth("token", RW))[0] == 200


def test_warning_when_exposed_without_auth():
    assert exposure_warning("0.0.0.0", "none") is not None and "--auth" in exposure_warning("0.0.0.0", "none")
    assert exposure_warning("127.0.0.1", "none") is None and exposure_warning("0.0.0.0", "token") is None


def test_artifacts_only_and_no_serve_artifacts(tmp_path):
    with nbtrack_server(tmp_path / "a", artifacts_only=True) as url:
        status, body = raw(url, "GET", "/api/2.0/mlflow/experiments/search")
        assert status == 503 and json.loads(body)["error_code"] == "TEMPORARILY_UNAVAILABLE"
        assert raw(url, "PUT", "/api/2.0/mlflow-artifacts/artifacts/0/a.txt", b"x")[0] == 200
    with nbtrack_server(tmp_path / "b", serve_artifacts=False) as url:
        assert raw(url, "PUT", "/api/2.0/mlflow-artifacts/artifacts/0/a.txt", b"x")[0] == 503
        status, body = raw(url, "POST", "/api/2.0/mlflow/experiments/create",
                           json.dumps({"name": "e", "artifact_location": "/tmp/elsewhere"}).encode())
        assert status == 400
