"""register_model, models:/ URIs, copied model folders, and loading registered models."""

from __future__ import annotations

import os
import shutil

import pytest

import nbtrack
from nbtrack.errors import InvalidParameter, InvalidStage, NotFound
from nbtrack.tracking.artifacts import download_artifacts
from nbtrack.tracking.registry import parse_models_uri


def _log_model(tmp_path, marker: str = "a") -> str:
    """Log a tiny model folder to a new run; return its runs:/ URI."""
    src = tmp_path / f"src-{marker}"
    src.mkdir()
    (src / "MLmodel").write_text("flavors: {}\n")
    (src / "marker.txt").write_text(marker)
    with nbtrack.start_run() as run:
        nbtrack.log_artifacts(str(src), "model")
    return f"runs:/{run.info.run_id}/model"


def _marker(path: str) -> str:
    with open(os.path.join(path, "marker.txt")) as f:
        return f.read()


def test_register_model_creates_the_model_then_versions(tmp_path, client, capsys):
    uri = _log_model(tmp_path)
    mv = nbtrack.register_model(uri, "iris", tags={"k": "v"})
    assert (mv.name, mv.version, mv.source, mv.tags) == ("iris", 1, uri, {"k": "v"})
    assert mv.run_id == uri.split("/")[1]
    err = capsys.readouterr().err
    assert "Successfully registered model 'iris'." in err and "Created version '1' of model 'iris'." in err
    assert nbtrack.register_model(uri, "iris").version == 2
    assert "already exists. Creating a new version" in capsys.readouterr().err
    assert [v.version for v in client.search_model_versions("name='iris'", order_by=["version_number"])] == [1, 2]


def test_register_model_checks_the_source_before_creating_anything(tmp_path, client):
    with pytest.raises(NotFound, match="Cannot register"):
        nbtrack.register_model(str(tmp_path / "missing"), "m")
    with pytest.raises(NotFound):
        nbtrack.register_model("runs:/0123456789abcdef0123456789abcdef/model", "m")
    with pytest.raises(InvalidParameter, match="only local paths"):
        nbtrack.register_model("s3://bucket/model", "m")
    with pytest.raises(InvalidParameter, match="Names cannot contain"):
        nbtrack.register_model(_log_model(tmp_path), "a/b")
    assert client.search_registered_models() == []


def test_registered_model_is_a_copy_that_survives_its_run(tmp_path, client):
    uri = _log_model(tmp_path, "v1")
    mv = nbtrack.register_model(uri, "m")
    location = client.get_model_version_download_uri("m", mv.version)
    store_root = os.path.abspath(nbtrack.get_tracking_uri())
    assert location.startswith(os.path.join(store_root, "registry") + os.sep)
    assert _marker(location) == "v1"
    run = client.get_run(mv.run_id)
    client.delete_run(mv.run_id)
    shutil.rmtree(run.info.artifact_uri)  # as a garbage collection of the deleted run would
    assert _marker(download_artifacts(artifact_uri="models:/m/1")) == "v1"


def test_create_model_version_with_a_remote_source_is_kept_as_a_reference(client):
    client.create_registered_model("m")
    mv = client.create_model_version("m", "s3://bucket/path/model", run_id="r1")
    assert client.get_model_version_download_uri("m", mv.version) == "s3://bucket/path/model"
    uri_mv = client.create_model_version("m", "runs:/0123456789abcdef0123456789abcdef/model")
    assert uri_mv.run_id == "0123456789abcdef0123456789abcdef"  # taken from the runs:/ URI
    assert client.get_model_version_download_uri("m", uri_mv.version).startswith("runs:/")


def test_deleting_versions_and_models_removes_their_copies(tmp_path, client):
    uri = _log_model(tmp_path)
    nbtrack.register_model(uri, "m")
    nbtrack.register_model(uri, "m")
    v1 = client.get_model_version_download_uri("m", 1)
    v2 = client.get_model_version_download_uri("m", 2)
    client.delete_model_version("m", 1)
    assert not os.path.exists(v1) and os.path.exists(v2)
    client.delete_registered_model("m")
    assert not os.path.exists(v2)


def test_models_uris_resolve_version_stage_latest_and_alias(tmp_path, client):
    for marker in ("one", "two", "three"):
        nbtrack.register_model(_log_model(tmp_path, marker), "m")
    client.transition_model_version_stage("m", 1, "Production")
    client.transition_model_version_stage("m", 2, "Production")
    client.transition_model_version_stage("m", 3, "Staging")
    client.set_registered_model_alias("m", "champion", 1)
    expected = {
        "models:/m/1": "one", "models:/m/3": "three",
        "models:/m/Production": "two", "models:/m/production": "two", "models:/m/STAGING": "three",
        "models:/m/latest": "three", "models:/m/LATEST": "three",
        "models:/m@champion": "one",
    }
    for uri, marker in expected.items():
        assert _marker(download_artifacts(artifact_uri=uri)) == marker, uri
    dst = tmp_path / "dst"
    dst.mkdir()
    local = download_artifacts(artifact_uri="models:/m@champion", dst_path=str(dst))
    assert local == str(dst) and _marker(local) == "one"


