"""Handlers of MLflow 3's logged-model endpoints (``/api/2.0/mlflow/logged-models/...``) and log-outputs.

Paths, fields and answers are MLflow's (``mlflow/server/handlers.py``): a model is
``{"info": {...}, "data": {"params": [...], "metrics": [...]}}`` with statuses
``LOGGED_MODEL_PENDING``/``LOGGED_MODEL_READY``/``LOGGED_MODEL_UPLOAD_FAILED``, and its
``artifact_uri`` is shown as ``mlflow-artifacts:/<experiment>/models/<model_id>/artifacts``, so
MLflow's client uploads and downloads the model's files through the artifact proxy.
"""

from __future__ import annotations

from typing import Any

from nbtrack.entities import LoggedModel, LoggedModelStatus, Metric
from nbtrack.server.tracking import _convert as conv
from nbtrack.server.tracking._convert import confined
from nbtrack.server.tracking._protocol import Endpoint, Field
from nbtrack.server.tracking._tracking import Context

__all__ = ["ENDPOINTS", "link_metrics", "logged_model"]

#: MLflow's LoggedModelStatus enum, numbered from 1 (0 is UNSPECIFIED, which no request may set).
STATUSES = ("LOGGED_MODEL_PENDING", "LOGGED_MODEL_READY", "LOGGED_MODEL_UPLOAD_FAILED")
_TO_PROTO = {LoggedModelStatus.PENDING: STATUSES[0], LoggedModelStatus.READY: STATUSES[1],
             LoggedModelStatus.FAILED: STATUSES[2]}
_FROM_PROTO = {v: k for k, v in _TO_PROTO.items()}


def _pairs(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in mapping.items()]


def _metric(m: Metric) -> dict[str, Any]:
    out: dict[str, Any] = {"key": m.key, "value": m.value, "timestamp": m.timestamp, "step": m.step}
    for name in ("run_id", "model_id", "dataset_name", "dataset_digest"):
        if (value := getattr(m, name)) is not None:
            out[name] = value
    return out


def logged_model(m: LoggedModel, ctx: Context) -> dict[str, Any]:
    """A logged model as MLflow's JSON (``LoggedModel`` of service.proto)."""
    info: dict[str, Any] = {"model_id": m.model_id, "experiment_id": m.experiment_id, "name": m.name,
                            "creation_timestamp_ms": m.creation_timestamp,
                            "last_updated_timestamp_ms": m.last_updated_timestamp,
                            "artifact_uri": ctx.loc.present(m.artifact_location),
                            "status": _TO_PROTO.get(m.status, "LOGGED_MODEL_STATUS_UNSPECIFIED")}
    for name in ("model_type", "source_run_id", "status_message"):
        if (value := getattr(m, name)) is not None:
            info[name] = value
    if m.tags:
        info["tags"] = _pairs(m.tags)
    data: dict[str, Any] = {}
    if m.params:
        data["params"] = _pairs(m.params)
    if m.metrics:
        data["metrics"] = [_metric(x) for x in m.metrics]
    return {"info": info, "data": data}


