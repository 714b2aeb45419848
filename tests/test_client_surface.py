"""The rest of MLflow's client surface: copy_model_version, the fluent registry search, a registry
in another store (set_registry_uri), load_table, log_stream, log_inputs, and mlflow.artifacts'
list/load helpers."""

from __future__ import annotations

import io
import json
import os

import pytest

import nbtrack
from nbtrack.errors import InvalidParameter, NotFound


def _log_model(tmp_path, marker: str = "a") -> str:
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


# -- copy_model_version --------------------------------------------------------------------------
def test_copy_model_version_keeps_run_tags_description_and_points_at_the_source(tmp_path, client, capsys):
    uri = _log_model(tmp_path)
    nbtrack.register_model(uri, "iris", tags={"k": "v"})
    client.update_model_version("iris", 1, "first")
    client.set_registered_model_alias("iris", "champion", 1)
    copy = client.copy_model_version("models:/iris@champion", "iris-prod")
    assert (copy.name, copy.version, copy.source) == ("iris-prod", 1, "models:/iris/1")
    assert (copy.run_id, copy.tags, copy.description) == (uri.split("/")[1], {"k": "v"}, "first")
    err = capsys.readouterr().err
    assert "Successfully registered model 'iris-prod'." in err
    assert "Copied version '1' of model 'iris' to version '1' of model 'iris-prod'." in err
    assert client.copy_model_version("models:/iris/1", "iris-prod").version == 2  # into an existing model


def test_a_copied_version_keeps_working_when_the_original_is_deleted(tmp_path, client):
    nbtrack.register_model(_log_model(tmp_path, "orig"), "iris")
    client.copy_model_version("models:/iris/latest", "backup")
    client.delete_registered_model("iris")
    assert _marker(nbtrack.artifacts.download_artifacts("models:/backup/1")) == "orig"


def test_copy_model_version_of_a_missing_version_is_not_found_and_creates_nothing(client):
    with pytest.raises(NotFound):
        client.copy_model_version("models:/nope/1", "dst")
    assert client.search_registered_models() == []
    with pytest.raises(InvalidParameter, match="models:/"):
        client.copy_model_version("runs:/abc/model", "dst")


# -- fluent registry --------------------------------------------------------------------------
def test_fluent_search_registered_models_and_versions_and_version_tags(tmp_path, client):
    uri = _log_model(tmp_path)
    for name in ("a-model", "b-model", "other"):
        nbtrack.register_model(uri, name)
    found = nbtrack.search_registered_models(filter_string="name LIKE '%-model'", order_by=["name DESC"])
    assert [m.name for m in found] == ["b-model", "a-model"]
    assert len(nbtrack.search_registered_models(max_results=2)) == 2
    nbtrack.set_model_version_tag("other", "1", "validated", True)
    assert client.get_model_version("other", 1).tags == {"validated": "True"}
    versions = nbtrack.search_model_versions(filter_string="tags.validated = 'True'")
    assert [(v.name, v.version) for v in versions] == [("other", 1)]


def test_a_registry_in_another_store(tmp_path, client):
    uri = _log_model(tmp_path, "shared")
    assert nbtrack.get_registry_uri() == nbtrack.get_tracking_uri()
    registry = str(tmp_path / "registry")
    nbtrack.set_registry_uri(registry)
    assert nbtrack.get_registry_uri() == registry
    mv = nbtrack.register_model(uri, "iris")
    assert mv.version == 1
    assert client.search_registered_models() == []  # the runs' store has no model
    assert [m.name for m in nbtrack.MlflowClient(registry_uri=registry).search_registered_models()] == ["iris"]
    assert [m.name for m in nbtrack.MlflowClient(registry).search_registered_models()] == ["iris"]
    assert _marker(nbtrack.artifacts.download_artifacts("models:/iris/1")) == "shared"
    nbtrack.set_registry_uri(nbtrack.get_tracking_uri())
    with pytest.raises(NotFound):
        nbtrack.artifacts.download_artifacts("models:/iris/1")
    assert _marker(nbtrack.artifacts.download_artifacts("models:/iris/1", registry_uri=registry)) == "shared"