def test_models_uri_errors(tmp_path, client):
    nbtrack.register_model(_log_model(tmp_path), "m")
    with pytest.raises(NotFound, match="stage 'Archived'"):
        download_artifacts(artifact_uri="models:/m/Archived")
    with pytest.raises(InvalidStage, match="Invalid Model Version stage: Prod"):
        download_artifacts(artifact_uri="models:/m/Prod")
    with pytest.raises(NotFound, match="version=9"):
        download_artifacts(artifact_uri="models:/m/9")
    with pytest.raises(NotFound, match="alias nope not found"):
        download_artifacts(artifact_uri="models:/m@nope")
    with pytest.raises(NotFound, match="name=other"):
        download_artifacts(artifact_uri="models:/other/1")
    for bad in ("models:/", "models:/m/1/extra", "models:/m/", "models://host/m/1", "models:/@a",
                "models:/m@", "models:m/1"):
        with pytest.raises(InvalidParameter, match="Not a proper models:/ URI"):
            download_artifacts(artifact_uri=bad)
    with pytest.raises(NotFound, match="Logged model"):  # MLflow 3's models:/<model_id>, none with this id
        download_artifacts(artifact_uri="models:/m-0123")


def test_parse_models_uri():
    assert parse_models_uri("models:/iris/3") == ("iris", 3, None, None)
    assert parse_models_uri("models:/iris/Production") == ("iris", None, "Production", None)
    assert parse_models_uri("models:/iris/latest") == ("iris", None, None, None)
    assert parse_models_uri("models:/iris@champion") == ("iris", None, None, "champion")
    assert parse_models_uri("models:/my model/2") == ("my model", 2, None, None)


def test_a_version_can_be_registered_from_another_models_uri(tmp_path, client):
    nbtrack.register_model(_log_model(tmp_path, "orig"), "a")
    copy = nbtrack.register_model("models:/a/1", "b")
    client.delete_registered_model("a")
    assert copy.source == "models:/a/1"
    assert _marker(download_artifacts(artifact_uri="models:/b/1")) == "orig"


def test_pyfunc_and_flavor_load_models_uris(tmp_path, client):
    sklearn = pytest.importorskip("sklearn")
    pytest.importorskip("nbtrack.sklearn")
    from sklearn.linear_model import LogisticRegression

    import nbtrack.pyfunc
    import nbtrack.sklearn

    assert sklearn
    x = [[0.0], [1.0], [2.0], [3.0]]
    y = [0, 0, 1, 1]
    model = LogisticRegression().fit(x, y)
    with nbtrack.start_run():
        info = nbtrack.sklearn.log_model(model, name="model", registered_model_name="clf")
    assert info.registered_model_version == 1
    client.set_registered_model_alias("clf", "champion", 1)
    assert list(nbtrack.pyfunc.load_model("models:/clf@champion").predict([[0.0], [3.0]])) == [0, 1]
    assert list(nbtrack.sklearn.load_model("models:/clf/1").predict([[3.0]])) == [1]
    client.transition_model_version_stage("clf", 1, "Production")
    assert list(nbtrack.pyfunc.load_model("models:/clf/production").predict([[0.0]])) == [0]


def test_leftovers_of_dead_writers_are_cleaned(tmp_path, client):
    """A copy half-made by a killed process is swept; a folder for an uncommitted number is replaced."""
    uri = _log_model(tmp_path, "fresh")
    nbtrack.register_model(uri, "m")
    root = os.path.abspath(nbtrack.get_tracking_uri())
    staging = os.path.join(root, "registry", ".staging", "dead-writer")
    os.makedirs(staging)
    os.utime(staging, (0, 0))
    version_dir = os.path.dirname(client.get_model_version_download_uri("m", 1))
    orphan = os.path.join(version_dir, "2")  # a writer died after moving its copy, before committing
    os.makedirs(orphan)
    with open(os.path.join(orphan, "marker.txt"), "w") as f:
        f.write("stale")
    assert nbtrack.register_model(uri, "m").version == 2
    assert not os.path.exists(staging)
    assert _marker(download_artifacts(artifact_uri="models:/m/2")) == "fresh"
    assert os.listdir(os.path.join(root, "registry", ".staging")) == []
