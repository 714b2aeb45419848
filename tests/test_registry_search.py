"""search_registered_models and search_model_versions: MLflow's grammar, order, paging, errors."""

from __future__ import annotations

import pytest

from nbtrack.errors import InvalidFilter, InvalidParameter


@pytest.fixture
def models(client):
    for name, tags in [("iris", {"team": "a", "kind": "clf"}), ("Iris-2", {"team": "b"}),
                       ("wine", {"team": "a"}), ("boston", {})]:
        client.create_registered_model(name, tags=tags)
    return client


@pytest.fixture
def versions(client):
    client.create_registered_model("iris")
    client.create_registered_model("wine")
    client.create_model_version("iris", "s3://b/iris/1", run_id="run1", tags={"ok": "yes"})
    client.create_model_version("iris", "s3://b/iris/2", run_id="run2", tags={"ok": "no"})
    client.create_model_version("iris", "models:/other/1", run_id="run2")
    client.create_model_version("wine", "s3://b/wine/1", run_id="run3", tags={"ok": "yes"})
    return client


def _names(found):
    return [m.name for m in found]


def _keys(found):
    return [(v.name, v.version) for v in found]


@pytest.mark.parametrize(("filter_string", "expected"), [
    (None, ["Iris-2", "boston", "iris", "wine"]),
    ("", ["Iris-2", "boston", "iris", "wine"]),
    ("name = 'iris'", ["iris"]),
    ("name != 'iris'", ["Iris-2", "boston", "wine"]),
    ("name LIKE 'iris%'", ["iris"]),
    ("name ILIKE 'iris%'", ["Iris-2", "iris"]),
    ("name IN ('wine', 'boston', 'nope')", ["boston", "wine"]),
    ("name NOT IN ('wine', 'boston')", ["Iris-2", "iris"]),
    ("tags.team = 'a'", ["iris", "wine"]),
    ("tags.team != 'a'", ["Iris-2"]),
    ("tag.`team` LIKE 'b%'", ["Iris-2"]),
    ("tags.team = 'a' AND tags.kind = 'clf'", ["iris"]),
    ("tags.team = 'a' and name LIKE 'w%'", ["wine"]),
    # nbtrack's extensions: OR, NOT, parentheses
    ("name = 'boston' OR tags.team = 'b'", ["Iris-2", "boston"]),
    ("NOT (tags.team = 'a')", ["Iris-2", "boston"]),
])
def test_search_registered_models_filters(models, filter_string, expected):
    assert _names(models.search_registered_models(filter_string)) == expected


def test_search_registered_models_order_and_paging(models):
    assert _names(models.search_registered_models(order_by=["name DESC"])) == ["wine", "iris", "boston", "Iris-2"]
    newest = _names(models.search_registered_models(order_by=["creation_timestamp DESC"]))
    assert newest == ["boston", "wine", "Iris-2", "iris"]
    models.update_registered_model("iris", "touched")
    assert _names(models.search_registered_models(order_by=["last_updated_timestamp DESC"]))[0] == "iris"
    first = models.search_registered_models(max_results=3)
    assert _names(first) == ["Iris-2", "boston", "iris"] and first.token
    rest = models.search_registered_models(max_results=3, page_token=first.token)
    assert _names(rest) == ["wine"] and rest.token is None
    found = models.search_registered_models("name = 'iris'")
    assert found[0].tags == {"kind": "clf", "team": "a"}


def test_search_registered_models_errors(models):
    with pytest.raises(InvalidFilter, match="Invalid attribute key 'owner'"):
        models.search_registered_models("owner = 'x'")
    with pytest.raises(InvalidFilter, match="Invalid comparator 'IN'"):
        models.search_registered_models("tags.team IN ('a')")
    with pytest.raises(InvalidFilter):
        models.search_registered_models("name > 'a'")
    with pytest.raises(InvalidFilter):
        models.search_registered_models("params.x = 'a'")
    with pytest.raises(InvalidFilter, match="duplicate"):
        models.search_registered_models(order_by=["name", "name DESC"])
    with pytest.raises(InvalidFilter):
        models.search_registered_models(order_by=["tags.team"])
    with pytest.raises(InvalidParameter, match="at most 1000, but got value 1001"):
        models.search_registered_models(max_results=1001)
    with pytest.raises(InvalidParameter, match="positive integer"):
        models.search_registered_models(max_results=0)