def test_the_registry_uri_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("MLFLOW_REGISTRY_URI", str(tmp_path / "reg"))
    assert nbtrack.get_registry_uri() == str(tmp_path / "reg")
    assert nbtrack.MlflowClient().registry_uri == str(tmp_path / "reg")


def test_databricks_and_genai_parameters_are_refused_not_ignored(client):
    with pytest.raises(InvalidParameter, match="deployment_job_id"):
        client.create_registered_model("m", deployment_job_id="123")
    with pytest.raises(InvalidParameter, match="trace_location"):
        nbtrack.set_experiment("e", trace_location="somewhere")
    with pytest.raises(InvalidParameter, match="trace_location"):
        nbtrack.create_experiment("e", trace_location="somewhere")
    assert nbtrack.get_experiment_by_name("e") is None


# -- tables, streams, inputs ----------------------------------------------------------------------
def test_load_table_joins_the_runs_tables_with_extra_columns(client):
    with nbtrack.start_run() as first:
        nbtrack.log_param("lr", "0.1")
        nbtrack.log_table({"q": ["a", "b"], "score": [1.0, 2.0]}, "eval.json")
    with nbtrack.start_run() as second:
        nbtrack.log_table({"q": ["c"], "score": [3.0]}, "eval.json")
    with nbtrack.start_run():
        nbtrack.log_table({"q": ["z"]}, "other.json")
    table = nbtrack.load_table("eval.json", extra_columns=["run_id", "params.lr"])
    rows = sorted(zip(table["q"], table["score"], table["run_id"], table["params.lr"].fillna("-"), strict=True))
    assert rows == [("a", 1.0, first.info.run_id, "0.1"), ("b", 2.0, first.info.run_id, "0.1"),
                    ("c", 3.0, second.info.run_id, "-")]
    only = client.load_table("0", "eval.json", run_ids=[second.info.run_id])
    assert list(only["q"]) == ["c"]


def test_load_table_errors_say_what_to_do(client):
    with nbtrack.start_run():
        nbtrack.log_table({"run_id": ["mine"]}, "t.json")
    with pytest.raises(NotFound, match="log_table"):
        nbtrack.load_table("missing.json")
    with pytest.raises(InvalidParameter, match="not a column"):
        nbtrack.load_table("t.json", extra_columns=["nope"])
    table = nbtrack.load_table("t.json", extra_columns=["run_id"])  # a clash gets an underscore, as MLflow
    assert list(table.columns) == ["run_id", "run_id_"] and table["run_id"][0] == "mine"


def test_log_stream_writes_the_bytes(client):
    with nbtrack.start_run() as run:
        nbtrack.log_stream(io.BytesIO(b"\x00bytes"), "blobs/b.bin")
        with pytest.raises(InvalidParameter, match="binary stream"):
            nbtrack.log_stream(io.StringIO("text"), "t.bin")
    path = nbtrack.artifacts.download_artifacts(f"runs:/{run.info.run_id}/blobs/b.bin")
    with open(path, "rb") as f:
        assert f.read() == b"\x00bytes"


def test_log_inputs_logs_each_dataset_with_its_context(client):
    pd = pytest.importorskip("pandas")
    a = nbtrack.data.from_pandas(pd.DataFrame({"x": [1, 2]}), name="train")
    b = nbtrack.data.from_pandas(pd.DataFrame({"x": [3]}), name="test")
    with nbtrack.start_run() as run:
        nbtrack.log_inputs([a, None, b], contexts=["training", None, "testing"])
        with pytest.raises(InvalidParameter, match="one per dataset"):
            nbtrack.log_inputs([a], contexts=["x", "y"])
    inputs = client.get_run(run.info.run_id).inputs.dataset_inputs
    got = {(i.dataset.name, {t.key: t.value for t in i.tags}.get("mlflow.data.context")) for i in inputs}
    assert got == {("train", "training"), ("test", "testing")}


