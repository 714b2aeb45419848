"""The fluent API (``nbtrack.start_run``, ``nbtrack.log_metric``, ...), as MLflow's.

The stack of active runs lives in a ContextVar holding a mutable list: each thread gets
its own stack (as MLflow's thread-local one), while asyncio tasks and IPython's async
cells, which run in copies of the context, share their parent's list, so a run started
in a cell with top-level ``await`` is still active in the next cell. The tracking URI and the active experiment are
process-wide settings, as in MLflow, so a worker thread logs where the notebook said.
"""

from __future__ import annotations

import atexit
import contextvars
import os
import sys
import threading
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack import config
from nbtrack.entities import Experiment, Metric, Param, Run, RunStatus, RunTag, ViewType
from nbtrack.errors import InvalidParameter, NbtrackError, NotFound, ResourceExists, RunNotActive
from nbtrack.store import refuse_mlflow_database
from nbtrack.tracking import _settings as _tracking_settings
from nbtrack.tracking import context, system_metrics, validation
from nbtrack.tracking import logged_models as _logged_models
from nbtrack.tracking.client import Client

if TYPE_CHECKING:
    from nbtrack.store.base import Store

_run_stack: contextvars.ContextVar[list[ActiveRun] | None] = contextvars.ContextVar("nbtrack_runs", default=None)
_last_run_id: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("nbtrack_last_run", default=None)
_settings = _tracking_settings.settings  # the one dict: set_tracking_uri, set_experiment, set_registry_uri
_clients: dict[str, Client] = {}
_exit: dict[str, Any] = {"registered": False, "status": RunStatus.FINISHED}
_all_active: dict[str, tuple[Client, ActiveRun]] = {}  # every thread's active runs, for the exit handler
_lock = threading.Lock()
_run_stack.set([])  # the importing thread's stack, shared by its async cells
_last_run_id.set([])


def _stack() -> list[ActiveRun]:
    stack = _run_stack.get()
    if stack is None:
        stack = []
        _run_stack.set(stack)
    return stack


def _last() -> list[str]:
    last = _last_run_id.get()
    if last is None:
        last = []
        _last_run_id.set(last)
    return last


class ActiveRun(Run):
    """The run a ``with nbtrack.start_run():`` block writes to (a :class:`Run` snapshot)."""

    __slots__ = ()

    def __enter__(self) -> ActiveRun:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> bool:
        if exc_type is None:
            status = RunStatus.FINISHED
        elif issubclass(exc_type, KeyboardInterrupt):
            status = RunStatus.KILLED
        else:
            status = RunStatus.FAILED
        stack = _stack()
        if any(r.info.run_id == self.info.run_id for r in stack):
            while stack and stack[-1].info.run_id != self.info.run_id:
                end_run(status)  # nested runs left open inside the block end with it
            end_run(status)
        return exc_type is None and False


# -- tracking URI and experiment ----------------------------------------------------------
def set_tracking_uri(uri: str | os.PathLike[str]) -> None:
    """Set the store for this process: a folder, ``duckdb:///abs/folder`` or ``file:`` URI."""
    refuse_mlflow_database(os.fspath(uri))  # say so now, not at the first log call
    _settings["tracking_uri"] = os.fspath(uri)
    _settings["experiment_id"] = None


def get_tracking_uri() -> str:
    """The current store: set_tracking_uri, else NBTRACK_TRACKING_URI, else ``./.nbtrack``."""
    return _tracking_settings.tracking_uri()


def is_tracking_uri_set() -> bool:
    return _tracking_settings.tracking_uri_is_set()


def set_registry_uri(uri: str) -> None:
    """Keep registered models in another store than runs (a folder, ``duckdb:///``, ``http(s)://``).

    Examples
    --------
    >>> nbtrack.set_registry_uri("/shared/registry")
    >>> nbtrack.get_registry_uri()
    '/shared/registry'
    """
    refuse_mlflow_database(os.fspath(uri))
    _settings["registry_uri"] = os.fspath(uri)


