"""What the web UI's artifact browser reads, over real HTTP: nbtrack's table preview (POST
/api/2.0/nbtrack/artifacts/table: the first rows of Parquet, CSV and TSV artifacts as wire frames)
and MLflow's GET /get-artifact (a run's file, also when the artifact proxy does not serve its
folder), both confined like the artifact endpoints (no traversal, no link out of the run's folder)."""

from __future__ import annotations

import os

import httpx
import pytest

from tests.server_fixtures import nbtrack_server

URL = "/api/2.0/nbtrack/artifacts/table"


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    pd = pytest.importorskip("pandas")
    import nbtrack

    base = tmp_path_factory.mktemp("preview")
    store = base / "store"
    (base / "secret.csv").write_text("password\nhunter2\n")
    before = nbtrack.get_tracking_uri()
    nbtrack.set_tracking_uri(str(store))
    try:
        nbtrack.set_experiment("previews")
        with nbtrack.start_run() as run:
            frame = pd.DataFrame({"i": range(2500), "x": [i / 4 for i in range(2500)],
                                  "name": [f"n{i}" for i in range(2500)],
                                  "when": pd.date_range("2026-01-01", periods=2500, freq="h")})
            local = base / "t"
            local.mkdir()
            frame.to_parquet(local / "big.parquet")
            frame.head(3).to_csv(local / "small.csv", index=False)
            frame.head(5).to_csv(local / "rows.tsv", index=False, sep="\t")
            (local / "notes.txt").write_text("not a table")
            (local / "page.html").write_text("<script>alert(1)</script>")
            (local / "red.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
            (local / "broken.parquet").write_bytes(b"PAR1 but not really")
            nbtrack.log_artifacts(str(local), "data")
        folder = nbtrack.get_run(run.info.run_id).info.artifact_uri
    finally:
        nbtrack.set_tracking_uri(before)
    folder = folder.removeprefix("file://")
    os.symlink(base / "secret.csv", os.path.join(folder, "data", "leak.csv"))
    os.mkfifo(os.path.join(folder, "data", "pipe.csv"))  # opening it for reading would wait for a writer
    # the proxy serves another folder: the run's own files are reachable through /get-artifact only
    with nbtrack_server(store, artifacts_destination=str(base / "elsewhere")) as url, \
            httpx.Client(base_url=url, timeout=30) as http:
        yield http, run.info.run_id


def post(http, body, status=200):
    r = http.post(URL, json=body)
    assert r.status_code == status, r.text
    return r.json()


def test_parquet_first_rows_and_total(served):
    http, run_id = served
    out = post(http, {"run_id": run_id, "path": "data/big.parquet", "limit": 50})
    frame = out["frame"]
    assert frame["columns"] == ["i", "x", "name", "when"]
    assert frame["data"][0] == list(range(50)) and frame["data"][1][:3] == [0.0, 0.25, 0.5]
    assert frame["data"][2][49] == "n49" and frame["data"][3][0].startswith("2026-01-01 00:00:00")
    assert (out["rows"], out["total_rows"], out["truncated"], out["format"]) == (50, 2500, True, "parquet")
    assert post(http, {"run_id": run_id, "path": "data/big.parquet"})["rows"] == 100  # the default


def test_csv_and_tsv(served):
    http, run_id = served
    out = post(http, {"run_id": run_id, "path": "data/small.csv"})
    assert out["frame"]["columns"] == ["i", "x", "name", "when"] and out["frame"]["data"][0] == [0, 1, 2]
    assert (out["rows"], out["total_rows"], out["truncated"]) == (3, 3, False)
    out = post(http, {"run_id": run_id, "path": "data/rows.tsv", "limit": 2})
    assert out["frame"]["data"][2] == ["n0", "n1"] and out["truncated"] is True and out["total_rows"] is None


def test_traversal_links_and_bad_requests_are_refused(served):
    http, run_id = served
    for path in ("../../../secret.csv", "data/../../secret.csv", "%2e%2e/secret.csv", "/etc/passwd.csv",
                 "file:/etc/x.csv", "data\\..\\x.csv"):
        out = post(http, {"run_id": run_id, "path": path}, status=400)
        assert out["error_code"] == "INVALID_PARAMETER_VALUE", (path, out)
        assert "hunter2" not in str(out)
    out = post(http, {"run_id": run_id, "path": "data/leak.csv"}, status=400)  # a link out of the run's folder
    assert "outside" in out["message"] and "hunter2" not in str(out)
    assert post(http, {"run_id": run_id, "path": "data/missing.csv"}, status=404)["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert post(http, {"run_id": "0" * 32, "path": "data/small.csv"}, status=404)["error_code"] == "RESOURCE_DOES_NOT_EXIST"
    assert "not a table" in post(http, {"run_id": run_id, "path": "data/notes.txt"}, status=400)["message"]
    assert "could not be read" in post(http, {"run_id": run_id, "path": "data/broken.parquet"}, status=400)["message"]
    assert "folder" in post(http, {"run_id": run_id, "path": "data", "format": "csv"}, status=400)["message"]
    assert "limit" in post(http, {"run_id": run_id, "path": "data/small.csv", "limit": 5000}, status=400)["message"]
    assert "not a regular file" in post(http, {"run_id": run_id, "path": "data/pipe.csv"}, status=400)["message"]


def test_documented_in_openapi(served):
    http, _ = served
    doc = http.get("/api/openapi.json").json()
    assert "post" in doc["paths"][URL]


def test_get_artifact_serves_the_run_s_files_safely(served):
    http, run_id = served
    listed = http.get("/api/2.0/mlflow/artifacts/list", params={"run_id": run_id, "path": "data"}).json()
    assert not listed["root_uri"].startswith("mlflow-artifacts:")  # not behind the proxy
    r = http.get("/get-artifact", params={"run_id": run_id, "path": "data/small.csv"})
    assert r.status_code == 200 and r.text.startswith("i,x,name,when\n0,0.0,n0,")
    assert r.headers["content-type"] == "application/octet-stream" and r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["content-disposition"] == "attachment; filename*=UTF-8''small.csv"
    assert r.headers["content-security-policy"].startswith("sandbox")
    html = http.get("/get-artifact", params={"run_uuid": run_id, "path": "data/page.html"})  # MLflow's old name
    assert html.headers["content-type"] == "application/octet-stream" and "sandbox" in html.headers["content-security-policy"]
    png = http.get("/get-artifact", params={"run_id": run_id, "path": "data/red.png"})
    assert png.headers["content-type"] == "image/png" and png.headers["content-disposition"].startswith("inline")
    assert png.content == b"\x89PNG\r\n\x1a\n not really"
    big = http.get("/get-artifact", params={"run_id": run_id, "path": "data/big.parquet"})
    assert int(big.headers["content-length"]) == len(big.content) > 10_000


def test_get_artifact_refuses_traversal_links_and_bad_queries(served):
    http, run_id = served
    for path in ("../../../secret.csv", "data/../../secret.csv", "%2e%2e/secret.csv", "/etc/passwd", "file:/etc/passwd",
                 "data\\..\\..\\x"):
        r = http.get("/get-artifact", params={"run_id": run_id, "path": path})
        assert r.status_code == 400 and r.json()["error_code"] == "INVALID_PARAMETER_VALUE", (path, r.text)
    r = http.get("/get-artifact", params={"run_id": run_id, "path": "data/leak.csv"})
    assert r.status_code == 400 and "outside" in r.json()["message"] and "hunter2" not in r.text
    assert http.get("/get-artifact", params={"run_id": run_id, "path": "data/missing.csv"}).status_code == 404
    assert http.get("/get-artifact", params={"run_id": "0" * 32, "path": "data/small.csv"}).status_code == 404
    assert http.get("/get-artifact", params={"run_id": run_id, "path": "data"}).status_code == 400  # a folder
    fifo = http.get("/get-artifact", params={"run_id": run_id, "path": "data/pipe.csv"})  # answered, not hung
    assert fifo.status_code == 400 and "not a regular file" in fifo.json()["message"]
    assert http.get("/get-artifact", params={"path": "data/small.csv"}).status_code == 400
    assert "get" in http.get("/api/openapi.json").json()["paths"]["/get-artifact"]
