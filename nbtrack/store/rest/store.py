"""The ``rest`` backend: the :class:`~nbtrack.store.base.Store` protocol over MLflow's REST API.

``set_tracking_uri("http://host:5000")`` (or ``https://``) opens a :class:`RestStore`. It talks to
any server of MLflow's API: ``nbtrack server`` or the real ``mlflow server``. Run data goes
through :class:`~.rest_writer.Writer` (buffered, batched, spooled while the server is away);
everything else is one request. Like the embedded store, a read first sends this process's
own queued writes, so a process always reads what it wrote.
"""

from __future__ import annotations

import atexit
import json
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from nbtrack import config
from nbtrack.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    ViewType,
)
from nbtrack.errors import NbtrackError, NotFound, RunNotActive
from nbtrack.store.base import new_params
from nbtrack.store.rest import entities as conv
from nbtrack.store.rest.http import RestClient, encode_float
from nbtrack.store.rest.writer import Writer
from nbtrack.store.wire import frame_from_wire

__all__ = ["RestStore"]

VIEWS_API = "/api/2.0/nbtrack"  # nbtrack server's view endpoints (nbtrack.server.tracking._views)

_VIEW = {ViewType.ACTIVE_ONLY: "ACTIVE_ONLY", ViewType.DELETED_ONLY: "DELETED_ONLY", ViewType.ALL: "ALL"}
_RUNS_PAGE = 50_000        # MLflow's SEARCH_MAX_RESULTS_THRESHOLD for runs
_EXPERIMENTS_PAGE = 50_000
_PARALLEL = 8              # history requests in flight at once (the pool keeps 8 connections alive)


@dataclass
class _RunState:
    """What this process knows about a run it writes to (a mirror for :meth:`RestStore.local_run`)."""

    info: RunInfo
    created_here: bool
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # key -> (step, ts, value)


