"""registry_view(name): versions with stage, aliases, source run, signature, and the history."""

from __future__ import annotations

import json

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