def get_registry_uri() -> str:
    """The registry's store: set_registry_uri, else MLFLOW_REGISTRY_URI, else the tracking URI."""
    return _tracking_settings.registry_uri() or get_tracking_uri()


def flush_async_logging() -> None:
    """MLflow's name for :func:`flush`: every buffered metric, param and tag is durable on return."""
    flush()


def flush_artifact_async_logging() -> None:
    """MLflow's name for waiting on background artifact writes: figures autolog is still drawing
    are done and every buffered value is durable on return."""
    from nbtrack.tracking import _pending

    _pending.wait_all()
    flush()


def _client() -> Client:
    uri = get_tracking_uri()
    client = _clients.get(uri)
    if client is None:
        client = _clients[uri] = Client(uri)
    return client


def _refuse_trace_location(trace_location: Any) -> None:
    if trace_location is not None:
        raise InvalidParameter("trace_location places GenAI traces (MLflow tracing), which nbtrack does not "
                               "record; leave it out.")


def set_experiment(experiment_name: str | None = None, experiment_id: str | None = None,
                   trace_location: Any = None) -> Experiment:
    """Make an experiment active, creating it by name if needed."""
    _refuse_trace_location(trace_location)
    if (experiment_name is None) == (experiment_id is None):
        raise InvalidParameter("Must specify exactly one of: `experiment_id` or `experiment_name`.")
    client = _client()
    if experiment_id is not None:
        experiment = client.get_experiment(validation.experiment_id(experiment_id))
    else:
        name = validation.experiment_name(experiment_name)
        found = client.get_experiment_by_name(name)
        if found is None:
            try:
                found = client.get_experiment(client.create_experiment(name))
            except ResourceExists:  # another process created it a moment ago: use theirs
                found = client.get_experiment_by_name(name)
                if found is None:
                    raise
        experiment = found
    if experiment.lifecycle_stage != "active":
        raise RunNotActive(
            f"Cannot set a deleted experiment '{experiment.name}' as the active experiment. You can "
            "restore the experiment with nbtrack.restore_experiment(), or use another name.")
    _settings["experiment_id"] = experiment.experiment_id
    return experiment


def active_experiment_id() -> str:
    """The id of the experiment new runs go to: set_experiment()'s, else MLFLOW_EXPERIMENT_NAME's
    (created if missing), else MLFLOW_EXPERIMENT_ID, else the Default experiment ("0")."""
    return _resolve_experiment_id()


def active_runs() -> list[ActiveRun]:
    """The runs started and not ended on this thread (its stack), outermost first."""
    return list(_stack())


def active_store() -> Store:
    """The store of the current tracking URI: what the views read through, by name."""
    return _client().store


def _resolve_experiment_id() -> str:
    if _settings["experiment_id"] is not None:
        return _settings["experiment_id"]
    name = config.env("MLFLOW_EXPERIMENT_NAME")
    if name:
        return set_experiment(name).experiment_id
    return config.env("MLFLOW_EXPERIMENT_ID") or "0"


def create_experiment(name: str, artifact_location: str | None = None, tags: dict[str, Any] | None = None,
                      trace_location: Any = None) -> str:
    _refuse_trace_location(trace_location)
    return _client().create_experiment(name, artifact_location, tags)


def get_experiment(experiment_id: str) -> Experiment:
    return _client().get_experiment(experiment_id)


def get_experiment_by_name(name: str) -> Experiment | None:
    return _client().get_experiment_by_name(name)


def search_experiments(view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                       filter_string: str | None = None, order_by: list[str] | None = None) -> list[Experiment]:
    """Every experiment matching ``filter_string`` (all pages; at most ``max_results`` when given)."""
    limit = validation.max_results(max_results, None, allow_none=True)
    page_size = None if limit is None or limit > validation.SEARCH_MAX_RESULTS_THRESHOLD else limit
    found = _client().search_experiments(view_type, page_size, filter_string, order_by)
    return list(found) if limit is None else list(found[:limit])


