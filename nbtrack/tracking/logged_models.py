"""MLflow 3 logged models: the client methods (``LoggedModelClientMixin``) and the active model.

A logged model (``m-<hex>``) has its own files, params, tags and metrics; ``log_model`` creates
one per call, ``models:/<model_id>`` loads it. The active model (``set_active_model``) is kept
in a ContextVar here, beside the fluent module's active runs: metrics logged without
``model_id=`` are linked to it, as MLflow 3 does. The module-level functions
(``initialize_logged_model``, ``search_logged_models``, ``set_active_model``, ...) are in
:mod:`nbtrack.tracking.fluent_models`.
"""

from __future__ import annotations

import contextvars
import os
import shutil
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from nbtrack.entities import FileInfo, LoggedModel, LoggedModelStatus
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking import validation
from nbtrack.tracking.paging import PagedList

if TYPE_CHECKING:
    from nbtrack.tracking.client import Client

__all__ = [
    "ActiveModel", "LoggedModelClientMixin", "clear_active_model", "get_active_model_id", "last_logged_model_id",
    "logged_model_id", "model_repository", "remember_logged", "resolve_logged_model_uri",
]

#: the thread's active model id; unset means "the environment's" (MLFLOW_ACTIVE_MODEL_ID), None means none
_UNSET = "\0unset"
_active_model: contextvars.ContextVar[str | None] = contextvars.ContextVar("nbtrack_active_model", default=_UNSET)
_ENV_VARIABLES = ("MLFLOW_ACTIVE_MODEL_ID", "_MLFLOW_ACTIVE_MODEL_ID")
_last_model: contextvars.ContextVar[str | None] = contextvars.ContextVar("nbtrack_last_model", default=None)


def _items(values: Mapping[str, Any] | None, what: str) -> list[tuple[str, str]]:
    checked = validation.mapping(values, what)
    return [(validation.key(k, f"{what} key"), validation.tag_value(v, what)) for k, v in checked.items()]


def model_repository(store: Any, location: str) -> Any:
    """The repository of a logged model's files: a local folder, or a server's artifact proxy."""
    from nbtrack.store.artifacts import LocalArtifactRepository

    remote = getattr(store, "artifact_repository", None)
    return remote(location) if remote is not None else LocalArtifactRepository(location)


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
        ids = validation.experiment_ids(experiment_ids)
        limit = validation.max_results(max_results, None, allow_none=True)
        offset = validation.page_token(page_token)
        found = self._logged().search(ids, validation.filter_string(filter_string), datasets, order_by,
                                      None if limit is None else limit + 1, offset)
        if limit is not None and len(found) > limit:
            return PagedList(found[:limit], validation.encode_page_token(offset + limit))
        return PagedList(found, None)

    def _model_repo(self, model_id: str) -> Any:
        return model_repository(self._store, self.get_logged_model(model_id).artifact_location)

    def log_model_artifact(self, model_id: str, local_path: str, artifact_path: str | None = None) -> None:
        """Put one file among the logged model's files (under ``artifact_path``)."""
        self._model_repo(model_id).log_artifact(local_path, artifact_path)

    def log_model_artifacts(self, model_id: str, local_dir: str, artifact_path: str | None = None) -> None:
        """Put the contents of ``local_dir`` among the logged model's files (under ``artifact_path``)."""
        self._model_repo(model_id).log_artifacts(local_dir, artifact_path)

    def list_logged_model_artifacts(self, model_id: str, path: str | None = None) -> list[FileInfo]:
        return self._model_repo(model_id).list_artifacts(path)

    def log_linked_metric(self, run_id: str, key: str, value: float, ts: int, step: int | None,
                          link: dict[str, str | None], run_point: bool = True) -> None:
        """A run metric point linked to a logged model (``link``: model_id, dataset_name,
        dataset_digest), as MLflow 3's ``log_metric(..., model_id=...)``; ``run_point=False`` links a
        point the run already has, without a second copy in its history."""
        if not hasattr(self._store, "log_model_metric"):
            self._logged()  # raises the server message
        self._store.log_model_metric(validation.run_id(run_id), validation.key(key, "metric key"),
                                     validation.metric_value(key, value), validation.timestamp(key, ts),
                                     validation.step(key, step), link, run_point)


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


def get_active_model_id() -> str | None:
    """The active model's id: this thread's ``set_active_model``, else ``MLFLOW_ACTIVE_MODEL_ID``
    (else MLflow's older ``_MLFLOW_ACTIVE_MODEL_ID``), else None."""
    from nbtrack import config

    model_id = _active_model.get()
    if model_id != _UNSET:
        return model_id
    return next((v for v in (config.env(n) for n in _ENV_VARIABLES) if v is not None), None)


def clear_active_model() -> None:
    """No active model from now on; as MLflow, this also unsets ``MLFLOW_ACTIVE_MODEL_ID``."""
    for name in _ENV_VARIABLES:
        os.environ.pop(name, None)
    _active_model.set(None)


def last_logged_model_id() -> str | None:
    """The id of the model this thread logged (or initialized) last, or None."""
    return _last_model.get()


def remember_logged(model_id: str) -> None:
    """Record ``model_id`` as this thread's last logged model (``log_model`` calls this)."""
    _last_model.set(model_id)


def logged_model_id(uri: str) -> str | None:
    """The model id of a ``models:/<model_id>`` URI (MLflow 3), or None for a registry URI."""
    if not uri.lower().startswith("models:/"):
        return None
    rest = uri[len("models:/"):].strip("/")
    return rest if rest.startswith("m-") and "/" not in rest and "@" not in rest else None


def resolve_logged_model_uri(uri: str, dst_path: str | None = None, *, client: Client) -> str:
    """The local folder of the logged model ``models:/<model_id>`` names (copied to ``dst_path``),
    read through ``client``."""
    model_id = logged_model_id(uri)
    assert model_id is not None
    location = client.get_logged_model(model_id).artifact_location
    local = model_repository(client._store, location).download_artifacts(None)
    if not os.path.exists(os.path.join(local, "MLmodel")):
        raise NbtrackError(f"Logged model {model_id} has no files yet (no MLmodel in {location}); log the model "
                           "with log_model(..., model_id=...) or finalize one that has files.", error_code="NOT_FOUND")
    if dst_path is None:
        return local
    dst_path = os.path.abspath(dst_path)
    shutil.copytree(local, dst_path, dirs_exist_ok=True)
    return dst_path