def test_flush_async_logging_makes_values_durable(client):
    with nbtrack.start_run() as run:
        nbtrack.log_metric("m", 1.0)
        nbtrack.flush_async_logging()
        nbtrack.flush_artifact_async_logging()
        assert client.get_run(run.info.run_id).data.metrics == {"m": 1.0}


# -- mlflow.artifacts ---------------------------------------------------------------------------
def test_artifacts_list_and_load_helpers(tmp_path, client):
    pil = pytest.importorskip("PIL.Image")
    with nbtrack.start_run() as run:
        nbtrack.log_text("hello", "notes/a.txt")
        nbtrack.log_dict({"k": [1, 2]}, "notes/d.json")
        nbtrack.log_image(pil.new("RGB", (3, 2), "red"), "img.png")
    rid = run.info.run_id
    listed = nbtrack.artifacts.list_artifacts(f"runs:/{rid}/notes")
    assert sorted(f.path for f in listed) == ["notes/a.txt", "notes/d.json"]
    assert [f.path for f in nbtrack.artifacts.list_artifacts(run_id=rid, artifact_path="notes")] == \
        [f.path for f in listed]
    assert nbtrack.artifacts.load_text(f"runs:/{rid}/notes/a.txt") == "hello"
    assert nbtrack.artifacts.load_dict(f"runs:/{rid}/notes/d.json") == {"k": [1, 2]}
    assert nbtrack.artifacts.load_image(f"runs:/{rid}/img.png").size == (3, 2)
    with pytest.raises(InvalidParameter, match="load_text"):
        nbtrack.artifacts.load_dict(f"runs:/{rid}/notes/a.txt")
    with pytest.raises(InvalidParameter, match="Exactly one"):
        nbtrack.artifacts.list_artifacts()
    local = tmp_path / "plain"
    local.mkdir()
    (local / "f.json").write_text(json.dumps({"a": 1}))
    assert [f.path for f in nbtrack.artifacts.list_artifacts(str(local))] == ["f.json"]
    assert nbtrack.artifacts.load_dict(str(local / "f.json")) == {"a": 1}


def test_doctor_prints_what_a_bug_report_needs(client, capsys, monkeypatch):
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", "secret-token")
    with nbtrack.start_run() as run:
        nbtrack.doctor(mask_envs=True)
    out = capsys.readouterr().out
    assert f"nbtrack version: {nbtrack.__version__}" in out
    assert f"Tracking URI: {nbtrack.get_tracking_uri()}" in out and "Registry URI: " in out
    assert f"Active run ID: {run.info.run_id}" in out
    assert "MLFLOW_TRACKING_TOKEN: ***" in out and "secret-token" not in out
    nbtrack.doctor()
    assert "MLFLOW_TRACKING_TOKEN: secret-token" in capsys.readouterr().out


def test_image_objects_as_mlflow_image(tmp_path, client):
    np = pytest.importorskip("numpy")
    pytest.importorskip("PIL")
    pixels = np.arange(24, dtype=np.uint8).reshape(2, 4, 3)
    image = nbtrack.Image(pixels)
    assert image.size == (4, 2) and (image.to_array() == pixels).all()
    assert image.to_list()[1] == (3, 4, 5) and image.resize((2, 1)).size == (2, 1)
    image.save(str(tmp_path / "i.png"))
    assert nbtrack.Image(str(tmp_path / "i.png")).to_list() == image.to_list()
    with pytest.raises(InvalidParameter, match="Unsupported image"):
        nbtrack.Image(3.5)
    with nbtrack.start_run() as run:
        nbtrack.log_image(image, "as_file.png")
        nbtrack.log_image(image, key="series", step=1)
    loaded = nbtrack.artifacts.load_image(f"runs:/{run.info.run_id}/as_file.png")
    assert (np.array(loaded) == pixels).all()
    assert client.get_run(run.info.run_id).data.tags["mlflow.loggedImages"] == "True"
