"""The registry's module-level API (``nbtrack.register_model``, ``search_registered_models``,
``search_model_versions``, ``set_model_version_tag``) over a :class:`Client` of the current URIs,
and the resolver of ``models:/`` URIs that ``download_artifacts`` and ``nbtrack.models`` use
(registered with :mod:`nbtrack.tracking.uri_resolvers` when this module is imported, which
``import nbtrack`` does).
"""

from __future__ import annotations

from typing import Any

from nbtrack.entities import ModelVersion, RegisteredModel
from nbtrack.errors import InvalidParameter
from nbtrack.tracking import uri_resolvers, validation
from nbtrack.tracking.client import Client
from nbtrack.tracking.registry import (
    SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD,
    SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD,
)

__all__ = ["register_model", "resolve_models_uri", "search_model_versions", "search_registered_models",
           "set_model_version_tag"]


def register_model(model_uri: str, name: str, await_registration_for: int = 300, *,
                   tags: dict[str, Any] | None = None, env_pack: Any = None) -> ModelVersion:
    """Register the model at ``model_uri`` as a new version of ``name`` (created if missing).

    ``model_uri`` is ``runs:/<run_id>/<path>``, ``models:/...``, a ``file:`` URI or a local
    path. The model directory is copied into the store, so the version keeps working when the
    run is deleted. Returns the new :class:`~nbtrack.entities.ModelVersion`.

    Examples
    --------
    >>> mv = nbtrack.register_model(f"runs:/{run.info.run_id}/model", "iris")
    >>> mv.version
    1
    """
    if env_pack is not None:
        raise InvalidParameter("env_pack is a Databricks Model Serving option; nbtrack does not support it.")
    return Client()._register(model_uri, name, tags)


def search_registered_models(max_results: int | None = None, filter_string: str | None = None,
                             order_by: list[str] | None = None) -> list[RegisteredModel]:
    """Every registered model matching ``filter_string`` (all pages), as ``mlflow.search_registered_models``."""
    return _all_pages(Client().search_registered_models, max_results, filter_string, order_by,
                      SEARCH_REGISTERED_MODEL_MAX_RESULTS_THRESHOLD)


def set_model_version_tag(name: str, version: str | None = None, key: str | None = None, value: Any = None) -> None:
    """Tag version ``version`` of the registered model ``name``, as ``mlflow.set_model_version_tag``."""
    Client().set_model_version_tag(name, version, key, value)


def search_model_versions(max_results: int | None = None, filter_string: str | None = None,
                          order_by: list[str] | None = None) -> list[ModelVersion]:
    """Every model version matching ``filter_string`` (all pages), as ``mlflow.search_model_versions``."""
    return _all_pages(Client().search_model_versions, max_results, filter_string, order_by,
                      SEARCH_MODEL_VERSION_MAX_RESULTS_THRESHOLD)


def _all_pages(search: Any, max_results: int | None, filter_string: str | None, order_by: list[str] | None,
               page_size: int) -> list[Any]:
    max_results = validation.max_results(max_results, None, allow_none=True)
    found: list[Any] = []
    token = None
    while max_results is None or len(found) < max_results:
        size = page_size if max_results is None else min(page_size, max_results - len(found))
        page = search(filter_string=filter_string, max_results=size, order_by=order_by, page_token=token)
        found.extend(page)
        token = page.token
        if not token:
            break
    return found


def resolve_models_uri(uri: str, dst_path: str | None = None) -> str:
    """The local folder of the model a ``models:/`` URI names, in the current registry."""
    return Client()._download_uri(uri, dst_path)


uri_resolvers.register("models", resolve_models_uri)
