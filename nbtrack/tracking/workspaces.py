"""``MlflowClient`` workspaces (MLflow 3): namespaces of experiment and registered-model names.

The embedded store and ``nbtrack server`` keep them (the server reads the active workspace from
the ``X-MLFLOW-WORKSPACE`` header the REST client sends). Every store starts with the
``default`` workspace, which holds everything written before workspaces existed and what is
created while no workspace is set.

Examples
--------
>>> client.create_workspace("team-a", description="vision models")
Workspace(name='team-a', description='vision models', ...)
>>> nbtrack.set_workspace("team-a")   # experiments and models created now belong to team-a
"""

from __future__ import annotations

from typing import Any

from nbtrack import config
from nbtrack.entities import TraceArchivalConfig, Workspace, WorkspaceDeletionMode
from nbtrack.errors import FeatureDisabled, InvalidParameter, InvalidState

__all__ = ["WorkspaceClientMixin", "deletion_mode"]


def deletion_mode(mode: Any) -> WorkspaceDeletionMode:
    try:
        return WorkspaceDeletionMode(mode)
    except ValueError:
        raise InvalidParameter(f"Invalid deletion mode '{mode}'. Must be one of: "
                               f"{', '.join(m.value for m in WorkspaceDeletionMode)}") from None


def _optional_text(value: Any, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise InvalidParameter(f"{name} must be a string or None, got {type(value).__name__}.")
    return value


def _archival(config_: Any) -> tuple[str | None, str | None]:
    if config_ is None:
        return None, None
    if not isinstance(config_, TraceArchivalConfig):
        raise InvalidParameter("trace_archival_config must be a TraceArchivalConfig(location=..., retention=...) "
                               f"or None, got {type(config_).__name__}.")
    return _optional_text(config_.location, "trace_archival_config.location"), _optional_text(
        config_.retention, "trace_archival_config.retention")


def _existing_name(name: Any) -> str:
    return name if name == config.DEFAULT_WORKSPACE else config.validate_workspace_name(name)


class WorkspaceClientMixin:
    """Workspace methods of ``Client``; the store's ``workspaces`` does the work."""

    tracking_uri: str
    _store: Any

    def _workspaces(self) -> Any:
        found = getattr(self._store, "workspaces", None)
        if found is None:
            raise FeatureDisabled(
                f"Workspace operations are not supported by the store at '{self.tracking_uri}'. Use an "
                "embedded store (a folder or duckdb:///...), a PostgreSQL store (postgresql://...) or an nbtrack "
                "server (http://...).")
        return found

    def get_workspace_store_uri(self) -> str:
        """Where workspaces are kept: the tracking URI (nbtrack keeps them in the tracking store)."""
        return self.tracking_uri

    def list_workspaces(self) -> list[Workspace]:
        """Every workspace of the store, by name (``default`` included)."""
        return list(self._workspaces().list_workspaces())

    def create_workspace(self, name: str, description: str | None = None, default_artifact_root: str | None = None,
                         trace_archival_config: TraceArchivalConfig | None = None) -> Workspace:
        """Create the workspace ``name`` (lowercase letters, digits and inner hyphens, 2-63 characters)."""
        config.validate_workspace_name(name)
        location, retention = _archival(trace_archival_config)
        return self._workspaces().create_workspace(Workspace(
            name, _optional_text(description, "description"),
            _optional_text(default_artifact_root, "default_artifact_root"), location, retention))

    def get_workspace(self, name: str) -> Workspace:
        return self._workspaces().get_workspace(_existing_name(name))

    def update_workspace(self, name: str, description: str | None = None, default_artifact_root: str | None = None,
                         trace_archival_config: TraceArchivalConfig | None = None) -> Workspace:
        """Change the fields given (None keeps a field, '' clears ``default_artifact_root``)."""
        location, retention = _archival(trace_archival_config)
        return self._workspaces().update_workspace(Workspace(
            _existing_name(name), _optional_text(description, "description"),
            _optional_text(default_artifact_root, "default_artifact_root"), location, retention))

    def delete_workspace(self, name: str, mode: str = WorkspaceDeletionMode.RESTRICT) -> None:
        """Delete a workspace. ``mode``: ``RESTRICT`` (refuse while it holds experiments or models),
        ``SET_DEFAULT`` (move them to ``default``) or ``CASCADE`` (delete them with it)."""
        chosen = deletion_mode(mode)
        if name == config.DEFAULT_WORKSPACE:  # the same answer from every backend (MLflow's local store's)
            raise InvalidState(f"Cannot delete the reserved '{config.DEFAULT_WORKSPACE}' workspace; it holds "
                               "everything created while no workspace is set.")
        self._workspaces().delete_workspace(_existing_name(name), chosen)
