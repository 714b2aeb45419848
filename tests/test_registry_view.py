"""registry_view(name): versions with stage, aliases, source run, signature, and the history."""

from __future__ import annotations

import json
import os

import pytest

import nbtrack
from nbtrack.errors import NotFound

SIGNATURE = {
    "inputs": json.dumps([{"name": "x", "type": "double"}, {"name": "y", "type": "long"}]),
    "outputs": json.dumps([{"type": "tensor", "tensor-spec": {"dtype": "int64", "shape": [-1]}}]),
}


def _register(tmp_path, client, signature: bool) -> str:
    import yaml

    src = tmp_path / f"model-{signature}"
    src.mkdir()
    manifest = {"flavors": {}, **({"signature": SIGNATURE} if signature else {})}
    (src / "MLmodel").write_text(yaml.safe_dump(manifest))
    with nbtrack.start_run(run_name="trainer") as run:
        nbtrack.log_artifacts(str(src), "model")
    return nbtrack.register_model(f"runs:/{run.info.run_id}/model", "iris <v>").run_id


def test_registry_view_shows_versions_and_history(tmp_path, client):
    run_id = _register(tmp_path, client, signature=True)
    _register(tmp_path, client, signature=False)
    client.update_registered_model("iris <v>", "the <b>best</b> model")
    client.transition_model_version_stage("iris <v>", 1, "Production")
    client.set_registered_model_alias("iris <v>", "champion", 1)
    client.set_registered_model_alias("iris <v>", "champion", 2)

    view = nbtrack.registry_view("iris <v>")
    page = view._repr_html_()
    assert "iris &lt;v&gt;" in page and "<b>best</b>" not in page  # names are escaped
    assert "Production" in page and "@champion" in page
    assert f'href="#nbtrack-run-{run_id}"' in page and "trainer" in page
    assert "(x: double, y: long) \u2192 (tensor: int64(-1,))" in page
    assert "history" in page and "v1 \u2192 v2" in page and "None</span> \u2192 " in page
    text = repr(view)
    assert "v2 None @champion" in text and "v1 Production" in text
    rows = [row.version.version for row in view.versions]
    assert rows == [2, 1]
    assert view.versions[1].signature and view.versions[0].signature is None

    client.transition_model_version_stage("iris <v>", 2, "Staging")
    assert "Staging" in view.refresh()._repr_html_()


def test_registry_view_of_an_empty_and_a_missing_model(client):
    client.create_registered_model("empty")
    assert "no versions yet" in nbtrack.registry_view("empty")._repr_html_()
    with pytest.raises(NotFound):
        nbtrack.registry_view("missing")


def test_registry_view_module_and_function_both_call(client):
    from nbtrack.ui import registry_view as module_or_function

    client.create_registered_model("m")
    assert module_or_function("m").name == "m"
    assert nbtrack.registry_view("m").name == "m"


def _sklearn_version(name: str) -> str:
    import numpy as np
    from sklearn.linear_model import LinearRegression

    X = np.arange(10.0).reshape(5, 2)
    with nbtrack.start_run(run_name="fit") as run:
        nbtrack.sklearn.log_model(LinearRegression().fit(X, X.sum(1)), name="model", input_example=X[:2])
    nbtrack.register_model(f"runs:/{run.info.run_id}/model", name)
    return run.info.run_id


def test_the_extension_gets_versions_stages_aliases_and_history_as_data(client, store_uri, monkeypatch):
    from nbtrack.ui._mime import MIME

    monkeypatch.setenv("NBTRACK_VIEWS", "extension")
    run_id = _sklearn_version("sk")
    _sklearn_version("sk")
    client.set_model_version_tag("sk", 1, "owner", "ana")
    client.update_model_version("sk", 1, "first fit")
    client.transition_model_version_stage("sk", 1, "Production")
    client.transition_model_version_stage("sk", 2, "Staging")
    client.set_registered_model_alias("sk", "champion", 1)

    bundle = nbtrack.registry_view("sk")._repr_mimebundle_()
    assert set(bundle) == {MIME, "text/html", "text/plain"} and "Production" in bundle["text/html"]
    spec = json.loads(json.dumps(bundle[MIME], allow_nan=False))  # plain JSON, no NaN
    assert spec["view"] == "registry_view" and spec["options"] == {"name": "sk"}
    assert spec["tracking_uri"] == os.path.abspath(store_uri)  # where the extension re-reads it
    data = spec["data"]
    assert data["model"]["aliases"] == {"champion": 1}
    v2, v1 = data["versions"]
    assert (v1["version"], v1["stage"], v1["aliases"], v1["run_id"], v1["run_name"]) == (1, "Production", ["champion"],
                                                                                          run_id, "fit")
    assert v1["tags"] == {"owner": "ana"} and v1["description"] == "first fit" and v2["stage"] == "Staging"
    assert v1["signature"].startswith("(tensor: float64(-1, 2)) \u2192 ")  # sklearn's inferred signature
    kinds = [(e["kind"], e["version"], e["from"], e["to"]) for e in data["history"]]
    assert kinds[:2] == [("created", 1, None, "None"), ("created", 2, None, "None")]
    assert ("stage", 1, "None", "Production") in kinds and data["history"][-1]["alias"] == "champion"
    assert data["history_total"] == len(data["history"]) == 5


def test_without_the_extension_the_table_shows_as_html(client, monkeypatch):
    from nbtrack.ui._mime import MIME

    monkeypatch.setenv("NBTRACK_VIEWS", "widgets")
    client.create_registered_model("m")
    bundle = nbtrack.registry_view("m")._repr_mimebundle_()
    assert MIME not in bundle and "no versions yet" in bundle["text/html"]


def test_a_relative_store_path_reaches_the_extension_absolute(tmp_path, monkeypatch):
    from nbtrack.ui._mime import MIME

    monkeypatch.setenv("NBTRACK_VIEWS", "extension")
    monkeypatch.chdir(tmp_path)
    nbtrack.set_tracking_uri("rel-store")  # the Jupyter server resolves paths in its own folder, not the kernel's
    nbtrack.MlflowClient().create_registered_model("m")
    spec = nbtrack.registry_view("m")._repr_mimebundle_()[MIME]
    assert spec["tracking_uri"] == str(tmp_path / "rel-store")
    spec = nbtrack.models_view(experiment_ids=["0"])._repr_mimebundle_()[MIME]
    assert spec["tracking_uri"] == str(tmp_path / "rel-store")  # through View.spec
