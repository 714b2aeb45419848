"""Permanently remove deleted runs (and deleted experiments) with their artifacts: ``nbtrack gc``.

MLflow's ``mlflow gc``: only runs in the ``deleted`` lifecycle stage are removed; ``older_than_ms``
keeps those deleted more recently; named runs that are not deleted (or too recent) are an error,
and nothing is removed then. Rows go in one transaction under the store's exclusive lock; the
artifact folders are removed after it commits, so a crash leaves orphan files, never rows that
point at missing files.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote, urlparse

from nbtrack.errors import InvalidParameter, NotFound

__all__ = ["GcResult", "collect_garbage"]

_RUN_TABLES = ("params", "tags", "metrics", "latest_metrics", "inputs", "runs")


@dataclass
class GcResult:
    run_ids: list[str] = field(default_factory=list)
    experiment_ids: list[str] = field(default_factory=list)
    removed_paths: list[str] = field(default_factory=list)


def collect_garbage(store: Any, run_ids: Sequence[str] | None = None, experiment_ids: Sequence[str] | None = None,
                    older_than_ms: int | None = None) -> GcResult:
    """Remove deleted runs and experiments from ``store`` (a DuckDBStore) for good.

    With neither ``run_ids`` nor ``experiment_ids``, every deleted run and every deleted
    experiment (with all its runs) deleted at least ``older_than_ms`` ago is removed.
    """
    store.sync()
    cutoff = None if older_than_ms is None else int(time.time() * 1000) - int(older_than_ms)
    result = GcResult()
    folders: list[str] = []
    with store.archive.writing() as con:
        exp_ids = _experiments(con, experiment_ids, cutoff, everything=run_ids is None and experiment_ids is None)
        runs = _runs(con, run_ids, exp_ids, cutoff, everything=run_ids is None and experiment_ids is None)
        ids = [r[0] for r in runs]
        if ids:
            for table in _RUN_TABLES:
                con.execute(f"DELETE FROM arc.{table} WHERE run_id IN (SELECT unnest(?))", [ids])
        if exp_ids:
            ints = [int(e) for e in exp_ids]
            # Only the store's own experiment folders: a custom artifact_location may be shared.
            folders += [os.path.join(store.artifact_root, str(e)) for e in exp_ids]
            con.execute("DELETE FROM arc.experiment_tags WHERE experiment_id IN (SELECT unnest(?))", [ints])
            con.execute("DELETE FROM arc.experiments WHERE experiment_id IN (SELECT unnest(?))", [ints])
        folders = [_run_folder(uri, run_id) for run_id, uri in runs if uri] + folders
    for run_id in ids:
        store._runs.pop(run_id, None)
    for exp_id in exp_ids:
        store._experiments.pop(str(exp_id), None)
    result.run_ids, result.experiment_ids = ids, [str(e) for e in exp_ids]
    result.removed_paths = [p for p in (_local(f) for f in folders) if p and _remove(p)]
    return result


def _experiments(con: Any, wanted: Sequence[str] | None, cutoff: int | None, everything: bool) -> list[str]:
    rows = {str(r[0]): r[1:] for r in con.execute(
        "SELECT experiment_id, lifecycle_stage, last_update_time FROM arc.experiments").fetchall()}
    if wanted is None:
        if not everything:
            return []
        return [e for e, (stage, updated) in rows.items()
                if stage == "deleted" and (cutoff is None or (updated or 0) <= cutoff)]
    for exp_id in wanted:
        if str(exp_id) not in rows:
            raise NotFound(f"Experiment with ID '{exp_id}' does not exist. List deleted ones with "
                           "nbtrack experiments search --view deleted_only.")
        stage, updated = rows[str(exp_id)]
        if stage != "deleted":
            raise InvalidParameter(f"Experiment {exp_id} is not in the deleted lifecycle stage; only deleted "
                                   f"experiments can be removed. Delete it first: nbtrack experiments delete -x {exp_id}.")
        if cutoff is not None and (updated or 0) > cutoff:
            raise InvalidParameter(f"Experiment {exp_id} was deleted too recently for --older-than.")
    return [str(e) for e in wanted]


def _runs(con: Any, wanted: Sequence[str] | None, exp_ids: list[str], cutoff: int | None,
          everything: bool) -> list[tuple[str, str]]:
    rows = {r[0]: r[1:] for r in con.execute(
        "SELECT v.run_id, v.lifecycle_stage, a.deleted_time, v.artifact_uri, v.experiment_id "
        "FROM runs v JOIN arc.runs a ON a.run_id = v.run_id").fetchall()}  # the view resolves artifact_uri
    chosen: dict[str, str] = {}
    for run_id, (stage, deleted, uri, exp) in rows.items():
        old_enough = cutoff is None or (deleted or 0) <= cutoff
        if str(exp) in exp_ids or (everything and stage == "deleted" and old_enough):
            chosen[run_id] = uri
    for run_id in wanted or ():
        if run_id not in rows:
            raise NotFound(f"Run '{run_id}' does not exist in this store.")
        stage, deleted, uri, _ = rows[run_id]
        if stage != "deleted":
            raise InvalidParameter(f"Run {run_id} is not in the deleted lifecycle stage; only deleted runs can be "
                                   f"removed. Delete it first: nbtrack runs delete --run-id {run_id}.")
        if cutoff is not None and (deleted or 0) > cutoff:
            raise InvalidParameter(f"Run {run_id} was deleted too recently for --older-than.")
        chosen[run_id] = uri
    return list(chosen.items())


def _run_folder(artifact_uri: str, run_id: str) -> str:
    """``<experiment location>/<run_id>/artifacts`` -> the run's own folder ``.../<run_id>``."""
    parent = artifact_uri.rstrip("/").rsplit("/", 1)[0]
    return parent if parent.rstrip("/").endswith("/" + run_id) else artifact_uri


def _local(uri: str) -> str | None:
    parsed = urlparse(uri)
    if parsed.scheme == "file":
        return unquote(parsed.path)
    if parsed.scheme == "" or (len(parsed.scheme) == 1 and os.name == "nt"):
        return uri
    return None  # not a local folder: nothing to remove here


def _remove(path: str) -> bool:
    if not os.path.isdir(path):
        return False
    shutil.rmtree(path, ignore_errors=True)
    return True