def delete_experiment(experiment_id: str) -> None:
    _client().delete_experiment(experiment_id)
    if _settings["experiment_id"] == str(experiment_id):
        _settings["experiment_id"] = None


def restore_experiment(experiment_id: str) -> None:
    _client().restore_experiment(experiment_id)


def set_experiment_tag(key: str, value: Any) -> None:
    _client().set_experiment_tag(_resolve_experiment_id(), key, value)


def set_experiment_tags(tags: dict[str, Any]) -> None:
    for key, value in tags.items():
        set_experiment_tag(key, value)


def delete_experiment_tag(key: str) -> None:
    _client().delete_experiment_tag(_resolve_experiment_id(), key)


# -- runs -----------------------------------------------------------------------------------
def start_run(run_id: str | None = None, experiment_id: str | None = None, run_name: str | None = None,
              nested: bool = False, parent_run_id: str | None = None, tags: dict[str, Any] | None = None,
              description: str | None = None, log_system_metrics: bool | None = None) -> ActiveRun:
    """Start a new run, or resume ``run_id``; use it as a context manager.

    Examples
    --------
    >>> with nbtrack.start_run(run_name="baseline"):            # doctest: +SKIP
    ...     nbtrack.log_param("lr", 0.1)
    ...     nbtrack.log_metric("loss", 0.25, step=1)
    """
    stack = _stack()
    if stack and not nested:
        raise NbtrackError(
            f"Run with UUID {stack[-1].info.run_id} is already active. To start a new run, first end the "
            "current run with nbtrack.end_run(). To start a nested run, call start_run with nested=True")
    if parent_run_id is not None and (not stack or stack[-1].info.run_id != parent_run_id):
        current = stack[-1].info.run_id if stack else None
        raise InvalidParameter(
            f"Current run with UUID {current} does not match the specified parent_run_id {parent_run_id}. "
            "Start the parent run first, or leave parent_run_id out.")
    run_name = validation.run_name(run_name)
    user_tags = {str(k): v for k, v in validation.mapping(tags, "tags").items()}
    if description is not None:
        description = validation.text(description, "description", validation.MAX_TAG_VAL_LENGTH)
        if "mlflow.note.content" in user_tags:
            raise InvalidParameter("Description is already set via the tag mlflow.note.content in tags. "
                                   "Remove the key mlflow.note.content from the tags or omit the description.")
        user_tags["mlflow.note.content"] = description
    if stack:
        user_tags.setdefault("mlflow.parentRunId", stack[-1].info.run_id)
    if with_system_metrics := system_metrics.enabled(log_system_metrics):
        system_metrics.check_available()  # before the run exists, so a missing psutil leaves no run behind
    client = _client()
    env_run_id = config.env("MLFLOW_RUN_ID")
    if run_id is None and env_run_id:
        run_id = env_run_id
        os.environ.pop("MLFLOW_RUN_ID", None)
    if run_id is not None:
        run = _resume(client, run_id, run_name, user_tags)
    else:
        exp_id = validation.experiment_id(experiment_id) if experiment_id is not None else _resolve_experiment_id()
        run = client.create_run(exp_id, tags=context.resolve_tags(user_tags), run_name=run_name)
    active = ActiveRun(run.info, run.data, run.inputs, run.outputs)
    stack.append(active)
    with _lock:
        _all_active[run.info.run_id] = (client, active)
    _ensure_exit_handler()
    if with_system_metrics:
        system_metrics.start(client, run.info.run_id, resume=run_id is not None)
    return active


def _resume(client: Client, run_id: str, run_name: str | None, tags: dict[str, Any]) -> Run:
    existing = client.get_run(run_id)
    if existing.info.lifecycle_stage != "active":
        raise RunNotActive(f"Cannot start run with ID {run_id} because it is in the deleted state. "
                           f"Restore it with nbtrack.restore_run('{run_id}') first.")
    client.store.update_run_info(run_id, status=RunStatus.RUNNING, run_name=run_name, resume=True)
    for key, value in tags.items():
        client.set_tag(run_id, key, value)
    return client.get_run(run_id)


