"""The registry API behaves as MLflow's: models, versions, stages, tags, aliases, errors."""

from __future__ import annotations

import pytest

from nbtrack.entities import ModelVersion, RegisteredModel
from nbtrack.errors import (
    AliasNotFound,
    InvalidAlias,
    InvalidParameter,
    InvalidStage,
    NbtrackError,
    NotFound,
    ResourceExists,
)


@pytest.fixture
def model_dir(tmp_path):
    """A minimal model folder (an MLmodel file and a payload)."""
    path = tmp_path / "model"
    path.mkdir()
    (path / "MLmodel").write_text("flavors: {}\n")
    (path / "weights.bin").write_bytes(b"\x00\x01")
    return str(path)


def _versions(client, name, n, source):
    return [client.create_model_version(name, source).version for _ in range(n)]


# -- registered models ------------------------------------------------------------------------
def test_create_get_update_rename_delete_registered_model(client):
    created = client.create_registered_model("iris", tags={"team": "ml", "n": 1}, description="first")
    assert isinstance(created, RegisteredModel)
    assert created.name == "iris" and created.description == "first"
    assert created.tags == {"team": "ml", "n": "1"} and created.aliases == {} and created.latest_versions == []
    assert created.creation_timestamp == created.last_updated_timestamp > 0

    updated = client.update_registered_model("iris", description="second")
    assert updated.description == "second" and updated.last_updated_timestamp >= created.last_updated_timestamp
    assert client.get_registered_model("iris").description == "second"

    renamed = client.rename_registered_model("iris", "flowers")
    assert renamed.name == "flowers" and renamed.tags == {"team": "ml", "n": "1"}
    with pytest.raises(NotFound, match=r"Registered Model with name=iris not found"):
        client.get_registered_model("iris")

    client.delete_registered_model("flowers")
    with pytest.raises(NotFound):
        client.get_registered_model("flowers")
    assert client.search_registered_models() == []


def test_duplicate_name_and_rename_onto_existing_name_are_rejected(client):
    client.create_registered_model("a")
    client.create_registered_model("b")
    with pytest.raises(ResourceExists, match=r"Registered Model \(name=a\) already exists"):
        client.create_registered_model("a")
    with pytest.raises(ResourceExists, match=r"Registered Model \(name=b\) already exists"):
        client.rename_registered_model("a", "b")
    assert ResourceExists("x").get_http_status_code() == 400


@pytest.mark.parametrize("bad", ["a/b", "a:b", "", ".", "..x", None])
def test_invalid_model_names(client, bad):
    with pytest.raises(InvalidParameter) as info:
        client.create_registered_model(bad)
    if bad in ("a/b", "a:b"):
        assert str(info.value) == f"Invalid model name '{bad}'. Names cannot contain '/' or ':'."
    with pytest.raises(InvalidParameter):
        client.get_registered_model(bad)


def test_names_with_spaces_dots_and_unicode_are_fine(client):
    for name in ("my model", "model.v2", "modèle-ü_1"):
        assert client.create_registered_model(name).name == name
        assert client.get_registered_model(name).name == name


def test_registered_model_tags(client):
    client.create_registered_model("m")
    client.set_registered_model_tag("m", "k", "v")
    client.set_registered_model_tag("m", "k", "v2")
    client.set_registered_model_tag("m", "num", 3)
    assert client.get_registered_model("m").tags == {"k": "v2", "num": "3"}
    client.delete_registered_model_tag("m", "k")
    client.delete_registered_model_tag("m", "never-set")  # MLflow: no error
    assert client.get_registered_model("m").tags == {"num": "3"}
    with pytest.raises(NotFound):
        client.set_registered_model_tag("nope", "k", "v")
    with pytest.raises(InvalidParameter, match="had length 100001"):
        client.set_registered_model_tag("m", "big", "x" * 100_001)
    with pytest.raises(InvalidParameter):
        client.set_registered_model_tag("m", "../k", "v")


# -- model versions ---------------------------------------------------------------------------
def test_create_and_get_model_version(client, model_dir):
    client.create_registered_model("m")
    mv = client.create_model_version("m", model_dir, run_id="abc123", tags={"k": 1}, description="d",
                                     run_link="http://x")
    assert isinstance(mv, ModelVersion)
    assert (mv.name, mv.version, mv.current_stage, mv.status) == ("m", 1, "None", "READY")
    assert mv.source == model_dir and mv.run_id == "abc123" and mv.run_link == "http://x"
    assert mv.tags == {"k": "1"} and mv.description == "d" and mv.aliases == [] and mv.user_id
    assert client.get_model_version("m", 1) == mv
    assert client.get_model_version("m", "1") == mv  # versions may be given as strings, as over REST
    assert dict(mv)["version"] == 1
    model = client.get_registered_model("m")
    assert [v.version for v in model.latest_versions] == [1]
    assert model.last_updated_timestamp >= mv.creation_timestamp


