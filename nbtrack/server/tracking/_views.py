"""nbtrack's own read endpoints (``/api/2.0/nbtrack/views/...``): the store's view operations.

MLflow's REST API has no runs page, no downsampled history and no "points after this cursor";
the notebook views, the side panel and the web UI need them to stay fast over HTTP. Each endpoint
is one :class:`nbtrack.store.base.ViewStore` call on the server's store; frames travel as
:mod:`nbtrack.store.wire` JSON (column-major, non-finite doubles spelled out).
"""

from __future__ import annotations

from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.server.tracking import _registry_views
from nbtrack.server.tracking._protocol import Endpoint, Field
from nbtrack.store.wire import frame_to_wire

__all__ = ["ENDPOINTS", "PREFIXES"]

PREFIXES = ("/api/2.0/nbtrack/", "/ajax-api/2.0/nbtrack/")
MAX_RUNS = 1000  # run ids per request
MAX_KEYS = 100
MAX_PAGE = 1000
MAX_BUCKETS = 5000
MAX_POINTS = 100_000


def _limited(values: list[Any] | None, limit: int, name: str) -> list[Any]:
    values = list(values or [])
    if len(values) > limit:
        raise InvalidParameter(f"'{name}' has {len(values)} entries; at most {limit} per request.")
    return values


def _bounded(value: int, low: int, high: int, name: str) -> int:
    if not low <= value <= high:
        raise InvalidParameter(f"'{name}' must be between {low} and {high}, not {value}.")
    return value


def _store(ctx: Any) -> Any:
    return ctx.client.store


