"""The store seam: what every backend provides, typed.

:class:`Store` is what :class:`nbtrack.Client` holds (``open_store`` returns one per location):
MLflow's tracking operations, the durability calls, and the *view operations* that the notebook
views, the web UI and the side panel read through (a runs page, downsampled metric buckets,
points after a cursor, ...), so no layer above the store writes SQL against its tables.
:class:`RegistryStore` is the model registry of the same location (``Store.registry``).
Backends: ``nbtrack.store.duckdb`` (embedded) and ``nbtrack.store.rest`` (a tracking server);
the contract suite in ``tests/contract/`` runs against each. ``log_batch`` is the write primitive.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from nbtrack.entities import (
    DatasetInput,
    Experiment,
    Metric,
    ModelVersion,
    RegisteredModel,
    RegistryEvent,
    Run,
)
from nbtrack.errors import InvalidParameter, ParamConflict

__all__ = ["RegistryStore", "Store", "ViewOperations", "ViewStore", "new_params"]


def new_params(run_id: str, known: dict[str, str], params: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The params of ``params`` not logged yet; every backend applies this one rule.

    The same key twice with different values in one request is refused (as MLflow), and a value
    different from one already logged (``known``) is a :class:`ParamConflict`: params are immutable."""
    seen: dict[str, str] = {}
    for key, value in params:
        if seen.get(key, value) != value:
            raise InvalidParameter(
                f"Duplicate parameter keys have been submitted: ['{key}']. Please ensure the "
                "request contains only one param value per param key.")
        seen[key] = value
    new = []
    for key, value in seen.items():
        old = known.get(key)
        if old is None:
            new.append((key, value))
        elif old != value:
            raise ParamConflict(run_id, key, old, value)
    return new


class ViewStore(Protocol):
    """Named reads for views. Frames are pandas DataFrames with the columns each one documents;
    a backend may compute them however it likes, but only the rows asked for leave it."""

    def runs_page(self, experiment_ids: Sequence[str], filter_string: str | None = None, sort: str | None = None,
                  descending: bool = True, offset: int = 0, limit: int = 50, group_by_tag: str | None = None,
                  catalogue: bool = False) -> Any:
        """One page of a run table, newest first or by ``sort`` (``attr:<name>``, ``param:<key>``,
        ``metric:<key>``, ``tag:<key>``). With ``group_by_tag``, only the newest run of each value
        of that tag. Columns: pos, total, n_cell, run_id, run_name, status, start_time, end_time,
        user_id, kinds, keys, nums, texts (the run's values as parallel lists), and with
        ``catalogue`` a column of {kind, key, n, numeric} for every key among the matching runs."""
        ...

    def runs_fingerprint(self, experiment_ids: Sequence[str]) -> tuple[int | None, ...]:
        """(runs, newest start, newest end, running runs, steps logged by running runs): changes
        whenever a view of these experiments would."""
        ...

    def key_stats(self, experiment_ids: Sequence[str] = (), filter_string: str | None = None,
                  run_ids: Sequence[str] | None = None) -> Any:
        """Per param and metric key of the matching runs (or of ``run_ids``): kind, key, n,
        distinct_values, numeric."""
        ...

    def runs_wide(self, experiment_ids: Sequence[str], filter_string: str | None, params: Sequence[str],
                  metrics: Sequence[str], limit: int, run_ids: Sequence[str] | None = None,
                  order_metric: str | None = None) -> Any:
        """One row per run: run_id, run_name, status, start_time, total (runs matched in all), then
        ``param:<k>`` and ``metric:<k>``. Newest first, or best ``order_metric`` first, at most
        ``limit``; or exactly ``run_ids`` in that order."""
        ...

    def metric_buckets(self, run_ids: Sequence[str], keys: Sequence[str], x_axis: str = "step",
                       buckets: int = 500, x_range: tuple[float, float] | None = None,
                       with_runs: bool = False) -> Any:
        """M4 downsampling of each (run, key) history over ``x_range`` (default: all of it) on the
        ``step``, ``relative`` or ``wall`` axis: per bucket n, vmin, vmax, vmean, xmean, x_at_min,
        x_at_max, x0, v0, x1, v1, last_step, last_ts. Bucket -1 / -2 hold the neighbours just before
        and after the range; with ``with_runs``, bucket -3 rows carry run_name, status, start_time."""
        ...

    def metric_points_after(self, cursors: Sequence[tuple[str, str, int, int]], x_axis: str = "step",
                            limit: int = 50_000) -> Any:
        """Points logged after each (run_id, key, step, timestamp) cursor (rows with what='p': run_id,
        key, step, timestamp, value, x) and every cursor run's status (what='s'), at most ``limit``
        points."""
        ...

    def run_summaries(self, run_ids: Sequence[str]) -> Any:
        """run_id, run_name, status, start_time of each run."""
        ...

    def top_metric_keys(self, run_ids: Sequence[str], limit: int = 4) -> list[str]:
        """The metric keys most of these runs have (then by name)."""
        ...

    def runs_with_tag(self, key: str, value: str) -> list[str]:
        """Ids of the runs that have tag ``key`` set to ``value``."""
        ...

    def find_runs(self, token: str, limit: int = 20) -> Any:
        """run_id, run_name of active runs whose id starts with ``token`` or whose name is ``token``,
        newest first."""
        ...

    def thin_history(self, run_id: str, keys: Sequence[str], points: int) -> Any:
        """About ``points`` points of each key's history (first and last kept): key, step, value."""
        ...