def test_unknown_model_or_version(client, model_dir):
    with pytest.raises(NotFound, match=r"Registered Model with name=nope not found"):
        client.create_model_version("nope", model_dir)
    client.create_registered_model("m")
    with pytest.raises(NotFound, match=r"Model Version \(name=m, version=7\) not found"):
        client.get_model_version("m", 7)
    for call in (lambda: client.update_model_version("m", 7, "x"),
                 lambda: client.transition_model_version_stage("m", 7, "Staging"),
                 lambda: client.delete_model_version("m", 7),
                 lambda: client.set_model_version_tag("m", 7, "k", "v"),
                 lambda: client.set_registered_model_alias("m", "champion", 7),
                 lambda: client.get_model_version_download_uri("m", 7)):
        with pytest.raises(NotFound):
            call()
    with pytest.raises(InvalidParameter, match="Model version must be an integer, got 'abc'"):
        client.get_model_version("m", "abc")
    assert NotFound("x").get_http_status_code() == 404


def test_version_numbers_are_never_reused(client, model_dir):
    client.create_registered_model("m")
    assert _versions(client, "m", 3, model_dir) == [1, 2, 3]
    client.delete_model_version("m", 3)
    client.delete_model_version("m", 2)
    assert client.create_model_version("m", model_dir).version == 4
    client.delete_model_version("m", 1)
    client.delete_model_version("m", 4)
    assert client.search_model_versions("name = 'm'") == []
    assert client.create_model_version("m", model_dir).version == 5
    with pytest.raises(NotFound):
        client.get_model_version("m", 2)
    # a new model of the same name starts again at 1, as in MLflow (it is another model)
    client.delete_registered_model("m")
    client.create_registered_model("m")
    assert client.create_model_version("m", model_dir).version == 1


def test_update_and_delete_model_version(client, model_dir):
    client.create_registered_model("m")
    _versions(client, "m", 2, model_dir)
    client.set_registered_model_alias("m", "champion", 2)
    mv = client.update_model_version("m", 2, description="better")
    assert mv.description == "better" and mv.aliases == ["champion"]
    client.delete_model_version("m", 2)
    assert client.get_registered_model("m").aliases == {}  # its aliases go with it
    with pytest.raises(AliasNotFound):
        client.get_model_version_by_alias("m", "champion")
    assert [v.version for v in client.get_registered_model("m").latest_versions] == [1]


def test_model_version_tags_by_version_or_stage(client, model_dir):
    client.create_registered_model("m")
    _versions(client, "m", 2, model_dir)
    client.transition_model_version_stage("m", 2, "Staging")
    client.set_model_version_tag("m", 1, "k", "v")
    client.set_model_version_tag("m", key="reviewed", value=True, stage="staging")
    assert client.get_model_version("m", 1).tags == {"k": "v"}
    assert client.get_model_version("m", 2).tags == {"reviewed": "True"}
    client.delete_model_version_tag("m", 2, "reviewed")
    client.delete_model_version_tag("m", 1, "absent")
    assert client.get_model_version("m", 2).tags == {}
    with pytest.raises(InvalidParameter, match="version and stage cannot be set together"):
        client.set_model_version_tag("m", 1, "k", "v", stage="Staging")
    with pytest.raises(InvalidParameter, match="version or stage must be set"):
        client.set_model_version_tag("m", key="k", value="v")
    with pytest.raises(NotFound, match="stage 'Production'"):
        client.set_model_version_tag("m", key="k", value="v", stage="Production")


# -- stages -----------------------------------------------------------------------------------
def test_transition_stage_is_case_insensitive_and_canonical(client, model_dir):
    client.create_registered_model("m")
    _versions(client, "m", 1, model_dir)
    for given, expected in [("staging", "Staging"), ("PRODUCTION", "Production"), ("archived", "Archived"),
                            ("none", "None"), (" Production ", "Production")]:
        assert client.transition_model_version_stage("m", 1, given).current_stage == expected
    assert client.get_model_version_stages("m", 1) == ["None", "Staging", "Production", "Archived"]


@pytest.mark.parametrize("stage", ["Prod", "deleted_internal", "Deleted", 3])
def test_invalid_stage(client, model_dir, stage):
    client.create_registered_model("m")
    _versions(client, "m", 1, model_dir)
    with pytest.raises(InvalidStage, match=f"Invalid Model Version stage: {stage}. Value must be one of "
                                           "None, Staging, Production, Archived."):
        client.transition_model_version_stage("m", 1, stage)
    with pytest.raises(InvalidStage, match="must not be an empty string"):
        client.transition_model_version_stage("m", 1, "  ")
    with pytest.raises(InvalidStage):
        client.get_latest_versions("m", [stage])


def test_archive_existing_versions(client, model_dir):
    client.create_registered_model("m")
    _versions(client, "m", 4, model_dir)
    client.transition_model_version_stage("m", 1, "Production")
    client.transition_model_version_stage("m", 2, "Production")
    client.transition_model_version_stage("m", 3, "Staging")
    mv = client.transition_model_version_stage("m", 4, "production", archive_existing_versions=True)
    assert mv.current_stage == "Production"
    stages = {v.version: v.current_stage for v in client.search_model_versions("name = 'm'")}
    assert stages == {1: "Archived", 2: "Archived", 3: "Staging", 4: "Production"}
    # without the flag, two versions may share a stage (as in MLflow)
    client.transition_model_version_stage("m", 3, "Production")
    assert len(client.get_latest_versions("m", ["Production"])) == 1
    assert client.get_latest_versions("m", ["Production"])[0].version == 4
    for stage in ("None", "Archived"):
        with pytest.raises(InvalidStage, match=f"because '{stage}' is not an Active stage. Valid stages are "
                                               r"\['Staging', 'Production'\]"):
            client.transition_model_version_stage("m", 1, stage, archive_existing_versions=True)


