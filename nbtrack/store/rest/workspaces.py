"""MLflow 3 workspaces on a tracking server: ``/api/3.0/mlflow/workspaces[/{name}]``.

The active workspace of every other request travels in the ``X-MLFLOW-WORKSPACE`` header
(:mod:`nbtrack.store.rest.http`); these endpoints name theirs in the path."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from nbtrack.entities import Workspace, WorkspaceDeletionMode
from nbtrack.errors import FeatureDisabled, NbtrackError
from nbtrack.store.rest.http import RestClient

__all__ = ["RestWorkspaceStore"]

API = "/api/3.0/mlflow/workspaces"


def _archival(ws: Workspace) -> dict[str, str]:
    return {k: v for k, v in (("location", ws.trace_archival_location), ("retention", ws.trace_archival_retention))
            if v is not None}


class RestWorkspaceStore:
    def __init__(self, http: RestClient) -> None:
        self.http = http

    def _call(self, method: str, path: str = "", body: dict[str, Any] | None = None) -> dict[str, Any]:
        try:
            return self.http.call(method, API + path, body)
        except NbtrackError as e:
            if e.error_code == "ENDPOINT_NOT_FOUND":
                raise FeatureDisabled(f"The tracking server at {self.http.base} does not expose workspace APIs. "
                                      "Use an nbtrack server, or start MLflow's with --enable-workspaces.") from None
            raise

    def list_workspaces(self) -> list[Workspace]:
        return [Workspace.from_dict(w) for w in self._call("GET").get("workspaces") or []]

    def get_workspace(self, name: str) -> Workspace:
        return Workspace.from_dict(self._call("GET", "/" + quote(name, safe=""))["workspace"])

    def create_workspace(self, workspace: Workspace) -> Workspace:
        body: dict[str, Any] = {"name": workspace.name, "description": workspace.description,
                                "default_artifact_root": workspace.default_artifact_root}
        if archival := _archival(workspace):
            body["trace_archival_config"] = archival
        return Workspace.from_dict(self._call("POST", "", {k: v for k, v in body.items() if v is not None})["workspace"])

    def update_workspace(self, workspace: Workspace) -> Workspace:
        body: dict[str, Any] = {"description": workspace.description,
                                "default_artifact_root": workspace.default_artifact_root}
        if archival := _archival(workspace):
            body["trace_archival_config"] = archival
        return Workspace.from_dict(self._call("PATCH", "/" + quote(workspace.name, safe=""),
                                              {k: v for k, v in body.items() if v is not None})["workspace"])

    def delete_workspace(self, name: str, mode: WorkspaceDeletionMode = WorkspaceDeletionMode.RESTRICT) -> None:
        query = "" if mode == WorkspaceDeletionMode.RESTRICT else f"?mode={mode.value}"
        self._call("DELETE", "/" + quote(name, safe="") + query)
