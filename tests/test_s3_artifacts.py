"""Artifacts on S3-compatible storage: the real boto3 client against moto's S3 server on 127.0.0.1
(tests/s3_fixtures.py), with MLflow's variables (MLFLOW_S3_ENDPOINT_URL, AWS_*).

The proxied form (``nbtrack server --artifacts-destination s3://...`` over PostgreSQL, with the real
mlflow client) runs in tests/test_server_mlflow_client.py; here: the repository itself, its key
confinement, multipart uploads, a PostgreSQL store whose experiment lives on S3, and a server
started with ``--default-artifact-root s3://...`` whose clients write to the bucket directly.
"""

from __future__ import annotations

import os

import pytest

from nbtrack.errors import ArtifactPathError, NotFound
from tests.s3_fixtures import new_bucket, s3_env

boto3 = pytest.importorskip("boto3")


@pytest.fixture
def s3(monkeypatch):
    """A fresh bucket; MLflow's S3 variables point this process at the moto server."""
    env = s3_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    bucket = new_bucket()
    client = boto3.client("s3", endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"])
    return bucket, client


def _keys(client, bucket):
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=bucket).get("Contents", []))


def test_repository_writes_lists_downloads_and_deletes_under_its_prefix(s3, tmp_path):
    from nbtrack.store.s3 import S3ArtifactRepository

    bucket, client = s3
    repo = S3ArtifactRepository(f"s3://{bucket}/team/1/run/artifacts")
    repo.write_bytes("notes.txt", b"hello")
    tree = tmp_path / "model"
    (tree / "sub").mkdir(parents=True)
    (tree / "MLmodel").write_text("flavors: {}")
    (tree / "sub" / "weights.bin").write_bytes(b"\x00" * 10)
    repo.log_artifacts(str(tree), "model")
    assert _keys(client, bucket) == ["team/1/run/artifacts/model/MLmodel", "team/1/run/artifacts/model/sub/weights.bin",
                                     "team/1/run/artifacts/notes.txt"]
    assert [(f.path, f.is_dir, f.file_size) for f in repo.list_artifacts()] == [
        ("model", True, None), ("notes.txt", False, 5)]
    assert [f.path for f in repo.list_artifacts("model")] == ["model/MLmodel", "model/sub"]
    got = repo.download_artifacts("model", str(tmp_path / "out"))
    assert open(os.path.join(got, "sub", "weights.bin"), "rb").read() == b"\x00" * 10
    assert open(repo.download_artifacts("notes.txt"), "rb").read() == b"hello"
    repo.delete("model")
    assert _keys(client, bucket) == ["team/1/run/artifacts/notes.txt"]
    with pytest.raises(NotFound):
        repo.download_artifacts("model", str(tmp_path / "again"))


@pytest.mark.parametrize("path", ["../other-run/x.txt", "a/../../x", "/etc/passwd", "s3://other-bucket/x",
                                  "%2e%2e/x", "a%2fb/../../x", "a\\..\\x", "a/\x00b"])
def test_keys_are_confined_to_the_prefix(s3, path):
    from nbtrack.store.s3 import S3ArtifactRepository

    bucket, client = s3
    repo = S3ArtifactRepository(f"s3://{bucket}/team/run")
    with pytest.raises(ArtifactPathError):
        repo.write_bytes(path, b"x")
    with pytest.raises(ArtifactPathError):
        repo.download_artifacts(path)
    assert _keys(client, bucket) == []


def test_hostile_keys_in_the_bucket_are_neither_listed_nor_downloaded_outside(s3, tmp_path):
    """Keys written by someone else straight to the bucket (S3 allows '..' in keys)."""
    from nbtrack.store.s3 import S3ArtifactRepository

    bucket, client = s3
    for key in ("p/run/ok.txt", "p/run/../../escape.txt", "p/run/a/../../../up.txt", "p/run//abs.txt"):
        client.put_object(Bucket=bucket, Key=key, Body=b"x")
    repo = S3ArtifactRepository(f"s3://{bucket}/p/run")
    assert [f.path for f in repo.list_artifacts()] == ["a", "ok.txt"]  # 'a/' holds only a hostile key
    out = tmp_path / "dst"
    got = repo.download_artifacts(None, str(out))
    written = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert written == [os.path.relpath(os.path.join(got, "ok.txt"), tmp_path)]


def test_large_files_go_up_in_parts(s3, tmp_path):
    from nbtrack.store.s3 import S3ArtifactRepository

    bucket, client = s3
    big = tmp_path / "weights.bin"
    big.write_bytes(os.urandom(1024) * (17 * 1024))  # 17 MiB: three 8 MiB parts
    S3ArtifactRepository(f"s3://{bucket}/m").log_artifact(str(big))
    head = client.head_object(Bucket=bucket, Key="m/weights.bin")
    assert head["ContentLength"] == big.stat().st_size and head["ETag"].strip('"').endswith("-3")
    back = S3ArtifactRepository(f"s3://{bucket}/m").download_artifacts("weights.bin", str(tmp_path / "back"))
    assert open(back, "rb").read() == big.read_bytes()


def test_a_postgresql_store_keeps_an_experiments_artifacts_on_s3(s3, tmp_path, request, monkeypatch):
    pytest.importorskip("psycopg")
    import nbtrack
    from tests.pg_fixtures import pg_uri

    bucket, client = s3
    monkeypatch.setenv("NBTRACK_TRACKING_URI", pg_uri(request, tmp_path))
    eid = nbtrack.create_experiment("on-s3", artifact_location=f"s3://{bucket}/exp")
    with nbtrack.start_run(experiment_id=eid) as run:
        nbtrack.log_text("hello", "notes/hello.txt")
        nbtrack.log_dict({"a": 1}, "config.json")
    rid = run.info.run_id
    assert run.info.artifact_uri == f"s3://{bucket}/exp/{rid}/artifacts"
    assert _keys(client, bucket) == [f"exp/{rid}/artifacts/config.json", f"exp/{rid}/artifacts/notes/hello.txt"]
    client_ = nbtrack.MlflowClient()
    assert [f.path for f in client_.list_artifacts(rid)] == ["config.json", "notes"]
    assert nbtrack.artifacts.load_dict(f"runs:/{rid}/config.json") == {"a": 1}


def test_server_with_default_artifact_root_on_s3_lets_clients_write_directly(s3, tmp_path, request, monkeypatch):
    """MLflow's semantics: experiments get s3:// locations; clients read and write the bucket."""
    pytest.importorskip("psycopg")
    import nbtrack
    from tests.pg_fixtures import pg_uri
    from tests.server_fixtures import nbtrack_server

    bucket, client = s3
    uri = pg_uri(request, tmp_path)
    with nbtrack_server(uri, env=s3_env(), log_path=tmp_path / "server.log",
                        default_artifact_root=f"s3://{bucket}/root") as url:
        monkeypatch.setenv("NBTRACK_TRACKING_URI", url)
        monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(tmp_path / "spool"))
        nbtrack.set_experiment("direct")
        with nbtrack.start_run() as run:
            nbtrack.log_text("hi", "a.txt")
        assert run.info.artifact_uri.startswith(f"s3://{bucket}/root/")
        assert [f.path for f in nbtrack.MlflowClient().list_artifacts(run.info.run_id)] == ["a.txt"]
        nbtrack.flush()
        from nbtrack.store import open_store

        open_store(url).close()
    assert any(k.endswith(f"{run.info.run_id}/artifacts/a.txt") for k in _keys(client, bucket))