def end_run(status: str = RunStatus.FINISHED) -> None:
    """End the active run (if any) with ``status``."""
    stack = _stack()
    if not stack:
        return
    run = stack.pop()
    with _lock:
        _all_active.pop(run.info.run_id, None)
    _client().set_terminated(run.info.run_id, RunStatus.from_string(status))
    _last()[:] = [run.info.run_id]


def active_run() -> ActiveRun | None:
    stack = _stack()
    return stack[-1] if stack else None


def last_active_run() -> Run | None:
    current = active_run()
    if current is not None:
        return get_run(current.info.run_id)
    last = _last()
    return get_run(last[0]) if last else None


def get_run(run_id: str) -> Run:
    return _client().get_run(run_id)


def get_parent_run(run_id: str) -> Run | None:
    return _client().get_parent_run(run_id)


def delete_run(run_id: str) -> None:
    _client().delete_run(run_id)


def restore_run(run_id: str) -> None:
    _client().restore_run(run_id)


def _run_id_or_start(run_id: str | None = None) -> str:
    if run_id is not None:
        return run_id
    current = active_run()
    return (current or start_run()).info.run_id


# -- logging --------------------------------------------------------------------------------
def log_param(key: str, value: Any, synchronous: bool | None = None) -> Any:
    return _client().log_param(_run_id_or_start(), key, value)


def log_params(params: dict[str, Any], synchronous: bool | None = None, run_id: str | None = None) -> None:
    items = validation.mapping(params, "params").items()
    rid = _run_id_or_start(run_id)
    _client().log_batch(rid, params=[Param(str(k), v) for k, v in items])


def log_metric(key: str, value: float, step: int | None = None, synchronous: bool | None = None,
               timestamp: int | None = None, run_id: str | None = None, model_id: str | None = None,
               dataset: Any = None) -> None:
    model_id = model_id or _logged_models.get_active_model_id()  # MLflow 3: the active model's by default
    if model_id is None and dataset is None:
        _client().log_metric(_run_id_or_start(run_id), key, value, timestamp, step)
        return
    _client().log_metric(_run_id_or_start(run_id), key, value, timestamp, step, model_id=model_id,
                         dataset_name=getattr(dataset, "name", None), dataset_digest=getattr(dataset, "digest", None))


def log_metrics(metrics: dict[str, float], step: int | None = None, synchronous: bool | None = None,
                run_id: str | None = None, timestamp: int | None = None, model_id: str | None = None,
                dataset: Any = None) -> None:
    ts = time.time_ns() // 1_000_000 if timestamp is None else timestamp
    items = validation.mapping(metrics, "metrics").items()
    rid = _run_id_or_start(run_id)
    model_id = model_id or _logged_models.get_active_model_id()
    if model_id is not None or dataset is not None:
        for k, v in items:
            _client().log_metric(rid, k, v, ts, step, model_id=model_id, dataset_name=getattr(dataset, "name", None),
                                 dataset_digest=getattr(dataset, "digest", None))
        return
    _client().log_batch(rid, metrics=[Metric(k, v, ts, 0 if step is None else step) for k, v in items])


def set_tag(key: str, value: Any, synchronous: bool | None = None) -> None:
    _client().set_tag(_run_id_or_start(), key, value)


def set_tags(tags: dict[str, Any], synchronous: bool | None = None) -> None:
    items = validation.mapping(tags, "tags").items()
    _client().log_batch(_run_id_or_start(), tags=[RunTag(str(k), v) for k, v in items])


def delete_tag(key: str) -> None:
    _client().delete_tag(_run_id_or_start(), key)


def log_input(dataset: Any = None, context: str | None = None, tags: dict[str, str] | None = None,
              model: Any = None) -> None:
    """Record a dataset as an input of the active run (``mlflow.data`` datasets or our own)."""
    from nbtrack.tracking.datasets import to_dataset_input

    _client().log_inputs(_run_id_or_start(), [to_dataset_input(dataset, context, tags)])