class RestStore:
    """A store behind a tracking server at ``url`` (``http://`` or ``https://``)."""

    def __init__(self, url: str) -> None:
        self.root = url.rstrip("/")
        self.artifact_root = f"{self.root}/api/2.0/mlflow-artifacts/artifacts"
        self.http = RestClient(self.root)
        self.writer = Writer(self.http)
        self._runs: dict[str, _RunState] = {}
        self._searched: dict[str, Run] = {}
        self._tokens: dict[tuple[str, int], str] = {}  # (query, position) -> the server's page token
        self._lock = threading.RLock()
        self._registry: Any = None
        self._logged_models: Any = None
        self._run_json: tuple[str, dict[str, Any]] | None = None
        self._closed = False
        atexit.register(self.close)

    def __repr__(self) -> str:
        return f"RestStore({self.root!r})"

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from nbtrack.store.rest.registry import RestRegistryStore

            self._registry = RestRegistryStore(self)
        return self._registry

    @property
    def workspaces(self) -> Any:
        """MLflow 3 workspaces on the server (``/api/3.0/mlflow/workspaces``)."""
        from nbtrack.store.rest.workspaces import RestWorkspaceStore

        return RestWorkspaceStore(self.http)

    @property
    def logged_models(self) -> Any:
        """MLflow 3 logged models on the server (``/api/2.0/mlflow/logged-models``)."""
        if self._logged_models is None:
            from nbtrack.store.rest.logged_models import RestLoggedModelStore

            self._logged_models = RestLoggedModelStore(self)
        return self._logged_models

    def log_model_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int,
                         link: dict[str, str | None], run_point: bool = True) -> None:
        """A run metric point that also belongs to a logged model: a ``log-batch`` metric with
        ``model_id``, queued in order with the run's data. The server keeps one copy of a point the
        run already has (``run_point=False``), so nothing is sent twice into the run's history."""
        state = self._writable(run_id)
        if run_point:
            with self._lock:
                _mirror(state, key, value, timestamp, step)
        metric: dict[str, Any] = {"key": key, "value": encode_float(value), "timestamp": int(timestamp),
                                  "step": int(step)}
        metric.update({k: v for k, v in link.items() if v is not None})
        self.writer.add_request("runs/log-batch", {"run_id": run_id, "metrics": [metric]})

    def artifact_repository(self, artifact_uri: str) -> Any:
        """The repository for a run's (or model version's) ``artifact_uri`` on this server."""
        from nbtrack.store.rest.artifacts import repository_for

        return repository_for(artifact_uri, self.http)

    def _call(self, method: str, endpoint: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return self.http.call(method, endpoint, body)

    def _read(self, method: str, endpoint: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        """A read: this process's queued writes reach the server first (one attempt, no waiting)."""
        self.sync()
        return self.http.call(method, endpoint, body)

    # == experiments ===============================================================================
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: Sequence[tuple[str, str]] = ()) -> str:
        body: dict[str, Any] = {"name": name, "tags": [{"key": k, "value": v} for k, v in tags]}
        if artifact_location:
            body["artifact_location"] = artifact_location
        return str(self._call("POST", "experiments/create", body)["experiment_id"])

    def get_experiment(self, experiment_id: str) -> Experiment:
        return conv.experiment_of(self._call("GET", "experiments/get", {"experiment_id": experiment_id})["experiment"])

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        try:
            found = self._call("GET", "experiments/get-by-name", {"experiment_name": name})
        except NotFound:
            return None
        return conv.experiment_of(found["experiment"])

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           offset: int = 0) -> list[Experiment]:
        body = {"view_type": _VIEW[view_type], "filter": filter_string or None, "order_by": order_by or []}
        found = self._pages("experiments/search", body, "experiments", offset, max_results, _EXPERIMENTS_PAGE)
        return [conv.experiment_of(e) for e in found]

    def _pages(self, endpoint: str, body: dict[str, Any], key: str, offset: int, limit: int | None,
               page: int, method: str = "POST") -> list[dict[str, Any]]:
        """``limit`` items after the first ``offset``, following the server's page tokens.

        The token at every position reached is remembered, so paging on with the next offset
        (``Client.search_runs(page_token=...)``) resumes there instead of starting over; a page
        boundary is placed one before the end because the Client asks for one item more than
        it shows (to know whether there is a next page).
        """
        query = json.dumps([endpoint, body], sort_keys=True, default=str)
        start = offset if (query, offset) in self._tokens else 0
        token = self._tokens.get((query, offset)) if start else None
        items: list[dict[str, Any]] = []
        reached = start
        while limit is None or reached < offset + limit:
            end = offset + limit if limit is not None else None
            target = end - 1 if end is not None and reached < end - 1 else end
            want = page if target is None else min(page, target - reached)
            answer = self._read(method, endpoint, {**body, "max_results": want, "page_token": token})
            found = answer.get(key) or []
            items.extend(found)
            reached += len(found)
            token = answer.get("next_page_token")
            if not token or not found:
                break
            self._tokens[(query, reached)] = token
            while len(self._tokens) > 256:  # a bounded memory of recent positions
                self._tokens.pop(next(iter(self._tokens)))
        skip = offset - start
        return items[skip:] if limit is None else items[skip:skip + limit]

    def delete_experiment(self, experiment_id: str) -> None:
        self._call("POST", "experiments/delete", {"experiment_id": experiment_id})

    def restore_experiment(self, experiment_id: str) -> None:
        self._call("POST", "experiments/restore", {"experiment_id": experiment_id})

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._call("POST", "experiments/update", {"experiment_id": experiment_id, "new_name": new_name})

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._call("POST", "experiments/set-experiment-tag", {"experiment_id": experiment_id, "key": key,
                                                               "value": value})

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._call("POST", "experiments/delete-experiment-tag", {"experiment_id": experiment_id, "key": key})

    # == runs ======================================================================================
    def create_run(self, experiment_id: str, user_id: str, start_time: int | None,
                   tags: Sequence[tuple[str, str]], run_name: str) -> Run:
        body: dict[str, Any] = {"experiment_id": experiment_id, "user_id": user_id, "run_name": run_name,
                                "tags": [{"key": k, "value": v} for k, v in tags]}
        if start_time is not None:
            body["start_time"] = start_time
        else:
            body["start_time"] = _now()
        run = conv.run_of(self._call("POST", "runs/create", body)["run"])
        with self._lock:
            self._runs[run.info.run_id] = _RunState(run.info, True, {}, dict(run.data.tags))
        return run

    def get_run(self, run_id: str) -> Run:
        raw = self._read("GET", "runs/get", {"run_id": run_id})["run"]
        with self._lock:  # the Client reads the run's model outputs and inputs from it next
            self._run_json = (run_id, raw)
        return conv.run_of(raw)

    def take_run_json(self, run_id: str) -> dict[str, Any] | None:
        """The JSON of ``run_id`` if it is the run :meth:`get_run` fetched last (once)."""
        with self._lock:
            last, self._run_json = self._run_json, None
        return last[1] if last is not None and last[0] == run_id else None

    def local_run(self, run_id: str) -> Run | None:
        """The run as this process wrote it, without a request; None unless it was created here."""
        with self._lock:
            state = self._runs.get(run_id)
            if state is None or not state.created_here:
                return None
            metrics = {k: v for k, (_, _, v) in state.metrics.items()}
            return Run(state.info, RunData(metrics, dict(state.params), dict(state.tags)))

    def _writable(self, run_id: str) -> _RunState:
        with self._lock:
            state = self._runs.get(run_id)
        if state is None:
            run = self.get_run(run_id)
            state = _RunState(run.info, False, dict(run.data.params))
            with self._lock:
                state = self._runs.setdefault(run_id, state)
        if state.info.lifecycle_stage != LifecycleStage.ACTIVE:
            raise RunNotActive(f"The run {run_id} must be in the 'active' state. Current state is "
                               f"{state.info.lifecycle_stage}. Restore it with nbtrack.restore_run('{run_id}') first.")
        return state

    def update_run_info(self, run_id: str, status: str | None = None, end_time: int | None = None,
                        run_name: str | None = None, resume: bool = False) -> None:
        state = self._writable(run_id)
        body: dict[str, Any] = {"run_id": run_id, "run_uuid": run_id}
        changes: dict[str, Any] = {}
        if status is not None:
            body["status"] = changes["status"] = RunStatus.from_string(status)
        if end_time is not None:
            body["end_time"] = changes["end_time"] = int(end_time)
        if run_name is not None:
            body["run_name"] = changes["run_name"] = run_name
        with self._lock:
            state.info = _replace(state.info, **changes)
            if run_name is not None:
                state.tags["mlflow.runName"] = run_name
        self.writer.add_request("runs/update", body)

    def delete_run(self, run_id: str) -> None:
        self.sync()
        self._call("POST", "runs/delete", {"run_id": run_id})
        with self._lock:
            self._runs.pop(run_id, None)

    def restore_run(self, run_id: str) -> None:
        self._call("POST", "runs/restore", {"run_id": run_id})
        with self._lock:
            self._runs.pop(run_id, None)

    # == logging ===================================================================================
    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[tuple[str, str]] = (),
                  tags: Sequence[tuple[str, str]] = ()) -> None:
        state = self._writable(run_id)
        fresh = new_params(run_id, state.params, [(str(k), str(v)) for k, v in params])
        points = [(m.key, float(m.value), int(m.timestamp), int(m.step)) for m in metrics]
        tag_items = [(str(k), str(v)) for k, v in tags]
        with self._lock:
            state.params.update(fresh)
            state.tags.update(tag_items)
            for point in points:
                _mirror(state, *point)
        if points or fresh or tag_items:
            self.writer.add(run_id, points, fresh, tag_items)

    def log_metrics_columns(self, run_id: str, keys: Sequence[str], values: Sequence[float],
                            timestamps: Sequence[int], steps: Sequence[int]) -> None:
        """Many points at once, as columns (``Client.log_batch``'s fast path)."""
        state = self._writable(run_id)
        points = list(zip(keys, values, timestamps, steps, strict=True))
        with self._lock:
            for point in points:
                _mirror(state, *point)
        self.writer.add(run_id, points)

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        state = self._writable(run_id)
        with self._lock:
            _mirror(state, key, value, timestamp, step)
        self.writer.add(run_id, [(key, float(value), int(timestamp), int(step))])

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.log_batch(run_id, tags=[(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        state = self._writable(run_id)
        self.sync()
        self._call("POST", "runs/delete-tag", {"run_id": run_id, "key": key})
        with self._lock:
            state.tags.pop(key, None)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self._writable(run_id)
        if datasets:
            self.writer.add_request("runs/log-inputs", {"run_id": run_id,
                                                        "datasets": [conv.dataset_input_json(d) for d in datasets]})

    # == search ====================================================================================
    def search_runs(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                    run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                    order_by: list[str] | None = None, offset: int = 0) -> list[Run]:
        body = {"experiment_ids": [str(e) for e in experiment_ids], "filter": filter_string or None,
                "run_view_type": _VIEW[run_view_type], "order_by": order_by or []}
        if not body["experiment_ids"]:
            return []
        return [conv.run_of(r) for r in self._pages("runs/search", body, "runs", offset, max_results, _RUNS_PAGE)]

    def search_run_ids(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                       run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                       order_by: list[str] | None = None, offset: int = 0) -> list[str]:
        runs = self.search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by, offset)
        with self._lock:  # runs_by_ids usually asks for these next: no second round trip
            self._searched = {r.info.run_id: r for r in runs}
        return [r.info.run_id for r in runs]

    def runs_by_ids(self, run_ids: Sequence[str]) -> list[Run]:
        with self._lock:
            searched, self._searched = self._searched, {}
        out = []
        for run_id in run_ids:
            run = searched.get(run_id)
            if run is None:
                try:
                    run = self.get_run(run_id)
                except NotFound:
                    continue  # as the embedded store: ids that do not exist are left out
            out.append(run)
        return out

    def runs_frame(self, run_ids: Sequence[str]) -> Any:
        return conv.runs_frame(self.runs_by_ids(run_ids))

    def search_frame(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                     run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 100000,
                     order_by: list[str] | None = None) -> Any:
        """``search_runs``'s DataFrame, built from the searched runs."""
        return conv.runs_frame(self.search_runs(experiment_ids, filter_string, run_view_type, max_results,
                                                order_by))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        points: list[Metric] = []
        token = None
        while True:
            answer = self._read("GET", "metrics/get-history", {"run_id": run_id, "run_uuid": run_id,
                                                               "metric_key": key, "page_token": token})
            points.extend(conv.metric_of(m, run_id) for m in answer.get("metrics") or [])
            token = answer.get("next_page_token")
            if not token:
                break
        return sorted(points, key=lambda m: (m.step, m.timestamp))

    def metric_history_frame(self, run_ids: Sequence[str], keys: Sequence[str] | None) -> Any:
        """Every point of ``keys`` (all keys when None) of ``run_ids``, in that order: one history
        request per (run, key), several at a time over the pooled connections."""
        from concurrent.futures import ThreadPoolExecutor

        self.sync()

        def keys_of(run_id: str) -> list[str]:
            if keys is not None:
                return sorted(keys)
            try:
                return sorted(self.get_run(run_id).data.metrics)
            except NotFound:
                return []  # a run that does not exist has no points

        def history(pair: tuple[str, str]) -> list[Metric]:
            try:
                return self.get_metric_history(*pair)
            except NotFound:
                return []

        with ThreadPoolExecutor(max_workers=_PARALLEL) as pool:
            pairs = [(run_id, key) for run_id, wanted in zip(run_ids, pool.map(keys_of, run_ids), strict=True)
                     for key in wanted]
            points = [m for found in pool.map(history, pairs) for m in found]
        return conv.metrics_frame(points)

    # == view operations (nbtrack.store.base.ViewStore): nbtrack server's /api/2.0/nbtrack/views ====
    def _view(self, name: str, body: dict[str, Any], key: str = "frame") -> Any:
        try:
            answer = self.http.call("POST", f"{VIEWS_API}/{name}", {k: v for k, v in body.items() if v is not None})
        except NbtrackError as e:
            if e.error_code != "ENDPOINT_NOT_FOUND":
                raise
            raise NbtrackError(
                f"The server at {self.root} has no nbtrack view endpoints (it is not an nbtrack server, or an "
                "older one), so the notebook views cannot read from it. search_runs(), get_metric_history() "
                "and the rest of MLflow's API work; for the views, run `nbtrack server` over the same store.",
                "NOT_IMPLEMENTED") from None
        return frame_from_wire(answer[key]) if key == "frame" else answer[key]

    def runs_page(self, experiment_ids: Sequence[str], filter_string: str | None = None, sort: str | None = None,
                  descending: bool = True, offset: int = 0, limit: int = 50, group_by_tag: str | None = None,
                  catalogue: bool = False) -> Any:
        self.sync()
        return self._view("views/runs-page", {
            "experiment_ids": list(experiment_ids), "filter": filter_string, "sort": sort, "descending": descending,
            "offset": offset, "limit": limit, "group_by_tag": group_by_tag, "catalogue": catalogue})

    def runs_fingerprint(self, experiment_ids: Sequence[str]) -> tuple[int | None, ...]:
        self.sync()
        return tuple(self._view("views/runs-fingerprint", {"experiment_ids": list(experiment_ids)}, "fingerprint"))

    def key_stats(self, experiment_ids: Sequence[str] = (), filter_string: str | None = None,
                  run_ids: Sequence[str] | None = None) -> Any:
        self.sync()
        return self._view("views/key-stats", {"experiment_ids": list(experiment_ids), "filter": filter_string,
                                              "run_ids": None if run_ids is None else list(run_ids)})

    def runs_wide(self, experiment_ids: Sequence[str], filter_string: str | None, params: Sequence[str],
                  metrics: Sequence[str], limit: int, run_ids: Sequence[str] | None = None,
                  order_metric: str | None = None) -> Any:
        self.sync()
        return self._view("views/runs-wide", {
            "experiment_ids": list(experiment_ids), "filter": filter_string, "params": list(params),
            "metrics": list(metrics), "limit": limit, "run_ids": None if run_ids is None else list(run_ids),
            "order_metric": order_metric})

    def metric_buckets(self, run_ids: Sequence[str], keys: Sequence[str], x_axis: str = "step",
                       buckets: int = 500, x_range: tuple[float, float] | None = None,
                       with_runs: bool = False) -> Any:
        self.sync()
        return self._view("views/metric-buckets", {
            "run_ids": list(run_ids), "keys": list(keys), "x_axis": x_axis, "buckets": buckets,
            "x_range": None if x_range is None else [encode_float(x_range[0]), encode_float(x_range[1])],
            "with_runs": with_runs})

    def metric_points_after(self, cursors: Sequence[tuple[str, str, int, int]], x_axis: str = "step",
                            limit: int = 50_000) -> Any:
        self.sync()
        return self._view("views/metric-points-after", {
            "cursors": [{"run_id": r, "key": k, "step": int(s), "timestamp": int(t)} for r, k, s, t in cursors],
            "x_axis": x_axis, "limit": limit})

    def run_summaries(self, run_ids: Sequence[str]) -> Any:
        self.sync()
        return self._view("views/run-summaries", {"run_ids": list(run_ids)})

    def top_metric_keys(self, run_ids: Sequence[str], limit: int = 4) -> list[str]:
        self.sync()
        return list(self._view("views/top-metric-keys", {"run_ids": list(run_ids), "limit": limit}, "keys"))

    def runs_with_tag(self, key: str, value: str) -> list[str]:
        self.sync()
        try:
            return list(self._view("views/runs-with-tag", {"key": key, "value": value}, "run_ids"))
        except NbtrackError as e:  # an MLflow server: through search, over every experiment
            if e.error_code != "NOT_IMPLEMENTED":
                raise
            return sorted(r.info.run_id for r in self._search_everywhere(f"tags.`{key}` = {_quoted(value)}"))

    def find_runs(self, token: str, limit: int = 20) -> Any:
        self.sync()
        try:
            return self._view("views/find-runs", {"token": token, "limit": limit})
        except NbtrackError as e:  # an MLflow server: names through search (id prefixes need the view)
            if e.error_code != "NOT_IMPLEMENTED":
                raise
            import pandas as pd

            found = self._search_everywhere(f"attributes.run_name = {_quoted(token)}", limit)
            return pd.DataFrame({"run_id": [r.info.run_id for r in found],
                                 "run_name": [r.info.run_name for r in found]}, columns=["run_id", "run_name"])

    def _search_everywhere(self, filter_string: str, limit: int = 1000) -> list[Run]:
        ids = [e.experiment_id for e in self.search_experiments(ViewType.ALL)]
        return self.search_runs(ids, filter_string, ViewType.ACTIVE_ONLY, limit, ["start_time DESC"]) if ids else []

    def thin_history(self, run_id: str, keys: Sequence[str], points: int) -> Any:
        """About ``points`` points per key (first and last kept), thinned on the server by MLflow's
        ``get-history-bulk-interval`` (so this works against an MLflow server too); a DataFrame
        (key, step, value) ordered by key and step."""
        import pandas as pd

        rows: list[tuple[str, int, float]] = []
        for key in keys:
            try:
                answer = self._read("GET", "metrics/get-history-bulk-interval",
                                    {"run_ids": [run_id], "metric_key": key, "max_results": points})
                found = [conv.metric_of(m) for m in answer.get("metrics") or []]
            except NbtrackError as e:
                if e.error_code != "ENDPOINT_NOT_FOUND":
                    raise
                found = self.get_metric_history(run_id, key)  # an older server: thin here
                step = max(1, len(found) // max(1, points - 1))
                found = [*found[:-1:step], *found[-1:]] if len(found) > points else found
            rows.extend((key, m.step, m.value) for m in sorted(found, key=lambda m: (m.step, m.timestamp)))
        return pd.DataFrame(rows, columns=["key", "step", "value"])

    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any:
        raise NbtrackError(
            f"nbtrack.sql() reads the embedded DuckDB store; the tracking URI {self.root} is a server. The "
            "notebook views (runs_table, metric_chart, parallel_coordinates, compare, dashboard) read through "
            "it too. Use search_runs() and metric_history(), which work against servers, or run these where "
            "the server's store folder is local (set_tracking_uri('/path/to/store')).", "NOT_IMPLEMENTED")

    # == durability ================================================================================
    def flush(self) -> None:
        """Return once the server has acknowledged everything logged so far."""
        self.writer.flush()

    def make_durable(self) -> None:
        """One send: afterwards everything logged is acknowledged or, while the server is away,
        in the fsynced spool (the end of a ``%%track`` cell waits for no more than that)."""
        self.writer.send(retries=2)
        self.writer.raise_rejected()

    def sync(self) -> None:
        """Send what is queued (one attempt); raise if the server is away or refused a request."""
        if self.writer.pending() and not self.writer.send():
            self.writer.raise_rejected()
            raise self.writer.failure or self.http.unreachable(RuntimeError("queued run data could not be sent"))
        self.writer.raise_rejected()

    def close(self, timeout: float | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        limit = config.env_float("NBTRACK_EXIT_FLUSH_TIMEOUT", 10.0) if timeout is None else timeout
        try:
            self.writer.close(limit)
        except NbtrackError as e:
            import logging

            logging.getLogger("nbtrack.store.rest").warning("nbtrack: closing %s: %s", self.root, e)
        self.http.close()


def _mirror(state: _RunState, key: str, value: float, ts: int, step: int) -> None:
    old = state.metrics.get(key)
    if old is None or (step, ts, value) > old:  # MLflow's latest: greatest (step, timestamp, value)
        state.metrics[key] = (step, ts, value)


def _replace(info: RunInfo, **changes: Any) -> RunInfo:
    from dataclasses import replace

    return replace(info, **changes) if changes else info


def _now() -> int:
    import time

    return time.time_ns() // 1_000_000


def _quoted(value: str) -> str:
    """A string literal of MLflow's filter grammar."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
