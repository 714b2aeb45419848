"""Handlers of MLflow's tracking endpoints (experiments, runs, metrics, artifact listing).

Each handler takes the checked request fields and calls the public :class:`nbtrack.Client`,
which validates values (key grammar, lengths, int64 ranges, UTF-8) at its boundary.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from typing import Any

from nbtrack.entities import (
    Dataset,
    DatasetInput,
    InputTag,
    LoggedModelInput,
    Param,
    RunTag,
    ViewType,
)
from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.server.tracking import _convert as conv
from nbtrack.server.tracking._convert import Locations, confined
from nbtrack.server.tracking._protocol import Endpoint, Field
from nbtrack.tracking import validation

__all__ = ["ENDPOINTS", "Context"]

VIEW_TYPES = ("ACTIVE_ONLY", "DELETED_ONLY", "ALL")
RUN_STATUSES = ("RUNNING", "SCHEDULED", "FINISHED", "FAILED", "KILLED")
MAX_RUNS_BULK_INTERVAL = 100
MAX_RESULTS_PER_RUN = 2500
MAX_HISTORY_BULK = 25000


@dataclass(slots=True)
class Context:
    """What every handler needs: the store's client and the artifact locations."""

    client: Any
    loc: Locations


def _run_id(a: dict[str, Any]) -> str:
    run_id = a.get("run_id") or a.get("run_uuid")
    if not run_id:
        raise InvalidParameter("Missing value for required parameter 'run_id'. See the API docs for more "
                               "information about request parameters.")
    return str(run_id)


