"""§5 conformance: the real ``mlflow`` client, pointed at ``nbtrack server``, does a whole project,
once over an embedded store and once over PostgreSQL.

The client runs in a subprocess (``tests/procs/mlflow_conformance.py``) so mlflow's global state
stays out of this process; what it saw is then compared with what nbtrack reads from the store.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server_fixtures import nbtrack_server

pytest.importorskip("mlflow")
pytest.importorskip("sklearn")

SCRIPT = Path(__file__).parent / "procs" / "mlflow_conformance.py"


@pytest.fixture(scope="module", params=["duckdb", "postgresql+s3"])
def conformance(tmp_path_factory, request):
    """The script's findings and the store the server served: a folder, or the team set-up, a
    PostgreSQL database on the session's throwaway cluster with artifacts proxied to an S3 bucket
    on a local moto server (``--backend-store-uri postgresql://... --artifacts-destination s3://...``)."""
    root = tmp_path_factory.mktemp(f"mlflow-client-{request.param.replace('+', '-')}")
    store: str | Path = root / "store"
    flags: dict[str, str] = {}
    s3: dict[str, str] = {}
    if request.param == "postgresql+s3":
        from tests.pg_fixtures import pg_uri
        from tests.s3_fixtures import new_bucket, s3_env

        store, s3 = pg_uri(request, root), s3_env()
        flags["artifacts_destination"] = f"s3://{new_bucket()}/mlflow"
    with pytest.MonkeyPatch.context() as mp, nbtrack_server(store, env=s3, log_path=root / "server.log",
                                                             **flags) as url:
        for name, value in s3.items():  # this process reads the store's s3:// artifacts as well
            mp.setenv(name, value)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NBTRACK_"))}
        env.update(MLFLOW_TRACKING_URI=url, HOME=str(root), MLFLOW_ENABLE_ASYNC_LOGGING="false")
        done = subprocess.run([sys.executable, str(SCRIPT), url, str(root / "out.json")], env=env, cwd=root,
                              capture_output=True, text=True, timeout=240)
        assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
        yield json.loads((root / "out.json").read_text()), store


def test_runs_params_metrics_tags_inputs_match_the_store(conformance):
    seen, store = conformance
    import nbtrack

    client = nbtrack.MlflowClient(str(store))
    for name, c in (("weak", 0.01), ("strong", 10.0)):
        run = client.get_run(seen["runs"][name]["run_id"])
        assert run.info.run_name == name and run.info.status == "FINISHED"
        assert run.data.params == {"C": str(c), "solver": "lbfgs"}
        assert run.data.metrics["c"] == c and run.data.metrics["loss"] == pytest.approx(0.1 / c)
        assert run.data.tags["team"] == "vision" and run.data.tags["name_tag"] == name
        assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["toy"]
        history = client.get_metric_history(run.info.run_id, "loss")
        assert [(m.step, m.value) for m in history] == [(s, 1.0 / (s + 1) / c) for s in range(10)]
    strong = client.get_run(seen["runs"]["strong"]["run_id"])
    assert seen["get_run"]["params"] == strong.data.params
    assert seen["get_run"]["metrics"] == strong.data.metrics
    assert seen["get_run"]["tags"] == {k: v for k, v in strong.data.tags.items() if not k.startswith("mlflow.")}
    assert seen["history"] == [[m.step, m.value] for m in client.get_metric_history(strong.info.run_id, "loss")]
    experiment = client.get_experiment(seen["experiment_id"])
    assert seen["experiment"] == {"name": experiment.name, "tags": experiment.tags} == {
        "name": "conformance", "tags": {"project": "nbtrack"}}


def test_search_filters_order_by_and_paging(conformance):
    seen, _ = conformance
    weak, strong = seen["runs"]["weak"]["run_id"], seen["runs"]["strong"]["run_id"]
    assert seen["search_order"] == [strong, weak]
    assert seen["search_like"] == [weak]
    assert seen["paged"] == [weak, strong]


def test_artifacts_went_through_the_proxy_into_the_store(conformance):
    seen, store = conformance
    import nbtrack

    strong = seen["runs"]["strong"]["run_id"]
    assert seen["artifacts"] == ["meta", "model", "notes.txt"] and seen["config"] == {"C": 10.0}
    client = nbtrack.MlflowClient(str(store))
    assert sorted(f.path for f in client.list_artifacts(strong)) == ["meta", "model", "notes.txt"]
    local = Path(client.download_artifacts(strong, "notes.txt"))
    assert local.read_text() == "hello strong"
    assert (Path(client.download_artifacts(strong, "model")) / "MLmodel").is_file()


def test_registry_stages_aliases_and_models_uri(conformance):
    seen, store = conformance
    import numpy as np

    import nbtrack

    client = nbtrack.MlflowClient(str(store))
    assert (seen["runs"]["weak"]["version"], seen["runs"]["strong"]["version"]) == ("1", "2")
    assert client.get_model_version("conformance-model", 1).current_stage == "Staging"
    assert client.get_model_version_by_alias("conformance-model", "champion").version == 2
    assert client.get_model_version("conformance-model", 2).tags == {"validated": "yes"}
    assert seen["alias_version"] == "2" and seen["staging"] == ["1"] and seen["search_versions"] == ["1", "2"]
    # models:/name@alias and models:/name/Stage load, through the proxy, the models that were registered
    assert seen["alias_predictions"] == [0, 1, 0, 1]
    assert np.allclose(seen["staging_predictions"], seen["runs"]["weak"]["predictions"])
    loaded = nbtrack.pyfunc.load_model(client.get_model_version_download_uri("conformance-model", 2))
    X = np.array([[0.0, 1.0], [1.0, 0.0], [0.2, 0.9], [0.9, 0.1]])
    assert loaded.predict(X).tolist() == [0, 1, 0, 1]


def test_mlflow3_log_model_logged_models_and_models_uris(conformance):
    """MLflow 3's ``log_model`` (POST logged-models, the files through the proxy, log-outputs, the
    run's metrics linked with model_id, finalize, register from ``models:/<model_id>``) against
    nbtrack server; get/search_logged_models and both ``models:/`` forms load the model."""
    seen, store = conformance
    import nbtrack

    got = seen["log_model"]
    model_id = got["model_id"]
    assert model_id.startswith("m-") and got["model_uri"] == f"models:/{model_id}" and got["version"] == "1"
    name, status, source_run, params, location, metrics = got["logged"]
    assert (name, status, source_run, params) == ("m", "READY", got["run_id"], {"alpha": "0.5"})
    assert location.endswith(f"/models/{model_id}/artifacts") and location.startswith("mlflow-artifacts:/")
    assert metrics == [["acc", 0.75, 0, model_id]]
    assert got["searched"][0] == model_id and got["filtered"] == ["m"]
    assert got["predict"] == got["alias_predict"] == [0, 1, 0, 1]
    assert got["history"] == [[0, 0.75]]  # linking the run's metric to the model logged no second copy
    # what the store holds, read without the server
    client = nbtrack.MlflowClient(str(store))
    stored = client.get_logged_model(model_id)
    assert stored.status == "READY" and stored.source_run_id == got["run_id"]
    assert "MLmodel" in {f.path for f in client.list_logged_model_artifacts(model_id)}
    assert client.get_model_version_by_alias("logged-model", "best").version == 1
