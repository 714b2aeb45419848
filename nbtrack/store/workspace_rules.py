"""What the embedded and the PostgreSQL workspace stores decide alike (MLflow 3's rules and
messages); each backend runs the SQL on its own connection, with its own locks.

``settle_contents`` takes ``query(sql, params) -> rows`` for SQL written with ``?`` placeholders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nbtrack.config import DEFAULT_WORKSPACE
from nbtrack.entities import Workspace, WorkspaceDeletionMode
from nbtrack.errors import InvalidParameter, InvalidState, NotFound, ResourceExists

__all__ = ["COLUMNS", "already_exists", "changed_fields", "missing", "new_row", "not_active", "refuse_reserved",
           "settle_contents"]

COLUMNS = "name, description, default_artifact_root, trace_archival_location, trace_archival_retention"
#: what a workspace holds: (table, what to call it in a message)
_HOLDS = (("experiments", "experiment"), ("registered_models", "registered model"))

Query = Callable[[str, list[Any]], list[tuple[Any, ...]]]


def refuse_reserved(name: str, action: str) -> None:
    """``create`` or ``delete`` of the default workspace is refused, as MLflow refuses it."""
    if name != DEFAULT_WORKSPACE:
        return
    if action == "create":
        raise InvalidParameter(f"The '{DEFAULT_WORKSPACE}' workspace is reserved and cannot be created; "
                               "it always exists.")
    raise InvalidState(f"Cannot delete the reserved '{DEFAULT_WORKSPACE}' workspace.")


def new_row(workspace: Workspace) -> list[Any]:
    """The values of :data:`COLUMNS` for a workspace being created ('' stores as NULL)."""
    return [workspace.name, workspace.description, workspace.default_artifact_root or None,
            workspace.trace_archival_location or None, workspace.trace_archival_retention or None]


def changed_fields(workspace: Workspace) -> list[tuple[str, Any]]:
    """(column, value) an update sets: the fields that are not None ('' clears an optional one)."""
    return [(column, value if column == "description" else value or None) for column, value in (
        ("description", workspace.description), ("default_artifact_root", workspace.default_artifact_root),
        ("trace_archival_location", workspace.trace_archival_location),
        ("trace_archival_retention", workspace.trace_archival_retention)) if value is not None]


def already_exists(name: str) -> ResourceExists:
    return ResourceExists(f"Workspace '{name}' already exists. Use get_workspace('{name}') or choose another name.")


def missing(name: str) -> NotFound:
    return NotFound(f"Workspace '{name}' not found. List workspaces with list_workspaces().")


def not_active(name: str) -> NotFound:
    """The active workspace, where something is about to be created, does not exist."""
    return NotFound(f"Workspace '{name}' not found. Create it with create_workspace('{name}'), or set another "
                    "with set_workspace() (MLFLOW_WORKSPACE).")


def settle_contents(query: Query, name: str, mode: WorkspaceDeletionMode) -> bool:
    """Before ``name`` is deleted: RESTRICT refuses while it holds experiments or registered models,
    SET_DEFAULT moves them to the default workspace (refusing names that are taken there). True
    for CASCADE: the caller deletes them, with what they hold."""
    if mode == WorkspaceDeletionMode.RESTRICT:
        for table, what in _HOLDS:
            count = query(f"SELECT count(*) FROM arc.{table} WHERE workspace = ?", [name])[0][0]
            if count:
                raise InvalidState(
                    f"Cannot delete workspace '{name}': it still holds {count} {what}(s). Delete or move "
                    "them first, or delete it with mode='SET_DEFAULT' (moves them to the default "
                    "workspace) or mode='CASCADE' (deletes them).")
        return False
    if mode == WorkspaceDeletionMode.SET_DEFAULT:
        for table, what in _HOLDS:
            clash = query(f"SELECT name FROM arc.{table} WHERE workspace = ? AND name IN "
                          f"(SELECT name FROM arc.{table} WHERE workspace = ?) ORDER BY name",
                          [name, DEFAULT_WORKSPACE])
            if clash:
                raise InvalidState(
                    f"Cannot delete workspace '{name}' with mode='SET_DEFAULT': the {what} name(s) "
                    f"{[r[0] for r in clash]} exist in the '{DEFAULT_WORKSPACE}' workspace too. Rename "
                    "them first.")
        for table, _ in _HOLDS:
            query(f"UPDATE arc.{table} SET workspace = ? WHERE workspace = ?", [DEFAULT_WORKSPACE, name])
        return False
    return True
