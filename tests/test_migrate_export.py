"""`nbtrack export mlflow DEST` writes what the real mlflow reads back field by field, and
`nbtrack export STORE DEST` / `nbtrack import nbtrack SRC` merge two stores keeping run ids."""

from __future__ import annotations

import math

import pytest
from click.testing import CliRunner
from migrate_helpers import compare, mlflow_history

import nbtrack
from nbtrack.cli import main
from nbtrack.entities import Metric, ViewType
from nbtrack.migrate import InvalidSource, export_mlflow, import_nbtrack


def _history(store: str, tag: str) -> list[str]:
    """A small history made with nbtrack's own API: two experiments, runs with every kind of record."""
    nbtrack.set_tracking_uri(store)
    client = nbtrack.MlflowClient(store)
    exp = client.create_experiment(f"exp-{tag}", tags={"team": tag})
    ids = []
    for i, status in enumerate(("FINISHED", "FAILED", "KILLED")):
        run = client.create_run(exp, run_name=f"{tag}-{i}", start_time=1_700_000_000_000 + i)
        rid = run.info.run_id
        client.log_batch(rid, metrics=[Metric("loss", 1.0 / (s + 1), 1_700_000_000_100 + s, s) for s in range(20)]
                         + [Metric("acc", math.nan, 1_700_000_000_050, 0)],
                         params=[nbtrack.entities.Param("lr", str(0.1 * (i + 1)))],
                         tags=[nbtrack.entities.RunTag("origin", tag)])
        client.log_text(rid, f"hello from {tag}-{i}\n", "notes/hello.txt")
        client.log_dict(rid, {"i": i}, "deep/er/config.json")
        client.set_terminated(rid, status, end_time=1_700_000_009_000 + i)
        ids.append(rid)
    client.delete_run(ids[2])
    with nbtrack.start_run(experiment_id=exp, run_name=f"{tag}-data") as run:
        import pandas as pd

        nbtrack.log_input(nbtrack.data.from_pandas(pd.DataFrame({"x": [1, 2]}), name="d"), context="training")
        ids.append(run.info.run_id)
    client.create_registered_model(f"model-{tag}", tags={"k": "v"}, description="desc")
    client.create_model_version(f"model-{tag}", f"runs:/{ids[0]}/notes", run_id=ids[0], tags={"t": "1"})
    client.transition_model_version_stage(f"model-{tag}", "1", "Production")
    client.set_registered_model_alias(f"model-{tag}", "champion", "1")
    return ids


@pytest.mark.parametrize("kind", ["sqlite", "mlruns"])
def test_export_to_mlflow_reads_back_in_mlflow(tmp_path, kind):
    pytest.importorskip("mlflow")
    store = str(tmp_path / "store")
    _history(store, "a")
    dest = f"sqlite:///{tmp_path / 'out' / 'mlflow.db'}" if kind == "sqlite" else str(tmp_path / "mlruns")
    result = CliRunner().invoke(main, ["export", "mlflow", dest, "--store", store, "-q"])
    assert result.exit_code == 0, result.output
    (tmp_path / "read").mkdir()
    uri = dest if kind == "sqlite" else (tmp_path / "mlruns").as_uri()
    expected = mlflow_history(uri, tmp_path / "read", "--read")
    assert len(expected["run_ids"]) == 4
    compare(expected, store)
    again = export_mlflow(store, dest)
    assert again.imported["runs"] == 0 and again.skipped["runs"] == 4


def test_merge_two_stores_keeps_run_ids_and_reports_conflicts(tmp_path):
    home, node = str(tmp_path / "home"), str(tmp_path / "node")
    mine = _history(home, "home")
    theirs = _history(node, "node")
    nbtrack.MlflowClient(node).create_registered_model("model-home")  # the same name, another version 1
    nbtrack.MlflowClient(node).create_model_version("model-home", "elsewhere", run_id=theirs[0])

    result = CliRunner().invoke(main, ["export", node, home, "-q", "-o", "json"])
    assert result.exit_code == 0, result.output
    client = nbtrack.MlflowClient(home)
    runs = client.search_runs([e.experiment_id for e in client.search_experiments()], run_view_type=ViewType.ALL)
    assert sorted(r.info.run_id for r in runs) == sorted(mine + theirs)
    for rid in theirs[:1]:
        history = client.get_metric_history(rid, "loss")
        assert [(m.step, m.timestamp) for m in history] == [(s, 1_700_000_000_100 + s) for s in range(20)]
        folder = client.get_run(rid).info.artifact_uri
        assert folder.startswith(home)
        assert open(f"{folder}/notes/hello.txt").read() == "hello from node-0\n"
    assert client.get_run(theirs[2]).info.lifecycle_stage == "deleted"
    assert client.get_model_version("model-node", "1").current_stage == "Production"
    assert client.get_model_version("model-home", "1").source == f"runs:/{mine[0]}/notes"  # ours kept

    report = import_nbtrack(node, home)
    assert report.imported["runs"] == 0 and report.skipped["runs"] == 4
    assert any("model-home" in r and "kept this store's" in r for r in report.reasons), report.reasons


def test_bad_merge_sources(tmp_path):
    with pytest.raises(InvalidSource, match="No nbtrack store"):
        import_nbtrack(str(tmp_path / "nothing"), str(tmp_path / "home"))
    nbtrack.MlflowClient(str(tmp_path / "home")).search_experiments()
    with pytest.raises(InvalidSource, match="is the store being imported into"):
        import_nbtrack(str(tmp_path / "home"), str(tmp_path / "home"))
    with pytest.raises(InvalidSource, match="give sqlite"):
        export_mlflow(str(tmp_path / "home"), "s3://bucket/x")
