"""Shared by the test_migrate_* files: build a history with the REAL mlflow package in a child
process, and compare what nbtrack imported with what MLflow itself read back."""

from __future__ import annotations

import math
import os
import pickle
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import nbtrack
from nbtrack.entities import ViewType

SCRIPT = Path(__file__).parent / "procs" / "mlflow_history.py"


def mlflow_history(uri: str, out: Path, *flags: str, cwd: Path | None = None) -> dict[str, Any]:
    """Run the history script with the real mlflow (its own MLFLOW_TRACKING_URI); its snapshot."""
    pytest.importorskip("mlflow")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "NBTRACK_"))}
    env.update(MLFLOW_TRACKING_URI=uri, MLFLOW_ALLOW_FILE_STORE="true", MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    done = subprocess.run([sys.executable, str(SCRIPT), uri, str(out), *flags], env=env, cwd=cwd or out,
                          capture_output=True, text=True, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    with open(out / "expected.pkl", "rb") as f:
        return pickle.load(f)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if isinstance(a, (tuple, list)) and isinstance(b, (tuple, list)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def compare(expected: dict[str, Any], store: str, artifacts: str = "copy") -> None:
    """Everything MLflow read back equals what nbtrack reads from ``store``, field by field."""
    client = nbtrack.MlflowClient(store)
    exps = {e.name: e for e in client.search_experiments(view_type=ViewType.ALL)}
    for eid, name, stage, tags, created in expected["experiments"]:
        got = exps[name]
        if name == "Default":  # the store's own Default experiment, which the import merges into
            created = got.creation_time
        assert (got.experiment_id, got.lifecycle_stage, got.creation_time) == (eid, stage, created), name
        assert dict(got.tags) == tags, name
    ids = [e.experiment_id for e in exps.values()]

    want = expected["frame"].sort_values("run_id").reset_index(drop=True)
    nbtrack.set_tracking_uri(store)
    got = nbtrack.search_runs(ids, run_view_type=ViewType.ALL).sort_values("run_id").reset_index(drop=True)
    assert sorted(got.columns) == sorted(want.columns)
    drop = ["artifact_uri"] if artifacts == "copy" else []
    pd.testing.assert_frame_equal(got[sorted(want.columns)].drop(columns=drop),
                                  want[sorted(want.columns)].drop(columns=drop), check_dtype=False)

    for (run_id, key), points in expected["history"].items():
        got_points = [(m.key, m.value, m.timestamp, m.step) for m in client.get_metric_history(run_id, key)]
        assert _same(sorted(got_points, key=repr), sorted(points, key=repr)), (run_id, key)
    for run_id, inputs in expected["inputs"].items():
        run = client.get_run(run_id)
        got_inputs = sorted((d.dataset.name, d.dataset.digest, d.dataset.source_type, d.dataset.source,
                             d.dataset.schema, d.dataset.profile, tuple(sorted((t.key, t.value) for t in d.tags)))
                            for d in run.inputs.dataset_inputs)
        assert got_inputs == inputs, run_id
    for run_id, files in expected["artifacts"].items():
        folder = client.get_run(run_id).info.artifact_uri.removeprefix("file://")
        for rel, data in files.items():
            assert Path(folder, rel).read_bytes() == data, (run_id, rel)
        if artifacts == "copy":
            assert folder.startswith(client.store.root), folder

    registry = []
    for rm in sorted(client.search_registered_models(), key=lambda r: r.name):
        versions = sorted(client.search_model_versions(f"name = '{rm.name}'"), key=lambda v: int(v.version))
        registry.append({
            "name": rm.name, "description": rm.description, "tags": dict(rm.tags),
            "aliases": dict(sorted(rm.aliases.items())), "creation_timestamp": rm.creation_timestamp,
            "versions": [{"version": str(v.version), "stage": v.current_stage, "source": v.source,
                          "run_id": v.run_id, "status": v.status, "description": v.description,
                          "tags": dict(v.tags), "creation_timestamp": v.creation_timestamp}
                         for v in versions]})
    for model in expected["registry"]:  # MLflow's search_model_versions leaves a version's aliases empty
        for version in model["versions"]:  # (nbtrack fills them): the model's alias map is compared
            version.pop("aliases", None)
        model["aliases"] = {k: int(v) for k, v in model["aliases"].items()}  # the file store gives str
    assert registry == expected["registry"], (registry, expected["registry"])

    models = {m.model_id: m for m in client.search_logged_models(ids)}
    assert sorted(models) == sorted(m["model_id"] for m in expected["logged_models"])
    for want_model in expected["logged_models"]:
        m = models[want_model["model_id"]]
        assert (m.name, m.experiment_id, m.model_type, m.source_run_id, str(m.status), m.creation_timestamp) == (
            want_model["name"], want_model["experiment_id"], want_model["model_type"], want_model["source_run_id"],
            want_model["status"].removeprefix("LoggedModelStatus."), want_model["creation_timestamp"])
        assert dict(m.params) == want_model["params"] and dict(m.tags) == want_model["tags"]
        assert sorted((x.key, x.value, x.step, x.run_id) for x in m.metrics or []) == want_model["metrics"]
