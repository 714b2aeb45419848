"""The model registry on every backend: registered models and versions of a real logged
scikit-learn model, tags, descriptions, stages, aliases, search with filters and order_by,
rename and delete, and ``models:/`` URIs that load and predict."""

from __future__ import annotations

import time

import pytest

import nbtrack
from nbtrack.errors import NbtrackError, NotFound, ResourceExists

sklearn = pytest.importorskip("sklearn")


@pytest.fixture(scope="module")
def model_run(module_backend):
    """A fitted iris classifier logged to a run (``runs:/<id>/model``) once per backend, and its data."""
    from sklearn.datasets import load_iris
    from sklearn.linear_model import LogisticRegression

    X, y = load_iris(return_X_y=True)
    model = LogisticRegression(max_iter=300).fit(X, y)
    with module_backend.active():
        eid = nbtrack.MlflowClient().create_experiment(module_backend.name("registry"))
        with nbtrack.start_run(experiment_id=eid) as run:
            nbtrack.sklearn.log_model(model, name="model", input_example=X[:2])
    return run.info.run_id, model, X


@pytest.fixture
def backend(use_module_backend):
    """The module's store (every name a test makes is its own)."""
    return use_module_backend


@pytest.fixture
def logged(model_run, backend):
    return model_run


def test_versions_from_a_run_stages_aliases_and_models_uris(backend, logged):
    run_id, model, X = logged
    client = nbtrack.MlflowClient()
    name = backend.name("iris")
    client.create_registered_model(name, tags={"team": "ml"}, description="iris classifier")
    source = f"runs:/{run_id}/model"
    v1 = client.create_model_version(name, source, run_id=run_id, tags={"kind": "first"})
    v2 = client.create_model_version(name, source, run_id=run_id, description="second")
    v3 = client.create_model_version(name, source, run_id=run_id)
    assert [v.version for v in (v1, v2, v3)] == [1, 2, 3]
    assert (v1.name, v1.run_id, v1.current_stage, v1.tags) == (name, run_id, "None", {"kind": "first"})
    assert client.get_model_version(name, 2).description == "second"

    client.transition_model_version_stage(name, 1, "Production")
    client.transition_model_version_stage(name, 2, "Staging")
    moved = client.transition_model_version_stage(name, 3, "Production", archive_existing_versions=True)
    assert moved.current_stage == "Production"
    stages = {v.version: v.current_stage for v in client.search_model_versions(f"name = '{name}'")}
    assert stages == {1: "Archived", 2: "Staging", 3: "Production"}
    latest = client.get_latest_versions(name, ["Production", "Staging"])
    assert sorted((v.version, v.current_stage) for v in latest) == [(2, "Staging"), (3, "Production")]
    assert sorted(v.version for v in client.get_latest_versions(name)) == [1, 2, 3]  # one per stage
    with pytest.raises(NbtrackError) as bad:
        client.transition_model_version_stage(name, 1, "Nowhere")
    assert bad.value.error_code == "INVALID_PARAMETER_VALUE"

    client.set_registered_model_alias(name, "champion", 2)
    client.set_registered_model_alias(name, "challenger", 3)
    assert client.get_registered_model(name).aliases == {"champion": 2, "challenger": 3}
    assert client.get_model_version_by_alias(name, "champion").version == 2
    client.set_registered_model_alias(name, "champion", 3)  # an alias moves
    assert client.get_model_version_by_alias(name, "champion").version == 3
    expected = model.predict(X[:10]).tolist()
    for uri in (f"models:/{name}@champion", f"models:/{name}/2", f"models:/{name}/Production", source):
        assert nbtrack.pyfunc.load_model(uri).predict(X[:10]).tolist() == expected, uri
    assert nbtrack.sklearn.load_model(f"models:/{name}@challenger").predict(X[:10]).tolist() == expected
    client.delete_registered_model_alias(name, "challenger")
    assert client.get_registered_model(name).aliases == {"champion": 3}
    with pytest.raises(NotFound):
        client.get_model_version_by_alias(name, "challenger")


def test_register_model_from_a_runs_uri(backend, logged):
    run_id, model, X = logged
    name = backend.name("registered")
    version = nbtrack.register_model(f"runs:/{run_id}/model", name, tags={"kind": "first"})
    assert (version.name, version.version, version.run_id, version.tags) == (name, 1, run_id, {"kind": "first"})
    assert nbtrack.register_model(f"runs:/{run_id}/model", name).version == 2  # the model exists: a new version
    logged_model = nbtrack.MlflowClient().get_model_version(name, 1).model_id  # MLflow 3: linked to its logged model
    assert logged_model is not None and logged_model.startswith("m-")
    assert nbtrack.get_logged_model(logged_model).source_run_id == run_id
    loaded = nbtrack.pyfunc.load_model(f"models:/{name}/1")
    assert loaded.predict(X[:10]).tolist() == model.predict(X[:10]).tolist()
    with pytest.raises(NotFound):
        nbtrack.register_model(f"runs:/{run_id}/no-such-model", name)


