"""The model registry over MLflow's REST API (``registered-models/*``, ``model-versions/*``).

Offers what :class:`~nbtrack.store.duckdb.registry.RegistryStore` offers to ``nbtrack.tracking.registry``.
Differences a server imposes: versions are registered by reference (a ``runs:/`` source becomes
the run's artifact URI, as MLflow's own client does), so the server's artifact store keeps the
files; the user recorded is the one the server authenticates; and the stage/alias history is
nbtrack's own, which MLflow's REST API does not have.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from nbtrack.entities import ModelVersion, RegisteredModel, RegistryEvent
from nbtrack.errors import AliasNotFound, InvalidParameter, NbtrackError, NotFound
from nbtrack.store.rest import entities as conv
from nbtrack.store.rest.store import VIEWS_API

if TYPE_CHECKING:
    from nbtrack.store.rest.store import RestStore

__all__ = ["RestRegistryStore"]

_RUNS_URI = re.compile(r"^runs:/+([^/]+)(?:/(.*))?$")
_MODELS_PAGE = 1000
_VERSIONS_PAGE = 10_000


class RestRegistryStore:
    """The registry of the tracking server behind ``store``."""

    by_reference = True  # versions point at the server's artifacts; the client copies nothing

    def __init__(self, store: RestStore) -> None:
        self.store = store
        self.http = store.http

    def __repr__(self) -> str:
        return f"RestRegistryStore({self.http.base!r})"

    def _call(self, method: str, endpoint: str, body: dict[str, Any]) -> dict[str, Any]:
        return self.http.call(method, endpoint, body)

    # == registered models =============================================================================
    def create_registered_model(self, name: str, tags: Sequence[tuple[str, str]] = (),
                                description: str | None = None) -> RegisteredModel:
        body: dict[str, Any] = {"name": name, "tags": _tags(tags)}
        if description is not None:
            body["description"] = description
        return conv.registered_model_of(self._call("POST", "registered-models/create", body)["registered_model"])

    def get_registered_model(self, name: str) -> RegisteredModel:
        return conv.registered_model_of(self._call("GET", "registered-models/get", {"name": name})["registered_model"])

    def rename_registered_model(self, name: str, new_name: str, user_id: str | None) -> RegisteredModel:
        answer = self._call("POST", "registered-models/rename", {"name": name, "new_name": new_name})
        return conv.registered_model_of(answer["registered_model"])

    def update_registered_model(self, name: str, description: str | None) -> RegisteredModel:
        answer = self._call("PATCH", "registered-models/update", {"name": name, "description": description or ""})
        return conv.registered_model_of(answer["registered_model"])

    def delete_registered_model(self, name: str) -> None:
        self._call("DELETE", "registered-models/delete", {"name": name})

    def _pages(self, endpoint: str, key: str, filter_string: str | None, max_results: int,
               order_by: list[str] | None, offset: int, page: int) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        token = None
        while len(items) < offset + max_results:
            body = {"filter": filter_string or None, "order_by": order_by or [], "page_token": token,
                    "max_results": min(page, offset + max_results - len(items))}
            answer = self._call("GET", endpoint, body)
            items.extend(answer.get(key) or [])
            token = answer.get("next_page_token")
            if not token:
                break
        return items[offset:offset + max_results]

    def search_registered_models(self, filter_string: str | None, max_results: int,
                                 order_by: list[str] | None, offset: int = 0) -> list[RegisteredModel]:
        found = self._pages("registered-models/search", "registered_models", filter_string, max_results,
                            order_by, offset, _MODELS_PAGE)
        return [conv.registered_model_of(m) for m in found]

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        self._call("POST", "registered-models/set-tag", {"name": name, "key": key, "value": value})

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        self._call("DELETE", "registered-models/delete-tag", {"name": name, "key": key})

    def get_latest_versions(self, name: str, stages: Sequence[str] | None = None) -> list[ModelVersion]:
        answer = self._call("POST", "registered-models/get-latest-versions", {"name": name, "stages": list(stages or [])})
        return [conv.model_version_of(v) for v in answer.get("model_versions") or []]

    # == model versions ================================================================================
    def _source(self, source: str, run_id: str | None) -> tuple[str, str | None]:
        """A ``runs:/`` source as the run's artifact URI, as MLflow's client sends it."""
        match = _RUNS_URI.match(source)
        if not match:
            return source, run_id
        rid, path = match.group(1), (match.group(2) or "").strip("/")
        base = self.store.get_run(rid).info.artifact_uri.rstrip("/")
        return (f"{base}/{path}" if path else base), run_id or rid

    def create_model_version(self, name: str, source: str, run_id: str | None = None,
                             tags: Sequence[tuple[str, str]] = (), run_link: str | None = None,
                             description: str | None = None, user_id: str | None = None,
                             local_path: str | None = None, logged_model_id: str | None = None) -> ModelVersion:
        """Create the next version of ``name`` from ``source``; the server keeps the files where they are.
        ``logged_model_id`` links the version to an MLflow 3 logged model (``model_id`` on the wire)."""
        source, run_id = self._source(source, run_id)
        body: dict[str, Any] = {"name": name, "source": source, "tags": _tags(tags)}
        for field, value in (("run_id", run_id), ("run_link", run_link), ("description", description),
                             ("model_id", logged_model_id)):
            if value is not None:
                body[field] = value
        return conv.model_version_of(self._call("POST", "model-versions/create", body)["model_version"])

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        answer = self._call("GET", "model-versions/get", {"name": name, "version": str(version)})
        return conv.model_version_of(answer["model_version"])

    def update_model_version(self, name: str, version: int, description: str | None) -> ModelVersion:
        answer = self._call("PATCH", "model-versions/update", {"name": name, "version": str(version),
                                                               "description": description or ""})
        return conv.model_version_of(answer["model_version"])

    def transition_model_version_stage(self, name: str, version: int, stage: str,
                                       archive_existing_versions: bool, user_id: str | None) -> ModelVersion:
        answer = self._call("POST", "model-versions/transition-stage", {
            "name": name, "version": str(version), "stage": stage,
            "archive_existing_versions": bool(archive_existing_versions)})
        return conv.model_version_of(answer["model_version"])

    def delete_model_version(self, name: str, version: int, user_id: str | None) -> None:
        self._call("DELETE", "model-versions/delete", {"name": name, "version": str(version)})

    def get_model_version_download_uri(self, name: str, version: int) -> str:
        answer = self._call("GET", "model-versions/get-download-uri", {"name": name, "version": str(version)})
        return str(answer["artifact_uri"])

    def search_model_versions(self, filter_string: str | None, max_results: int,
                              order_by: list[str] | None, offset: int = 0) -> list[ModelVersion]:
        found = self._pages("model-versions/search", "model_versions", filter_string, max_results, order_by,
                            offset, _VERSIONS_PAGE)
        return [conv.model_version_of(v) for v in found]

    def latest_version(self, name: str, stage: str | None = None) -> ModelVersion | None:
        """The highest version (in ``stage`` when given), as ``models:/name/<stage|latest>`` means."""
        self.get_registered_model(name)  # NotFound for a missing model, as the embedded store
        quoted = name.replace("'", "\\'")
        versions = self.search_model_versions(f"name = '{quoted}'", _VERSIONS_PAGE, None)
        if stage is not None:
            versions = [v for v in versions if v.current_stage == stage]
        return max(versions, key=lambda v: v.version) if versions else None

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        self._call("POST", "model-versions/set-tag", {"name": name, "version": str(version), "key": key,
                                                       "value": value})

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        self._call("DELETE", "model-versions/delete-tag", {"name": name, "version": str(version), "key": key})

    # == aliases =======================================================================================
    def set_registered_model_alias(self, name: str, alias: str, version: int, user_id: str | None) -> None:
        self._call("POST", "registered-models/alias", {"name": name, "alias": alias, "version": str(version)})

    def delete_registered_model_alias(self, name: str, alias: str, user_id: str | None) -> None:
        self._call("DELETE", "registered-models/alias", {"name": name, "alias": alias})

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        try:
            answer = self._call("GET", "registered-models/alias", {"name": name, "alias": alias})
        except (InvalidParameter, NotFound) as e:
            if "alias" in e.message.lower():
                raise AliasNotFound(name, alias) from None
            raise
        return conv.model_version_of(answer["model_version"])

    def get_history(self, name: str, version: int | None = None, until: int | None = None) -> list[RegistryEvent]:
        # MLflow's REST API has no history; nbtrack server's views/registry-history answers the latest
        # HISTORY_LIMIT events of a model, oldest first
        body = {k: v for k, v in {"name": name, "version": version, "until": until, "limit": HISTORY_LIMIT}.items()
                if v is not None}
        try:
            answer = self.http.call("POST", f"{VIEWS_API}/views/registry-history", body)
        except NbtrackError as e:
            if e.error_code != "ENDPOINT_NOT_FOUND":
                raise
            raise NbtrackError(
                "The stage and alias history (get_model_version_history, get_model_version_at) is recorded by "
                f"nbtrack; the server at {self.http.base} is not an nbtrack server (or an older one) and MLflow's "
                "REST API has no endpoint for it.", "NOT_IMPLEMENTED") from None
        if answer.get("total", 0) > len(answer.get("events", [])):
            raise NbtrackError(
                f"Model '{name}' has {answer['total']} recorded changes; over HTTP at most {HISTORY_LIMIT} are read. "
                "Ask for one version (version=...) or an earlier moment (until=...).", "RESOURCE_EXHAUSTED")
        return [RegistryEvent(name=e.get("name", name), kind=e["kind"], version=e.get("version"),
                              from_value=e.get("from"), to_value=e.get("to"), user_id=e.get("user"),
                              timestamp=int(e["timestamp"]), alias=e.get("alias"))
                for e in answer.get("events", [])]


HISTORY_LIMIT = 10_000  # the server's views/registry-history answers at most this many events


def _tags(tags: Sequence[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"key": k, "value": v} for k, v in dict(tags).items()]