class ViewOperations:
    """The :class:`ViewStore` methods of a backend whose view queries are functions of a module
    (``views_module``), each called as ``fn(connection, *args)`` through the backend's ``_view``,
    which opens the read. The embedded and PostgreSQL stores share these; the REST client has its own."""

    views_module: Any

    def _view(self, fn: Any, *args: Any) -> Any:
        raise NotImplementedError

    def runs_page(self, experiment_ids: Sequence[str], filter_string: str | None = None, sort: str | None = None,
                  descending: bool = True, offset: int = 0, limit: int = 50, group_by_tag: str | None = None,
                  catalogue: bool = False) -> Any:
        return self._view(self.views_module.runs_page, experiment_ids, filter_string, sort, descending, offset, limit,
                          group_by_tag, catalogue)

    def runs_fingerprint(self, experiment_ids: Sequence[str]) -> tuple[int | None, ...]:
        return self._view(self.views_module.runs_fingerprint, experiment_ids)

    def key_stats(self, experiment_ids: Sequence[str] = (), filter_string: str | None = None,
                  run_ids: Sequence[str] | None = None) -> Any:
        return self._view(self.views_module.key_stats, experiment_ids, filter_string, run_ids)

    def runs_wide(self, experiment_ids: Sequence[str], filter_string: str | None, params: Sequence[str],
                  metrics: Sequence[str], limit: int, run_ids: Sequence[str] | None = None,
                  order_metric: str | None = None) -> Any:
        return self._view(self.views_module.runs_wide, experiment_ids, filter_string, params, metrics, limit, run_ids,
                          order_metric)

    def metric_buckets(self, run_ids: Sequence[str], keys: Sequence[str], x_axis: str = "step",
                       buckets: int = 500, x_range: tuple[float, float] | None = None,
                       with_runs: bool = False) -> Any:
        return self._view(self.views_module.metric_buckets, run_ids, keys, x_axis, buckets, x_range, with_runs)

    def metric_points_after(self, cursors: Sequence[tuple[str, str, int, int]], x_axis: str = "step",
                            limit: int = 50_000) -> Any:
        return self._view(self.views_module.metric_points_after, cursors, x_axis, limit)

    def run_summaries(self, run_ids: Sequence[str]) -> Any:
        return self._view(self.views_module.run_summaries, run_ids)

    def top_metric_keys(self, run_ids: Sequence[str], limit: int = 4) -> list[str]:
        return self._view(self.views_module.top_metric_keys, run_ids, limit)

    def runs_with_tag(self, key: str, value: str) -> list[str]:
        return self._view(self.views_module.runs_with_tag, key, value)

    def find_runs(self, token: str, limit: int = 20) -> Any:
        return self._view(self.views_module.find_runs, token, limit)

    def thin_history(self, run_id: str, keys: Sequence[str], points: int) -> Any:
        return self._view(self.views_module.thin_history, run_id, keys, points)


