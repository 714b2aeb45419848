"""MLflow 3 workspaces in the archive: namespaces of experiment and registered-model names.

A workspace is a row of ``workspaces``; experiments and registered models carry the name of the
one they belong to (``workspace``, ``'default'`` for everything written before workspaces
existed), and their names are unique per workspace. Which workspace a call works in is
``nbtrack.config.active_workspace()`` (``set_workspace``, ``MLFLOW_WORKSPACE``, the server's
``X-MLFLOW-WORKSPACE`` header, else ``default``). Arguments arrive validated.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

from nbtrack.config import DEFAULT_WORKSPACE
from nbtrack.entities import Workspace, WorkspaceDeletionMode
from nbtrack.store import workspace_rules as rules
from nbtrack.store.duckdb.archive import Archive

__all__ = ["WorkspaceStore", "require_workspace"]


class WorkspaceStore:
    """List, read, create, update and delete the workspaces of one archive."""

    def __init__(self, archive: Archive, registry_dir: str, changed: Callable[[], None] = lambda: None) -> None:
        self.archive = archive
        self.registry_dir = registry_dir
        self._changed = changed  # the store drops its cached experiments when a delete moved or removed some

    def __repr__(self) -> str:
        return f"WorkspaceStore({self.archive.root!r})"

    def list_workspaces(self) -> list[Workspace]:
        with self.archive.reading() as con:
            return [Workspace(*r) for r in con.execute(
                f"SELECT {rules.COLUMNS} FROM arc.workspaces ORDER BY name").fetchall()]

    def get_workspace(self, name: str) -> Workspace:
        with self.archive.reading() as con:
            return _get(con, name)

    def create_workspace(self, workspace: Workspace) -> Workspace:
        rules.refuse_reserved(workspace.name, "create")
        with self.archive.writing() as con:
            if con.execute("SELECT 1 FROM arc.workspaces WHERE name = ?", [workspace.name]).fetchall():
                raise rules.already_exists(workspace.name)
            con.execute(f"INSERT INTO arc.workspaces ({rules.COLUMNS}) VALUES (?, ?, ?, ?, ?)",
                        rules.new_row(workspace))
            return _get(con, workspace.name)

    def update_workspace(self, workspace: Workspace) -> Workspace:
        """Set the fields that are not None ('' clears an optional one), as MLflow does."""
        changes = rules.changed_fields(workspace)
        with self.archive.writing() as con:
            _get(con, workspace.name)
            for column, value in changes:
                con.execute(f"UPDATE arc.workspaces SET {column} = ? WHERE name = ?", [value, workspace.name])
            return _get(con, workspace.name)

    def delete_workspace(self, name: str, mode: WorkspaceDeletionMode = WorkspaceDeletionMode.RESTRICT) -> None:
        rules.refuse_reserved(name, "delete")
        removed_models: list[str] = []
        with self.archive.writing() as con:
            _get(con, name)
            if rules.settle_contents(lambda sql, params: con.execute(sql, params).fetchall(), name, mode):
                removed_models = _cascade(con, name)
            con.execute("DELETE FROM arc.workspaces WHERE name = ?", [name])
        self._changed()
        for model_id in removed_models:
            shutil.rmtree(os.path.join(self.registry_dir, model_id), ignore_errors=True)


def require_workspace(con: Any, name: str) -> str:
    """``name`` if the workspace exists (the active one, where something is about to be created)."""
    if name != DEFAULT_WORKSPACE and not con.execute("SELECT 1 FROM arc.workspaces WHERE name = ?", [name]).fetchall():
        raise rules.not_active(name)
    return name


def _get(con: Any, name: str) -> Workspace:
    rows = con.execute(f"SELECT {rules.COLUMNS} FROM arc.workspaces WHERE name = ?", [name]).fetchall()
    if not rows:
        raise rules.missing(name)
    return Workspace(*rows[0])


def _cascade(con: Any, name: str) -> list[str]:
    """Delete the workspace's experiments (with their runs) and registered models; returns the models' ids."""
    ids = [r[0] for r in con.execute("SELECT experiment_id FROM arc.experiments WHERE workspace = ?", [name]).fetchall()]
    if ids:
        runs = [r[0] for r in con.execute("SELECT run_id FROM arc.runs WHERE list_contains(?, experiment_id)",
                                          [ids]).fetchall()]
        if runs:
            for table in ("params", "tags", "metrics", "latest_metrics", "inputs", "run_model_links"):
                con.execute(f"DELETE FROM arc.{table} WHERE list_contains(?, run_id)", [runs])
            con.execute("DELETE FROM arc.runs WHERE list_contains(?, run_id)", [runs])
        logged = [r[0] for r in con.execute(
            "SELECT model_id FROM arc.logged_models WHERE list_contains(?, experiment_id)", [ids]).fetchall()]
        if logged:
            for table in ("logged_model_params", "logged_model_tags", "logged_model_metrics", "logged_models"):
                con.execute(f"DELETE FROM arc.{table} WHERE list_contains(?, model_id)", [logged])
        con.execute("DELETE FROM arc.experiment_tags WHERE list_contains(?, experiment_id)", [ids])
        con.execute("DELETE FROM arc.experiments WHERE list_contains(?, experiment_id)", [ids])
    models = [r[0] for r in con.execute("SELECT model_id FROM arc.registered_models WHERE workspace = ?",
                                        [name]).fetchall()]
    if models:
        for table in ("registered_model_tags", "model_version_tags", "registered_model_aliases",
                      "model_version_models", "model_versions", "registry_history", "registered_models"):
            con.execute(f"DELETE FROM arc.{table} WHERE list_contains(?, model_id)", [models])
    return models
