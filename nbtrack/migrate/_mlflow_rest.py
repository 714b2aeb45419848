"""Read a running MLflow tracking server through its REST API (``http(s)://host:port``).

Every call is MLflow's public REST API (the same auth variables as any http tracking URI:
MLFLOW_TRACKING_TOKEN or MLFLOW_TRACKING_USERNAME/PASSWORD). Runs come from ``runs/search``
(every lifecycle stage), each metric's full history from ``metrics/get-history`` (paged), files
from ``artifacts/list`` and the server's ``get-artifact`` download. MLflow's REST API does not
give a deleted run's ``deleted_time``; it is left empty.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from typing import Any

from nbtrack.errors import NbtrackError
from nbtrack.migrate._source import InvalidSource
from nbtrack.store.duckdb.importing import (
    ExperimentRow,
    LoggedModelRow,
    ModelVersionRow,
    RegisteredModelRow,
    RunBatch,
)
from nbtrack.store.rest.http import RestClient, decode_float

__all__ = ["MlflowRestSource"]

_HISTORY_PAGE = 25000


class MlflowRestSource:
    """An MLflow server (or any server speaking MLflow's REST API, nbtrack's included)."""

    local_artifacts = False

    def __init__(self, url: str) -> None:
        self.http = RestClient(url.rstrip("/"))
        self.description = f"MLflow server {self.http.base}"
        try:
            self._experiments = list(self._pages("experiments/search", "experiments",
                                                 {"max_results": 1000, "view_type": "ALL"}))
        except NbtrackError as e:
            raise InvalidSource(f"{url} does not answer MLflow's REST API ({e}). Give the URL of a running "
                                "`mlflow server`, e.g. http://127.0.0.1:5000.") from None
        self._runs: dict[str, dict[str, Any]] = {}

    def close(self) -> None:
        self.http.close()

    def _pages(self, endpoint: str, field: str, body: dict[str, Any], method: str = "POST") -> Iterator[Any]:
        token = None
        while True:
            answer = self.http.call(method, endpoint, {**body, "page_token": token} if token else body)
            yield from answer.get(field, [])
            token = answer.get("next_page_token")
            if not token:
                return

    # -- experiments and runs -----------------------------------------------------------
    def experiments(self) -> list[ExperimentRow]:
        return [ExperimentRow(e["experiment_id"], e["name"], e.get("artifact_location"),
                              e.get("lifecycle_stage", "active"), _int(e.get("creation_time")),
                              _int(e.get("last_update_time")), {t["key"]: t.get("value", "") for t in e.get("tags", [])})
                for e in self._experiments]

    def run_index(self) -> list[tuple[str, str]]:
        ids = [e["experiment_id"] for e in self._experiments]
        for start in range(0, len(ids), 100):
            for run in self._pages("runs/search", "runs", {"experiment_ids": ids[start:start + 100],
                                                           "run_view_type": "ALL", "max_results": 1000}):
                self._runs[run["info"]["run_id"]] = run
        ordered = sorted(self._runs.values(), key=lambda r: (_int(r["info"].get("start_time")) or 0,
                                                             r["info"]["run_id"]))
        return [(r["info"]["run_id"], r["info"]["experiment_id"]) for r in ordered]

    def run_batch(self, run_ids: Sequence[str]) -> RunBatch:
        batch = RunBatch()
        for run_id in run_ids:
            run = self._runs[run_id]
            info, data = run["info"], run.get("data", {})
            values = (run_id, info["experiment_id"], info.get("run_name"), info.get("user_id"), info.get("status"),
                      _int(info.get("start_time")), _int(info.get("end_time")),
                      info.get("lifecycle_stage", "active"), info.get("artifact_uri"), None)
            for column, value in zip(batch.runs, values, strict=True):
                batch.runs[column].append(value)
            for name in ("params", "tags"):
                columns = getattr(batch, name)
                for item in data.get(name, []):
                    columns["run_id"].append(run_id)
                    columns["key"].append(item["key"])
                    columns["value"].append(item.get("value", ""))
            for metric in data.get("metrics", []):
                self._history(batch, run_id, metric["key"])
            for item in run.get("inputs", {}).get("dataset_inputs", []):
                d = item.get("dataset", {})
                tags = {t["key"]: t.get("value", "") for t in item.get("tags", [])}
                row = (run_id, d.get("name"), d.get("digest"), d.get("source_type"), d.get("source"),
                       d.get("schema"), d.get("profile"), tags.get("mlflow.data.context"), json.dumps(tags))
                for column, value in zip(batch.inputs, row, strict=True):
                    batch.inputs[column].append(value)
        return batch

    def _history(self, batch: RunBatch, run_id: str, key: str) -> None:
        m = batch.metrics
        for point in self._pages("metrics/get-history", "metrics",
                                 {"run_id": run_id, "metric_key": key, "max_results": _HISTORY_PAGE}, "GET"):
            m["run_id"].append(run_id)
            m["key"].append(key)
            m["value"].append(decode_float(point.get("value", 0.0)))
            m["timestamp"].append(_int(point.get("timestamp")) or 0)
            m["step"].append(_int(point.get("step")) or 0)

    # -- logged models and the registry -------------------------------------------------
    def logged_models(self) -> list[LoggedModelRow]:
        ids = [e["experiment_id"] for e in self._experiments]
        try:
            found = list(self._pages("logged-models/search", "models", {"experiment_ids": ids, "max_results": 100}))
        except NbtrackError:  # an MLflow 2.x server has no logged models
            return []
        out = []
        for m in found:
            info, data = m.get("info", {}), m.get("data", {})
            row = LoggedModelRow(
                info["model_id"], info["experiment_id"], info.get("name") or info["model_id"],
                info.get("artifact_uri"), _int(info.get("creation_timestamp_ms")) or 0,
                _int(info.get("last_updated_timestamp_ms")) or 0, info.get("model_type"), info.get("source_run_id"),
                _status(info.get("status")), info.get("status_message"), "active")
            row.tags = {t["key"]: t.get("value", "") for t in info.get("tags", [])}
            row.params = {p["key"]: p.get("value", "") for p in data.get("params", [])}
            row.metrics = [(x["key"], decode_float(x.get("value", 0.0)), _int(x.get("timestamp")) or 0,
                            _int(x.get("step")) or 0, x.get("run_id"), x.get("dataset_name"), x.get("dataset_digest"))
                           for x in data.get("metrics", [])]
            out.append(row)
        return out

    def registry(self) -> list[RegisteredModelRow]:
        out = []
        for rm in self._pages("registered-models/search", "registered_models", {"max_results": 1000}, "GET"):
            model = RegisteredModelRow(rm["name"], _int(rm.get("creation_timestamp")) or 0,
                                       _int(rm.get("last_updated_timestamp")) or 0, rm.get("description", ""))
            model.tags = {t["key"]: t.get("value", "") for t in rm.get("tags", [])}
            model.aliases = {a["alias"]: int(a["version"]) for a in rm.get("aliases", [])}
            name = rm["name"].replace("'", "\\'")
            for v in self._pages("model-versions/search", "model_versions",
                                 {"filter": f"name = '{name}'", "max_results": 1000}, "GET"):
                row = ModelVersionRow(int(v["version"]), _int(v.get("creation_timestamp")) or 0,
                                      _int(v.get("last_updated_timestamp")) or 0, v.get("description"),
                                      v.get("user_id") or None, v.get("current_stage") or "None", v.get("source"),
                                      v.get("run_id") or None, v.get("run_link") or None, v.get("status") or "READY",
                                      v.get("status_message") or None)
                row.tags = {t["key"]: t.get("value", "") for t in v.get("tags", [])}
                model.versions.append(row)
            model.versions.sort(key=lambda r: r.version)
            out.append(model)
        return out

    # -- files --------------------------------------------------------------------------
    def local_path(self, uri: str) -> str | None:
        return None

    def copy_artifacts(self, uri: str, dest: str, run_id: str | None, model_id: str | None) -> int:
        return self._copy_tree(dest, run_id, model_id, "")

    def _copy_tree(self, dest: str, run_id: str | None, model_id: str | None, path: str) -> int:
        if run_id is not None:
            listing = self.http.call("GET", "artifacts/list", {"run_id": run_id, "path": path or None})
        else:
            listing = self.http.call("GET", f"logged-models/{model_id}/artifacts/directories",
                                     {"artifact_directory_path": path or None})
        count = 0
        for entry in listing.get("files", []):
            rel = entry["path"]
            if entry.get("is_dir"):
                count += self._copy_tree(dest, run_id, model_id, rel)
                continue
            if run_id is not None:
                url = f"/get-artifact?run_uuid={run_id}&path={_quote(rel)}"
            else:
                url = f"/ajax-api/2.0/mlflow/logged-models/{model_id}/artifacts/files?artifact_file_path={_quote(rel)}"
            target = os.path.join(dest, *rel.split("/"))
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with self.http.stream(url) as response, open(target, "wb") as f:
                for chunk in response.iter_bytes():
                    f.write(chunk)
            count += 1
        return count


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(text, safe="")


def _int(value: Any) -> int | None:
    return None if value is None or value == "" else int(value)


def _status(value: Any) -> str:
    text = str(value or "READY")
    return text.removeprefix("LOGGED_MODEL_")