def _kv(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {t["key"]: t.get("value", "") for t in items or []}


def create(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    model = ctx.client.create_logged_model(a["experiment_id"], a.get("name") or None, a.get("source_run_id") or None,
                                           _kv(a.get("tags")), _kv(a.get("params")), a.get("model_type") or None)
    return {"model": logged_model(model, ctx)}


def get(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return {"model": logged_model(ctx.client.get_logged_model(a["model_id"]), ctx)}


def finalize(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return {"model": logged_model(ctx.client.finalize_logged_model(a["model_id"], _FROM_PROTO[a["status"]]), ctx)}


def delete(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_logged_model(a["model_id"])
    return {}


def set_tags(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.set_logged_model_tags(a["model_id"], _kv(a.get("tags")))
    return {}


def delete_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_logged_model_tag(a["model_id"], a["tag_key"])
    return {}


def log_params(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.log_model_params(a["model_id"], _kv(a.get("params")))
    return {}


def search(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    datasets = [{"dataset_name": d["dataset_name"], "dataset_digest": d.get("dataset_digest") or None}
                for d in a.get("datasets", [])] or None
    order_by = [{"field_name": o["field_name"], "ascending": o.get("ascending", True),
                 "dataset_name": o.get("dataset_name") or None, "dataset_digest": o.get("dataset_digest") or None}
                for o in a.get("order_by", [])] or None
    found = ctx.client.search_logged_models(a["experiment_ids"], a.get("filter") or None, datasets,
                                            a.get("max_results") or None, order_by, a.get("page_token") or None)
    out: dict[str, Any] = {"models": [logged_model(m, ctx) for m in found]}
    if found.token:
        out["next_page_token"] = found.token
    return out


def list_artifacts(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    path = confined(a.get("artifact_directory_path"))
    model = ctx.client.get_logged_model(a["model_id"])
    files = ctx.client.list_logged_model_artifacts(a["model_id"], path or None)
    out: dict[str, Any] = {"root_uri": ctx.loc.present(model.artifact_location)}
    if files:
        out["files"] = [conv.file_info(f) for f in files]
    return out


def log_outputs(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    """MLflow 3's run outputs: the logged models a run produced, each at a step."""
    from nbtrack.entities import LoggedModelOutput

    ctx.client.log_outputs(a["run_id"], [LoggedModelOutput(m["model_id"], m.get("step", 0)) for m in a["models"]])
    return {}


def link_metrics(ctx: Context, run_id: str, metrics: list[dict[str, Any]]) -> None:
    """Metrics sent with ``model_id``: the run's points, linked to the model. MLflow's client sends the
    run's points at a model's step again with ``model_id`` (``log_model``); a point the run already has
    is linked without a second copy in its history, as the embedded ``log_model`` does."""
    from nbtrack.tracking import validation

    store = ctx.client.store
    histories: dict[str, set[tuple[float, int, int]]] = {}
    for m in metrics:
        key = validation.key(m["key"], "metric key")
        value = validation.metric_value(key, m["value"])
        ts, step = validation.timestamp(key, m["timestamp"]), validation.step(key, m.get("step", 0))
        if key not in histories:
            histories[key] = {(h.value, h.timestamp, h.step) for h in ctx.client.get_metric_history(run_id, key)}
        link = {"model_id": validation.text(m["model_id"], "model_id", empty=False),
                "dataset_name": m.get("dataset_name") or None, "dataset_digest": m.get("dataset_digest") or None}
        ctx.client.get_logged_model(link["model_id"])  # an unknown model is a 404, not a dangling link
        point = (value, ts, step)
        store.log_model_metric(run_id, key, value, ts, step, link, run_point=point not in histories[key])
        histories[key].add(point)


_KV = (Field("key", required=True), Field("value"))
_MODEL = (Field("model_id"),)  # from the path


def _ep(path: str, methods: tuple[str, ...], handler: Any, fields: tuple[Field, ...], writes: bool,
        summary: str) -> Endpoint:
    return Endpoint(path, methods, handler, fields, writes, summary)


ENDPOINTS = [
    _ep("logged-models", ("POST",), create,
        (Field("experiment_id", required=True), Field("name"), Field("model_type"), Field("source_run_id"),
         Field("params", "object", repeated=True, fields=_KV), Field("tags", "object", repeated=True, fields=_KV)),
        True, "Create a logged model (PENDING)"),
    _ep("logged-models/search", ("POST",), search,
        (Field("experiment_ids", repeated=True, required=True), Field("filter"),
         Field("datasets", "object", repeated=True,
               fields=(Field("dataset_name", required=True), Field("dataset_digest"))),
         Field("max_results", "int32"),
         Field("order_by", "object", repeated=True,
               fields=(Field("field_name", required=True), Field("ascending", "bool"), Field("dataset_name"),
                       Field("dataset_digest"))),
         Field("page_token")), False, "Search logged models"),
    _ep("logged-models/{model_id}", ("GET",), get, (*_MODEL, Field("allow_deleted", "bool")), False,
        "Get a logged model"),
    _ep("logged-models/{model_id}", ("PATCH",), finalize,
        (*_MODEL, Field("status", "enum", required=True, enum=STATUSES)), True,
        "Finalize a logged model (READY or UPLOAD_FAILED)"),
    _ep("logged-models/{model_id}", ("DELETE",), delete, _MODEL, True, "Delete a logged model"),
    _ep("logged-models/{model_id}/tags", ("PATCH",), set_tags,
        (*_MODEL, Field("tags", "object", repeated=True, fields=_KV)), True, "Set logged model tags"),
    _ep("logged-models/{model_id}/tags/{tag_key}", ("DELETE",), delete_tag, (*_MODEL, Field("tag_key")), True,
        "Delete a logged model tag"),
    _ep("logged-models/{model_id}/params", ("POST",), log_params,
        (*_MODEL, Field("params", "object", repeated=True, fields=_KV)), True, "Log logged model params"),
    _ep("logged-models/{model_id}/artifacts/directories", ("GET",), list_artifacts,
        (*_MODEL, Field("artifact_directory_path"), Field("page_token")), False, "List a logged model's files"),
    _ep("runs/outputs", ("POST",), log_outputs,
        (Field("run_id", required=True),
         Field("models", "object", repeated=True, required=True,
               fields=(Field("model_id", required=True), Field("step", "int64")))), True,
        "Record models as outputs of a run"),
]

