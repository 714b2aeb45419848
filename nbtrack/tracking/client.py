"""``Client`` (alias ``MlflowClient``): explicit, run-id based access with MLflow's method names."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from typing import Any

from nbtrack.entities import (
    DatasetInput,
    Experiment,
    FileInfo,
    Metric,
    Param,
    Run,
    RunStatus,
    RunTag,
    ViewType,
)
from nbtrack.errors import InvalidParameter
from nbtrack.store import open_store
from nbtrack.store.artifacts import LocalArtifactRepository, local_path_of
from nbtrack.store.base import Store
from nbtrack.tracking import _pending, _settings, context, names, system_metrics, validation
from nbtrack.tracking import artifact_files as _artifacts
from nbtrack.tracking.artifact_files import copy_local, parse_runs_uri
from nbtrack.tracking.logged_models import LoggedModelClientMixin
from nbtrack.tracking.model_links import ModelLinksClientMixin
from nbtrack.tracking.paging import PagedList
from nbtrack.tracking.registry import RegistryClientMixin, resolve_models_uri
from nbtrack.tracking.webhooks import WebhookClientMixin
from nbtrack.tracking.workspaces import WorkspaceClientMixin

__all__ = ["Client", "MlflowClient", "PagedList"]

SEARCH_MAX_RESULTS_DEFAULT = 1000
SEARCH_MAX_RESULTS_THRESHOLD = 50000


def _now() -> int:
    return time.time_ns() // 1_000_000


class Client(RegistryClientMixin, LoggedModelClientMixin, ModelLinksClientMixin, WebhookClientMixin,
             WorkspaceClientMixin):
    """Low-level access to a tracking store, by run and experiment id.

    Parameters
    ----------
    tracking_uri:
        A store folder, ``duckdb:///abs/folder`` or ``file:///abs/folder``; by default the
        current tracking URI (``nbtrack.get_tracking_uri()``).
    registry_uri:
        The store of registered models; by default the one ``nbtrack.set_registry_uri`` or
        ``MLFLOW_REGISTRY_URI`` names, else ``tracking_uri``.
    """

    def __init__(self, tracking_uri: str | None = None, registry_uri: str | None = None) -> None:
        self.tracking_uri = tracking_uri or _settings.tracking_uri()
        self._registry_uri = registry_uri or _settings.registry_uri()
        self._opened = open_store(self.tracking_uri)
        self._artifact_uris: dict[str, str] = {}

    @property
    def _store(self) -> Store:
        if getattr(self._opened, "_closed", False):  # closed (e.g. at exit or by a test): reopen
            self._opened = open_store(self.tracking_uri)
        return self._opened

    @property
    def store(self) -> Store:
        """The backend this client talks to (typed by :class:`nbtrack.store.base.Store`)."""
        return self._store

    # -- experiments --------------------------------------------------------------------
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: dict[str, Any] | None = None) -> str:
        validation.experiment_name(name)
        location = validation.optional_text(artifact_location, "artifact_location")
        tag_items = [validation.experiment_tag(k, v) for k, v in validation.mapping(tags, "tags").items()]
        return self._store.create_experiment(name, location, tag_items)

    def get_experiment(self, experiment_id: str) -> Experiment:
        return self._store.get_experiment(validation.experiment_id(experiment_id))

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        return self._store.get_experiment_by_name(validation.text(name, "experiment name"))

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY,
                           max_results: int | None = SEARCH_MAX_RESULTS_DEFAULT,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           page_token: str | None = None) -> PagedList[Experiment]:
        view = validation.view_type(view_type)
        max_results = validation.max_results(max_results, SEARCH_MAX_RESULTS_THRESHOLD, allow_none=True)
        filter_string = validation.filter_string(filter_string)
        order_by = validation.order_by(order_by)
        offset = validation.page_token(page_token)
        limit = None if max_results is None else max_results + 1
        found = self._store.search_experiments(view, limit, filter_string, order_by, offset)
        if max_results is not None and len(found) > max_results:
            return PagedList(found[:max_results], validation.encode_page_token(offset + max_results))
        return PagedList(found, None)

    def delete_experiment(self, experiment_id: str) -> None:
        self._store.delete_experiment(validation.experiment_id(experiment_id))

    def restore_experiment(self, experiment_id: str) -> None:
        self._store.restore_experiment(validation.experiment_id(experiment_id))

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        self._store.rename_experiment(validation.experiment_id(experiment_id), validation.experiment_name(new_name))

    def set_experiment_tag(self, experiment_id: str, key: str, value: Any) -> None:
        self._store.set_experiment_tag(validation.experiment_id(experiment_id), *validation.experiment_tag(key, value))

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._store.delete_experiment_tag(validation.experiment_id(experiment_id), validation.text(key, "tag key"))

    # -- runs ---------------------------------------------------------------------------
    def create_run(self, experiment_id: str, start_time: int | None = None,
                   tags: dict[str, Any] | None = None, run_name: str | None = None) -> Run:
        """Create a run (RUNNING). System tags are added by the fluent ``start_run``, not here."""
        experiment_id = validation.experiment_id(experiment_id)
        start_time = validation.time_ms(start_time, "start_time")
        run_name = validation.run_name(run_name)
        tag_items = dict(validation.run_tag(k, v) for k, v in validation.mapping(tags, "tags").items())
        tag_name = tag_items.get("mlflow.runName")
        if run_name and tag_name and run_name != tag_name:
            raise InvalidParameter(
                f"Both 'run_name' argument and 'mlflow.runName' tag are specified, but with different "
                f"values (run_name='{run_name}', mlflow.runName='{tag_name}'). Give only one.")
        run_name = run_name or tag_name or names.random_name()
        user = tag_items.get("mlflow.user") or context.user()  # not resolve_tags: it reads git files
        run = self._store.create_run(experiment_id, user, start_time, list(tag_items.items()), run_name)
        self._artifact_uris[run.info.run_id] = run.info.artifact_uri
        return run

    def get_run(self, run_id: str) -> Run:
        return self._with_model_links(self._store.get_run(validation.run_id(run_id)))

    def local_view(self, run_id: str) -> Run:
        """The run as this process has written it, without a store round trip when the process
        created it (tags, params and metrics it logged itself); otherwise :meth:`get_run`.

        For a writer's read-modify-write of its own run (e.g. appending to a history tag)."""
        local = getattr(self._store, "local_run", None)
        run = local(run_id) if local is not None else None
        return run if run is not None else self.get_run(run_id)

    def get_parent_run(self, run_id: str) -> Run | None:
        parent = self.get_run(run_id).data.tags.get("mlflow.parentRunId")
        return self.get_run(parent) if parent else None

    def update_run(self, run_id: str, status: str | None = None, name: str | None = None) -> None:
        if status is not None:
            RunStatus.from_string(status)
        self._store.update_run_info(validation.run_id(run_id), status=status, run_name=validation.run_name(name))

    def set_terminated(self, run_id: str, status: str | None = None, end_time: int | None = None) -> None:
        status = RunStatus.from_string(status or RunStatus.FINISHED)
        end = validation.time_ms(end_time, "end_time")
        system_metrics.stop(run_id)  # its last samples go in before the run ends
        self._store.update_run_info(validation.run_id(run_id), status=status, end_time=end if end_time else _now())

    def delete_run(self, run_id: str) -> None:
        self._store.delete_run(validation.run_id(run_id))

    def restore_run(self, run_id: str) -> None:
        self._store.restore_run(validation.run_id(run_id))

    # -- logging ------------------------------------------------------------------------
    def log_param(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> Any:
        param = (validation.key(key, "param key"), validation.param_value(value))
        self._store.log_batch(validation.run_id(run_id), params=[param])
        return value

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int | None = None,
                   step: int | None = None, synchronous: bool | None = None, dataset_name: str | None = None,
                   dataset_digest: str | None = None, model_id: str | None = None) -> None:
        """Log one metric value. Writes are buffered and durable within 250 ms (``nbtrack.flush()``
        at once), so ``synchronous`` changes nothing."""
        validation.key(key, "metric key")
        ts = _now() if timestamp is None else validation.timestamp(key, timestamp)
        if model_id is not None:  # MLflow 3: the value belongs to a logged model (on a dataset) too
            link = {"model_id": model_id, "dataset_name": dataset_name, "dataset_digest": dataset_digest}
            self.log_linked_metric(run_id, key, value, ts, step, link)
            return
        self._store.log_metric(validation.run_id(run_id), key, validation.metric_value(key, value), ts,
                               validation.step(key, step))

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[Param] = (),
                  tags: Sequence[RunTag] = (), synchronous: bool | None = None) -> None:
        """Log many metrics, params and tags at once (no per-call limit, unlike MLflow's 1,000)."""
        run_id = validation.run_id(run_id)
        columns = validation.metric_columns(metrics)  # everything is checked before anything is stored
        store_params = validation.batch_params(params)
        store_tags = validation.batch_tags(tags)
        if store_params or store_tags:
            self._store.log_batch(run_id, (), store_params, store_tags)
        if columns[0]:
            self._store.log_metrics_columns(run_id, *columns)

    def set_tag(self, run_id: str, key: str, value: Any, synchronous: bool | None = None) -> None:
        self._store.log_batch(validation.run_id(run_id), tags=[validation.run_tag(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        self._store.delete_tag(validation.run_id(run_id), validation.text(key, "tag key"))

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput] | None = None,
                   models: Sequence[Any] | None = None) -> None:
        """Record datasets (and, MLflow 3, ``LoggedModelInput`` models) as inputs of the run."""
        checked = [validation.dataset_input(d) for d in datasets or []]
        if checked or not models:
            self._store.log_inputs(validation.run_id(run_id), checked)
        if models:
            self._log_model_inputs(run_id, models)

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return self._store.get_metric_history(validation.run_id(run_id), validation.text(key, "metric key"))

    # -- search -------------------------------------------------------------------------
    def search_runs(self, experiment_ids: str | Sequence[str], filter_string: str = "",
                    run_view_type: int = ViewType.ACTIVE_ONLY,
                    max_results: int = SEARCH_MAX_RESULTS_DEFAULT, order_by: list[str] | None = None,
                    page_token: str | None = None) -> PagedList[Run]:
        ids = validation.experiment_ids(experiment_ids)
        view = validation.view_type(run_view_type)
        max_results = validation.max_results(max_results, SEARCH_MAX_RESULTS_THRESHOLD)
        where = validation.filter_string(filter_string)
        order_by = validation.order_by(order_by)
        offset = validation.page_token(page_token)
        runs = self._store.search_runs(ids, where, view, max_results + 1, order_by, offset)
        if len(runs) > max_results:
            return PagedList(runs[:max_results], validation.encode_page_token(offset + max_results))
        return PagedList(runs, None)

    # -- artifacts ----------------------------------------------------------------------
    def artifact_repository(self, run_id: str) -> Any:
        """The repository of a run's artifacts: its local folder (``.root``), or a server's proxy."""
        return self._repo(run_id)

    def _repo(self, run_id: str) -> LocalArtifactRepository:
        uri = self._artifact_uris.get(run_id)
        if uri is None:
            uri = self.local_view(run_id).info.artifact_uri
            self._artifact_uris[run_id] = uri
        remote = getattr(self._store, "artifact_repository", None)  # a server's artifact proxy
        return remote(uri) if remote is not None else LocalArtifactRepository(uri)

    def log_artifact(self, run_id: str, local_path: str, artifact_path: str | None = None) -> None:
        if os.path.isdir(local_path):
            self._repo(run_id).log_artifacts(local_path, os.path.join(artifact_path or "", os.path.basename(local_path.rstrip("/"))))
        else:
            self._repo(run_id).log_artifact(local_path, artifact_path)

    def log_artifacts(self, run_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        self._repo(run_id).log_artifacts(local_dir, artifact_path)

    def _write(self, run_id: str, artifact_file: str, data: bytes) -> None:
        self._repo(run_id).write_bytes(artifact_file, data)

    def log_text(self, run_id: str, text: str, artifact_file: str) -> None:
        self._write(run_id, artifact_file, text.encode("utf-8"))

    def log_dict(self, run_id: str, dictionary: Any, artifact_file: str) -> None:
        self._write(run_id, artifact_file, _artifacts.write_dict(dictionary, artifact_file))

    def log_figure(self, run_id: str, figure: Any, artifact_file: str, *, save_kwargs: dict | None = None) -> None:
        self._write(run_id, artifact_file, _artifacts.write_figure(figure, artifact_file, save_kwargs))

    def log_image(self, run_id: str, image: Any, artifact_file: str | None = None, key: str | None = None,
                  step: int | None = None, timestamp: int | None = None, synchronous: bool | None = None) -> None:
        if (artifact_file is None) == (key is None):
            raise InvalidParameter("Pass exactly one of `artifact_file` (a single image) or `key` (a series by step).")
        data = _artifacts.write_image(image)
        if artifact_file is not None:
            self._write(run_id, artifact_file, data)
            return
        assert key is not None
        path = _artifacts.image_series_path(key, step or 0, timestamp or _now())
        self._write(run_id, path, data)
        self.set_tag(run_id, "mlflow.loggedImages", "True")

    def log_table(self, run_id: str, data: Any, artifact_file: str) -> None:
        self._write(run_id, artifact_file, _artifacts.write_table(self, run_id, data, artifact_file))
        tag = self.local_view(run_id).data.tags.get("mlflow.loggedArtifacts")
        logged = json.loads(tag) if tag else []
        entry = {"path": artifact_file, "type": "table"}
        if entry not in logged:
            self.set_tag(run_id, "mlflow.loggedArtifacts", json.dumps([*logged, entry]))

    def list_artifacts(self, run_id: str, path: str | None = None) -> list[FileInfo]:
        _pending.wait(run_id)  # figures autolog is still drawing for this run
        return self._repo(run_id).list_artifacts(path)

    def download_artifacts(self, run_id: str, path: str, dst_path: str | None = None) -> str:
        _pending.wait(run_id)
        return self._repo(run_id).download_artifacts(path, dst_path)

    def _download_uri(self, artifact_uri: str, dst_path: str | None = None) -> str:
        """The local path of what an artifact URI names, read through this client: ``runs:/``,
        ``models:/`` (this client's registry), a server's ``mlflow-artifacts:``/``http(s):`` proxy
        URI, or a ``file:`` URI or path (the caller's own files, copied as they are)."""
        scheme = artifact_uri.split(":", 1)[0].lower() if ":" in artifact_uri else ""
        if scheme == "runs":
            run_id, path = parse_runs_uri(artifact_uri)
            return self.download_artifacts(run_id, path, dst_path)
        if scheme == "models":
            return resolve_models_uri(artifact_uri, dst_path, client=self)
        if scheme in ("mlflow-artifacts", "http", "https"):  # a tracking server's artifact proxy
            from nbtrack.store.rest.artifacts import repository_for

            return str(repository_for(artifact_uri, getattr(self._store, "http", None)).download_artifacts("", dst_path))
        if scheme == "s3":  # e.g. a model version's copy kept on S3 by a server's PostgreSQL store
            from nbtrack.store.s3 import S3ArtifactRepository

            return S3ArtifactRepository(artifact_uri).download_artifacts(None, dst_path)
        return copy_local(os.path.abspath(local_path_of(artifact_uri)), dst_path)

    def log_stream(self, run_id: str, stream: Any, artifact_file: str) -> None:
        """Write the bytes read from a binary ``stream`` (an open file, ``io.BytesIO``) as ``artifact_file``."""
        data = stream.read()
        if not isinstance(data, bytes | bytearray | memoryview):
            raise InvalidParameter(f"log_stream needs a binary stream (open(path, 'rb'), io.BytesIO); "
                                   f"this one gave {type(data).__name__}.")
        self._write(run_id, artifact_file, bytes(data))

    def load_table(self, experiment_id: str, artifact_file: str, run_ids: list[str] | None = None,
                   extra_columns: list[str] | None = None) -> Any:
        """The table ``artifact_file`` that runs of ``experiment_id`` logged with ``log_table``, joined
        into one pandas DataFrame; ``extra_columns`` (e.g. ``["run_id"]``) come from ``search_runs``."""
        from nbtrack.tracking.tables import load_table

        return load_table(self, experiment_id, artifact_file, run_ids, extra_columns)

    def get_artifact_uri(self, run_id: str, artifact_path: str | None = None) -> str:
        uri = self._repo(run_id).root
        return uri if not artifact_path else f"{uri}/{artifact_path.lstrip('/')}"


MlflowClient = Client

