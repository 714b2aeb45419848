"""MLflow 3 workspaces in PostgreSQL: the same rules and messages as the embedded store's
``duckdb/workspaces.py``.

A workspace is a row of ``arc.workspaces``; experiments and registered models carry the name of
the one they belong to (``workspace``, a foreign key; ``'default'`` for everything written before
migration 0004), and their names are unique per workspace. Which workspace a call works in is
``nbtrack.config.active_workspace()``. Arguments arrive validated.

Concurrency (several server workers share the database): whatever creates something in a
workspace first takes ``FOR KEY SHARE`` on its row (:func:`require_workspace`), and a delete takes
``FOR UPDATE`` on it before it counts, moves or removes what the workspace holds, so a delete
never leaves an experiment or model behind in a workspace that no longer exists: the creator
either committed first (the delete then sees it) or waits and finds the workspace gone.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from nbtrack.config import DEFAULT_WORKSPACE
from nbtrack.entities import Workspace, WorkspaceDeletionMode
from nbtrack.errors import InvalidParameter, InvalidState, NotFound, ResourceExists
from nbtrack.store.postgres._db import Database

__all__ = ["PostgresWorkspaceStore", "require_workspace"]

_COLS = "name, description, default_artifact_root, trace_archival_location, trace_archival_retention"
#: what a workspace holds: (table, what to call it in a message)
_HOLDS = (("experiments", "experiment"), ("registered_models", "registered model"))
#: the tables keyed by run_id / logged model id / registered model id that a cascade empties
_RUN_TABLES = ("params", "tags", "metrics", "latest_metrics", "inputs", "run_model_links")
_LOGGED_MODEL_TABLES = ("logged_model_params", "logged_model_tags", "logged_model_metrics", "logged_models")
_REGISTRY_TABLES = ("registered_model_tags", "model_version_tags", "registered_model_aliases", "model_versions",
                    "registry_history", "registered_models")


class PostgresWorkspaceStore:
    """List, read, create, update and delete the workspaces of one database."""

    def __init__(self, db: Database, registry_dir: str) -> None:
        self.db = db
        self.registry_dir = registry_dir

    def __repr__(self) -> str:
        return f"PostgresWorkspaceStore({self.db.where!r})"

    def list_workspaces(self) -> list[Workspace]:
        with self.db.read() as con:
            return [Workspace(*r) for r in con.execute(f"SELECT {_COLS} FROM arc.workspaces ORDER BY name").fetchall()]

    def get_workspace(self, name: str) -> Workspace:
        with self.db.read() as con:
            return _get(con, name)

    def create_workspace(self, workspace: Workspace) -> Workspace:
        if workspace.name == DEFAULT_WORKSPACE:
            raise InvalidParameter(f"The '{DEFAULT_WORKSPACE}' workspace is reserved and cannot be created; "
                                   "it always exists.")
        with self.db.transaction() as con:
            if con.execute(f"INSERT INTO arc.workspaces ({_COLS}) VALUES (%s, %s, %s, %s, %s) "
                           "ON CONFLICT (name) DO NOTHING RETURNING 1",
                           [workspace.name, workspace.description, workspace.default_artifact_root or None,
                            workspace.trace_archival_location or None,
                            workspace.trace_archival_retention or None]).fetchone() is None:
                raise ResourceExists(f"Workspace '{workspace.name}' already exists. Use get_workspace("
                                     f"'{workspace.name}') or choose another name.")
            return _get(con, workspace.name)

    def update_workspace(self, workspace: Workspace) -> Workspace:
        """Set the fields that are not None ('' clears an optional one), as MLflow does."""
        changes = [(column, value if column == "description" else value or None) for column, value in (
            ("description", workspace.description), ("default_artifact_root", workspace.default_artifact_root),
            ("trace_archival_location", workspace.trace_archival_location),
            ("trace_archival_retention", workspace.trace_archival_retention)) if value is not None]
        with self.db.transaction() as con:
            _get(con, workspace.name, lock="FOR NO KEY UPDATE")
            if changes:
                sets = ", ".join(f"{column} = %s" for column, _ in changes)  # fixed column names
                con.execute(f"UPDATE arc.workspaces SET {sets} WHERE name = %s",
                            [*(value for _, value in changes), workspace.name])
            return _get(con, workspace.name)

    def delete_workspace(self, name: str, mode: WorkspaceDeletionMode = WorkspaceDeletionMode.RESTRICT) -> None:
        if name == DEFAULT_WORKSPACE:
            raise InvalidState(f"Cannot delete the reserved '{DEFAULT_WORKSPACE}' workspace.")
        removed_models: list[str] = []
        with self.db.transaction() as con:
            _get(con, name, lock="FOR UPDATE")  # creators in it wait for this transaction (require_workspace)
            if mode == WorkspaceDeletionMode.RESTRICT:
                for table, what in _HOLDS:
                    count = con.execute(f"SELECT count(*) FROM arc.{table} WHERE workspace = %s",
                                        [name]).fetchone()[0]  # type: ignore[index]
                    if count:
                        raise InvalidState(
                            f"Cannot delete workspace '{name}': it still holds {count} {what}(s). Delete or move "
                            "them first, or delete it with mode='SET_DEFAULT' (moves them to the default "
                            "workspace) or mode='CASCADE' (deletes them).")
            elif mode == WorkspaceDeletionMode.SET_DEFAULT:
                for table, what in _HOLDS:
                    clash = con.execute(
                        f"SELECT name FROM arc.{table} WHERE workspace = %s AND name IN "
                        f"(SELECT name FROM arc.{table} WHERE workspace = %s) ORDER BY name",
                        [name, DEFAULT_WORKSPACE]).fetchall()
                    if clash:
                        raise InvalidState(
                            f"Cannot delete workspace '{name}' with mode='SET_DEFAULT': the {what} name(s) "
                            f"{[r[0] for r in clash]} exist in the '{DEFAULT_WORKSPACE}' workspace too. Rename "
                            "them first.")
                for table, _ in _HOLDS:
                    con.execute(f"UPDATE arc.{table} SET workspace = %s WHERE workspace = %s",
                                [DEFAULT_WORKSPACE, name])
            else:
                removed_models = _cascade(con, name)
            con.execute("DELETE FROM arc.workspaces WHERE name = %s", [name])
        for model_id in removed_models:  # after the commit: the rows are gone, so are their copies
            shutil.rmtree(os.path.join(self.registry_dir, model_id), ignore_errors=True)


def require_workspace(con: Any, name: str) -> str:
    """``name`` if the workspace exists (the active one, where something is about to be created).

    Holds ``FOR KEY SHARE`` on its row until the caller's transaction ends, so a concurrent
    ``delete_workspace`` waits for the creation (and then sees what was created)."""
    if name != DEFAULT_WORKSPACE and con.execute(
            "SELECT 1 FROM arc.workspaces WHERE name = %s FOR KEY SHARE", [name]).fetchone() is None:
        raise NotFound(f"Workspace '{name}' not found. Create it with create_workspace('{name}'), or set another "
                       "with set_workspace() (MLFLOW_WORKSPACE).")
    return name


def _get(con: Any, name: str, lock: str = "") -> Workspace:
    row = con.execute(f"SELECT {_COLS} FROM arc.workspaces WHERE name = %s {lock}", [name]).fetchone()
    if row is None:
        raise NotFound(f"Workspace '{name}' not found. List workspaces with list_workspaces().")
    return Workspace(*row)


def _cascade(con: Any, name: str) -> list[str]:
    """Delete the workspace's experiments (with their runs and logged models) and registered models
    (with their versions, tags, aliases and history); returns the registered models' ids."""
    ids = [r[0] for r in con.execute("SELECT experiment_id FROM arc.experiments WHERE workspace = %s FOR UPDATE",
                                     [name]).fetchall()]
    if ids:
        runs = [r[0] for r in con.execute("SELECT run_id FROM arc.runs WHERE experiment_id = ANY(%s)",
                                          [ids]).fetchall()]
        if runs:
            for table in _RUN_TABLES:
                con.execute(f"DELETE FROM arc.{table} WHERE run_id = ANY(%s)", [runs])
            con.execute("DELETE FROM arc.runs WHERE run_id = ANY(%s)", [runs])
        logged = [r[0] for r in con.execute("SELECT model_id FROM arc.logged_models WHERE experiment_id = ANY(%s)",
                                            [ids]).fetchall()]
        if logged:
            for table in _LOGGED_MODEL_TABLES:
                con.execute(f"DELETE FROM arc.{table} WHERE model_id = ANY(%s)", [logged])
        con.execute("DELETE FROM arc.experiment_tags WHERE experiment_id = ANY(%s)", [ids])
        con.execute("DELETE FROM arc.experiments WHERE experiment_id = ANY(%s)", [ids])
    models = [r[0] for r in con.execute("SELECT model_id FROM arc.registered_models WHERE workspace = %s FOR UPDATE",
                                        [name]).fetchall()]
    if models:
        for table in _REGISTRY_TABLES:
            con.execute(f"DELETE FROM arc.{table} WHERE model_id = ANY(%s)", [models])
    return models
