"""MLflow 3 logged models: the client methods, the fluent functions and the active model.

A logged model (``m-<hex>``) has its own files, params, tags and metrics; ``log_model`` creates
one per call, ``models:/<model_id>`` loads it. The active model (``set_active_model``) is kept
in a ContextVar here, beside the fluent module's active runs: metrics logged without
``model_id=`` are linked to it, as MLflow 3 does.
"""

from __future__ import annotations

import contextvars
import os
import shutil
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.entities import FileInfo, LoggedModel, LoggedModelStatus
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking import validation

if TYPE_CHECKING:
    from nbtrack.tracking.client import Client, PagedList

__all__ = [
    "ActiveModel",
    "LoggedModelClientMixin",
    "clear_active_model",
    "create_external_model",
    "delete_logged_model_tag",
    "finalize_logged_model",
    "get_active_model_id",
    "get_logged_model",
    "initialize_logged_model",
    "last_logged_model",
    "log_model_params",
    "logged_model_id",
    "resolve_logged_model_uri",
    "search_logged_models",
    "set_active_model",
    "set_logged_model_tags",
]

_active_model: contextvars.ContextVar[str | None] = contextvars.ContextVar("nbtrack_active_model", default=None)
_last_model: contextvars.ContextVar[str | None] = contextvars.ContextVar("nbtrack_last_model", default=None)


def _items(values: Mapping[str, Any] | None, what: str) -> list[tuple[str, str]]:
    checked = validation.mapping(values, what)
    return [(validation.key(k, f"{what} key"), validation.tag_value(v, what)) for k, v in checked.items()]


def _model_id(value: Any) -> str:
    return validation.text(value, "model_id", empty=False)