def _tags(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {t["key"]: t.get("value", "") for t in items or []}


# -- experiments ------------------------------------------------------------------------------
def create_experiment(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    location = ctx.loc.new_experiment_location(a.get("artifact_location"), secrets.token_hex(16))
    experiment_id = ctx.client.create_experiment(a["name"], location, _tags(a.get("tags")))
    return {"experiment_id": experiment_id}


def search_experiments(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    view = ViewType.from_string(a.get("view_type", "ACTIVE_ONLY"))
    found = ctx.client.search_experiments(view, a.get("max_results", 1000), a.get("filter") or None,
                                          a.get("order_by") or None, a.get("page_token") or None)
    out: dict[str, Any] = {"experiments": [conv.experiment(e, ctx.loc) for e in found]}
    if found.token:
        out["next_page_token"] = found.token
    return out


def get_experiment(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return {"experiment": conv.experiment(ctx.client.get_experiment(a["experiment_id"]), ctx.loc)}


def get_experiment_by_name(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    found = ctx.client.get_experiment_by_name(a["experiment_name"])
    if found is None:
        raise NotFound(f"Could not find experiment with name '{a['experiment_name']}'")
    return {"experiment": conv.experiment(found, ctx.loc)}


def delete_experiment(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_experiment(a["experiment_id"])
    return {}


def restore_experiment(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.restore_experiment(a["experiment_id"])
    return {}


def update_experiment(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    if a.get("new_name"):
        ctx.client.rename_experiment(a["experiment_id"], a["new_name"])
    else:
        ctx.client.get_experiment(a["experiment_id"])
    return {}


def set_experiment_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.set_experiment_tag(a["experiment_id"], a["key"], a["value"])
    return {}


def delete_experiment_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_experiment_tag(a["experiment_id"], a["key"])
    return {}


# -- runs -------------------------------------------------------------------------------------
def create_run(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    tags = _tags(a.get("tags"))
    if a.get("user_id"):
        tags.setdefault("mlflow.user", a["user_id"])
    run = ctx.client.create_run(a.get("experiment_id") or "0", a.get("start_time"), tags, a.get("run_name"))
    return {"run": conv.run(run, ctx.loc)}


def update_run(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(a)
    status, end_time, name = a.get("status"), a.get("end_time"), a.get("run_name")
    if status is not None and status != "RUNNING" and status != "SCHEDULED":
        ctx.client.set_terminated(run_id, status, end_time)
        if name:
            ctx.client.update_run(run_id, name=name)
    elif status is not None or name:
        ctx.client.update_run(run_id, status=status, name=name or None)
    return {"run_info": conv.run_info(ctx.client.get_run(run_id).info, ctx.loc)}


def delete_run(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_run(a["run_id"])
    return {}


def restore_run(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.restore_run(a["run_id"])
    return {}


def get_run(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return {"run": conv.run(ctx.client.get_run(_run_id(a)), ctx.loc)}


def search_runs(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    view = ViewType.from_string(a.get("run_view_type", "ACTIVE_ONLY"))
    found = ctx.client.search_runs(a.get("experiment_ids", []), a.get("filter", ""), view,
                                   a.get("max_results", 1000), a.get("order_by") or None,
                                   a.get("page_token") or None)
    out: dict[str, Any] = {}
    if found:
        out["runs"] = [conv.run(r, ctx.loc) for r in found]
    if found.token:
        out["next_page_token"] = found.token
    return out


def log_metric(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    if a.get("model_id"):  # MLflow 3: the point belongs to a logged model (on a dataset) too
        from nbtrack.server.tracking._logged_models import link_metrics

        link_metrics(ctx, _run_id(a), [a])
        return {}
    ctx.client.log_metric(_run_id(a), a["key"], a["value"], a["timestamp"], a.get("step", 0))
    return {}


def log_param(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.log_param(_run_id(a), a["key"], a["value"])
    return {}


def set_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.set_tag(_run_id(a), a["key"], a["value"])
    return {}


def delete_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_tag(a["run_id"], a["key"])
    return {}


def log_batch(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(a)
    items = a.get("metrics", [])
    linked = [m for m in items if m.get("model_id")]
    params = [Param(p["key"], p.get("value", "")) for p in a.get("params", [])]
    tags = [RunTag(t["key"], t.get("value", "")) for t in a.get("tags", [])]
    if params or tags or not items:
        ctx.client.log_batch(run_id, (), params, tags)
    plain = [m for m in items if not m.get("model_id")] if linked else items
    if plain:
        ctx.client.store.log_metrics_columns(validation.run_id(run_id), *_metric_columns(plain))
    if linked:  # MLflow 3: points that belong to a logged model too
        from nbtrack.server.tracking._logged_models import link_metrics

        link_metrics(ctx, _run_id(a), linked)
    return {}


def _metric_columns(items: list[dict[str, Any]]) -> tuple[list[str], list[float], list[int], list[int]]:
    """A log-batch's metrics as the store's columns, checked as ``Client.log_batch`` checks them,
    straight from the request's checked fields (types and int64 ranges are the protocol's): the
    key grammar once per distinct key, timestamps not negative. A 1,000-point batch is the hot path."""
    keys = [m["key"] for m in items]
    values = [m["value"] for m in items]
    stamps = [m["timestamp"] for m in items]
    steps = [m.get("step", 0) for m in items]
    for name in set(keys):
        validation.key(name, "metric key")
    if min(stamps) < 0:
        stamps = [validation.timestamp(k, t) for k, t in zip(keys, stamps, strict=True)]
    return keys, values, stamps, steps


def log_inputs(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    datasets = []
    for item in a.get("datasets", []):
        d = item["dataset"]
        dataset = Dataset(d["name"], d["digest"], d["source_type"], d["source"], d.get("schema"), d.get("profile"))
        datasets.append(DatasetInput(dataset, [InputTag(t["key"], t["value"]) for t in item.get("tags", [])]))
    models = [LoggedModelInput(m["model_id"]) for m in a.get("models", [])]
    ctx.client.log_inputs(a["run_id"], datasets, models or None)
    return {}


def log_model(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    """MLflow 2's record of a logged model: appended to the run's ``mlflow.log-model.history`` tag."""
    run_id = _run_id(a)
    try:
        model = json.loads(a["model_json"])
    except ValueError:
        raise InvalidParameter("model_json is not valid JSON.") from None
    if not isinstance(model, dict):
        raise InvalidParameter("model_json must be a JSON object (an MLmodel as JSON).")
    history = ctx.client.get_run(run_id).data.tags.get("mlflow.log-model.history")
    try:
        logged = json.loads(history) if history else []
    except ValueError:
        logged = []
    ctx.client.set_tag(run_id, "mlflow.log-model.history", json.dumps([*logged, model]))
    return {}


# -- metric history ---------------------------------------------------------------------------
def get_metric_history(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    offset = validation.page_token(a.get("page_token") or None)
    limit = a.get("max_results")
    if limit is not None and limit <= 0:
        raise InvalidParameter(f"Invalid value {limit} for parameter 'max_results' supplied. "
                               "It must be a positive integer.")
    rows_of = getattr(ctx.client.store, "metric_history_rows", None)
    history: list[Any]
    if rows_of is not None:  # PostgreSQL: the points as rows, no Metric objects (100,000 cost 0.3 s)
        key = validation.text(a["metric_key"], "metric key")
        history = rows_of(validation.run_id(_run_id(a)), key)
        page = history[offset:] if limit is None else history[offset:offset + limit]
        metrics = [{"key": key, "value": v, "timestamp": t, "step": s} for v, t, s in page]
    else:
        history = ctx.client.get_metric_history(_run_id(a), a["metric_key"])
        page = history[offset:] if limit is None else history[offset:offset + limit]
        metrics = [conv.metric(m) for m in page]
    out: dict[str, Any] = {"metrics": metrics}
    if limit is not None and offset + limit < len(history):
        out["next_page_token"] = validation.encode_page_token(offset + limit)
    return out


def _sample_steps(steps: list[int], limit: int) -> set[int]:
    """At most ``limit`` of ``steps`` (sorted, distinct), evenly spread, the first and last kept."""
    if len(steps) <= limit:
        return set(steps)
    if limit == 1:
        return {steps[0]}
    stride = (len(steps) - 1) / (limit - 1)
    return {steps[round(i * stride)] for i in range(limit)}


def get_metric_history_bulk_interval(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    run_ids, key = a["run_ids"], a["metric_key"]
    if len(run_ids) > MAX_RUNS_BULK_INTERVAL:
        raise InvalidParameter(f"GetMetricHistoryBulkInterval request must specify at most "
                               f"{MAX_RUNS_BULK_INTERVAL} run_ids. Received {len(run_ids)} run_ids.")
    limit = a.get("max_results", MAX_RESULTS_PER_RUN)
    if not 1 <= limit <= MAX_RESULTS_PER_RUN:
        raise InvalidParameter(f"max_results must be between 1 and {MAX_RESULTS_PER_RUN}.")
    start, end = a.get("start_step"), a.get("end_step")
    if (start is None) != (end is None):
        raise InvalidParameter("If either start step or end step are specified, both must be specified.")
    if start is not None and start > end:
        raise InvalidParameter(f"end_step must be greater than start_step. Found start_step={start} and "
                               f"end_step={end}.")
    histories = {r: [m for m in ctx.client.get_metric_history(r, key)
                     if start is None or start <= m.step <= end] for r in sorted(set(run_ids))}
    keep = _sample_steps(sorted({m.step for ms in histories.values() for m in ms}), limit)
    metrics = [conv.metric(m, run_id) for run_id, ms in histories.items()
               for m in sorted(ms, key=lambda m: (m.step, m.timestamp)) if m.step in keep]
    return {"metrics": metrics}


def get_metric_history_bulk(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    run_ids = a["run_id"]
    if len(run_ids) > MAX_RUNS_BULK_INTERVAL:
        raise InvalidParameter(f"GetMetricHistoryBulk request cannot specify more than "
                               f"{MAX_RUNS_BULK_INTERVAL} run_ids. Received {len(run_ids)} run_ids.")
    limit = min(a.get("max_results", MAX_HISTORY_BULK), MAX_HISTORY_BULK)
    metrics: list[dict[str, Any]] = []
    for run_id in sorted(set(run_ids)):
        history = sorted(ctx.client.get_metric_history(run_id, a["metric_key"]),
                         key=lambda m: (m.timestamp, m.step, m.value))
        metrics.extend(conv.metric(m, run_id) for m in history[:limit])
    return {"metrics": metrics[:max(limit, 0)]}


# -- artifacts --------------------------------------------------------------------------------
def list_artifacts(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    run_id = _run_id(a)
    path = confined(a.get("path"))
    run = ctx.client.get_run(run_id)
    files = ctx.client.list_artifacts(run_id, path or None)
    out: dict[str, Any] = {"root_uri": ctx.loc.present(run.info.artifact_uri)}
    if files:
        out["files"] = [conv.file_info(f) for f in files]
    return out


_TAG = (Field("key", required=True), Field("value"))
_RUN = (Field("run_id"), Field("run_uuid"))
_METRIC = (Field("key", required=True), Field("value", "double", required=True),
           Field("timestamp", "int64", required=True), Field("step", "int64"), Field("model_id"),
           Field("dataset_name"), Field("dataset_digest"))
_DATASET = (Field("name", required=True), Field("digest", required=True), Field("source_type", required=True),
            Field("source", required=True), Field("schema"), Field("profile"))
_SEARCH_EXP = (Field("max_results", "int64"), Field("page_token"), Field("filter"),
               Field("order_by", repeated=True), Field("view_type", "enum", enum=VIEW_TYPES))


def _ep(path: str, methods: tuple[str, ...], handler: Any, fields: tuple[Field, ...], writes: bool,
        summary: str) -> Endpoint:
    return Endpoint(path, methods, handler, fields, writes, summary)


ENDPOINTS = [
    _ep("experiments/create", ("POST",), create_experiment,
        (Field("name", required=True), Field("artifact_location"),
         Field("tags", "object", repeated=True, fields=_TAG)), True, "Create an experiment"),
    _ep("experiments/search", ("POST", "GET"), search_experiments, _SEARCH_EXP, False, "Search experiments"),
    _ep("experiments/get", ("GET",), get_experiment, (Field("experiment_id", required=True),), False,
        "Get an experiment"),
    _ep("experiments/get-by-name", ("GET",), get_experiment_by_name,
        (Field("experiment_name", required=True),), False, "Get an experiment by name"),
    _ep("experiments/delete", ("POST",), delete_experiment, (Field("experiment_id", required=True),), True,
        "Delete an experiment"),
    _ep("experiments/restore", ("POST",), restore_experiment, (Field("experiment_id", required=True),), True,
        "Restore an experiment"),
    _ep("experiments/update", ("POST",), update_experiment,
        (Field("experiment_id", required=True), Field("new_name")), True, "Rename an experiment"),
    _ep("experiments/set-experiment-tag", ("POST",), set_experiment_tag,
        (Field("experiment_id", required=True), Field("key", required=True), Field("value", required=True)),
        True, "Set an experiment tag"),
    _ep("experiments/delete-experiment-tag", ("POST",), delete_experiment_tag,
        (Field("experiment_id", required=True), Field("key", required=True)), True, "Delete an experiment tag"),
    _ep("runs/create", ("POST",), create_run,
        (Field("experiment_id"), Field("user_id"), Field("run_name"), Field("start_time", "int64"),
         Field("tags", "object", repeated=True, fields=_TAG)), True, "Create a run"),
    _ep("runs/update", ("POST",), update_run,
        (*_RUN, Field("status", "enum", enum=RUN_STATUSES), Field("end_time", "int64"), Field("run_name")),
        True, "Update a run's status, end time or name"),
    _ep("runs/delete", ("POST",), delete_run, (Field("run_id", required=True),), True, "Delete a run"),
    _ep("runs/restore", ("POST",), restore_run, (Field("run_id", required=True),), True, "Restore a run"),
    _ep("runs/get", ("GET",), get_run, _RUN, False, "Get a run"),
    _ep("runs/search", ("POST",), search_runs,
        (Field("experiment_ids", repeated=True), Field("filter"),
         Field("run_view_type", "enum", enum=VIEW_TYPES), Field("max_results", "int32"),
         Field("order_by", repeated=True), Field("page_token")), False, "Search runs"),
    _ep("runs/log-metric", ("POST",), log_metric,
        (*_RUN, *_METRIC), True, "Log a metric"),
    _ep("runs/log-parameter", ("POST",), log_param,
        (*_RUN, Field("key", required=True), Field("value", required=True)), True, "Log a param"),
    _ep("runs/set-tag", ("POST",), set_tag, (*_RUN, Field("key", required=True), Field("value", required=True)),
        True, "Set a run tag"),
    _ep("runs/delete-tag", ("POST",), delete_tag,
        (Field("run_id", required=True), Field("key", required=True)), True, "Delete a run tag"),
    _ep("runs/log-batch", ("POST",), log_batch,
        (Field("run_id"), Field("metrics", "object", repeated=True, fields=_METRIC),
         Field("params", "object", repeated=True, fields=(Field("key", required=True), Field("value"))),
         Field("tags", "object", repeated=True, fields=_TAG)), True, "Log metrics, params and tags"),
    _ep("runs/log-inputs", ("POST",), log_inputs,
        (Field("run_id", required=True),
         Field("datasets", "object", repeated=True,
               fields=(Field("tags", "object", repeated=True, fields=(Field("key", required=True),
                                                                     Field("value", required=True))),
                       Field("dataset", "object", required=True, fields=_DATASET))),
         Field("models", "object", repeated=True, fields=(Field("model_id", required=True),))), True,
        "Log dataset (and logged model) inputs"),
    _ep("runs/log-model", ("POST",), log_model, (Field("run_id"), Field("model_json", required=True)), True,
        "Record a logged model (MLflow 2)"),
    _ep("metrics/get-history", ("GET",), get_metric_history,
        (*_RUN, Field("metric_key", required=True), Field("page_token"), Field("max_results", "int32")), False,
        "Get a metric's history"),
    _ep("metrics/get-history-bulk-interval", ("GET",), get_metric_history_bulk_interval,
        (Field("run_ids", required=True, repeated=True), Field("metric_key", required=True),
         Field("start_step", "int32"), Field("end_step", "int32"), Field("max_results", "int32")), False,
        "Get sampled metric histories of several runs"),
    _ep("metrics/get-history-bulk", ("GET",), get_metric_history_bulk,
        (Field("run_id", required=True, repeated=True), Field("metric_key", required=True),
         Field("max_results", "int32")), False, "Get metric histories of several runs"),
    _ep("artifacts/list", ("GET",), list_artifacts, (*_RUN, Field("path"), Field("page_token")), False,
        "List a run's artifacts"),
]
