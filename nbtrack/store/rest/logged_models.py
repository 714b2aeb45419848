"""MLflow 3 logged models over a tracking server's REST API (``/api/2.0/mlflow/logged-models``).

:class:`RestLoggedModelStore` has the embedded ``LoggedModelStore``'s operations, so the
``Client``'s logged-model methods work the same against ``nbtrack server`` and a real
``mlflow server`` (3.x). A model's files are behind the server's artifact proxy
(``mlflow-artifacts:/<experiment>/models/<model_id>/artifacts``). Metric values linked to a model
are ``log-batch`` metrics with ``model_id``, queued in order with the run's other data.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from nbtrack.entities import LoggedModel, LoggedModelStatus, Metric
from nbtrack.errors import NotFound
from nbtrack.store.rest.entities import metric_of

if TYPE_CHECKING:
    from nbtrack.store.rest.store import RestStore

__all__ = ["RestLoggedModelStore", "logged_model_of"]

_STATUS = {"LOGGED_MODEL_PENDING": LoggedModelStatus.PENDING, "LOGGED_MODEL_READY": LoggedModelStatus.READY,
           "LOGGED_MODEL_UPLOAD_FAILED": LoggedModelStatus.FAILED}
_TO_PROTO = {v: k for k, v in _STATUS.items()}
_PAGE = 100  # MLflow's default page of logged models; nbtrack server takes any size


def _pairs(items: Any) -> dict[str, str]:
    return {str(t["key"]): str(t.get("value", "")) for t in items or []}


def _items(pairs: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in pairs]


def logged_model_of(d: Mapping[str, Any]) -> LoggedModel:
    """MLflow's ``LoggedModel`` JSON as the entity."""
    info, data = d.get("info") or {}, d.get("data") or {}
    metrics = []
    for m in data.get("metrics") or []:
        point = metric_of(m)
        metrics.append(Metric(point.key, point.value, point.timestamp, point.step, m.get("run_id"),
                              m.get("model_id"), m.get("dataset_name"), m.get("dataset_digest")))
    return LoggedModel(
        model_id=str(info["model_id"]), experiment_id=str(info.get("experiment_id", "")), name=info.get("name", ""),
        artifact_location=info.get("artifact_uri", ""),
        creation_timestamp=int(info.get("creation_timestamp_ms") or 0),
        last_updated_timestamp=int(info.get("last_updated_timestamp_ms") or 0),
        model_type=info.get("model_type") or None, source_run_id=info.get("source_run_id") or None,
        status=_STATUS.get(str(info.get("status")), LoggedModelStatus.PENDING),
        status_message=info.get("status_message") or None, tags=_pairs(info.get("tags")),
        params=_pairs(data.get("params")), metrics=metrics)


