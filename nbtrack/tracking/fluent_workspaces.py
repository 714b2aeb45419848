"""The module-level workspace API (``nbtrack.set_workspace``, ``create_workspace``, ...) over a
:class:`Client` of the current tracking URI. The active workspace is per context (thread or
task) and, as in MLflow, copied to ``MLFLOW_WORKSPACE`` so threads started later inherit it."""

from __future__ import annotations

from nbtrack import config
from nbtrack.entities import TraceArchivalConfig, Workspace, WorkspaceDeletionMode
from nbtrack.tracking.client import Client
from nbtrack.tracking.workspaces import deletion_mode

__all__ = ["create_workspace", "delete_workspace", "get_workspace", "list_workspaces", "set_workspace",
           "update_workspace"]


def set_workspace(workspace: str | None) -> None:
    """Make ``workspace`` the one experiments and registered models are created in and found in
    (None: back to ``MLFLOW_WORKSPACE`` or ``default``). The name is checked, not looked up."""
    config.set_active_workspace(workspace)


def list_workspaces() -> list[Workspace]:
    return Client().list_workspaces()


def get_workspace(name: str) -> Workspace:
    return Client().get_workspace(name)


def create_workspace(name: str, description: str | None = None, default_artifact_root: str | None = None,
                     trace_archival_config: TraceArchivalConfig | None = None) -> Workspace:
    return Client().create_workspace(name, description, default_artifact_root, trace_archival_config)


def update_workspace(name: str, description: str | None = None, default_artifact_root: str | None = None,
                     trace_archival_config: TraceArchivalConfig | None = None) -> Workspace:
    return Client().update_workspace(name, description, default_artifact_root, trace_archival_config)


def delete_workspace(name: str, *, mode: str = WorkspaceDeletionMode.RESTRICT) -> None:
    chosen = deletion_mode(mode)  # checked before the store is opened, as MLflow does
    Client().delete_workspace(name, chosen)
