"""Read an MLflow file store (an ``mlruns/`` folder) straight from its files.

The layout is MLflow's ``FileStore`` (``mlflow/store/tracking/file_store.py``): ``<exp>/meta.yaml``,
``<exp>/<run>/{meta.yaml, params/, tags/, metrics/, inputs/}``, deleted experiments under
``.trash/``, datasets under ``<exp>/datasets/``, logged models under ``<exp>/models/``, and the
registry under ``models/<name>/``. Keys holding ``/`` are subfolders. A metric file has one
``<timestamp> <value> <step>`` line per point.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

import yaml

from nbtrack.migrate._source import InvalidSource, copy_local_tree
from nbtrack.store.artifacts import local_path_of
from nbtrack.store.duckdb.importing import (
    ExperimentRow,
    LoggedModelRow,
    ModelVersionRow,
    RegisteredModelRow,
    RunBatch,
)

__all__ = ["MlflowFileSource"]

_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_MODEL_STATUS = {0: "PENDING", 1: "PENDING", 2: "READY", 3: "FAILED"}
_NOT_RUNS = {"tags", "datasets", "models", "traces"}
_Loader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _meta(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        data = yaml.load(f, Loader=_Loader)
    return data if isinstance(data, dict) else {}


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _keyed(folder: str) -> Iterator[tuple[str, str]]:
    """(key, file path) for every file under ``folder``; a key with ``/`` is a subfolder."""
    if not os.path.isdir(folder):
        return
    for here, _dirs, files in os.walk(folder):
        rel = os.path.relpath(here, folder)
        for name in files:
            yield (name if rel == "." else f"{rel}/{name}".replace(os.sep, "/")), os.path.join(here, name)


class MlflowFileSource:
    """An ``mlruns/`` folder."""

    local_artifacts = True

    def __init__(self, root: str) -> None:
        self.root = root
        self.description = f"MLflow file store {root}"
        if not os.path.isdir(root):
            raise InvalidSource(f"{root} does not exist. Give an MLflow mlruns/ folder, an MLflow database "
                                "(sqlite:///mlflow.db) or a server (http://host:5000).")
        self._experiments = self._find_experiments()
        if not self._experiments:
            hint = (f" It holds {os.path.join(root, 'mlflow.db')}: import sqlite:///{os.path.join(root, 'mlflow.db')}"
                    if os.path.isfile(os.path.join(root, "mlflow.db")) else "")
            raise InvalidSource(f"{root} is not an MLflow file store: no <experiment id>/meta.yaml in it.{hint}")
        self._run_dirs: dict[str, tuple[str, str]] = {}  # run_id -> (experiment id, folder)

    def close(self) -> None:
        pass

    def _find_experiments(self) -> dict[str, str]:
        found = {}
        for parent in (self.root, os.path.join(self.root, ".trash")):
            if not os.path.isdir(parent):
                continue
            for name in os.listdir(parent):
                if name.isdigit() and os.path.isfile(os.path.join(parent, name, "meta.yaml")):
                    found[name] = os.path.join(parent, name)
        return found

    # -- experiments and runs -----------------------------------------------------------
    def experiments(self) -> list[ExperimentRow]:
        out = []
        for eid, folder in sorted(self._experiments.items(), key=lambda kv: int(kv[0])):
            meta = _meta(os.path.join(folder, "meta.yaml"))
            tags = {k: _read(p) for k, p in _keyed(os.path.join(folder, "tags"))}
            out.append(ExperimentRow(eid, meta["name"], meta.get("artifact_location"),
                                     meta.get("lifecycle_stage", "active"), meta.get("creation_time"),
                                     meta.get("last_update_time"), tags))
        return out

    def run_index(self) -> list[tuple[str, str]]:
        found = []
        for eid, folder in self._experiments.items():
            for name in os.listdir(folder):
                path = os.path.join(folder, name)
                if name not in _NOT_RUNS and os.path.isfile(os.path.join(path, "meta.yaml")):
                    self._run_dirs[name] = (eid, path)
                    found.append(name)
        return [(r, self._run_dirs[r][0]) for r in sorted(found)]

    def run_batch(self, run_ids: Sequence[str]) -> RunBatch:
        batch = RunBatch()
        for run_id in run_ids:
            eid, folder = self._run_dirs[run_id]
            meta = _meta(os.path.join(folder, "meta.yaml"))
            status = meta.get("status")
            values = (run_id, eid, meta.get("run_name"), meta.get("user_id"),
                      _STATUS.get(status, status) if isinstance(status, int) else status,
                      meta.get("start_time"), meta.get("end_time"), meta.get("lifecycle_stage", "active"),
                      meta.get("artifact_uri"), meta.get("deleted_time"))
            for column, value in zip(batch.runs, values, strict=True):
                batch.runs[column].append(value)
            for name in ("params", "tags"):
                columns = getattr(batch, name)
                for key, path in _keyed(os.path.join(folder, name)):
                    columns["run_id"].append(run_id)
                    columns["key"].append(key)
                    columns["value"].append(_read(path))
            self._metrics(batch, run_id, folder)
            self._inputs(batch, run_id, eid, folder)
        return batch

    @staticmethod
    def _metrics(batch: RunBatch, run_id: str, folder: str) -> None:
        m = batch.metrics
        for key, path in _keyed(os.path.join(folder, "metrics")):
            with open(path, encoding="utf-8") as f:
                for line in f:
                    parts = line.split()
                    if len(parts) < 3:
                        continue
                    m["run_id"].append(run_id)
                    m["key"].append(key)
                    m["timestamp"].append(int(parts[0]))
                    m["value"].append(float(parts[1]))
                    m["step"].append(int(parts[2]))

    def _inputs(self, batch: RunBatch, run_id: str, eid: str, folder: str) -> None:
        inputs = os.path.join(folder, "inputs")
        if not os.path.isdir(inputs):
            return
        for name in sorted(os.listdir(inputs)):
            meta = _meta(os.path.join(inputs, name, "meta.yaml"))
            if meta.get("source_type") != "DATASET":
                continue
            dataset_meta = os.path.join(self._experiments[eid], "datasets", str(meta["source_id"]), "meta.yaml")
            if not os.path.isfile(dataset_meta):
                continue
            d = _meta(dataset_meta)
            tags = {str(k): str(v) for k, v in (meta.get("tags") or {}).items()}
            values = (run_id, d.get("name"), d.get("digest"), d.get("source_type"), d.get("source"),
                      d.get("schema"), d.get("profile"), tags.get("mlflow.data.context"), json.dumps(tags))
            for column, value in zip(batch.inputs, values, strict=True):
                batch.inputs[column].append(value)

    # -- logged models and the registry -------------------------------------------------
    def logged_models(self) -> list[LoggedModelRow]:
        out = []
        for eid, folder in self._experiments.items():
            models = os.path.join(folder, "models")
            if not os.path.isdir(models):
                continue
            for model_id in sorted(os.listdir(models)):
                path = os.path.join(models, model_id)
                if not os.path.isfile(os.path.join(path, "meta.yaml")):
                    continue
                meta = _meta(os.path.join(path, "meta.yaml"))
                status = meta.get("status")
                row = LoggedModelRow(
                    model_id, eid, meta.get("name") or model_id, meta.get("artifact_location"),
                    meta.get("creation_timestamp") or 0, meta.get("last_updated_timestamp") or 0,
                    meta.get("model_type"), meta.get("source_run_id"),
                    _MODEL_STATUS.get(status, str(status)) if isinstance(status, int) else str(status),
                    meta.get("status_message"), meta.get("lifecycle_stage") or "active")
                row.params = {k: _read(p) for k, p in _keyed(os.path.join(path, "params"))}
                row.tags = {k: _read(p) for k, p in _keyed(os.path.join(path, "tags"))}
                for key, mpath in _keyed(os.path.join(path, "metrics")):
                    for line in _read(mpath).splitlines():
                        parts = line.split()
                        if len(parts) >= 4:
                            extra = parts[4:6] if len(parts) >= 6 else [None, None]
                            row.metrics.append((key, float(parts[1]), int(parts[0]), int(parts[2]), parts[3], *extra))
                out.append(row)
        return out

    def registry(self) -> list[RegisteredModelRow]:
        folder = os.path.join(self.root, "models")
        if not os.path.isdir(folder):
            return []
        out = []
        for name in sorted(os.listdir(folder)):
            path = os.path.join(folder, name)
            if not os.path.isfile(os.path.join(path, "meta.yaml")):
                continue
            meta = _meta(os.path.join(path, "meta.yaml"))
            model = RegisteredModelRow(meta.get("name", name), meta.get("creation_timestamp") or 0,
                                       meta.get("last_updated_timestamp") or 0, meta.get("description"))
            model.tags = {k: _read(p) for k, p in _keyed(os.path.join(path, "tags"))}
            model.aliases = {k: int(_read(p)) for k, p in _keyed(os.path.join(path, "aliases"))}
            for entry in os.listdir(path):
                vmeta = os.path.join(path, entry, "meta.yaml")
                if not entry.startswith("version-") or not os.path.isfile(vmeta):
                    continue
                v = _meta(vmeta)
                if v.get("current_stage") == "Deleted_Internal":  # MLflow's soft-deleted version
                    continue
                row = ModelVersionRow(int(v["version"]), v.get("creation_timestamp") or 0,
                                      v.get("last_updated_timestamp") or 0, v.get("description"), v.get("user_id"),
                                      v.get("current_stage") or "None", v.get("source"), v.get("run_id"),
                                      v.get("run_link"), v.get("status") or "READY", v.get("status_message"))
                row.tags = {k: _read(p) for k, p in _keyed(os.path.join(path, entry, "tags"))}
                model.versions.append(row)
            model.versions.sort(key=lambda r: r.version)
            out.append(model)
        return out

    # -- files --------------------------------------------------------------------------
    def local_path(self, uri: str) -> str | None:
        if not uri or ("://" in uri and not uri.startswith("file:")):
            return None
        path = local_path_of(uri)
        return path if os.path.isabs(path) else os.path.join(self.root, path)

    def copy_artifacts(self, uri: str, dest: str, run_id: str | None, model_id: str | None) -> int:
        path = self.local_path(uri)
        if path is None:
            raise InvalidSource(f"artifacts at {uri!r} are not on this machine; import through the MLflow "
                                "server instead.")
        return copy_local_tree(path, dest)