class RestLoggedModelStore:
    """Create, read, tag, finalize and search logged models on a tracking server."""

    def __init__(self, store: RestStore) -> None:
        self.store = store

    def __repr__(self) -> str:
        return f"RestLoggedModelStore({self.store.root!r})"

    @staticmethod
    def _path(model_id: str, tail: str = "") -> str:
        return f"logged-models/{quote(model_id, safe='')}{tail}"

    def _model(self, method: str, endpoint: str, body: dict[str, Any] | None = None) -> LoggedModel:
        return logged_model_of(self.store._read(method, endpoint, body)["model"])

    def create(self, experiment_id: str, name: str, model_type: str | None, source_run_id: str | None,
               params: Sequence[tuple[str, str]], tags: Sequence[tuple[str, str]]) -> LoggedModel:
        body: dict[str, Any] = {"experiment_id": experiment_id, "name": name, "params": _items(params),
                                "tags": _items(tags)}
        if model_type is not None:
            body["model_type"] = model_type
        if source_run_id is not None:
            body["source_run_id"] = source_run_id
        return self._model("POST", "logged-models", body)

    def get(self, model_id: str) -> LoggedModel:
        return self._model("GET", self._path(model_id))

    def finalize(self, model_id: str, status: str, status_message: str | None = None) -> LoggedModel:
        return self._model("PATCH", self._path(model_id), {"model_id": model_id, "status": _TO_PROTO[status]})

    def set_tags(self, model_id: str, tags: Sequence[tuple[str, str]]) -> LoggedModel:
        self.store._read("PATCH", self._path(model_id, "/tags"), {"model_id": model_id, "tags": _items(tags)})
        return self.get(model_id)

    def delete_tag(self, model_id: str, key: str) -> LoggedModel:
        self.store._read("DELETE", self._path(model_id, f"/tags/{quote(key, safe='')}"))
        return self.get(model_id)

    def log_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> LoggedModel:
        items = _items(params)
        for start in range(0, len(items), 100):  # MLflow's client sends 100 a request
            self.store._read("POST", self._path(model_id, "/params"),
                             {"model_id": model_id, "params": items[start:start + 100]})
        return self.get(model_id)

    def delete(self, model_id: str) -> None:
        self.store._read("DELETE", self._path(model_id))

    def by_run(self, run_id: str, name: str) -> LoggedModel | None:
        """The newest model logged from ``run_id`` as ``name``."""
        try:
            experiment_id = self.store.get_run(run_id).info.experiment_id
        except NotFound:
            return None
        quoted = name.replace("'", "''")
        found = self.search([experiment_id], f"source_run_id = '{run_id}' AND name = '{quoted}'", None,
                            [{"field_name": "creation_timestamp", "ascending": False}], 1, 0)
        return found[0] if found else None

    def search(self, experiment_ids: Sequence[str], filter_string: str | None,
               datasets: Sequence[Mapping[str, Any]] | None, order_by: Sequence[Mapping[str, Any]] | None,
               limit: int | None, offset: int) -> list[LoggedModel]:
        if not experiment_ids:
            return []
        body: dict[str, Any] = {"experiment_ids": list(experiment_ids), "filter": filter_string or None,
                                "datasets": [dict(d) for d in datasets or []],
                                "order_by": [{k: v for k, v in o.items() if v is not None} for o in order_by or []]}
        found = self.store._pages("logged-models/search", body, "models", offset, limit, _PAGE)
        return [logged_model_of(m) for m in found]

    # -- MLflow 3's run outputs and model inputs ----------------------------------------------------
    def link_run(self, run_id: str, direction: str, links: Sequence[tuple[str, int]]) -> None:
        """Record ``(model_id, step)`` pairs as the run's outputs (``runs/outputs``) or inputs
        (``runs/log-inputs`` with ``models``), after this process's queued run data."""
        if direction == "output":
            self.store._read("POST", "runs/outputs",
                             {"run_id": run_id, "models": [{"model_id": m, "step": s} for m, s in links]})
        else:
            self.store._read("POST", "runs/log-inputs",
                             {"run_id": run_id, "datasets": [], "models": [{"model_id": m} for m, _ in links]})

    def run_links(self, run_ids: Sequence[str]) -> dict[str, dict[str, list[tuple[str, int]]]]:
        """``{run_id: {"output": [(model_id, step), ...], "input": [...]}}`` from the runs' JSON (the
        one ``get_run`` just fetched when there is one, so reading a run costs one request)."""
        found = {}
        for run_id in run_ids:
            raw = self.store.take_run_json(run_id)
            if raw is None:
                raw = self.store._read("GET", "runs/get", {"run_id": run_id})["run"]
            outputs = (raw.get("outputs") or {}).get("model_outputs") or []
            inputs = (raw.get("inputs") or {}).get("model_inputs") or []
            found[run_id] = {"output": [(str(m["model_id"]), int(m.get("step") or 0)) for m in outputs],
                             "input": [(str(m["model_id"]), 0) for m in inputs]}
        return found
