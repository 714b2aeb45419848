"""Write an nbtrack store into an MLflow store that MLflow reads: a ``sqlite:///`` database or an
``mlruns/`` folder. Run ids, experiment ids (where free), metric points, logged model ids and
version numbers are kept; what the destination already has is skipped. Artifacts are copied
next to the destination (``<db folder>/mlruns/`` for a database, into the folder for ``mlruns/``).

A new database is created by MLflow itself (its alembic migrations), so that needs the mlflow
package; an existing MLflow database is written with SQL only.
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from typing import Any

import yaml

from nbtrack.migrate._report import Progress, Report
from nbtrack.migrate._source import InvalidSource, copy_local_tree
from nbtrack.store.duckdb import importing
from nbtrack.store.duckdb.importing import RunBatch

__all__ = ["export"]

_STATUS_INT = {"RUNNING": 1, "SCHEDULED": 2, "FINISHED": 3, "FAILED": 4, "KILLED": 5}
_MODEL_STATUS_INT = {"PENDING": 1, "READY": 2, "FAILED": 3}
_MAX = 1.7976931348623157e308  # MLflow's SQL stores keep +-inf as +-max double


def export(store: Any, dest: str, progress: bool = False) -> Report:
    from nbtrack.migrate._mlflow_sql import sqlite_path

    started = time.monotonic()
    store.sync()
    if dest.startswith("sqlite:"):
        writer: _SqlWriter | _FileWriter = _SqlWriter(sqlite_path(dest))
    elif "://" in dest and not dest.startswith("file:"):
        raise InvalidSource(f"Cannot export to {dest!r}: give sqlite:///path/mlflow.db or an mlruns/ folder.")
    else:
        from nbtrack.store.artifacts import local_path_of

        writer = _FileWriter(os.path.abspath(local_path_of(dest)))
    report = Report(f"nbtrack store {store.root}", writer.description)
    archive = store.archive
    try:
        exp_map = {}
        for exp in importing.read_experiments(archive):
            exp_map[exp.experiment_id], created = writer.experiment(exp)
            report.note("imported" if created else "skipped", "experiments")
        index = importing.read_run_index(archive)
        have = writer.run_ids()
        todo = [r for r, _ in index if r not in have]
        report.note("skipped", "runs", len(index) - len(todo))
        bar = Progress(len(todo), progress)
        for start in range(0, len(todo), 2000):
            batch = importing.read_run_batch(archive, todo[start:start + 2000])
            files = writer.runs(batch, exp_map)
            report.note("imported", "runs", len(batch))
            report.note("imported", "metric points", len(batch.metrics["run_id"]))
            report.note("imported", "artifact files", files)
            bar.update(len(batch))
        bar.close()
        for model in importing.read_logged_models(archive):
            done = writer.logged_model(model, exp_map[model.experiment_id])
            report.note("imported" if done else "skipped", "logged models")
        for rm in importing.read_registry(archive):
            added = writer.registered_model(rm)
            report.note("imported", "model versions", added)
            report.note("skipped", "model versions", len(rm.versions) - added)
            report.note("imported", "registered models")
    finally:
        writer.close()
    report.seconds = time.monotonic() - started
    return report


# == an MLflow database ===============================================================
class _SqlWriter:
    def __init__(self, path: str) -> None:
        self.path = path
        self.description = f"MLflow database {path}"
        self.artifact_root = os.path.join(os.path.dirname(path), "mlruns")
        if not os.path.exists(path):
            _create_mlflow_database(path, self.artifact_root)
        self.con = sqlite3.connect(path)
        tables = {r[0] for r in self.con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not {"experiments", "runs", "metrics", "alembic_version"} <= tables:
            raise InvalidSource(f"{path} exists but is not an MLflow tracking database; give a new file name "
                                "(MLflow creates it) or an MLflow database.")
        self.columns = {t: [r[1] for r in self.con.execute(f"PRAGMA table_info({t})")] for t in tables}

    def close(self) -> None:
        self.con.commit()
        self.con.close()

    def _insert(self, table: str, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        cols = [c for c in self.columns[table] if c in rows[0] or c == "workspace"]
        sql = f"INSERT OR IGNORE INTO {table} ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})"
        self.con.executemany(sql, [[r.get(c, "default" if c == "workspace" else None) for c in cols] for r in rows])

    def experiment(self, exp: importing.ExperimentRow) -> tuple[str, bool]:
        found = self.con.execute("SELECT experiment_id FROM experiments WHERE name = ?", [exp.name]).fetchall()
        if found:
            return str(found[0][0]), False
        taken = self.con.execute("SELECT 1 FROM experiments WHERE experiment_id = ?", [int(exp.experiment_id)]).fetchall()
        eid = (self.con.execute("SELECT COALESCE(max(experiment_id), 0) + 1 FROM experiments").fetchall()[0][0]
               if taken else int(exp.experiment_id))
        self._insert("experiments", [{"experiment_id": eid, "name": exp.name,
                                      "artifact_location": os.path.join(self.artifact_root, str(eid)),
                                      "lifecycle_stage": exp.lifecycle_stage, "creation_time": exp.creation_time,
                                      "last_update_time": exp.last_update_time}])
        self._insert("experiment_tags", [{"key": k, "value": v, "experiment_id": eid} for k, v in exp.tags.items()])
        self.con.commit()
        return str(eid), True

    def run_ids(self) -> set[str]:
        return {r[0] for r in self.con.execute("SELECT run_uuid FROM runs")}

    def runs(self, batch: RunBatch, exp_map: dict[str, str]) -> int:
        r, files, rows = batch.runs, 0, []
        for i, run_id in enumerate(r["run_id"]):
            eid = exp_map[str(r["experiment_id"][i])]
            target = os.path.join(self.artifact_root, eid, run_id, "artifacts")
            files += copy_local_tree(r["artifact_uri"][i], target)
            rows.append({"run_uuid": run_id, "name": r["run_name"][i], "source_type": "UNKNOWN", "source_name": "",
                         "entry_point_name": "", "user_id": r["user_id"][i], "status": r["status"][i],
                         "start_time": r["start_time"][i], "end_time": r["end_time"][i], "source_version": "",
                         "lifecycle_stage": r["lifecycle_stage"][i], "artifact_uri": target,
                         "experiment_id": int(eid), "deleted_time": r["deleted_time"][i]})
        self._insert("runs", rows)
        for name in ("params", "tags"):
            c = getattr(batch, name)
            self._insert(name, [{"key": k, "value": v, "run_uuid": rid}
                                for rid, k, v in zip(c["run_id"], c["key"], c["value"], strict=True)])
        m = batch.metrics
        points = [_sql_point(*p) for p in zip(m["run_id"], m["key"], m["value"], m["timestamp"], m["step"], strict=True)]
        self._insert("metrics", points)
        latest: dict[tuple[str, str], dict[str, Any]] = {}
        for p, v in zip(points, m["value"], strict=True):
            order = (p["step"], p["timestamp"], -math.inf if math.isnan(v) else v)
            old = latest.get((p["run_uuid"], p["key"]))
            if old is None or order > old["_order"]:
                latest[(p["run_uuid"], p["key"])] = {**p, "_order": order}
        self._insert("latest_metrics", list(latest.values()))
        self._inputs(batch, {rid: exp_map[str(e)] for rid, e in zip(r["run_id"], r["experiment_id"], strict=True)})
        self.con.commit()
        return files

    def _inputs(self, batch: RunBatch, exp_of: dict[str, str]) -> None:
        c = batch.inputs
        for i, run_id in enumerate(c["run_id"]):
            eid = int(exp_of[run_id])
            found = self.con.execute("SELECT dataset_uuid FROM datasets WHERE experiment_id = ? AND name = ? AND "
                                     "digest = ?", [eid, c["dataset_name"][i], c["dataset_digest"][i]]).fetchall()
            dataset_uuid = found[0][0] if found else uuid.uuid4().hex
            if not found:
                self._insert("datasets", [{"dataset_uuid": dataset_uuid, "experiment_id": eid,
                                           "name": c["dataset_name"][i], "digest": c["dataset_digest"][i],
                                           "dataset_source_type": c["source_type"][i],
                                           "dataset_source": c["source"][i], "dataset_schema": c["dataset_schema"][i],
                                           "dataset_profile": c["profile"][i]}])
            input_uuid = uuid.uuid4().hex
            self._insert("inputs", [{"input_uuid": input_uuid, "source_type": "DATASET", "source_id": dataset_uuid,
                                     "destination_type": "RUN", "destination_id": run_id, "step": 0}])
            tags = json.loads(c["tags"][i] or "{}")
            self._insert("input_tags", [{"input_uuid": input_uuid, "name": k, "value": v} for k, v in tags.items()])

    def logged_model(self, model: importing.LoggedModelRow, eid: str) -> bool:
        if "logged_models" not in self.columns or self.con.execute(
                "SELECT 1 FROM logged_models WHERE model_id = ?", [model.model_id]).fetchall():
            return False
        location = os.path.join(self.artifact_root, eid, "models", model.model_id, "artifacts")
        copy_local_tree(model.artifact_location, location)
        self._insert("logged_models", [{
            "model_id": model.model_id, "experiment_id": int(eid), "name": model.name, "artifact_location": location,
            "creation_timestamp_ms": model.creation_timestamp, "last_updated_timestamp_ms": model.last_updated_timestamp,
            "status": _MODEL_STATUS_INT.get(model.status, 0), "lifecycle_stage": model.lifecycle_stage,
            "model_type": model.model_type, "source_run_id": model.source_run_id,
            "status_message": model.status_message}])
        for table, items in (("logged_model_params", model.params), ("logged_model_tags", model.tags)):
            prefix = "param" if table.endswith("params") else "tag"
            self._insert(table, [{"model_id": model.model_id, "experiment_id": int(eid), f"{prefix}_key": k,
                                  f"{prefix}_value": v} for k, v in items.items()])
        self._insert("logged_model_metrics", [{
            "model_id": model.model_id, "metric_name": k, "metric_timestamp_ms": ts, "metric_step": step,
            "metric_value": v, "experiment_id": int(eid), "run_id": rid, "dataset_name": dn, "dataset_digest": dd}
            for k, v, ts, step, rid, dn, dd in model.metrics])
        self.con.commit()
        return True

    def registered_model(self, rm: importing.RegisteredModelRow) -> int:
        self._insert("registered_models", [{"name": rm.name, "creation_time": rm.creation_time,
                                            "last_updated_time": rm.last_updated_time, "description": rm.description}])
        have = {r[0] for r in self.con.execute("SELECT version FROM model_versions WHERE name = ?", [rm.name])}
        new = [v for v in rm.versions if v.version not in have]
        self._insert("model_versions", [{
            "name": rm.name, "version": v.version, "creation_time": v.creation_time,
            "last_updated_time": v.last_updated_time, "description": v.description, "user_id": v.user_id,
            "current_stage": v.current_stage, "source": v.source, "run_id": v.run_id, "status": v.status,
            "status_message": v.status_message, "run_link": v.run_link, "storage_location": v.source} for v in new])
        self._insert("registered_model_tags", [{"key": k, "value": v, "name": rm.name} for k, v in rm.tags.items()])
        self._insert("model_version_tags", [{"key": k, "value": val, "name": rm.name, "version": v.version}
                                            for v in new for k, val in v.tags.items()])
        self._insert("registered_model_aliases", [{"alias": a, "version": n, "name": rm.name}
                                                  for a, n in rm.aliases.items()])
        self.con.commit()
        return len(new)


def _sql_point(run_id: str, key: str, value: float, timestamp: int, step: int) -> dict[str, Any]:
    is_nan = math.isnan(value)
    if is_nan:
        value = 0.0
    elif math.isinf(value):
        value = _MAX if value > 0 else -_MAX
    return {"key": key, "value": value, "timestamp": timestamp, "run_uuid": run_id, "step": step, "is_nan": is_nan}


def _create_mlflow_database(path: str, artifact_root: str) -> None:
    """Let MLflow create its own schema (every alembic migration), in a child process."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    code = ("import sys; from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore; "
            "SqlAlchemyStore('sqlite:///' + sys.argv[1], sys.argv[2])")
    try:
        done = subprocess.run([sys.executable, "-c", code, path, artifact_root], capture_output=True, text=True,
                              timeout=300, check=False)
    except OSError as e:
        done = subprocess.CompletedProcess([], 1, "", str(e))
    if done.returncode != 0:
        missing = "No module named 'mlflow'" in done.stderr
        raise InvalidSource(
            f"Cannot create the MLflow database {path}: "
            + ("the mlflow package is not installed here (pip install mlflow), and only MLflow can create its "
               "schema. Or export into an existing MLflow database, or into an mlruns/ folder."
               if missing else done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "mlflow failed"))