def test_get_latest_versions(client, model_dir):
    client.create_registered_model("m")
    assert client.get_latest_versions("m") == []
    _versions(client, "m", 5, model_dir)
    client.transition_model_version_stage("m", 2, "Staging")
    client.transition_model_version_stage("m", 3, "Production")
    client.transition_model_version_stage("m", 4, "Staging")
    latest = {v.current_stage: v.version for v in client.get_latest_versions("m")}
    assert latest == {"None": 5, "Staging": 4, "Production": 3}
    assert [v.version for v in client.get_latest_versions("m", ["staging", "Production"])] == [4, 3]
    assert client.get_latest_versions("m", ["Archived"]) == []
    with pytest.raises(NotFound):
        client.get_latest_versions("nope")


# -- aliases ----------------------------------------------------------------------------------
def test_aliases_point_at_one_version_and_move(client, model_dir):
    client.create_registered_model("m")
    _versions(client, "m", 3, model_dir)
    client.set_registered_model_alias("m", "champion", 1)
    client.set_registered_model_alias("m", "challenger", "2")
    client.set_registered_model_alias("m", "Champion-2_b", 2)
    assert client.get_registered_model("m").aliases == {"Champion-2_b": 2, "challenger": 2, "champion": 1}
    client.set_registered_model_alias("m", "champion", 3)
    assert client.get_model_version_by_alias("m", "champion").version == 3
    assert client.get_model_version("m", 1).aliases == []
    assert client.get_model_version("m", 2).aliases == ["Champion-2_b", "challenger"]
    client.delete_registered_model_alias("m", "challenger")
    client.delete_registered_model_alias("m", "never-set")  # MLflow: no error
    assert client.get_registered_model("m").aliases == {"Champion-2_b": 2, "champion": 3}


@pytest.mark.parametrize("alias", ["latest", "LaTeSt", "v1", "V12", "v007"])
def test_reserved_aliases(client, model_dir, alias):
    client.create_registered_model("m")
    _versions(client, "m", 1, model_dir)
    with pytest.raises(InvalidAlias, match="reserved"):
        client.set_registered_model_alias("m", alias, 1)


@pytest.mark.parametrize("alias", ["", "a b", "a.b", "a/b", "a@b", "x" * 256, None])
def test_malformed_aliases(client, model_dir, alias):
    client.create_registered_model("m")
    _versions(client, "m", 1, model_dir)
    with pytest.raises(InvalidAlias) as info:
        client.set_registered_model_alias("m", alias, 1)
    assert isinstance(info.value, InvalidParameter) and info.value.alias == alias


def test_alias_like_names_that_are_allowed(client, model_dir):
    client.create_registered_model("m")
    _versions(client, "m", 1, model_dir)
    for alias in ("v", "v1a", "version1", "latest2", "x" * 255):
        client.set_registered_model_alias("m", alias, 1)
    assert len(client.get_registered_model("m").aliases) == 5


def test_missing_alias_is_not_found_and_invalid_parameter_like_mlflow(client, model_dir):
    client.create_registered_model("m")
    with pytest.raises(AliasNotFound, match="Registered model alias champion not found") as info:
        client.get_model_version_by_alias("m", "champion")
    assert isinstance(info.value, NotFound) and isinstance(info.value, InvalidParameter)
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"
    with pytest.raises(NotFound, match="name=nope"):
        client.get_model_version_by_alias("nope", "champion")


def test_errors_are_nbtrack_errors_with_mlflow_codes():
    assert issubclass(InvalidStage, InvalidParameter) and issubclass(InvalidAlias, InvalidParameter)
    assert InvalidStage("x").error_code == "INVALID_PARAMETER_VALUE"
    assert isinstance(InvalidAlias("x"), NbtrackError)


def test_a_folder_holding_the_store_is_refused_not_copied_into_itself(tmp_path, monkeypatch):
    import os

    from sklearn.linear_model import LinearRegression

    import nbtrack

    monkeypatch.chdir(tmp_path)
    nbtrack.set_tracking_uri(str(tmp_path / "store"))  # the store inside the folder registered
    model = LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0])
    nbtrack.sklearn.save_model(model, str(tmp_path / "model"))
    with pytest.raises(nbtrack.errors.InvalidParameter, match="holds the store itself"):
        nbtrack.register_model(str(tmp_path), "whole-folder")
    assert nbtrack.register_model(str(tmp_path / "model"), "just-the-model").version == 1
    assert os.listdir(tmp_path / "store" / "registry" / ".staging") == []  # nothing left half-copied