def log_inputs(datasets: list[Any] | None = None, contexts: list[str | None] | None = None,
               tags_list: list[dict[str, str] | None] | None = None, models: list[Any] | None = None) -> None:
    """Record several datasets as inputs of the active run; ``contexts[i]`` and ``tags_list[i]``
    go with ``datasets[i]`` (``None`` entries are skipped, as in MLflow)."""
    from nbtrack.tracking.datasets import to_dataset_input

    datasets = list(datasets or [])
    for what, given in (("contexts", contexts), ("tags_list", tags_list)):
        if given is not None and len(given) != len(datasets):
            raise InvalidParameter(f"{what} has {len(given)} entries for {len(datasets)} datasets: give one "
                                   "per dataset (None where there is none).")
    inputs = [to_dataset_input(d, (contexts or [None] * len(datasets))[i], (tags_list or [None] * len(datasets))[i])
              for i, d in enumerate(datasets) if d is not None]
    run_id = _run_id_or_start()
    if inputs or models:
        _client().log_inputs(run_id, inputs, models=models)


# -- artifacts ------------------------------------------------------------------------------
def log_artifact(local_path: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    _client().log_artifact(_run_id_or_start(run_id), local_path, artifact_path)


def log_artifacts(local_dir: str, artifact_path: str | None = None, run_id: str | None = None) -> None:
    _client().log_artifacts(_run_id_or_start(run_id), local_dir, artifact_path)


def log_text(text: str, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_text(_run_id_or_start(run_id), text, artifact_file)


def log_dict(dictionary: Any, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_dict(_run_id_or_start(run_id), dictionary, artifact_file)


def log_figure(figure: Any, artifact_file: str, *, save_kwargs: dict | None = None) -> None:
    _client().log_figure(_run_id_or_start(), figure, artifact_file, save_kwargs=save_kwargs)


def log_image(image: Any, artifact_file: str | None = None, key: str | None = None, step: int | None = None,
              timestamp: int | None = None, synchronous: bool | None = False) -> None:
    _client().log_image(_run_id_or_start(), image, artifact_file, key, step, timestamp)


def log_table(data: Any, artifact_file: str, run_id: str | None = None) -> None:
    _client().log_table(_run_id_or_start(run_id), data, artifact_file)


def log_stream(stream: Any, artifact_file: str, run_id: str | None = None) -> None:
    """Write a binary stream (an open file, ``io.BytesIO``) as the artifact ``artifact_file``."""
    _client().log_stream(_run_id_or_start(run_id), stream, artifact_file)


def get_artifact_uri(artifact_path: str | None = None) -> str:
    """The active run's artifact location, or that of ``artifact_path`` inside it."""
    return _client().get_artifact_uri(_run_id_or_start(), artifact_path)


def load_table(artifact_file: str, run_ids: list[str] | None = None,
               extra_columns: list[str] | None = None) -> Any:
    """The table ``artifact_file`` logged by ``log_table`` in the active experiment's runs, joined.

    Parameters
    ----------
    artifact_file:
        The name given to ``log_table`` (``.json`` or ``.parquet``).
    run_ids:
        Only these runs (by default every run of the experiment that logged the table).
    extra_columns:
        Columns of ``search_runs``' frame (``run_id``, ``status``, ``params.lr``, ...) added to
        each row.

    Examples
    --------
    >>> nbtrack.load_table("eval.json", extra_columns=["run_id"])
    """
    return _client().load_table(_resolve_experiment_id(), artifact_file, run_ids, extra_columns)


# -- search -----------------------------------------------------------------------------------
def search_runs(experiment_ids: Sequence[str] | None = None, filter_string: str = "",
                run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 100000,
                order_by: list[str] | None = None, output_format: str = "pandas",
                search_all_experiments: bool = False, experiment_names: Sequence[str] | None = None) -> Any:
    """Search runs with MLflow's filter grammar (plus OR, NOT, parentheses).

    Returns MLflow's DataFrame (``output_format="pandas"``) or a list of :class:`Run`.
    """
    if experiment_ids is not None and experiment_names is not None:
        raise InvalidParameter("Only experiment_ids or experiment_names can be used, but not both")
    where = validation.filter_string(filter_string)
    run_view_type = validation.view_type(run_view_type)
    max_results = validation.max_results(max_results, None, allow_none=True)  # one read: no page limit
    if max_results is None:
        max_results = validation.INT64_MAX - 1
    order_by = validation.order_by(order_by)
    client = _client()
    if experiment_names is not None:
        ids = []
        for name in [experiment_names] if isinstance(experiment_names, str) else experiment_names:
            found = client.get_experiment_by_name(name)
            if found is not None:
                ids.append(found.experiment_id)
    elif experiment_ids is not None:
        ids = validation.experiment_ids(experiment_ids)
    elif search_all_experiments:
        ids = [e.experiment_id for e in client.search_experiments(ViewType.ACTIVE_ONLY, None)]
    else:
        ids = [_resolve_experiment_id()]
    if output_format not in ("pandas", "list"):
        raise InvalidParameter(f"Unsupported output format: {output_format}. Supported string values are 'pandas' or 'list'")
    if output_format == "list":
        return client.store.runs_by_ids(
            client.store.search_run_ids(ids, where, run_view_type, max_results, order_by))
    return client.store.search_frame(ids, where, run_view_type, max_results, order_by)


def metric_history(runs: Any, keys: str | Sequence[str] | None = None) -> Any:
    """Every point of ``keys`` for many runs as one long DataFrame (run_id, key, step, timestamp, value)."""
    run_ids = _run_ids_of(runs)
    if keys is not None and not isinstance(keys, str | Sequence):
        raise InvalidParameter(f"keys must be a metric key, a list of them or None, not {type(keys).__name__}.")
    key_list = [keys] if isinstance(keys, str) else keys
    if key_list is not None:
        key_list = [validation.text(k, "metric key") for k in key_list]
    return _client().store.metric_history_frame(run_ids, key_list)


def _run_ids_of(runs: Any) -> list[str]:
    if isinstance(runs, str):
        return [validation.run_id(runs)]
    if isinstance(runs, Run):
        return [runs.info.run_id]
    if hasattr(runs, "columns") and "run_id" in getattr(runs, "columns", ()):
        return [validation.run_id(str(r)) for r in runs["run_id"]]
    if not isinstance(runs, Sequence) and not hasattr(runs, "__iter__"):
        raise InvalidParameter(f"runs must be a run id, a Run, a search_runs DataFrame or a list of them, "
                               f"not {type(runs).__name__}.")
    return [r.info.run_id if isinstance(r, Run) else validation.run_id(r) for r in runs]


def sql(query: str, params: Sequence[Any] | None = None) -> Any:
    """Read-only SQL over the store's views (runs, params, tags, metrics, latest_metrics, ...)."""
    return _client().store.sql(query, params)


def flush() -> None:
    """Make everything logged so far durable (fsynced in the store) and so visible to every reader.

    Readers, in any process, fold pending segments into the DuckDB file before they read, so a
    flushed point is seen by the next search; the fold itself is left to them.
    """
    _client().store.flush()


# -- exit -------------------------------------------------------------------------------------
def _ensure_exit_handler() -> None:
    with _lock:
        if _exit["registered"]:
            return
        _exit["registered"] = True
    previous = sys.excepthook

    def excepthook(exc_type: type[BaseException], exc: BaseException, tb: Any) -> None:
        _exit["status"] = RunStatus.KILLED if issubclass(exc_type, KeyboardInterrupt) else RunStatus.FAILED
        previous(exc_type, exc, tb)

    sys.excepthook = excepthook
    atexit.register(_end_all_at_exit)  # registered after the store's: runs end before it closes


def _end_all_at_exit() -> None:
    with _lock:
        runs = list(_all_active.values())
        _all_active.clear()
    for client, run in runs:
        try:
            client.set_terminated(run.info.run_id, _exit["status"])
        except (NbtrackError, NotFound, OSError) as e:
            import logging

            logging.getLogger("nbtrack").warning("could not end run %s at exit: %s", run.info.run_id, e)
