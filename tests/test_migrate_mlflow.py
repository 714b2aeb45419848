"""`nbtrack import mlflow`: a history made by the real mlflow (SQLite database, mlruns/ folder,
running server) comes over losslessly, runs again without duplicating, and picks up new runs."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from migrate_helpers import compare, mlflow_history

import nbtrack
from nbtrack.cli import main
from nbtrack.entities import ViewType
from nbtrack.migrate import InvalidSource, import_mlflow

pytest.importorskip("mlflow")


@pytest.fixture(scope="module")
def sqlite_history(tmp_path_factory):
    out = tmp_path_factory.mktemp("mlflow-sqlite")
    uri = f"sqlite:///{out / 'mlflow.db'}"
    return uri, out, mlflow_history(uri, out)


def test_sqlite_database_round_trip_and_rerun(sqlite_history, tmp_path):
    uri, _, expected = sqlite_history
    store = str(tmp_path / "imported")
    result = CliRunner().invoke(main, ["import", "mlflow", uri, "--store", store, "-q"])
    assert result.exit_code == 0, result.output
    assert "6 imported" in result.output
    compare(expected, store)

    again = import_mlflow(uri, store)
    assert again.imported["runs"] == 0 and again.skipped["runs"] == 6 and again.ok
    assert again.imported["model versions"] == 0 and again.imported["logged models"] == 0
    compare(expected, store)  # nothing duplicated: histories, registry and models still equal


def test_new_runs_are_added_on_the_next_import(sqlite_history, tmp_path):
    _uri, out, _ = sqlite_history
    db = tmp_path / "copy.db"
    shutil.copy(out / "mlflow.db", db)
    store = str(tmp_path / "imported")
    first = import_mlflow(f"sqlite:///{db}", store)
    more = mlflow_history(f"sqlite:///{db}", tmp_path, "--more", cwd=out)
    second = import_mlflow(f"sqlite:///{db}", store)
    assert (first.imported["runs"], second.imported["runs"], second.skipped["runs"]) == (6, 2, 6)
    assert second.imported["metric points"] == 2
    compare(more, store)


def test_reference_leaves_artifacts_in_place(sqlite_history, tmp_path):
    uri, _out, expected = sqlite_history
    store = str(tmp_path / "imported")
    report = import_mlflow(uri, store, artifacts="reference")
    assert report.imported["artifact files"] == 0
    compare(expected, store, artifacts="reference")


def test_file_store_round_trip(tmp_path_factory, tmp_path):
    out = tmp_path_factory.mktemp("mlflow-files")
    uri = (out / "mlruns").as_uri()
    expected = mlflow_history(uri, out)
    store = str(tmp_path / "imported")
    report = import_mlflow(str(out / "mlruns"), store)
    assert report.ok and report.imported["runs"] == 6, report.render()
    compare(expected, store)
    assert import_mlflow(uri, store).imported["runs"] == 0


def test_mlflow_server_round_trip(request, tmp_path):
    from tracking_servers import shared_server

    server = shared_server("mlflow", request)
    expected = mlflow_history(server.url, tmp_path)
    store = str(tmp_path / "imported")
    report = import_mlflow(server.url, store)
    assert report.ok, report.render()
    mine = {eid for eid, name, *_ in expected["experiments"]}
    client = nbtrack.MlflowClient(store)
    assert {e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)} >= mine
    compare(expected, store)
    with pytest.raises(nbtrack.MlflowException, match="not local files"):
        import_mlflow(server.url, str(tmp_path / "other"), artifacts="reference")


def test_sqlite_tracking_uri_names_the_command(tmp_path):
    from nbtrack.store import open_store

    with pytest.raises(nbtrack.MlflowException, match="nbtrack import mlflow sqlite:///x.db --store"):
        open_store("sqlite:///x.db")


@pytest.mark.parametrize(("make", "match"), [
    (lambda p: f"sqlite:///{p / 'missing.db'}", "there is no file"),
    (lambda p: (p / "junk.db").write_bytes(b"not sqlite at all" * 100) and f"sqlite:///{p / 'junk.db'}",
     "not a readable SQLite database"),
    (lambda p: str(p), "not an MLflow file store"),
    (lambda p: str(p / "nowhere"), "does not exist"),
    (lambda p: "postgresql://u:secret@db/mlflow", "not supported yet"),
    (lambda p: "s3://bucket/mlruns", "Cannot import from"),
])
def test_bad_sources_say_what_is_wrong(tmp_path, make, match):
    source = make(tmp_path)
    with pytest.raises(InvalidSource, match=match) as caught:
        import_mlflow(source, str(tmp_path / "store"))
    assert "secret" not in str(caught.value)
    result = CliRunner().invoke(main, ["import", "mlflow", source, "--store", str(tmp_path / "store")])
    assert result.exit_code == 1 and "InvalidSource" in result.output


def test_a_sqlite_database_that_is_not_mlflow(tmp_path):
    import sqlite3

    con = sqlite3.connect(tmp_path / "other.db")
    con.execute("CREATE TABLE things (x)")
    con.commit()
    con.close()
    with pytest.raises(InvalidSource, match="not an MLflow tracking store"):
        import_mlflow(f"sqlite:///{tmp_path / 'other.db'}", str(tmp_path / "store"))


def test_no_server_at_the_url(tmp_path, monkeypatch):
    from tracking_servers import free_port

    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
    with pytest.raises(InvalidSource, match="does not answer MLflow's REST API"):
        import_mlflow(f"http://127.0.0.1:{free_port()}", str(tmp_path / "store"))
