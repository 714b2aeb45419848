"""MLflow's REST JSON <-> nbtrack's entities, and the DataFrames built from them.

proto3 JSON may write int64 fields as strings and doubles as ``"NaN"``/``"Infinity"``; every reader
here accepts both forms, so the real ``mlflow server`` and ``nbtrack server`` read the same.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from nbtrack.entities import (
    Dataset,
    DatasetInput,
    Experiment,
    InputTag,
    Metric,
    ModelVersion,
    RegisteredModel,
    Run,
    RunData,
    RunInfo,
    RunInputs,
)
from nbtrack.store.rest.http import decode_float
from nbtrack.store.run_frames import runs_frame

__all__ = [
    "dataset_input_json",
    "experiment_of",
    "metric_of",
    "metrics_frame",
    "model_version_of",
    "registered_model_of",
    "run_of",
    "runs_frame",
]


def _int(value: Any) -> int | None:
    return None if value in (None, "") else int(value)


def _pairs(items: Any) -> dict[str, str]:
    return {str(t["key"]): str(t.get("value", "")) for t in items or []}


def experiment_of(d: dict[str, Any]) -> Experiment:
    return Experiment(str(d["experiment_id"]), d.get("name", ""), d.get("artifact_location", ""),
                      d.get("lifecycle_stage", "active"), _pairs(d.get("tags")),
                      _int(d.get("creation_time")), _int(d.get("last_update_time")),
                      d.get("workspace") or "default")


def metric_of(d: dict[str, Any], run_id: str | None = None) -> Metric:
    return Metric(str(d["key"]), decode_float(d.get("value", 0.0)), _int(d.get("timestamp")) or 0,
                  _int(d.get("step")) or 0, run_id or d.get("run_id"))


def _dataset_input_of(d: dict[str, Any]) -> DatasetInput:
    ds = d.get("dataset") or {}
    dataset = Dataset(ds.get("name", ""), ds.get("digest", ""), ds.get("source_type", ""), ds.get("source", ""),
                      ds.get("schema") or None, ds.get("profile") or None)
    return DatasetInput(dataset, [InputTag(str(t["key"]), str(t.get("value", ""))) for t in d.get("tags") or []])


def dataset_input_json(d: DatasetInput) -> dict[str, Any]:
    ds = d.dataset
    dataset = {"name": ds.name, "digest": ds.digest, "source_type": ds.source_type, "source": ds.source}
    if ds.schema is not None:
        dataset["schema"] = ds.schema
    if ds.profile is not None:
        dataset["profile"] = ds.profile
    return {"tags": [{"key": t.key, "value": t.value} for t in d.tags], "dataset": dataset}


def run_of(d: dict[str, Any]) -> Run:
    i, data = d.get("info") or {}, d.get("data") or {}
    run_id = str(i.get("run_id") or i.get("run_uuid"))
    tags = _pairs(data.get("tags"))
    info = RunInfo(run_id, str(i.get("experiment_id", "")), i.get("run_name") or tags.get("mlflow.runName", ""),
                   i.get("user_id", ""), i.get("status", "RUNNING"), _int(i.get("start_time")) or 0,
                   _int(i.get("end_time")), i.get("artifact_uri", ""), i.get("lifecycle_stage", "active"))
    metrics = {str(m["key"]): decode_float(m.get("value", 0.0)) for m in data.get("metrics") or []}
    inputs = [_dataset_input_of(x) for x in (d.get("inputs") or {}).get("dataset_inputs") or []]
    return Run(info, RunData(metrics, _pairs(data.get("params")), tags), RunInputs(inputs))


def model_version_of(d: dict[str, Any]) -> ModelVersion:
    return ModelVersion(
        d.get("name", ""), int(d.get("version", 0)), _int(d.get("creation_timestamp")) or 0,
        _int(d.get("last_updated_timestamp")), d.get("description") or None, d.get("user_id") or None,
        d.get("current_stage") or "None", d.get("source") or None, d.get("run_id") or None,
        d.get("status") or "READY", d.get("status_message") or None, _pairs(d.get("tags")),
        d.get("run_link") or None, list(d.get("aliases") or []), d.get("model_id") or None,
        {p["name"]: p.get("value", "") for p in d.get("model_params") or []} if d.get("model_id") else None,
        [Metric(m["key"], decode_float(m.get("value", 0.0)), _int(m.get("timestamp")) or 0, _int(m.get("step")) or 0,
                m.get("run_id")) for m in d.get("model_metrics") or []] if d.get("model_id") else None)


def registered_model_of(d: dict[str, Any]) -> RegisteredModel:
    aliases = {str(a["alias"]): int(a["version"]) for a in d.get("aliases") or []}
    return RegisteredModel(
        d.get("name", ""), _int(d.get("creation_timestamp")) or 0, _int(d.get("last_updated_timestamp")),
        d.get("description") or None, [model_version_of(v) for v in d.get("latest_versions") or []],
        _pairs(d.get("tags")), aliases, d.get("workspace") or "default")


# -- DataFrames -----------------------------------------------------------------------------------
def metrics_frame(points: Sequence[Metric]) -> Any:
    """The long history frame: run_id, key, step, timestamp, value."""
    import pandas as pd

    return pd.DataFrame({
        "run_id": pd.Series([m.run_id for m in points], dtype=object),
        "key": pd.Series([m.key for m in points], dtype=object),
        "step": pd.Series([m.step for m in points], dtype="int64"),
        "timestamp": pd.Series([m.timestamp for m in points], dtype="int64"),
        "value": pd.Series([m.value for m in points], dtype="float64"),
    })