def runs_page(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    frame = _store(ctx).runs_page(
        _limited(a.get("experiment_ids"), MAX_RUNS, "experiment_ids"), a.get("filter") or None, a.get("sort") or None,
        a.get("descending", True), _bounded(a.get("offset", 0), 0, 2**62, "offset"),
        _bounded(a.get("limit", 50), 1, MAX_PAGE, "limit"), a.get("group_by_tag") or None, a.get("catalogue", False))
    return {"frame": frame_to_wire(frame)}


def runs_fingerprint(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    return {"fingerprint": list(_store(ctx).runs_fingerprint(_limited(a.get("experiment_ids"), MAX_RUNS,
                                                                       "experiment_ids")))}


def key_stats(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    run_ids = a.get("run_ids")
    frame = _store(ctx).key_stats(_limited(a.get("experiment_ids"), MAX_RUNS, "experiment_ids"),
                                  a.get("filter") or None,
                                  None if run_ids is None else _limited(run_ids, MAX_RUNS, "run_ids"))
    return {"frame": frame_to_wire(frame)}


def runs_wide(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    run_ids = a.get("run_ids")
    frame = _store(ctx).runs_wide(
        _limited(a.get("experiment_ids"), MAX_RUNS, "experiment_ids"), a.get("filter") or None,
        _limited(a.get("params"), MAX_KEYS, "params"), _limited(a.get("metrics"), MAX_KEYS, "metrics"),
        _bounded(a.get("limit", 1000), 1, 100_000, "limit"),
        None if run_ids is None else _limited(run_ids, MAX_RUNS, "run_ids"), a.get("order_metric") or None)
    return {"frame": frame_to_wire(frame)}


def metric_buckets(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    x_range = a.get("x_range")
    if x_range is not None and len(x_range) != 2:
        raise InvalidParameter("'x_range' must be two numbers, [low, high].")
    frame = _store(ctx).metric_buckets(
        _limited(a.get("run_ids"), MAX_RUNS, "run_ids"), _limited(a.get("keys"), MAX_KEYS, "keys"),
        a.get("x_axis", "step"), _bounded(a.get("buckets", 500), 1, MAX_BUCKETS, "buckets"),
        None if x_range is None else (float(x_range[0]), float(x_range[1])), a.get("with_runs", False))
    return {"frame": frame_to_wire(frame)}


def metric_points_after(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    cursors = [(c.get("run_id", ""), c.get("key", ""), c.get("step", 0), c.get("timestamp", 0))
               for c in _limited(a.get("cursors"), MAX_RUNS * 10, "cursors")]
    frame = _store(ctx).metric_points_after(cursors, a.get("x_axis", "step"),
                                            _bounded(a.get("limit", 50_000), 1, MAX_POINTS, "limit"))
    return {"frame": frame_to_wire(frame)}


def run_summaries(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    return {"frame": frame_to_wire(_store(ctx).run_summaries(_limited(a.get("run_ids"), MAX_RUNS, "run_ids")))}


def top_metric_keys(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    return {"keys": _store(ctx).top_metric_keys(_limited(a.get("run_ids"), MAX_RUNS, "run_ids"),
                                                _bounded(a.get("limit", 4), 1, MAX_KEYS, "limit"))}


def runs_with_tag(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    return {"run_ids": _store(ctx).runs_with_tag(a["key"], a["value"])}


def find_runs(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    return {"frame": frame_to_wire(_store(ctx).find_runs(a["token"], _bounded(a.get("limit", 20), 1, MAX_PAGE,
                                                                              "limit")))}


def thin_history(ctx: Any, a: dict[str, Any]) -> dict[str, Any]:
    frame = _store(ctx).thin_history(a["run_id"], _limited(a.get("keys"), MAX_KEYS, "keys"),
                                     _bounded(a.get("points", 60), 2, 10_000, "points"))
    return {"frame": frame_to_wire(frame)}


_IDS = Field("experiment_ids", repeated=True)
_RUNS = Field("run_ids", repeated=True)
_CURSOR = (Field("run_id", required=True), Field("key", required=True), Field("step", "int64"),
           Field("timestamp", "int64"))


def _ep(path: str, handler: Any, fields: tuple[Field, ...], summary: str) -> Endpoint:
    return Endpoint("views/" + path, ("POST",), handler, fields, False, summary)


ENDPOINTS = [
    _ep("runs-page", runs_page, (_IDS, Field("filter"), Field("sort"), Field("descending", "bool"),
                                 Field("offset", "int64"), Field("limit", "int64"), Field("group_by_tag"),
                                 Field("catalogue", "bool")),
        "One page of a run table (rows packed with their values), optionally with the key catalogue"),
    _ep("runs-fingerprint", runs_fingerprint, (_IDS,), "A summary that changes when a view would"),
    _ep("key-stats", key_stats, (_IDS, Field("filter"), _RUNS), "Param and metric keys of the matching runs"),
    _ep("runs-wide", runs_wide, (_IDS, Field("filter"), Field("params", repeated=True),
                                 Field("metrics", repeated=True), Field("limit", "int64"), _RUNS,
                                 Field("order_metric")), "One row per run with the chosen params and metrics"),
    _ep("metric-buckets", metric_buckets, (_RUNS, Field("keys", repeated=True), Field("x_axis"),
                                           Field("buckets", "int64"), Field("x_range", "double", repeated=True),
                                           Field("with_runs", "bool")),
        "Metric histories downsampled on the server (M4 buckets)"),
    _ep("metric-points-after", metric_points_after, (Field("cursors", "object", repeated=True, fields=_CURSOR),
                                                     Field("x_axis"), Field("limit", "int64")),
        "Points logged after each (run, key) cursor, and the runs' statuses"),
    _ep("run-summaries", run_summaries, (_RUNS,), "Name, status and start of runs"),
    _ep("top-metric-keys", top_metric_keys, (_RUNS, Field("limit", "int64")), "The most common metric keys"),
    _ep("runs-with-tag", runs_with_tag, (Field("key", required=True), Field("value", required=True)),
        "Ids of runs with a tag value"),
    _ep("find-runs", find_runs, (Field("token", required=True), Field("limit", "int64")),
        "Active runs by id prefix or name"),
    _ep("thin-history", thin_history, (Field("run_id", required=True), Field("keys", repeated=True),
                                       Field("points", "int64")), "A few points of each key's history"),
]
ENDPOINTS += _registry_views.ENDPOINTS  # the registry's history, snapshots and signatures
