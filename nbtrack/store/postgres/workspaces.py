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
from nbtrack.store import model_copies
from nbtrack.store import workspace_rules as rules
from nbtrack.store.postgres._db import Database

__all__ = ["PostgresWorkspaceStore", "require_workspace"]

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
            return [Workspace(*r) for r in con.execute(f"SELECT {rules.COLUMNS} FROM arc.workspaces ORDER BY name").fetchall()]

    def get_workspace(self, name: str) -> Workspace:
        with self.db.read() as con:
            return _get(con, name)

    def create_workspace(self, workspace: Workspace) -> Workspace:
        rules.refuse_reserved(workspace.name, "create")
        with self.db.transaction() as con:
            if con.execute(f"INSERT INTO arc.workspaces ({rules.COLUMNS}) VALUES (%s, %s, %s, %s, %s) "
                           "ON CONFLICT (name) DO NOTHING RETURNING 1", rules.new_row(workspace)).fetchone() is None:
                raise rules.already_exists(workspace.name)
            return _get(con, workspace.name)

    def update_workspace(self, workspace: Workspace) -> Workspace:
        """Set the fields that are not None ('' clears an optional one), as MLflow does."""
        changes = rules.changed_fields(workspace)
        with self.db.transaction() as con:
            _get(con, workspace.name, lock="FOR NO KEY UPDATE")
            if changes:
                sets = ", ".join(f"{column} = %s" for column, _ in changes)  # fixed column names
                con.execute(f"UPDATE arc.workspaces SET {sets} WHERE name = %s",
                            [*(value for _, value in changes), workspace.name])
            return _get(con, workspace.name)

    def delete_workspace(self, name: str, mode: WorkspaceDeletionMode = WorkspaceDeletionMode.RESTRICT) -> None:
        rules.refuse_reserved(name, "delete")
        removed_models: list[str] = []
        copies: list[str] = []
        with self.db.transaction() as con:
            _get(con, name, lock="FOR UPDATE")  # creators in it wait for this transaction (require_workspace)
            if rules.settle_contents(lambda sql, params: _rows(con.execute(sql.replace("?", "%s"), params)),
                                     name, mode):
                removed_models, copies = _cascade(con, name)
            con.execute("DELETE FROM arc.workspaces WHERE name = %s", [name])
        for model_id in removed_models:  # after the commit: the rows are gone, so are their copies
            shutil.rmtree(os.path.join(self.registry_dir, model_id), ignore_errors=True)
        for uri in copies:  # versions copied to S3 by a server whose artifacts are there
            model_copies.remove(uri)


def _rows(cursor: Any) -> list[tuple[Any, ...]]:
    return cursor.fetchall() if cursor.description is not None else []  # an UPDATE returns no rows


def require_workspace(con: Any, name: str) -> str:
    """``name`` if the workspace exists (the active one, where something is about to be created).

    Holds ``FOR KEY SHARE`` on its row until the caller's transaction ends, so a concurrent
    ``delete_workspace`` waits for the creation (and then sees what was created)."""
    if name != DEFAULT_WORKSPACE and con.execute(
            "SELECT 1 FROM arc.workspaces WHERE name = %s FOR KEY SHARE", [name]).fetchone() is None:
        raise rules.not_active(name)
    return name


def _get(con: Any, name: str, lock: str = "") -> Workspace:
    row = con.execute(f"SELECT {rules.COLUMNS} FROM arc.workspaces WHERE name = %s {lock}", [name]).fetchone()
    if row is None:
        raise rules.missing(name)
    return Workspace(*row)


def _cascade(con: Any, name: str) -> tuple[list[str], list[str]]:
    """Delete the workspace's experiments (with their runs and logged models) and registered models
    (with their versions, tags, aliases and history); returns the registered models' ids and the
    S3 copies of their versions."""
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
    copies: list[str] = []
    if models:
        copies = [r[0] for r in con.execute("SELECT storage_location FROM arc.model_versions WHERE model_id = ANY(%s) "
                                            "AND storage_location LIKE 's3://%%'", [models]).fetchall()]
        for table in _REGISTRY_TABLES:
            con.execute(f"DELETE FROM arc.{table} WHERE model_id = ANY(%s)", [models])
    return models, copies