class LoggedModelClientMixin:
    """``Client`` methods for logged models (the embedded store keeps them in its archive)."""

    _store: Any

    def _logged(self) -> Any:
        found = getattr(self._store, "logged_models", None)
        if found is None:
            raise NbtrackError(
                "Logged models (MLflow 3) are kept by the embedded store only; this tracking URI "
                f"({getattr(self, 'tracking_uri', '?')}) is a server. Log the model to a local store, or "
                "use its runs:/ URI.", error_code="NOT_IMPLEMENTED")
        return found

    def create_logged_model(self, experiment_id: str, name: str | None = None, source_run_id: str | None = None,
                            tags: dict[str, Any] | None = None, params: dict[str, Any] | None = None,
                            model_type: str | None = None) -> LoggedModel:
        """Create a logged model in status PENDING (finalize it when its files are in)."""
        from nbtrack.tracking import names

        model = self._logged().create(
            validation.experiment_id(experiment_id), validation.text(name or names.random_name(), "name"),
            validation.optional_text(model_type, "model_type"),
            None if source_run_id is None else validation.run_id(source_run_id),
            _items(params, "params"), _items(tags, "tags"))
        _last_model.set(model.model_id)
        return model

    def get_logged_model(self, model_id: str) -> LoggedModel:
        return self._logged().get(_model_id(model_id))

    def finalize_logged_model(self, model_id: str, status: Any) -> LoggedModel:
        name = getattr(status, "name", status)
        if name not in (LoggedModelStatus.READY, LoggedModelStatus.FAILED):
            raise InvalidParameter(f"Invalid status {status!r} for finalize_logged_model: use 'READY' or 'FAILED'.")
        return self._logged().finalize(_model_id(model_id), name)

    def set_logged_model_tags(self, model_id: str, tags: dict[str, Any]) -> None:
        self._logged().set_tags(_model_id(model_id), _items(tags, "tags"))

    def delete_logged_model_tag(self, model_id: str, key: str) -> None:
        self._logged().delete_tag(_model_id(model_id), validation.text(key, "tag key"))

    def log_model_params(self, model_id: str, params: dict[str, Any]) -> None:
        self._logged().log_params(_model_id(model_id), _items(params, "params"))

    def delete_logged_model(self, model_id: str) -> None:
        self._logged().delete(_model_id(model_id))

    def search_logged_models(self, experiment_ids: list[str], filter_string: str | None = None,
                             datasets: list[dict[str, Any]] | None = None, max_results: int | None = None,
                             order_by: list[dict[str, Any]] | None = None,
                             page_token: str | None = None) -> PagedList[LoggedModel]:
        """Logged models of ``experiment_ids`` matching MLflow 3's filter grammar, newest first by default.

        Examples
        --------
        >>> client.search_logged_models([exp_id], "metrics.acc > 0.9 AND params.alpha = '0.5'",
        ...                             order_by=[{"field_name": "metrics.acc", "ascending": False}])
        """
        from nbtrack.tracking.client import PagedList

        ids = validation.experiment_ids(experiment_ids)
        limit = validation.max_results(max_results, None, allow_none=True)
        offset = validation.page_token(page_token)
        found = self._logged().search(ids, validation.filter_string(filter_string), datasets, order_by,
                                      None if limit is None else limit + 1, offset)
        if limit is not None and len(found) > limit:
            return PagedList(found[:limit], validation.encode_page_token(offset + limit))
        return PagedList(found, None)

    def _model_repo(self, model_id: str) -> Any:
        from nbtrack.store.artifacts import LocalArtifactRepository

        return LocalArtifactRepository(self.get_logged_model(model_id).artifact_location)

    def log_model_artifact(self, model_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Put one file among the logged model's files (under ``artifact_path``)."""
        self._model_repo(model_id).log_artifact(local_path, artifact_path)

    def log_model_artifacts(self, model_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        """Put the contents of ``local_dir`` among the logged model's files (under ``artifact_path``)."""
        self._model_repo(model_id).log_artifacts(local_dir, artifact_path)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        return self._model_repo(model_id).list_artifacts(path)

    def _log_linked_metric(self, run_id: str, key: str, value: float, ts: int, step: int | None,
                           link: dict[str, str | None], run_point: bool = True) -> None:
        if not hasattr(self._store, "log_model_metric"):
            self._logged()  # raises the server message
        self._store.log_model_metric(validation.run_id(run_id), validation.key(key, "metric key"),
                                     validation.metric_value(key, value), validation.timestamp(key, ts),
                                     validation.step(key, step), link, run_point)


# -- fluent -------------------------------------------------------------------------------
def _client() -> Client:
    from nbtrack.tracking import fluent

    return fluent._client()


def initialize_logged_model(name: str | None = None, source_run_id: str | None = None,
                            tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                            model_type: str | None = None, experiment_id: str | None = None) -> LoggedModel:
    """Create a PENDING logged model in the active experiment, from the active run by default."""
    from nbtrack.tracking import fluent

    if source_run_id is None and (run := fluent.active_run()) is not None:
        source_run_id = run.info.run_id
    exp = experiment_id or (fluent.get_run(source_run_id).info.experiment_id if source_run_id
                            else fluent._resolve_experiment_id())
    return _client().create_logged_model(exp, name, source_run_id, tags, params, model_type)


def create_external_model(name: str | None = None, source_run_id: str | None = None,
                          tags: dict[str, str] | None = None, params: dict[str, str] | None = None,
                          model_type: str | None = None, experiment_id: str | None = None) -> LoggedModel:
    """A READY logged model whose files live elsewhere (tagged ``mlflow.model.external``)."""
    model = initialize_logged_model(name, source_run_id, {**(tags or {}), "mlflow.model.external": "true"},
                                    params, model_type, experiment_id)
    return finalize_logged_model(model.model_id, LoggedModelStatus.READY)


def finalize_logged_model(model_id: str, status: Any) -> LoggedModel:
    return _client().finalize_logged_model(model_id, status)


def get_logged_model(model_id: str) -> LoggedModel:
    return _client().get_logged_model(model_id)


def last_logged_model() -> LoggedModel | None:
    """The model this thread logged (or initialized) last, or None."""
    model_id = _last_model.get()
    return None if model_id is None else get_logged_model(model_id)


def set_logged_model_tags(model_id: str, tags: dict[str, Any]) -> None:
    _client().set_logged_model_tags(model_id, tags)


def delete_logged_model_tag(model_id: str, key: str) -> None:
    _client().delete_logged_model_tag(model_id, key)


def log_model_params(params: dict[str, str], model_id: str | None = None) -> None:
    model_id = model_id or get_active_model_id()
    if model_id is None:
        raise InvalidParameter("log_model_params needs a model: pass model_id= or call set_active_model() first.")
    _client().log_model_params(model_id, params)


def search_logged_models(experiment_ids: list[str] | None = None, filter_string: str | None = None,
                         datasets: list[dict[str, str]] | None = None, max_results: int | None = None,
                         order_by: list[dict[str, Any]] | None = None, output_format: str = "pandas") -> Any:
    """Every matching logged model (all pages), as a pandas DataFrame or (``output_format="list"``) a list."""
    from nbtrack.tracking import fluent

    if output_format not in ("pandas", "list"):
        raise InvalidParameter(f"Unsupported output_format {output_format!r}: use 'pandas' or 'list'.")
    ids = list(experiment_ids) if experiment_ids else [fluent._resolve_experiment_id()]
    found: list[LoggedModel] = []
    token = None
    while True:
        page = _client().search_logged_models(ids, filter_string, datasets,
                                              None if max_results is None else max_results - len(found),
                                              order_by, token)
        found.extend(page)
        token = page.token
        if not token or (max_results is not None and len(found) >= max_results):
            break
    return found if output_format == "list" else _frame(found)


def _frame(models: Sequence[LoggedModel]) -> Any:
    import pandas as pd

    columns = ["artifact_location", "creation_timestamp", "experiment_id", "last_updated_timestamp", "metrics",
               "model_id", "model_type", "name", "params", "source_run_id", "status", "status_message", "tags"]
    return pd.DataFrame([{c: getattr(m, c) for c in columns} for m in models], columns=columns)


class ActiveModel:
    """What ``set_active_model`` returns; as a context manager it restores the previous active model."""

    def __init__(self, logged_model: LoggedModel, previous: contextvars.Token[str | None]) -> None:
        self.model_id = logged_model.model_id
        self.name = logged_model.name
        self._token = previous

    def __enter__(self) -> ActiveModel:
        return self

    def __exit__(self, *exc: object) -> None:
        _active_model.reset(self._token)

    def __repr__(self) -> str:
        return f"ActiveModel(model_id={self.model_id!r}, name={self.name!r})"


def set_active_model(*, name: str | None = None, model_id: str | None = None) -> ActiveModel:
    """Make a logged model the active one: by id, or by name (the newest of that name in the
    active experiment, created when there is none). Metrics logged afterwards are linked to it."""
    if name is None and model_id is None:
        raise InvalidParameter("set_active_model needs name= or model_id=.")
    if model_id is not None:
        model = get_logged_model(model_id)
        if name is not None and model.name != name:
            raise InvalidParameter(f"Logged model {model_id} is named {model.name!r}, not {name!r}.")
    else:
        found = search_logged_models(filter_string=f"name = '{validation.text(name, 'name')}'",
                                     max_results=1, output_format="list")
        model = found[0] if found else initialize_logged_model(name=name)
    return ActiveModel(model, _active_model.set(model.model_id))


def get_active_model_id() -> str | None:
    return _active_model.get()


def clear_active_model() -> None:
    _active_model.set(None)


def remember_logged(model_id: str) -> None:
    """Record ``model_id`` as this thread's last logged model (``log_model`` calls this)."""
    _last_model.set(model_id)


def logged_model_id(uri: str) -> str | None:
    """The model id of a ``models:/<model_id>`` URI (MLflow 3), or None for a registry URI."""
    if not uri.lower().startswith("models:/"):
        return None
    rest = uri[len("models:/"):].strip("/")
    return rest if rest.startswith("m-") and "/" not in rest and "@" not in rest else None


def resolve_logged_model_uri(uri: str, dst_path: str | None = None) -> str:
    """The local folder of the logged model ``models:/<model_id>`` names (copied to ``dst_path``)."""
    from nbtrack.store.artifacts import LocalArtifactRepository

    model_id = logged_model_id(uri)
    assert model_id is not None
    location = get_logged_model(model_id).artifact_location
    local = LocalArtifactRepository(location).download_artifacts(None)
    if not os.path.exists(os.path.join(local, "MLmodel")):
        raise NbtrackError(f"Logged model {model_id} has no files yet (no MLmodel in {location}); log the model "
                           "with log_model(..., model_id=...) or finalize one that has files.", error_code="NOT_FOUND")
    if dst_path is None:
        return local
    dst_path = os.path.abspath(dst_path)
    shutil.copytree(local, dst_path, dirs_exist_ok=True)
    return dst_path
