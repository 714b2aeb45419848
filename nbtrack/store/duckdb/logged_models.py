"""MLflow 3 logged models, kept in the archive beside the runs.

A logged model's record, params and tags are low-rate metadata: each change is one short
transaction inside ``Archive.writing()``, like experiments and the registry. Its files live
where MLflow 3 puts them, ``<experiment location>/models/<model_id>/artifacts`` (stored NULL
and computed by the ``logged_models`` view, so a copied store still finds them). Metric values
linked to a model go through the run's segments (kind ``M``) and are folded into
``logged_model_metrics``, so ``log_metric(..., model_id=...)`` never takes the lock.

Arguments arrive validated (the tracking layer checks keys, values and statuses).
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from nbtrack.entities import LifecycleStage, LoggedModel, LoggedModelStatus, Metric
from nbtrack.errors import NotFound
from nbtrack.search._logged_models import compile_logged_model_search
from nbtrack.store.duckdb.archive import Archive

__all__ = ["LoggedModelStore"]

_COLS = ("model_id, experiment_id, name, artifact_location, creation_timestamp, last_updated_timestamp, "
         "model_type, source_run_id, status, status_message")


def _now() -> int:
    return time.time_ns() // 1_000_000


class LoggedModelStore:
    """Create, read, tag, finalize and search logged models in one archive."""

    def __init__(self, archive: Archive, sync: Callable[[], None]) -> None:
        self.archive = archive
        self._sync = sync  # the store's flush-and-fold, so reads see this process's model metrics

    def __repr__(self) -> str:
        return f"LoggedModelStore({self.archive.root!r})"

    def create(self, experiment_id: str, name: str, model_type: str | None, source_run_id: str | None,
               params: Sequence[tuple[str, str]], tags: Sequence[tuple[str, str]]) -> LoggedModel:
        model_id = f"m-{uuid.uuid4().hex}"
        now = _now()
        with self.archive.writing() as con:
            if not con.execute("SELECT 1 FROM arc.experiments WHERE experiment_id = ?",
                               [int(experiment_id)]).fetchall():
                raise NotFound(f"Experiment with ID '{experiment_id}' does not exist. "
                               "List experiments with nbtrack.search_experiments().")
            con.execute("INSERT INTO arc.logged_models VALUES (?, ?, ?, NULL, ?, ?, ?, ?, ?, NULL, ?)",
                        [model_id, int(experiment_id), name, now, now, model_type, source_run_id,
                         LoggedModelStatus.PENDING, LifecycleStage.ACTIVE])
            for table, items in (("logged_model_params", params), ("logged_model_tags", tags)):
                for key, value in dict(items).items():
                    con.execute(f"INSERT OR REPLACE INTO arc.{table} VALUES (?, ?, ?)", [model_id, key, value])
            return _read(con, [model_id])[0]

    def get(self, model_id: str) -> LoggedModel:
        self._sync()
        with self.archive.reading() as con:
            return _read(con, [model_id])[0]

    def _change(self, model_id: str, statements: Sequence[tuple[str, list[Any]]]) -> LoggedModel:
        with self.archive.writing() as con:
            _exists(con, model_id)
            for sql, args in statements:
                con.execute(sql, args)
            con.execute("UPDATE arc.logged_models SET last_updated_timestamp = ? WHERE model_id = ?",
                        [_now(), model_id])
            return _read(con, [model_id])[0]

    def finalize(self, model_id: str, status: str, status_message: str | None = None) -> LoggedModel:
        return self._change(model_id, [(
            "UPDATE arc.logged_models SET status = ?, status_message = ? WHERE model_id = ?",
            [status, status_message, model_id])])

    def set_tags(self, model_id: str, tags: Sequence[tuple[str, str]]) -> LoggedModel:
        return self._change(model_id, [("INSERT OR REPLACE INTO arc.logged_model_tags VALUES (?, ?, ?)",
                                        [model_id, k, v]) for k, v in tags])

    def delete_tag(self, model_id: str, key: str) -> LoggedModel:
        return self._change(model_id, [("DELETE FROM arc.logged_model_tags WHERE model_id = ? AND key = ?",
                                        [model_id, key])])

    def log_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> LoggedModel:
        return self._change(model_id, [("INSERT OR REPLACE INTO arc.logged_model_params VALUES (?, ?, ?)",
                                        [model_id, k, v]) for k, v in params])

    def delete(self, model_id: str) -> None:
        self._change(model_id, [("UPDATE arc.logged_models SET lifecycle_stage = ? WHERE model_id = ?",
                                 [LifecycleStage.DELETED, model_id])])

    def by_run(self, run_id: str, name: str) -> LoggedModel | None:
        """The newest model logged from ``run_id`` as ``name`` (what ``runs:/<run>/<name>`` means in MLflow 3)."""
        self._sync()
        with self.archive.reading() as con:
            rows = con.execute("SELECT model_id FROM logged_models WHERE source_run_id = ? AND name = ? "
                               "AND lifecycle_stage = 'active' ORDER BY creation_timestamp DESC LIMIT 1",
                               [run_id, name]).fetchall()
            return _read(con, [rows[0][0]])[0] if rows else None

    def link_run(self, run_id: str, direction: str, links: Sequence[tuple[str, int]]) -> None:
        """Record ``(model_id, step)`` pairs as the run's outputs or inputs (``direction``), in order.

        As in MLflow, each call adds its rows (the same model may be output at several steps);
        an input already recorded for the run is not added twice.
        """
        self._sync()  # the run may still be in this process's buffer
        with self.archive.writing() as con:
            if not con.execute("SELECT 1 FROM arc.runs WHERE run_id = ?", [run_id]).fetchall():
                raise NotFound(f"Run '{run_id}' not found.")
            for model_id, _ in links:
                _exists(con, model_id)
            seq = con.execute("SELECT COALESCE(max(seq), 0) FROM arc.run_model_links").fetchall()[0][0]
            for model_id, step in links:
                if direction == "input" and con.execute(
                        "SELECT 1 FROM arc.run_model_links WHERE run_id = ? AND model_id = ? AND direction = 'input'",
                        [run_id, model_id]).fetchall():
                    continue
                seq += 1
                con.execute("INSERT INTO arc.run_model_links VALUES (?, ?, ?, ?, ?)",
                            [run_id, model_id, direction, step, seq])

    def run_links(self, run_ids: Sequence[str]) -> dict[str, dict[str, list[tuple[str, int]]]]:
        """``{run_id: {"output": [(model_id, step), ...], "input": [...]}}`` in the order logged."""
        found: dict[str, dict[str, list[tuple[str, int]]]] = {r: {"output": [], "input": []} for r in run_ids}
        with self.archive.reading() as con:
            for run_id, model_id, direction, step in con.execute(
                    "SELECT run_id, model_id, direction, step FROM arc.run_model_links "
                    "WHERE list_contains(?, run_id) ORDER BY seq", [list(run_ids)]).fetchall():
                found[run_id][direction].append((model_id, step))
        return found

    def search(self, experiment_ids: Sequence[str], filter_string: str | None,
               datasets: Sequence[Mapping[str, Any]] | None, order_by: Sequence[Mapping[str, Any]] | None,
               limit: int | None, offset: int) -> list[LoggedModel]:
        query = compile_logged_model_search(experiment_ids, filter_string, datasets, order_by)
        sql, params = query.sql, list(query.params)
        if limit is not None:
            sql, params = sql + " LIMIT ? OFFSET ?", [*params, limit, offset]
        elif offset:
            sql, params = sql + " OFFSET ?", [*params, offset]
        self._sync()
        with self.archive.reading() as con:
            ids = [r[0] for r in con.execute(sql, params).fetchall()]
            return _read(con, ids)


def _exists(con: Any, model_id: str) -> None:
    if not con.execute("SELECT 1 FROM arc.logged_models WHERE model_id = ?", [model_id]).fetchall():
        raise NotFound(f"Logged model with ID '{model_id}' not found. Find models with "
                       "nbtrack.search_logged_models().")


def _read(con: Any, ids: list[str]) -> list[LoggedModel]:
    """The models with ``ids``, in that order (NotFound when the first asked for is missing)."""
    found = read_models(con, ids)
    if ids and not found:
        raise NotFound(f"Logged model with ID '{ids[0]}' not found. Find models with "
                       "nbtrack.search_logged_models().")
    return found


def read_models(con: Any, ids: list[str]) -> list[LoggedModel]:
    """The models with ``ids`` that exist, in that order (the registry reads its versions' models here)."""
    if not ids:
        return []
    rows = con.execute(f"SELECT {_COLS} FROM logged_models WHERE list_contains(?, model_id)", [ids]).fetchall()
    extra: dict[str, dict[str, dict[str, str]]] = {"params": defaultdict(dict), "tags": defaultdict(dict)}
    for kind in ("params", "tags"):
        for mid, key, value in con.execute(f"SELECT model_id, key, value FROM logged_model_{kind} "
                                           "WHERE list_contains(?, model_id)", [ids]).fetchall():
            extra[kind][mid][key] = value
    metrics: dict[str, list[Metric]] = defaultdict(list)
    for mid, key, value, ts, step, run_id, dname, ddigest in con.execute(
            "SELECT model_id, key, value, timestamp, step, run_id, dataset_name, dataset_digest "
            "FROM logged_model_metrics WHERE list_contains(?, model_id) ORDER BY timestamp, step", [ids]).fetchall():
        metrics[mid].append(Metric(key, value, ts, step, run_id, mid, dname, ddigest))
    found = {}
    for r in rows:
        found[r[0]] = LoggedModel(
            model_id=r[0], experiment_id=r[1], name=r[2], artifact_location=r[3], creation_timestamp=r[4],
            last_updated_timestamp=r[5], model_type=r[6], source_run_id=r[7], status=r[8], status_message=r[9],
            tags=dict(extra["tags"][r[0]]), params=dict(extra["params"][r[0]]), metrics=metrics[r[0]])
    return [found[i] for i in ids if i in found]