# == an mlruns/ folder ================================================================
class _FileWriter:
    def __init__(self, root: str) -> None:
        self.root = root
        self.description = f"MLflow file store {root}"
        if os.path.isfile(root):
            raise InvalidSource(f"{root} is a file; give a folder for an mlruns/ file store, or sqlite:///{root}.")
        os.makedirs(root, exist_ok=True)
        self.exp_dirs: dict[str, str] = {}

    def close(self) -> None:
        pass

    def _existing(self) -> dict[str, str]:
        names = {}
        for parent in (self.root, os.path.join(self.root, ".trash")):
            for name in os.listdir(parent) if os.path.isdir(parent) else []:
                meta = os.path.join(parent, name, "meta.yaml")
                if name.isdigit() and os.path.isfile(meta):
                    names[_load(meta).get("name", "")] = name
                    self.exp_dirs[name] = os.path.join(parent, name)
        return names

    def experiment(self, exp: importing.ExperimentRow) -> tuple[str, bool]:
        existing = self._existing()
        if exp.name in existing:
            return existing[exp.name], False
        eid = exp.experiment_id
        if eid in self.exp_dirs:
            eid = str(max(int(e) for e in self.exp_dirs) + 1)
        folder = os.path.join(self.root, ".trash" if exp.lifecycle_stage == "deleted" else "", eid)
        self.exp_dirs[eid] = folder
        _dump(os.path.join(folder, "meta.yaml"), {
            "artifact_location": _file_uri(os.path.join(self.root, eid)), "creation_time": exp.creation_time,
            "experiment_id": eid, "last_update_time": exp.last_update_time, "lifecycle_stage": exp.lifecycle_stage,
            "name": exp.name})
        for key, value in exp.tags.items():
            _write(os.path.join(folder, "tags", key), value)
        return eid, True

    def run_ids(self) -> set[str]:
        self._existing()
        return {name for folder in self.exp_dirs.values() for name in os.listdir(folder)
                if os.path.isfile(os.path.join(folder, name, "meta.yaml")) and len(name) == 32}

    def runs(self, batch: RunBatch, exp_map: dict[str, str]) -> int:
        r, files = batch.runs, 0
        folders = {}
        for i, run_id in enumerate(r["run_id"]):
            eid = exp_map[str(r["experiment_id"][i])]
            folder = folders[run_id] = os.path.join(self.exp_dirs[eid], run_id)
            files += copy_local_tree(r["artifact_uri"][i], os.path.join(folder, "artifacts"))
            meta = {"artifact_uri": _file_uri(os.path.join(self.root, eid, run_id, "artifacts")),
                    "end_time": r["end_time"][i], "entry_point_name": "", "experiment_id": eid,
                    "lifecycle_stage": r["lifecycle_stage"][i], "run_id": run_id, "run_name": r["run_name"][i],
                    "source_name": "", "source_type": 4, "source_version": "", "start_time": r["start_time"][i],
                    "status": _STATUS_INT.get(r["status"][i], 1), "tags": [], "user_id": r["user_id"][i]}
            if r["deleted_time"][i] is not None:
                meta["deleted_time"] = r["deleted_time"][i]
            _dump(os.path.join(folder, "meta.yaml"), meta)
            for sub in ("metrics", "params", "tags", "artifacts"):  # MLflow finds a run by these folders
                os.makedirs(os.path.join(folder, sub), exist_ok=True)
        for name in ("params", "tags"):
            c = getattr(batch, name)
            for rid, key, value in zip(c["run_id"], c["key"], c["value"], strict=True):
                _write(os.path.join(folders[rid], name, key), value)
        lines: dict[tuple[str, str], list[str]] = {}
        m = batch.metrics
        for rid, key, value, ts, step in zip(m["run_id"], m["key"], m["value"], m["timestamp"], m["step"], strict=True):
            lines.setdefault((rid, key), []).append(f"{ts} {value} {step}\n")
        for (rid, key), text in lines.items():
            _write(os.path.join(folders[rid], "metrics", key), "".join(text))
        self._inputs(batch, folders)
        return files

    def _inputs(self, batch: RunBatch, folders: dict[str, str]) -> None:
        c = batch.inputs
        for i, run_id in enumerate(c["run_id"]):
            exp_folder = os.path.dirname(folders[run_id])
            dataset_id = uuid.uuid5(uuid.NAMESPACE_URL, f"{c['dataset_name'][i]}:{c['dataset_digest'][i]}").hex
            _dump(os.path.join(exp_folder, "datasets", dataset_id, "meta.yaml"), {
                "digest": c["dataset_digest"][i], "name": c["dataset_name"][i], "profile": c["profile"][i],
                "schema": c["dataset_schema"][i], "source": c["source"][i], "source_type": c["source_type"][i]})
            input_id = uuid.uuid4().hex
            _dump(os.path.join(folders[run_id], "inputs", input_id, "meta.yaml"), {
                "destination_id": input_id, "destination_type": "RUN", "source_id": dataset_id,
                "source_type": "DATASET", "tags": json.loads(c["tags"][i] or "{}")})

    def logged_model(self, model: importing.LoggedModelRow, eid: str) -> bool:
        folder = os.path.join(self.exp_dirs[eid], "models", model.model_id)
        if os.path.isfile(os.path.join(folder, "meta.yaml")):
            return False
        copy_local_tree(model.artifact_location, os.path.join(folder, "artifacts"))
        for key, value in model.params.items():
            _write(os.path.join(folder, "params", key), value)
        for key, value in model.tags.items():
            _write(os.path.join(folder, "tags", key), value)
        lines: dict[str, list[str]] = {}
        for key, value, ts, step, run_id, dname, ddigest in model.metrics:
            extra = f" {dname} {ddigest}" if dname is not None and ddigest is not None else ""
            lines.setdefault(key, []).append(f"{ts} {value} {step} {run_id}{extra}\n")
        for key, text in lines.items():
            _write(os.path.join(folder, "metrics", key), "".join(text))
        _dump(os.path.join(folder, "meta.yaml"), {
            "artifact_location": _file_uri(os.path.join(folder, "artifacts")),
            "creation_timestamp": model.creation_timestamp, "experiment_id": eid,
            "last_updated_timestamp": model.last_updated_timestamp, "model_id": model.model_id,
            "model_type": model.model_type, "name": model.name, "source_run_id": model.source_run_id,
            "status": _MODEL_STATUS_INT.get(model.status, 0), "status_message": model.status_message})
        return True

    def registered_model(self, rm: importing.RegisteredModelRow) -> int:
        folder = os.path.join(self.root, "models", rm.name)
        if not os.path.isfile(os.path.join(folder, "meta.yaml")):
            _dump(os.path.join(folder, "meta.yaml"), {
                "aliases": {a: str(n) for a, n in rm.aliases.items()}, "creation_timestamp": rm.creation_time,
                "description": rm.description, "last_updated_timestamp": rm.last_updated_time, "name": rm.name})
            for key, value in rm.tags.items():
                _write(os.path.join(folder, "tags", key), value)
            for alias, number in rm.aliases.items():
                _write(os.path.join(folder, "aliases", alias), str(number))
        added = 0
        for v in rm.versions:
            vfolder = os.path.join(folder, f"version-{v.version}")
            if os.path.isfile(os.path.join(vfolder, "meta.yaml")):
                continue
            _dump(os.path.join(vfolder, "meta.yaml"), {
                "creation_timestamp": v.creation_time, "current_stage": v.current_stage, "description": v.description,
                "last_updated_timestamp": v.last_updated_time, "name": rm.name, "run_id": v.run_id,
                "run_link": v.run_link, "source": v.source, "status": v.status, "status_message": v.status_message,
                "storage_location": v.source, "user_id": v.user_id, "version": v.version})
            for key, value in v.tags.items():
                _write(os.path.join(vfolder, "tags", key), value)
            added += 1
        return added


def _file_uri(path: str) -> str:
    from pathlib import Path

    return Path(path).as_uri()


def _load(path: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f) or {}


def _dump(path: str, data: dict[str, Any]) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        yaml.safe_dump(data, f, default_flow_style=False)


def _write(path: str, text: str) -> None:
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