@pytest.mark.parametrize(("filter_string", "expected"), [
    ("name = 'iris'", [("iris", 3), ("iris", 2), ("iris", 1)]),
    ("name IN ('wine')", [("wine", 1)]),
    ("run_id = 'run2'", [("iris", 3), ("iris", 2)]),
    ("run_id IN ('run1', 'run3')", [("wine", 1), ("iris", 1)]),
    ("run_id NOT IN ('run2')", [("wine", 1), ("iris", 1)]),
    ("version_number > 1", [("iris", 3), ("iris", 2)]),
    ("version_number = 1 AND name = 'iris'", [("iris", 1)]),
    ("version_number <= 1", [("wine", 1), ("iris", 1)]),
    ("source_path LIKE 'models:/%'", [("iris", 3)]),
    ("source_path = 's3://b/wine/1'", [("wine", 1)]),
    ("source_path ILIKE 'S3://B/IRIS/%'", [("iris", 2), ("iris", 1)]),
    ("tags.ok = 'yes'", [("wine", 1), ("iris", 1)]),
    ("tags.ok != 'yes'", [("iris", 2)]),
    ("tags.ok = 'yes' AND name = 'iris'", [("iris", 1)]),
    ("name = 'wine' OR version_number = 3", [("wine", 1), ("iris", 3)]),
])
def test_search_model_versions_filters(versions, filter_string, expected):
    # the default order is newest update first: wine/1 was created last
    assert sorted(_keys(versions.search_model_versions(filter_string))) == sorted(expected)


def test_search_model_versions_order_and_paging(versions):
    assert _keys(versions.search_model_versions()) == [("wine", 1), ("iris", 3), ("iris", 2), ("iris", 1)]
    versions.transition_model_version_stage("iris", 1, "Staging")
    assert _keys(versions.search_model_versions())[0] == ("iris", 1)
    assert _keys(versions.search_model_versions(order_by=["version_number DESC", "name"])) == [
        ("iris", 3), ("iris", 2), ("iris", 1), ("wine", 1)]
    assert _keys(versions.search_model_versions(order_by=["name DESC"])) == [
        ("wine", 1), ("iris", 3), ("iris", 2), ("iris", 1)]
    assert _keys(versions.search_model_versions(order_by=["creation_timestamp"])) == [
        ("iris", 1), ("iris", 2), ("iris", 3), ("wine", 1)]
    page = versions.search_model_versions(max_results=2, order_by=["creation_timestamp"])
    assert _keys(page) == [("iris", 1), ("iris", 2)] and page.token
    page = versions.search_model_versions(max_results=2, order_by=["creation_timestamp"], page_token=page.token)
    assert _keys(page) == [("iris", 3), ("wine", 1)] and page.token is None
    found = versions.search_model_versions("name = 'iris' AND version_number = 1")[0]
    assert found.tags == {"ok": "yes"} and found.current_stage == "Staging"


def test_search_model_versions_errors(versions):
    with pytest.raises(InvalidFilter, match="Expected numeric value"):
        versions.search_model_versions("version_number = 'x'")
    with pytest.raises(InvalidFilter, match="IN is not supported for attribute 'source_path'"):
        versions.search_model_versions("source_path IN ('a')")
    with pytest.raises(InvalidFilter, match="Invalid attribute key 'stage'"):
        versions.search_model_versions("stage = 'Production'")
    with pytest.raises(InvalidFilter):
        versions.search_model_versions("run_id = run1")
    with pytest.raises(InvalidFilter):
        versions.search_model_versions(order_by=["run_id"])
    with pytest.raises(InvalidParameter, match="at most 200000"):
        versions.search_model_versions(max_results=200_001)
    with pytest.raises(InvalidParameter, match="positive integer"):
        versions.search_model_versions(max_results=-1)


def test_module_level_searches_fetch_every_page(versions, monkeypatch):
    from nbtrack.tracking import fluent_registry as registry

    versions.create_registered_model("boston", tags={"team": "a"})
    monkeypatch.setattr(registry, "SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD", 2)
    monkeypatch.setattr(registry, "SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD", 2)
    assert _names(registry.search_registered_models()) == ["boston", "iris", "wine"]
    assert _names(registry.search_registered_models(max_results=2)) == ["boston", "iris"]
    assert _names(registry.search_registered_models(filter_string="tags.team = 'a'")) == ["boston"]
    found = registry.search_model_versions(filter_string="name = 'iris'", order_by=["version_number"])
    assert _keys(found) == [("iris", 1), ("iris", 2), ("iris", 3)]