def test_tags_descriptions_rename_and_delete(backend, logged):
    run_id, _, _ = logged
    client = nbtrack.MlflowClient()
    name = backend.name("m")
    created = client.create_registered_model(name, tags={"a": "1"})
    assert created.tags == {"a": "1"} and created.latest_versions == []
    with pytest.raises(ResourceExists):
        client.create_registered_model(name)
    client.set_registered_model_tag(name, "b", 2)
    client.delete_registered_model_tag(name, "a")
    assert client.update_registered_model(name, description="described").description == "described"
    got = client.get_registered_model(name)
    assert got.tags == {"b": "2"} and got.description == "described"

    client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id)
    client.set_model_version_tag(name, "1", "validated", "yes")
    client.set_model_version_tag(name, 1, "gone", "soon")
    client.delete_model_version_tag(name, 1, "gone")
    assert client.update_model_version(name, 1, description="v1").description == "v1"
    version = client.get_model_version(name, 1)
    assert version.tags == {"validated": "yes"} and version.description == "v1"
    assert client.get_model_version_download_uri(name, 1)

    renamed = backend.name("renamed")
    assert client.rename_registered_model(name, renamed).name == renamed
    with pytest.raises(NotFound) as info:
        client.get_registered_model(name)
    assert info.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    assert client.get_model_version(renamed, 1).name == renamed
    client.create_model_version(renamed, f"runs:/{run_id}/model", run_id=run_id)
    client.delete_model_version(renamed, 1)
    with pytest.raises(NotFound):
        client.get_model_version(renamed, 1)
    assert [v.version for v in client.search_model_versions(f"name = '{renamed}'")] == [2]
    assert client.create_model_version(renamed, f"runs:/{run_id}/model").version == 3  # never reused
    client.delete_registered_model(renamed)
    with pytest.raises(NotFound):
        client.get_registered_model(renamed)
    assert client.search_model_versions(f"name = '{renamed}'") == []


def test_search_registered_models_and_versions(backend, logged):
    run_id, _, _ = logged
    client = nbtrack.MlflowClient()
    names = [backend.name(n) for n in ("a", "b", "c")]
    for i, name in enumerate(names):
        client.create_registered_model(name, tags={"team": "ml" if i < 2 else "cv"})
        for _ in range(i + 1):
            client.create_model_version(name, f"runs:/{run_id}/model", run_id=run_id, tags={"i": str(i)})
    mine = f"name LIKE '{backend.name()}-%'"

    def models(filter_string=None, **kwargs):
        where = f"{mine} AND {filter_string}" if filter_string else mine
        return [m.name for m in client.search_registered_models(where, **kwargs)]

    assert models() == names  # name ASC by default
    assert models(order_by=["name DESC"]) == names[::-1]
    assert models("tags.team = 'ml'") == names[:2]
    assert models(f"name = '{names[1]}'") == [names[1]]
    assert models("name ILIKE '%-C'") == [names[2]]
    first = client.search_registered_models(mine, max_results=2)
    assert [m.name for m in first] == names[:2] and first.token
    rest = client.search_registered_models(mine, max_results=2, page_token=first.token)
    assert [m.name for m in rest] == names[2:] and rest.token is None

    def versions(filter_string, **kwargs):
        return [(v.name, v.version) for v in client.search_model_versions(filter_string, **kwargs)]

    assert versions(f"name = '{names[2]}'", order_by=["version_number DESC"]) == [(names[2], 3), (names[2], 2),
                                                                                  (names[2], 1)]
    assert sorted(versions(f"{mine} AND tags.i = '1'")) == [(names[1], 1), (names[1], 2)]
    assert len(versions(f"{mine} AND run_id = '{run_id}'")) == 6
    assert versions(f"name IN ('{names[0]}', '{names[1]}') AND version_number > 1") == [(names[1], 2)]
    page = client.search_model_versions(f"{mine} AND run_id = '{run_id}'", max_results=4, order_by=["version_number"])
    assert len(page) == 4 and page.token
    with pytest.raises(NbtrackError) as info:
        client.search_registered_models("nonsense >> 1")
    assert info.value.error_code == "INVALID_PARAMETER_VALUE"


def test_stage_and_alias_history_and_what_held_a_stage_then(backend, logged):
    """nbtrack's registry history (MLflow keeps none): on ``rest`` it comes from nbtrack server's
    views/registry-history, so a remote client answers "what was in Production then" too."""
    run_id, _, _ = logged
    client = nbtrack.MlflowClient()
    name = backend.name("history")
    client.create_registered_model(name)
    source = f"runs:/{run_id}/model"
    client.create_model_version(name, source, run_id=run_id)
    client.create_model_version(name, source, run_id=run_id)
    client.transition_model_version_stage(name, 1, "Production")
    client.set_registered_model_alias(name, "champion", 1)
    between = max(e.timestamp for e in client.get_model_version_history(name))
    time.sleep(0.005)  # the changes below are recorded in a later millisecond
    client.transition_model_version_stage(name, 2, "Production", archive_existing_versions=True)
    client.set_registered_model_alias(name, "champion", 2)

    events = client.get_model_version_history(name)
    kinds = [(e.kind, e.version, e.from_value, e.to_value, e.alias) for e in events]
    assert kinds[:4] == [("created", 1, None, "None", None), ("created", 2, None, "None", None),
                         ("stage", 1, "None", "Production", None), ("alias", 1, None, "1", "champion")]
    # one transition archives version 1 as it promotes version 2 (recorded in either order)
    assert sorted(kinds[4:6], key=str) == [("stage", 1, "Production", "Archived", None),
                                           ("stage", 2, "None", "Production", None)]
    assert kinds[6:] == [("alias", 2, "1", "2", "champion")]
    assert all(e.name == name for e in events)
    assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
    assert [e.kind for e in client.get_model_version_history(name, 2)] == ["created", "stage", "alias"]
    assert len(client.get_model_version_history(name, until=between)) == 4
    with pytest.raises(NotFound):
        client.get_model_version_history(backend.name("no-such-model"))
