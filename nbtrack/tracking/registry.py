"""The model registry half of :class:`nbtrack.Client` (``RegistryClientMixin``) and the
``models:/`` URI grammar.

Names, arguments, defaults and errors follow MLflow's ``MlflowClient``. Beyond MLflow, every
stage change and alias move is recorded, so :meth:`RegistryClientMixin.get_model_version_at`
answers "which version was in Production on 1 June?" in one call. The module-level API
(``register_model``, ``search_registered_models``, ...) and the ``models:/`` resolver that
``download_artifacts`` and ``nbtrack.models`` use are in :mod:`nbtrack.tracking.fluent_registry`.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sys
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

from nbtrack.entities import (
    ModelVersion,
    ModelVersionStage,
    RegisteredModel,
    RegistryEvent,
    RegistrySnapshot,
)
from nbtrack.errors import (
    InvalidParameter,
    InvalidStage,
    NbtrackError,
    NotFound,
    ResourceExists,
)
from nbtrack.tracking import context, validation
from nbtrack.tracking.artifact_files import parse_runs_uri
from nbtrack.tracking.logged_models import logged_model_id, resolve_logged_model_uri
from nbtrack.tracking.paging import PagedList, page_of

__all__ = ["RegistryClientMixin", "parse_models_uri", "resolve_models_uri"]

SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT = 100
SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD = 1000
SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT = 10000
SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD = 200000
_LOCAL_SCHEMES = ("", "file", "runs", "models")
#: the logged model's tag listing its registered versions (MLflow 3's ``mlflow.modelVersions``)
MODEL_VERSIONS_TAG = "mlflow.modelVersions"


# -- validation (shared with every entry point: nbtrack.tracking.validation) ----------------
_name = validation.registered_model_name
_version = validation.model_version
_alias = validation.model_alias


def _stage(stage: Any) -> str:
    if isinstance(stage, str) and stage.strip() == "":
        raise InvalidStage("The stage must not be an empty string.", stage)
    canonical = ModelVersionStage.canonical(stage)
    if canonical is None:
        raise InvalidStage(f"Invalid Model Version stage: {stage}. Value must be one of "
                           f"{', '.join(ModelVersionStage.ALL)}.", stage)
    return canonical


def _tags(tags: dict[str, Any] | None, what: str) -> list[tuple[str, str]]:
    return [validation.registry_tag(key, value, what) for key, value in validation.mapping(tags, "tags").items()]


def _description(description: Any) -> str | None:
    return validation.optional_text(description, "description")


def _millis(at: Any) -> int:
    """Milliseconds since the epoch for ``at``: ms, datetime, date (its end), or ISO text."""
    if isinstance(at, str):
        text = at.strip()
        try:
            at = dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
        except ValueError:
            raise InvalidParameter(f"Cannot read the time {text!r}: use ISO 8601 such as '2025-06-01' or "
                                   "'2025-06-01T12:00', a datetime, or milliseconds since the epoch.") from None
    if isinstance(at, dt.datetime):  # naive datetimes are local time, as datetime.timestamp() reads them
        return int(at.timestamp() * 1000)
    if isinstance(at, dt.date):  # a day means the state it closed with
        return int(dt.datetime.combine(at + dt.timedelta(days=1), dt.time()).timestamp() * 1000) - 1
    if isinstance(at, int | float) and not isinstance(at, bool):
        return validation.time_ms(at, "at")  # type: ignore[return-value]
    raise InvalidParameter(f"Cannot read the time {at!r}: pass milliseconds since the epoch, a datetime, "
                           "a date or an ISO 8601 string.")


# -- the Client methods -----------------------------------------------------------------------
class RegistryClientMixin:
    """Registry methods of :class:`nbtrack.Client` (MLflow's names and semantics)."""

    _store: Any
    tracking_uri: str
    _registry_uri: str | None

    @property
    def _registry_store(self) -> Any:
        uri = self._registry_uri
        if uri is None or uri == self.tracking_uri:
            return self._store
        opened = self.__dict__.get("_opened_registry")
        if opened is None or getattr(opened, "_closed", False):
            from nbtrack.store import open_store

            opened = self.__dict__["_opened_registry"] = open_store(uri)
        return opened

    @property
    def _registry(self) -> Any:
        store = self._registry_store
        registry = getattr(store, "registry", None)
        if registry is None:
            raise NbtrackError(f"The store {store!r} has no model registry.", error_code="NOT_IMPLEMENTED")
        return registry

    @property
    def registry_uri(self) -> str:
        """Where this client's registered models are (the tracking URI unless set apart)."""
        return self._registry_uri or self.tracking_uri

    # -- registered models ------------------------------------------------------------------
    def create_registered_model(self, name: str, tags: dict[str, Any] | None = None,
                                description: str | None = None, deployment_job_id: str | None = None) -> RegisteredModel:
        """Create an empty registered model; raises ResourceExists if ``name`` is taken."""
        _refuse_deployment_job(deployment_job_id)
        return self._registry.create_registered_model(_name(name), _tags(tags, "Registered model"),
                                                      _description(description))

    def get_registered_model(self, name: str) -> RegisteredModel:
        """The model with its tags, aliases and newest version per stage; NotFound if missing."""
        return self._registry.get_registered_model(_name(name))

    def rename_registered_model(self, name: str, new_name: str) -> RegisteredModel:
        """Rename a model; its versions, aliases and history move with it."""
        return self._registry.rename_registered_model(_name(name), _name(new_name), context.user())

    def update_registered_model(self, name: str, description: str | None = None,
                                deployment_job_id: str | None = None) -> RegisteredModel:
        """Set the model's description."""
        _refuse_deployment_job(deployment_job_id)
        return self._registry.update_registered_model(_name(name), _description(description))

    def delete_registered_model(self, name: str) -> None:
        """Delete a model with all its versions, their copied files and its history."""
        self._registry.delete_registered_model(_name(name))

    def search_registered_models(self, filter_string: str | None = None,
                                 max_results: int = SEARCH_REGISTERED_MODEL_MAX_RESULTS_DEFAULT,
                                 order_by: list[str] | None = None,
                                 page_token: str | None = None) -> PagedList[RegisteredModel]:
        """Search by ``name`` (``= != LIKE ILIKE IN NOT IN``) and ``tags.<key>`` (``= != LIKE ILIKE``).

        ``order_by`` takes ``name``, ``creation_timestamp``, ``last_updated_timestamp``
        (``ASC``/``DESC``); ties go by name. ``OR``, ``NOT`` and parentheses are accepted too.
        """
        limit = validation.max_results(max_results, SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD)
        filter_string, order_by = validation.filter_string(filter_string), validation.order_by(order_by)
        return _page(lambda offset: self._registry.search_registered_models(
            filter_string, limit + 1, order_by, offset), limit, page_token)

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        """The newest version in each stage of ``stages`` (every stage when None or empty)."""
        canonical = [_stage(s) for s in stages or []]
        return self._registry.get_latest_versions(_name(name), canonical)

    def set_registered_model_tag(self, name: str, key: str, value: Any) -> None:
        """Set a tag on the model (the value is stored as a string)."""
        self._registry.set_registered_model_tag(_name(name), *validation.registry_tag(key, value, "Registered model"))

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag from the model (no error if it is not set, as in MLflow)."""
        self._registry.delete_registered_model_tag(_name(name), validation.key(key, "tag key"))

    # -- model versions ---------------------------------------------------------------------
    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: dict[str, Any] | None = None, run_link: str | None = None,
                             description: str | None = None, await_creation_for: int = 300,
                             model_id: str | None = None) -> ModelVersion:
        """Create the next version of ``name`` from ``source`` (a model URI or path).

        When ``source`` resolves to a local model (a path, ``file:``, ``runs:/`` or ``models:/``
        URI), the model is copied into the store, so the version outlives its run. Any other
        source (``s3://...``) is recorded as given. Versions are READY at once, so
        ``await_creation_for`` is accepted and ignored.
        """
        if not isinstance(source, str) or not source:
            raise InvalidParameter(f"Invalid model version source {source!r}: pass a model URI or path.")
        validation.utf8(source, "Model version source")
        name, checked = _name(name), _tags(tags, "Model version")
        run_id = None if run_id is None else validation.run_id(run_id)
        run_link, description = validation.optional_text(run_link, "run_link"), _description(description)
        if model_id is not None:  # MLflow 3: the version of a logged model (its run unless one is given)
            run_id = run_id or self.get_logged_model(validation.text(model_id, "model_id")).source_run_id  # type: ignore[attr-defined]
        local, source_run = self._model_files(source, strict=False)
        return self._create_version(name, source, run_id or source_run, checked, run_link, description, local,
                                    model_id)

    def _create_version(self, name: str, source: str, run_id: str | None, tags: list[tuple[str, str]],
                        run_link: str | None, description: str | None, local: str | None,
                        model_id: str | None) -> ModelVersion:
        return self._registry.create_model_version(name, source, run_id, tags, run_link, description, context.user(),
                                                   local, logged_model_id=model_id)

    def copy_model_version(self, src_model_uri: str, dst_name: str) -> ModelVersion:
        """Copy the version ``src_model_uri`` names (``models:/name/3``, ``models:/name@champion``,
        ``models:/name/Production``) to a new version of ``dst_name``, created if missing.

        The copy keeps the source's run id, run link, description and tags, and its source is
        ``models:/<name>/<version>`` of the original, as in MLflow. The model files are copied
        too, so the copy keeps working when the original version is deleted.

        Examples
        --------
        >>> client.copy_model_version("models:/iris@champion", "iris-prod").source
        'models:/iris/3'
        """
        src = self._resolve_model_version(src_model_uri)
        dst_name = _name(dst_name)
        try:
            self.create_registered_model(dst_name)
            print(f"Successfully registered model '{dst_name}'.", file=sys.stderr)
        except ResourceExists:
            print(f"Registered model '{dst_name}' already exists. Creating a new version of this model...",
                  file=sys.stderr)
        source = f"models:/{src.name}/{src.version}"
        local = None if getattr(self._registry, "by_reference", False) else resolve_models_uri(source, client=self)
        copy = self._registry.create_model_version(dst_name, source, src.run_id, list(src.tags.items()),
                                                   src.run_link, src.description, context.user(), local)
        print(f"Copied version '{src.version}' of model '{src.name}' to version '{copy.version}' of model "
              f"'{copy.name}'.", file=sys.stderr)
        return copy

    def get_model_version(self, name: str, version: int | str) -> ModelVersion:
        """One version; NotFound if the model or the version does not exist."""
        return self._registry.get_model_version(_name(name), _version(version))

    def update_model_version(self, name: str, version: int | str, description: str | None = None) -> ModelVersion:
        """Set a version's description."""
        return self._registry.update_model_version(_name(name), _version(version), _description(description))

    def transition_model_version_stage(self, name: str, version: int | str, stage: str,
                                       archive_existing_versions: bool = False) -> ModelVersion:
        """Move a version to None, Staging, Production or Archived (any case).

        With ``archive_existing_versions=True`` (Staging or Production only) every other version
        in that stage becomes Archived in the same transaction.
        """
        canonical = _stage(stage)
        if archive_existing_versions and canonical not in ModelVersionStage.ACTIVE:
            raise InvalidStage(
                f"Model version transition cannot archive existing model versions because '{stage}' is not "
                f"an Active stage. Valid stages are {list(ModelVersionStage.ACTIVE)}", stage)
        return self._registry.transition_model_version_stage(
            _name(name), _version(version), canonical, bool(archive_existing_versions), context.user())

    def delete_model_version(self, name: str, version: int | str) -> None:
        """Delete a version (its number is never issued again) and the aliases pointing at it."""
        self._registry.delete_model_version(_name(name), _version(version), context.user())

    def get_model_version_download_uri(self, name: str, version: int | str) -> str:
        """Where the version's files are: its copy in the store, or the source it was registered by."""
        return self._registry.get_model_version_download_uri(_name(name), _version(version))

    def get_model_version_stages(self, name: str, version: int | str) -> list[str]:
        """The stages a version can move to: None, Staging, Production, Archived."""
        return list(ModelVersionStage.ALL)

    def search_model_versions(self, filter_string: str | None = None,
                              max_results: int = SEARCH_MODEL_VERSION_MAX_RESULTS_DEFAULT,
                              order_by: list[str] | None = None,
                              page_token: str | None = None) -> PagedList[ModelVersion]:
        """Search by ``name``, ``run_id``, ``source_path``, ``version_number`` and ``tags.<key>``.

        ``order_by`` takes ``name``, ``version_number``, ``creation_timestamp``,
        ``last_updated_timestamp``; by default newest update first.
        """
        limit = validation.max_results(max_results, SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD)
        filter_string, order_by = validation.filter_string(filter_string), validation.order_by(order_by)
        return _page(lambda offset: self._registry.search_model_versions(
            filter_string, limit + 1, order_by, offset), limit, page_token)

    def _version_or_stage(self, name: str, version: Any, stage: str | None) -> int:
        if version is not None and stage is not None:
            raise InvalidParameter("version and stage cannot be set together")
        if version is None and stage is None:
            raise InvalidParameter("version or stage must be set")
        if version is not None:
            return _version(version)
        latest = self.get_latest_versions(name, [stage])  # type: ignore[list-item]
        if not latest:
            raise NotFound(f"No versions of model with name '{name}' and stage '{stage}' found")
        return latest[0].version

    def set_model_version_tag(self, name: str, version: int | str | None = None, key: str | None = None,
                              value: Any = None, stage: str | None = None) -> None:
        """Tag a version, named by ``version`` or (the newest one in) ``stage``."""
        number = self._version_or_stage(_name(name), version, stage)
        self._registry.set_model_version_tag(name, number, *validation.registry_tag(key, value, "Model version"))

    def delete_model_version_tag(self, name: str, version: int | str | None = None, key: str | None = None,
                                 stage: str | None = None) -> None:
        """Remove a tag from a version, named by ``version`` or (the newest one in) ``stage``."""
        number = self._version_or_stage(_name(name), version, stage)
        self._registry.delete_model_version_tag(name, number, validation.key(key, "tag key"))

    # -- aliases ----------------------------------------------------------------------------
    def set_registered_model_alias(self, name: str, alias: str, version: int | str) -> None:
        """Point ``alias`` at ``version`` (moving it if another version held it)."""
        self._registry.set_registered_model_alias(_name(name), _alias(alias), _version(version), context.user())

    def delete_registered_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias (no error if it is not set, as in MLflow)."""
        self._registry.delete_registered_model_alias(_name(name), _alias(alias), context.user())

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at; AliasNotFound if no version holds it."""
        return self._registry.get_model_version_by_alias(_name(name), _alias(alias))

    # -- history (nbtrack) ------------------------------------------------------------------
    def get_model_version_history(self, name: str, version: int | str | None = None, *,
                                  until: Any = None) -> list[RegistryEvent]:
        """Every recorded change of a model, oldest first: versions created and deleted, stage
        transitions and alias moves, with who made them and when.

        Parameters
        ----------
        name:
            The registered model.
        version:
            Only the changes of this version (alias moves onto or off it included).
        until:
            Only changes at or before this time (ms since the epoch, ``datetime``, ``date`` or
            ISO 8601 text).

        Examples
        --------
        >>> [(e.kind, e.version, e.from_value, e.to_value) for e in client.get_model_version_history("iris")]
        [('created', 1, None, 'None'), ('stage', 1, 'None', 'Production')]
        """
        number = None if version is None else _version(version)
        until_ms = None if until is None else _millis(until)
        events = self._registry.get_history(_name(name), None, until_ms)
        if number is None:
            return events
        text = str(number)
        return [e for e in events if e.version == number or (e.kind == "alias" and text in (e.from_value, e.to_value))]

    def get_registry_snapshot(self, name: str, at: Any) -> RegistrySnapshot:
        """The model's versions, their stages and its aliases as they were at time ``at``.

        ``at`` is ms since the epoch, a ``datetime`` (naive means local time), a ``date`` (its
        last millisecond: the state the day closed with) or ISO 8601 text.
        """
        timestamp = _millis(at)
        stages: dict[int, str] = {}
        aliases: dict[str, int] = {}
        for event in self._registry.get_history(_name(name), None, timestamp):
            if event.kind in ("created", "stage"):
                stages[event.version] = event.to_value
            elif event.kind == "deleted":
                stages.pop(event.version, None)
            elif event.kind == "alias" and event.alias is not None:
                if event.to_value is None:
                    aliases.pop(event.alias, None)
                else:
                    aliases[event.alias] = int(event.to_value)
        return RegistrySnapshot(name, timestamp, stages, aliases)

    def get_model_version_at(self, name: str, at: Any, *, stage: str | None = None,
                             alias: str | None = None) -> int | None:
        """Which version was in ``stage`` (the highest one, as ``models:/name/<stage>``) or held
        ``alias`` at time ``at``; None if none did.

        Examples
        --------
        >>> client.get_model_version_at("iris", "2025-06-01", stage="Production")
        3
        """
        if (stage is None) == (alias is None):
            raise InvalidParameter("Pass exactly one of stage= or alias=.")
        snapshot = self.get_registry_snapshot(name, at)
        if stage is not None:
            return snapshot.version_in(_stage(stage))
        return snapshot.aliases.get(_alias(alias))

    # -- models:/ URIs ----------------------------------------------------------------------
    def _resolve_model_version(self, uri: str) -> ModelVersion:
        name, version, stage, alias = parse_models_uri(uri)
        if version is not None:
            return self.get_model_version(name, version)
        if alias is not None:
            return self.get_model_version_by_alias(name, alias)
        canonical = None if stage is None else _stage(stage)
        found = self._registry.latest_version(_name(name), canonical)
        if found is None:
            raise NotFound(f"No versions of model with name '{name}' and stage '{canonical or 'any'}' found "
                           f"(resolving {uri}).")
        return found

    def _register(self, model_uri: str, name: str, tags: dict[str, Any] | None) -> ModelVersion:
        name, checked = _name(name), _tags(tags, "Model version")
        if not isinstance(model_uri, str) or not model_uri:
            raise InvalidParameter(f"Invalid model URI {model_uri!r}: pass e.g. 'runs:/<run_id>/model'.")
        model_uri, model_id = self._logged_model_source(model_uri)
        local, run_id = self._model_files(model_uri, strict=True)  # before creating anything
        if model_id is not None:
            run_id = run_id or self.get_logged_model(model_id).source_run_id  # type: ignore[attr-defined]
        try:
            self.create_registered_model(name)
            print(f"Successfully registered model '{name}'.", file=sys.stderr)
        except ResourceExists:
            print(f"Registered model '{name}' already exists. Creating a new version of this model...",
                  file=sys.stderr)
        version = self._create_version(name, model_uri, run_id, checked, None, None, local, model_id)
        print(f"Created version '{version.version}' of model '{name}'.", file=sys.stderr)
        if model_id is not None:  # as MLflow 3, the logged model lists its versions
            known = self.get_logged_model(model_id).tags.get(MODEL_VERSIONS_TAG)  # type: ignore[attr-defined]
            listed = [*json.loads(known or "[]"), {"name": version.name, "version": version.version}]
            self.set_logged_model_tags(model_id, {MODEL_VERSIONS_TAG: json.dumps(listed)})  # type: ignore[attr-defined]
        return version

    def _logged_model_source(self, model_uri: str) -> tuple[str, str | None]:
        """MLflow 3's reading of a model URI to register: ``models:/<model_id>`` is that logged model, and
        ``runs:/<run_id>/<name>`` the logged model ``name`` of that run, registered as ``models:/<model_id>``
        (MLflow 3 keeps no copy in the run). Other URIs are registered as they are, with no logged model."""
        if (found := logged_model_id(model_uri)) is not None:
            return model_uri, found
        logged = getattr(self._store, "logged_models", None)
        if logged is None or urlparse(model_uri).scheme.lower() != "runs":
            return model_uri, None
        run_id, path = parse_runs_uri(model_uri)
        model = logged.by_run(run_id, path) if path else None
        return (model_uri, None) if model is None else (model.model_uri, model.model_id)


    def _model_files(self, source: str, strict: bool) -> tuple[str | None, str | None]:
        """(local copy of the model to store, run id); a registry on a server registers by reference,
        so nothing is downloaded: a ``runs:/`` source is only checked to exist."""
        if not getattr(self._registry, "by_reference", False):
            return self._local_model(source, strict)
        if urlparse(source).scheme.lower() != "runs":
            return None, None
        run_id, path = parse_runs_uri(source)
        if strict and not self.list_artifacts(run_id, path):  # type: ignore[attr-defined]
            raise NotFound(f"Cannot register '{source}': the run has no model (no artifacts) at '{path}'.")
        return None, run_id

    def _local_model(self, source: str, strict: bool) -> tuple[str | None, str | None]:
        """(local path of the model ``source`` names or None, run id of a ``runs:/`` source)."""
        scheme = urlparse(source).scheme.lower()
        run_id = parse_runs_uri(source)[0] if scheme == "runs" else None
        if scheme not in _LOCAL_SCHEMES and not (len(scheme) == 1 and os.name == "nt"):
            if strict:
                raise InvalidParameter(f"Cannot register '{source}': only local paths and file:, runs:/ and "
                                       "models:/ URIs can be registered by nbtrack.register_model.")
            return None, run_id
        try:
            return os.fspath(self._download_uri(source)), run_id  # type: ignore[attr-defined]
        except NotFound as e:
            if strict:
                raise NotFound(f"Cannot register '{source}': {e.message}") from None
            return None, run_id


def _refuse_deployment_job(deployment_job_id: str | None) -> None:
    if deployment_job_id is not None:
        raise InvalidParameter("deployment_job_id names a Databricks deployment job, which nbtrack does not have; "
                               "leave it out.")


def _page(fetch: Any, limit: int, page_token: str | None) -> PagedList[Any]:
    return page_of(fetch, limit, page_token)


def parse_models_uri(uri: str) -> tuple[str, int | None, str | None, str | None]:
    """``models:/name/3`` -> (name, 3, None, None); ``/Production`` -> stage; ``@a`` -> alias.

    ``models:/name/latest`` gives (name, None, None, None): the highest version.
    """
    parsed = urlparse(uri, allow_fragments=False)
    path = parsed.path
    parts = path.lstrip("/").split("/")
    if (parsed.scheme.lower() != "models" or parsed.netloc or not path.startswith("/") or len(parts) > 2
            or not parts[0].strip()):
        raise _improper(uri)
    if len(parts) == 2:
        name, suffix = parts
        if not suffix.strip() or "@" in name:
            raise _improper(uri)
        if suffix.isdigit():
            return name, int(suffix), None, None
        if suffix.lower() == "latest":
            return name, None, None, None
        return name, None, suffix, None
    if "@" in parts[0]:
        name, alias = parts[0].rsplit("@", 1)
        if not name or not alias:
            raise _improper(uri)
        return name, None, None, alias
    raise InvalidParameter(
        f"'{uri}' names a logged model id (MLflow 3's models:/m-...), which nbtrack does not have. Use "
        "models:/<name>/<version|stage|latest>, models:/<name>@<alias>, or the runs:/ URI log_model returned.")


def _improper(uri: str) -> InvalidParameter:
    return InvalidParameter(
        f"Not a proper models:/ URI: {uri}. Models URIs must be of the form 'models:/name/suffix' or "
        "'models:/name@alias' where suffix is a model version, stage, or the string 'latest' and where "
        "alias is a registered model alias. Only one of suffix or alias can be defined at a time.")


def resolve_models_uri(uri: str, dst_path: str | None = None, _depth: int = 0, *, client: Any) -> str:
    """The local directory of the model version a ``models:/`` URI names (copied to ``dst_path``),
    read through ``client`` (a :class:`~nbtrack.tracking.client.Client`)."""
    if logged_model_id(uri) is not None:  # MLflow 3's models:/<model_id>
        return resolve_logged_model_uri(uri, dst_path, client=client)
    mv = client._resolve_model_version(uri)
    location = client.get_model_version_download_uri(mv.name, mv.version)
    if location.startswith("models:"):  # a version registered by reference to another version
        if _depth >= 8:
            raise InvalidParameter(f"{uri} refers to models:/ URIs in a loop (last: {location}).")
        local = resolve_models_uri(location, None, _depth + 1, client=client)
    elif os.path.isabs(location) and os.path.exists(location):
        # The version's files in the store: refuse links that lead outside them, as for run artifacts.
        from nbtrack.store.artifacts import LocalArtifactRepository

        local = LocalArtifactRepository(location).download_artifacts(None) if os.path.isdir(location) else location
    else:
        local = client._download_uri(location)
    if dst_path is None:
        return local
    dst_path = os.path.abspath(dst_path)
    os.makedirs(dst_path, exist_ok=True)
    if os.path.isdir(local):
        shutil.copytree(local, dst_path, dirs_exist_ok=True)
        return dst_path
    return shutil.copy2(local, dst_path)