class RegistryStore(Protocol):
    """The model registry of a store location."""

    def create_registered_model(self, name: str, tags: Sequence[tuple[str, str]] = (),
                                description: str | None = None) -> RegisteredModel: ...
    def get_registered_model(self, name: str) -> RegisteredModel: ...
    def rename_registered_model(self, name: str, new_name: str, user_id: str | None) -> RegisteredModel: ...
    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel: ...
    def delete_registered_model(self, name: str) -> None: ...
    def search_registered_models(self, filter_string: str | None, max_results: int,
                                 order_by: list[str] | None, offset: int = 0) -> list[RegisteredModel]: ...
    def set_registered_model_tag(self, name: str, key: str, value: str) -> None: ...
    def delete_registered_model_tag(self, name: str, key: str) -> None: ...
    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]: ...
    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: Sequence[tuple[str, str]] = (), run_link: str | None = None,
                             description: str | None = None, user_id: str | None = None,
                             local_path: str | None = None, logged_model_id: str | None = None) -> ModelVersion: ...
    def get_model_version(self, name: str, version: int) -> ModelVersion: ...
    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion: ...
    def transition_model_version_stage(self, name: str, version: int, stage: str,
                                       archive_existing_versions: bool, user_id: str | None) -> ModelVersion: ...
    def delete_model_version(self, name: str, version: int, user_id: str | None) -> None: ...
    def get_model_version_download_uri(self, name: str, version: int) -> str: ...
    def search_model_versions(self, filter_string: str | None, max_results: int,
                              order_by: list[str] | None, offset: int = 0) -> list[ModelVersion]: ...
    def latest_version(self, name: str, stage: str | None = None) -> ModelVersion | None: ...
    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None: ...
    def delete_model_version_tag(self, name: str, version: int, key: str) -> None: ...
    def set_registered_model_alias(self, name: str, alias: str, version: int, user_id: str | None) -> None: ...
    def delete_registered_model_alias(self, name: str, alias: str, user_id: str | None) -> None: ...
    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion: ...
    def get_history(self, name: str, version: int | None = None,
                    until: int | None = None) -> list[RegistryEvent]: ...


class Store(ViewStore, Protocol):
    """A tracking store: experiments, runs and their data, the registry and logged models."""

    root: str
    artifact_root: str

    @property
    def registry(self) -> RegistryStore: ...
    @property
    def logged_models(self) -> Any: ...

    # experiments
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: Sequence[tuple[str, str]] = ()) -> str: ...
    def get_experiment(self, experiment_id: str) -> Experiment: ...
    def get_experiment_by_name(self, name: str) -> Experiment | None: ...
    def search_experiments(self, view_type: int = 1, max_results: int | None = None,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           offset: int = 0) -> list[Experiment]: ...
    def delete_experiment(self, experiment_id: str) -> None: ...
    def restore_experiment(self, experiment_id: str) -> None: ...
    def rename_experiment(self, experiment_id: str, new_name: str) -> None: ...
    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None: ...
    def delete_experiment_tag(self, experiment_id: str, key: str) -> None: ...

    # runs
    def create_run(self, experiment_id: str, user_id: str, start_time: int | None,
                   tags: Sequence[tuple[str, str]], run_name: str) -> Run: ...
    def get_run(self, run_id: str) -> Run: ...
    def update_run_info(self, run_id: str, status: str | None = None, end_time: int | None = None,
                        run_name: str | None = None, resume: bool = False) -> None: ...
    def delete_run(self, run_id: str) -> None: ...
    def restore_run(self, run_id: str) -> None: ...
    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (),
                  params: Sequence[tuple[str, str]] = (), tags: Sequence[tuple[str, str]] = ()) -> None: ...
    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None: ...
    def log_metrics_columns(self, run_id: str, keys: Sequence[str], values: Sequence[float],
                            timestamps: Sequence[int], steps: Sequence[int]) -> None: ...
    def log_model_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int,
                         link: dict[str, str | None], run_point: bool = True) -> None: ...
    def set_tag(self, run_id: str, key: str, value: str) -> None: ...
    def local_run(self, run_id: str) -> Run | None: ...
    def delete_tag(self, run_id: str, key: str) -> None: ...
    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None: ...
    def search_run_ids(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                       run_view_type: int = 1, max_results: int = 1000,
                       order_by: list[str] | None = None, offset: int = 0) -> list[str]: ...
    def search_runs(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                    run_view_type: int = 1, max_results: int = 1000,
                    order_by: list[str] | None = None, offset: int = 0) -> list[Run]: ...
    def runs_frame(self, run_ids: Sequence[str]) -> Any: ...
    def search_frame(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                     run_view_type: int = 1, max_results: int = 100000,
                     order_by: list[str] | None = None) -> Any: ...
    def runs_by_ids(self, run_ids: Sequence[str]) -> list[Run]: ...
    def get_metric_history(self, run_id: str, key: str) -> list[Metric]: ...
    def metric_history_frame(self, run_ids: Sequence[str], keys: Sequence[str] | None) -> Any: ...
    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any: ...

    # durability
    def flush(self) -> None: ...
    def sync(self) -> None: ...
    def close(self, timeout: float | None = None) -> None: ...
