"""MLflow 3's workspace endpoints (``/api/3.0/mlflow/workspaces[/{workspace_name}]``) and the
per-request workspace: the ``X-MLFLOW-WORKSPACE`` header names the one experiments and registered
models are created in and looked up in (absent: ``default``), as MLflow's server with
``--enable-workspaces``. nbtrack's stores always have workspaces, so the server always serves them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbtrack import config
from nbtrack.entities import TraceArchivalConfig, Workspace
from nbtrack.errors import InvalidParameter
from nbtrack.server.tracking._protocol import Endpoint, Field
from nbtrack.server.tracking._tracking import Context

__all__ = ["ENDPOINTS", "HEADER", "PREFIXES", "in_workspace", "request_workspace"]

HEADER = "X-MLFLOW-WORKSPACE"
PREFIXES = ("/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/")


def request_workspace(header: str | None) -> str:
    """The workspace a request works in: its header (checked), else ``default``."""
    name = (header or "").strip()
    if not name or name == config.DEFAULT_WORKSPACE:
        return config.DEFAULT_WORKSPACE
    return config.validate_workspace_name(name)


def in_workspace(workspace: str, handler: Callable[..., Any], ctx: Context, args: dict[str, Any]) -> Any:
    """Run ``handler`` with ``workspace`` bound (in the worker thread that runs it)."""
    token = config.bind_workspace(workspace)
    try:
        if workspace != config.DEFAULT_WORKSPACE:
            ctx.client.get_workspace(workspace)  # an unknown workspace is a 404, as MLflow answers
        return handler(ctx, args)
    finally:
        config.unbind_workspace(token)


def _body(ws: Workspace) -> dict[str, Any]:
    return {k: v for k, v in ws.to_dict().items() if v is not None}


def _archival(a: dict[str, Any]) -> TraceArchivalConfig | None:
    found = a.get("trace_archival_config")
    return None if found is None else TraceArchivalConfig(found.get("location"), found.get("retention"))


def list_workspaces(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return {"workspaces": [_body(ws) for ws in ctx.client.list_workspaces()]}


def create_workspace(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    if a["name"] == config.DEFAULT_WORKSPACE:
        raise InvalidParameter(f"The '{config.DEFAULT_WORKSPACE}' workspace is reserved and cannot be created; "
                               "it always exists.")
    return {"workspace": _body(ctx.client.create_workspace(
        a["name"], a.get("description"), a.get("default_artifact_root"), _archival(a)))}


def get_workspace(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    return {"workspace": _body(ctx.client.get_workspace(a["workspace_name"]))}


def update_workspace(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    archival = _archival(a)
    if a.get("description") is None and a.get("default_artifact_root") is None and (
            archival is None or (archival.location is None and archival.retention is None)):
        raise InvalidParameter("Workspace update must have at least one key: description, default_artifact_root "
                               "or trace_archival_config.")
    return {"workspace": _body(ctx.client.update_workspace(
        a["workspace_name"], a.get("description"), a.get("default_artifact_root"), archival))}


def delete_workspace(ctx: Context, a: dict[str, Any]) -> dict[str, Any]:
    name = a["workspace_name"]
    if name == config.DEFAULT_WORKSPACE:
        raise InvalidParameter(f"The '{config.DEFAULT_WORKSPACE}' workspace is reserved and cannot be deleted.")
    ctx.client.delete_workspace(name, a.get("mode") or "RESTRICT")
    return {}


_ARCHIVAL = Field("trace_archival_config", "object", fields=(Field("location"), Field("retention")))
_NAME = Field("workspace_name")  # from the path

ENDPOINTS = [
    Endpoint("workspaces", ("GET",), list_workspaces, (), False, "List the workspaces"),
    Endpoint("workspaces", ("POST",), create_workspace,
             (Field("name", required=True), Field("description"), Field("default_artifact_root"), _ARCHIVAL),
             True, "Create a workspace", extra={"status": 201}),
    Endpoint("workspaces/{workspace_name}", ("GET",), get_workspace, (_NAME,), False, "Get a workspace"),
    Endpoint("workspaces/{workspace_name}", ("PATCH",), update_workspace,
             (_NAME, Field("description"), Field("default_artifact_root"), _ARCHIVAL), True,
             "Update a workspace's description, artifact root or trace archival settings"),
    Endpoint("workspaces/{workspace_name}", ("DELETE",), delete_workspace,
             (_NAME, Field("mode")), True,
             "Delete a workspace (?mode=RESTRICT, SET_DEFAULT or CASCADE)", extra={"status": 204}),
]
