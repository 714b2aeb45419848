"""MLflow 3 logged models in PostgreSQL, with the embedded store's rules (``duckdb/logged_models.py``).

Each change is one short transaction; files live at ``<experiment location>/models/<model_id>/artifacts``
(stored NULL and computed by the ``logged_models`` view). Metric values linked to a model are written
by :meth:`PostgresStore.log_model_metric` in the same transaction as the run's point.
"""

from __future__ import annotations

import time
import uuid
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from nbtrack.entities import LifecycleStage, LoggedModel, LoggedModelStatus, Metric
from nbtrack.errors import NotFound
from nbtrack.search._logged_models import compile_logged_model_search
from nbtrack.store.postgres._db import Database, pyformat

__all__ = ["PostgresLoggedModelStore", "read_models"]

_COLS = ("model_id, experiment_id, name, artifact_location, creation_timestamp, last_updated_timestamp, "
         "model_type, source_run_id, status, status_message")


def _now() -> int:
    return time.time_ns() // 1_000_000


class PostgresLoggedModelStore:
    """Create, read, tag, finalize and search logged models in one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def __repr__(self) -> str:
        return f"PostgresLoggedModelStore({self.db.where!r})"

    def create(self, experiment_id: str, name: str, model_type: str | None, source_run_id: str | None,
               params: Sequence[tuple[str, str]], tags: Sequence[tuple[str, str]]) -> LoggedModel:
        model_id = f"m-{uuid.uuid4().hex}"
        now = _now()
        with self.db.transaction() as con:
            try:
                eid = int(experiment_id)
            except (TypeError, ValueError):
                eid = -1
            if con.execute("SELECT 1 FROM arc.experiments WHERE experiment_id = %s", [eid]).fetchone() is None:
                raise NotFound(f"Experiment with ID '{experiment_id}' does not exist. "
                               "List experiments with nbtrack.search_experiments().")
            con.execute("INSERT INTO arc.logged_models VALUES (%s, %s, %s, NULL, %s, %s, %s, %s, %s, NULL, %s)",
                        [model_id, eid, name, now, now, model_type, source_run_id, LoggedModelStatus.PENDING,
                         LifecycleStage.ACTIVE])
            for table, items in (("logged_model_params", params), ("logged_model_tags", tags)):
                for key, value in dict(items).items():
                    con.execute(f"INSERT INTO arc.{table} VALUES (%s, %s, %s)", [model_id, key, value])
            return _read(con, [model_id])[0]

    def get(self, model_id: str) -> LoggedModel:
        with self.db.read() as con:
            return _read(con, [model_id])[0]

    def _change(self, model_id: str, statements: Sequence[tuple[str, list[Any]]]) -> LoggedModel:
        with self.db.transaction() as con:
            _exists(con, model_id, lock=True)
            for sql, args in statements:
                con.execute(sql, args)
            con.execute("UPDATE arc.logged_models SET last_updated_timestamp = %s WHERE model_id = %s",
                        [_now(), model_id])
            return _read(con, [model_id])[0]

    def finalize(self, model_id: str, status: str, status_message: str | None = None) -> LoggedModel:
        return self._change(model_id, [("UPDATE arc.logged_models SET status = %s, status_message = %s "
                                        "WHERE model_id = %s", [status, status_message, model_id])])

    def _upserts(self, table: str, model_id: str, items: Sequence[tuple[str, str]]) -> list[tuple[str, list[Any]]]:
        sql = (f"INSERT INTO arc.{table} VALUES (%s, %s, %s) "
               "ON CONFLICT (model_id, key) DO UPDATE SET value = excluded.value")
        return [(sql, [model_id, k, v]) for k, v in dict(items).items()]

    def set_tags(self, model_id: str, tags: Sequence[tuple[str, str]]) -> LoggedModel:
        return self._change(model_id, self._upserts("logged_model_tags", model_id, tags))

    def delete_tag(self, model_id: str, key: str) -> LoggedModel:
        return self._change(model_id, [("DELETE FROM arc.logged_model_tags WHERE model_id = %s AND key = %s",
                                        [model_id, key])])

    def log_params(self, model_id: str, params: Sequence[tuple[str, str]]) -> LoggedModel:
        return self._change(model_id, self._upserts("logged_model_params", model_id, params))

    def delete(self, model_id: str) -> None:
        self._change(model_id, [("UPDATE arc.logged_models SET lifecycle_stage = %s WHERE model_id = %s",
                                 [LifecycleStage.DELETED, model_id])])

    def by_run(self, run_id: str, name: str) -> LoggedModel | None:
        """The newest model logged from ``run_id`` as ``name`` (what ``runs:/<run>/<name>`` means in MLflow 3)."""
        with self.db.read() as con:
            row = con.execute("SELECT model_id FROM logged_models WHERE source_run_id = %s AND name = %s "
                              "AND lifecycle_stage = 'active' ORDER BY creation_timestamp DESC LIMIT 1",
                              [run_id, name]).fetchone()
            return _read(con, [row[0]])[0] if row else None

    def link_run(self, run_id: str, direction: str, links: Sequence[tuple[str, int]]) -> None:
        """Record ``(model_id, step)`` pairs as the run's outputs or inputs (``direction``), in order;
        an input already recorded for the run is not added twice."""
        with self.db.transaction() as con:
            if con.execute("SELECT 1 FROM arc.runs WHERE run_id = %s FOR UPDATE", [run_id]).fetchone() is None:
                raise NotFound(f"Run '{run_id}' not found.")
            for model_id, _ in links:
                _exists(con, model_id)
            for model_id, step in links:
                if direction == "input" and con.execute(
                        "SELECT 1 FROM arc.run_model_links WHERE run_id = %s AND model_id = %s "
                        "AND direction = 'input'", [run_id, model_id]).fetchone():
                    continue
                con.execute("INSERT INTO arc.run_model_links (run_id, model_id, direction, step) "
                            "VALUES (%s, %s, %s, %s)", [run_id, model_id, direction, int(step)])

    def run_links(self, run_ids: Sequence[str]) -> dict[str, dict[str, list[tuple[str, int]]]]:
        """``{run_id: {"output": [(model_id, step), ...], "input": [...]}}`` in the order logged."""
        found: dict[str, dict[str, list[tuple[str, int]]]] = {r: {"output": [], "input": []} for r in run_ids}
        with self.db.read() as con:
            for run_id, model_id, direction, step in con.execute(
                    "SELECT run_id, model_id, direction, step FROM arc.run_model_links WHERE run_id = ANY(%s) "
                    "ORDER BY seq", [list(run_ids)]):
                found[run_id][direction].append((model_id, step))
        return found

    def search(self, experiment_ids: Sequence[str], filter_string: str | None,
               datasets: Sequence[Mapping[str, Any]] | None, order_by: Sequence[Mapping[str, Any]] | None,
               limit: int | None, offset: int) -> list[LoggedModel]:
        query = compile_logged_model_search(experiment_ids, filter_string, datasets, order_by, dialect="postgresql")
        sql, params = pyformat(query.sql), list(query.params)
        if limit is not None:
            sql, params = sql + " LIMIT %s OFFSET %s", [*params, limit, offset]
        elif offset:
            sql, params = sql + " OFFSET %s", [*params, offset]
        with self.db.read() as con:
            ids = [r[0] for r in con.execute(sql, params)]
            return _read(con, ids)


def _exists(con: Any, model_id: str, lock: bool = False) -> None:
    if con.execute("SELECT 1 FROM arc.logged_models WHERE model_id = %s" + (" FOR UPDATE" if lock else ""),
                   [model_id]).fetchone() is None:
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
    rows = con.execute(f"SELECT {_COLS} FROM logged_models WHERE model_id = ANY(%s)", [ids]).fetchall()
    extra: dict[str, dict[str, dict[str, str]]] = {"params": defaultdict(dict), "tags": defaultdict(dict)}
    for kind in ("params", "tags"):
        for mid, key, value in con.execute(f"SELECT model_id, key, value FROM arc.logged_model_{kind} "
                                           "WHERE model_id = ANY(%s)", [ids]):
            extra[kind][mid][key] = value
    metrics: dict[str, list[Metric]] = defaultdict(list)
    for mid, key, value, ts, step, run_id, dname, ddigest in con.execute(
            "SELECT model_id, key, value, timestamp, step, run_id, dataset_name, dataset_digest "
            "FROM arc.logged_model_metrics WHERE model_id = ANY(%s) ORDER BY timestamp, step", [ids]):
        metrics[mid].append(Metric(key, value, ts, step, run_id, mid, dname, ddigest))
    found = {}
    for r in rows:
        found[r[0]] = LoggedModel(
            model_id=r[0], experiment_id=r[1], name=r[2], artifact_location=r[3], creation_timestamp=r[4],
            last_updated_timestamp=r[5], model_type=r[6], source_run_id=r[7], status=r[8], status_message=r[9],
            tags=dict(extra["tags"][r[0]]), params=dict(extra["params"][r[0]]), metrics=metrics[r[0]])
    return [found[i] for i in ids if i in found]
