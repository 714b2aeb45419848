"""Bad input gets an NbtrackError that says what to do, and nothing stored is lost."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from procenv import python_env

import nbtrack
from nbtrack.errors import (
    ArtifactPathError,
    InvalidParameter,
    InvalidStore,
    NbtrackError,
    NotFound,
    ParamConflict,
    RunNotActive,
)


@pytest.fixture
def run_with_data():
    with nbtrack.start_run() as run:
        nbtrack.log_param("keep", "me")
        nbtrack.log_metric("m", 1.0)
    yield run.info.run_id
    got = nbtrack.get_run(run.info.run_id)  # whatever the test did, this is intact
    assert got.data.params["keep"] == "me" and got.data.metrics["m"] == 1.0


@pytest.mark.parametrize("key", ["../x", "/x", "x/", "a//b", "a/./b", "", ".", "a*b", "x" * 251])
def test_invalid_keys(run_with_data, key):
    client = nbtrack.MlflowClient()
    for call in (lambda: client.log_param(run_with_data, key, 1),
                 lambda: client.log_metric(run_with_data, key, 1.0),
                 lambda: client.set_tag(run_with_data, key, "v")):
        with pytest.raises(InvalidParameter) as err:
            call()
        assert isinstance(err.value, NbtrackError) and isinstance(err.value, ValueError)
        assert "key" in str(err.value)


def test_over_long_values_are_refused_not_cut(run_with_data):
    client = nbtrack.MlflowClient()
    with pytest.raises(InvalidParameter, match="6000 allowed.*log_text"):
        client.log_param(run_with_data, "long", "x" * 6001)
    with pytest.raises(InvalidParameter, match="8000 allowed"):
        client.set_tag(run_with_data, "long", "x" * 8001)
    client.log_param(run_with_data, "edge", "x" * 6000)  # the limit itself is fine


@pytest.mark.parametrize("value", ["abc", None, object(), [1.0]])
def test_non_numeric_metric_values(run_with_data, value):
    with pytest.raises(InvalidParameter, match="valid double|Missing value"):
        nbtrack.MlflowClient().log_metric(run_with_data, "bad", value)


def test_bad_steps_and_timestamps(run_with_data):
    client = nbtrack.MlflowClient()
    with pytest.raises(InvalidParameter, match="nonnegative"):
        client.log_metric(run_with_data, "m2", 1.0, timestamp=-1)
    with pytest.raises(InvalidParameter, match="integer"):
        client.log_metric(run_with_data, "m2", 1.0, step=1.5)


def test_param_conflict_keeps_the_first_value(run_with_data):
    with pytest.raises(ParamConflict, match="keep"):
        nbtrack.MlflowClient().log_param(run_with_data, "keep", "other")


def test_unknown_and_deleted_runs(run_with_data):
    client = nbtrack.MlflowClient()
    with pytest.raises(NotFound, match="not found"):
        client.log_param("f" * 32, "a", 1)
    with pytest.raises(NotFound):
        client.get_metric_history("f" * 32, "m")
    client.delete_run(run_with_data)
    with pytest.raises(RunNotActive, match="restore_run"):
        client.log_metric(run_with_data, "m", 2.0)
    client.restore_run(run_with_data)


@pytest.mark.parametrize("path", ["../escape.txt", "../../etc/x", "/abs/x.txt", "a/../../x", "%2e%2e/x",
                                  "file:///etc/passwd", "a\\..\\x"])
def test_artifact_paths_cannot_leave_the_run_folder(run_with_data, path, tmp_path):
    client = nbtrack.MlflowClient()
    src = tmp_path / "f.txt"
    src.write_text("x")
    with pytest.raises(ArtifactPathError):
        client.log_text(run_with_data, "x", path)
    with pytest.raises(ArtifactPathError):
        client.log_artifact(run_with_data, str(src), path)
    with pytest.raises(ArtifactPathError):
        client.list_artifacts(run_with_data, path)
    with pytest.raises(ArtifactPathError):
        client.download_artifacts(run_with_data, path, str(tmp_path / "dl"))
    assert not list(tmp_path.glob("**/escape.txt"))


def test_symlink_out_of_the_artifact_folder_is_refused(run_with_data, tmp_path):
    client = nbtrack.MlflowClient()
    client.log_text(run_with_data, "x", "inside.txt")
    root = client.get_artifact_uri(run_with_data)
    os.symlink(str(tmp_path), os.path.join(root, "link"))
    with pytest.raises(ArtifactPathError):
        client.log_text(run_with_data, "x", "link/out.txt")
    assert not (tmp_path / "out.txt").exists()


def test_a_file_as_the_store(tmp_path):
    target = tmp_path / "notes.txt"
    target.write_text("hello")
    nbtrack.set_tracking_uri(str(target))
    with pytest.raises(InvalidStore, match="is a folder|but an nbtrack store is a folder"):
        nbtrack.start_run()
    assert target.read_text() == "hello"


def test_corrupted_database_file(tmp_path):
    store = tmp_path / "s"
    store.mkdir()
    (store / "nbtrack.duckdb").write_bytes(b"this is not a database" * 100)
    nbtrack.set_tracking_uri(str(store))
    with pytest.raises(InvalidStore, match="not a readable nbtrack store"):
        nbtrack.start_run()
    assert (store / "nbtrack.duckdb").read_bytes().startswith(b"this is not")


def test_foreign_duckdb_database(tmp_path):
    import duckdb

    store = tmp_path / "s"
    store.mkdir()
    con = duckdb.connect(str(store / "nbtrack.duckdb"))
    con.execute("CREATE TABLE sales (x INT)")
    con.close()
    nbtrack.set_tracking_uri(str(store))
    with pytest.raises(InvalidStore, match="not an nbtrack store"):
        nbtrack.search_experiments()


READ_ONLY_CHILD = """
import sys, nbtrack
from nbtrack.errors import StoreReadOnly
nbtrack.set_tracking_uri(sys.argv[1])
run_id = sys.argv[2]
assert nbtrack.get_run(run_id).data.params == {"keep": "me"}    # reading works
try:
    nbtrack.MlflowClient().log_param(run_id, "new", 1)
    nbtrack.flush()
except StoreReadOnly as e:
    print("StoreReadOnly:", e)
"""


def test_read_only_store_directory(tmp_path):
    store = tmp_path / "ro"
    nbtrack.set_tracking_uri(str(store))
    with nbtrack.start_run() as run:
        nbtrack.log_param("keep", "me")
    nbtrack.flush()
    nbtrack.MlflowClient().store.close()
    child = [sys.executable, "-c", READ_ONLY_CHILD, str(store), run.info.run_id]
    if os.geteuid() == 0:
        # root ignores permission bits: give the child a read-only bind mount of the store instead.
        script = (f"mount --bind {store} {store} && mount -o remount,bind,ro {store} && "
                  'exec "$0" "$@"')
        child = ["unshare", "-m", "sh", "-c", script, *child]
    else:
        for path in [store, *store.rglob("*")]:
            os.chmod(path, 0o555 if path.is_dir() else 0o444)
    try:
        out = subprocess.run(child, capture_output=True, text=True, env=python_env(), timeout=120)
    finally:
        for path in [store, *store.rglob("*")]:
            os.chmod(path, 0o755 if path.is_dir() else 0o644)
    assert out.returncode == 0, out.stderr
    assert "StoreReadOnly:" in out.stdout, out.stdout + out.stderr
    assert "writable" in out.stdout
    nbtrack.set_tracking_uri(str(store))
    assert nbtrack.get_run(run.info.run_id).data.params == {"keep": "me"}
