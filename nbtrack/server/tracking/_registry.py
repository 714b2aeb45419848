"""Handlers of MLflow's model registry endpoints (registered models, versions, stages, aliases)."""

from __future__ import annotations

from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.server.tracking import _convert as conv
from nbtrack.server.tracking._protocol import Endpoint, Field
from nbtrack.server.tracking._tracking import Context

__all__ = ["ENDPOINTS"]


def _tags(items: list[dict[str, Any]] | None) -> dict[str, Any]:
    return {t["key"]: t.get("value", "") for t in items or []}


def _rm(ctx: Context, rm: Any) -> dict[str, Any]:
    return {"registered_model": conv.registered_model(rm, ctx.loc)}


def _mv(ctx: Context, mv: Any) -> dict[str, Any]:
    return {"model_version": conv.model_version(mv, ctx.loc)}


def _paged(found: Any, key: str, convert: Any) -> dict[str, Any]:
    out: dict[str, Any] = {key: [convert(x) for x in found]}
    if found.token:
        out["next_page_token"] = found.token
    return out


# -- registered models ------------------------------------------------------------------------
def create_registered_model(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return _rm(ctx, ctx.client.create_registered_model(a["name"], _tags(a.get("tags")), a.get("description")))


def rename_registered_model(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    if not a.get("new_name"):
        raise InvalidParameter("Missing value for required parameter 'new_name'.")
    return _rm(ctx, ctx.client.rename_registered_model(a["name"], a["new_name"]))


def update_registered_model(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return _rm(ctx, ctx.client.update_registered_model(a["name"], a.get("description")))


def delete_registered_model(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_registered_model(a["name"])
    return {}


def get_registered_model(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return _rm(ctx, ctx.client.get_registered_model(a["name"]))


def search_registered_models(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    kwargs = {"max_results": a["max_results"]} if "max_results" in a else {}
    found = ctx.client.search_registered_models(a.get("filter") or None, order_by=a.get("order_by") or None,
                                                page_token=a.get("page_token") or None, **kwargs)
    return _paged(found, "registered_models", lambda rm: conv.registered_model(rm, ctx.loc))


def get_latest_versions(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    found = ctx.client.get_latest_versions(a["name"], a.get("stages") or None)
    return {"model_versions": [conv.model_version(mv, ctx.loc) for mv in found]}


def set_registered_model_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.set_registered_model_tag(a["name"], a["key"], a["value"])
    return {}


def delete_registered_model_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_registered_model_tag(a["name"], a["key"])
    return {}


# -- model versions ---------------------------------------------------------------------------
def create_model_version(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    source = ctx.loc.model_source(a["source"])
    return _mv(ctx, ctx.client.create_model_version(a["name"], source, a.get("run_id") or None,
                                                    _tags(a.get("tags")), a.get("run_link") or None,
                                                    a.get("description"), model_id=a.get("model_id") or None))


def update_model_version(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return _mv(ctx, ctx.client.update_model_version(a["name"], a["version"], a.get("description")))


def transition_stage(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return _mv(ctx, ctx.client.transition_model_version_stage(
        a["name"], a["version"], a["stage"], a.get("archive_existing_versions", False)))


def delete_model_version(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_model_version(a["name"], a["version"])
    return {}


def get_model_version(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return _mv(ctx, ctx.client.get_model_version(a["name"], a["version"]))


def search_model_versions(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    kwargs = {"max_results": a["max_results"]} if "max_results" in a else {}
    found = ctx.client.search_model_versions(a.get("filter") or None, order_by=a.get("order_by") or None,
                                             page_token=a.get("page_token") or None, **kwargs)
    return _paged(found, "model_versions", lambda mv: conv.model_version(mv, ctx.loc))


def get_download_uri(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    uri = ctx.client.get_model_version_download_uri(a["name"], a["version"])
    return {"artifact_uri": ctx.loc.present(uri)}


def set_model_version_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.set_model_version_tag(a["name"], a["version"], a["key"], a["value"])
    return {}


def delete_model_version_tag(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_model_version_tag(a["name"], a["version"], a["key"])
    return {}


# -- aliases ----------------------------------------------------------------------------------
def set_alias(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.set_registered_model_alias(a["name"], a["alias"], a["version"])
    return {}


def delete_alias(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    ctx.client.delete_registered_model_alias(a["name"], a["alias"])
    return {}


def get_by_alias(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return _mv(ctx, ctx.client.get_model_version_by_alias(a["name"], a["alias"]))


_NAME = Field("name", required=True)
_VERSION = Field("version", required=True)
_TAGS = Field("tags", "object", repeated=True, fields=(Field("key", required=True), Field("value")))
_SEARCH = (Field("filter"), Field("max_results", "int64"), Field("order_by", repeated=True), Field("page_token"))
_KV = (Field("key", required=True), Field("value", required=True))


def _ep(path: str, methods: tuple[str, ...], handler: Any, fields: tuple[Field, ...], writes: bool,
        summary: str) -> Endpoint:
    return Endpoint(path, methods, handler, fields, writes, summary)


ENDPOINTS = [
    _ep("registered-models/create", ("POST",), create_registered_model,
        (_NAME, _TAGS, Field("description"), Field("deployment_job_id")), True, "Create a registered model"),
    _ep("registered-models/rename", ("POST",), rename_registered_model, (_NAME, Field("new_name")), True,
        "Rename a registered model"),
    _ep("registered-models/update", ("PATCH",), update_registered_model,
        (_NAME, Field("description"), Field("deployment_job_id")), True, "Update a registered model"),
    _ep("registered-models/delete", ("DELETE",), delete_registered_model, (_NAME,), True,
        "Delete a registered model"),
    _ep("registered-models/get", ("GET",), get_registered_model, (_NAME,), False, "Get a registered model"),
    _ep("registered-models/search", ("GET",), search_registered_models, _SEARCH, False,
        "Search registered models"),
    _ep("registered-models/get-latest-versions", ("POST", "GET"), get_latest_versions,
        (_NAME, Field("stages", repeated=True)), False, "Latest version per stage"),
    _ep("registered-models/set-tag", ("POST",), set_registered_model_tag, (_NAME, *_KV), True,
        "Set a registered model tag"),
    _ep("registered-models/delete-tag", ("DELETE",), delete_registered_model_tag,
        (_NAME, Field("key", required=True)), True, "Delete a registered model tag"),
    _ep("registered-models/alias", ("POST",), set_alias,
        (_NAME, Field("alias", required=True), _VERSION), True, "Set an alias"),
    _ep("registered-models/alias", ("DELETE",), delete_alias, (_NAME, Field("alias", required=True)), True,
        "Delete an alias"),
    _ep("registered-models/alias", ("GET",), get_by_alias, (_NAME, Field("alias", required=True)), False,
        "Get the version an alias points at"),
    _ep("model-versions/create", ("POST",), create_model_version,
        (_NAME, Field("source", required=True), Field("run_id"), _TAGS, Field("run_link"),
         Field("description"), Field("model_id")), True, "Create a model version"),
    _ep("model-versions/update", ("PATCH",), update_model_version, (_NAME, _VERSION, Field("description")), True,
        "Update a model version"),
    _ep("model-versions/transition-stage", ("POST",), transition_stage,
        (_NAME, _VERSION, Field("stage", required=True), Field("archive_existing_versions", "bool")), True,
        "Move a model version to a stage"),
    _ep("model-versions/delete", ("DELETE",), delete_model_version, (_NAME, _VERSION), True,
        "Delete a model version"),
    _ep("model-versions/get", ("GET",), get_model_version, (_NAME, _VERSION), False, "Get a model version"),
    _ep("model-versions/search", ("GET",), search_model_versions, _SEARCH, False, "Search model versions"),
    _ep("model-versions/get-download-uri", ("GET",), get_download_uri, (_NAME, _VERSION), False,
        "Where a model version's files are"),
    _ep("model-versions/set-tag", ("POST",), set_model_version_tag, (_NAME, _VERSION, *_KV), True,
        "Set a model version tag"),
    _ep("model-versions/delete-tag", ("DELETE",), delete_model_version_tag,
        (_NAME, _VERSION, Field("key", required=True)), True, "Delete a model version tag"),
]
