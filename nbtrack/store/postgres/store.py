"""The PostgreSQL store: MLflow's tracking operations as short transactions over a connection pool.

Writes are synchronous: each ``log_batch`` (and every call built on it) is one transaction that
checks the run, applies the params rule of :func:`nbtrack.store.base.new_params`, upserts tags,
appends the points and keeps ``latest_metrics`` (MLflow's greatest ``(step, timestamp, value)``)
in the same statement set, so ``flush()`` and ``sync()`` have nothing left to do when they are
called: a call that returned is durable and visible to every process and replica. (The embedded
store buffers because its writers must never wait for a file lock; here the database serialises
writers itself, and a 1,000-point batch is one round trip of arrays.) No state is kept between
calls except the pool, so any number of processes and server replicas can share one database.

Floats are stored as ``double precision``, which holds NaN and +-inf exactly (MLflow's SQL
store turns them into 0 and +-1.7976931348623157e308).
"""

from __future__ import annotations

import os
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from nbtrack import config
from nbtrack.entities import (
    DatasetInput,
    Experiment,
    LifecycleStage,
    Metric,
    Run,
    RunData,
    RunInfo,
    RunStatus,
    ViewType,
)
from nbtrack.errors import (
    InvalidParameter,
    InvalidStore,
    NotFound,
    ParamConflict,
    ResourceExists,
    RunNotActive,
)
from nbtrack.store.base import ViewOperations, new_params
from nbtrack.store.postgres import reads, views
from nbtrack.store.postgres._db import Database, display_uri, pyformat
from nbtrack.store.postgres.schema import set_files_root, upgrade
from nbtrack.store.postgres.workspaces import require_workspace

__all__ = ["PostgresStore"]

_EXP_COLS = "experiment_id, name, artifact_location, lifecycle_stage, creation_time, last_update_time, workspace"
_MAX_BIGINT = 2**63


def _now() -> int:
    return time.time_ns() // 1_000_000


class PostgresStore(ViewOperations):
    """A store in one PostgreSQL database (``postgresql://user:pass@host:port/db``).

    ``files_root`` is the database's local folder for artifacts (``artifacts/``) and registry
    copies (``registry/``), recorded in the database (``nbtrack db upgrade URI --files-root``)
    so every process agrees; the first open records ``./nbtrack-files`` when none is set."""

    #: every write is committed before its call returns (the server then waits for no flush)
    buffers_writes = False

    def __init__(self, uri: str) -> None:
        self.root = uri
        self.where = display_uri(uri)
        upgrade(uri)
        self.files_root = set_files_root(uri, os.path.abspath("nbtrack-files"), replace=False)
        self.artifact_root = os.path.join(self.files_root, "artifacts")
        self.db = Database(uri)
        self._closed = False
        self._registry: Any = None
        self._logged_models: Any = None
        self.copies_root: str | None = None  # see keep_copies_on

    def __repr__(self) -> str:
        return f"PostgresStore({self.where!r})"

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from nbtrack.store.postgres.registry import PostgresRegistryStore

            self._registry = PostgresRegistryStore(self.db, self.files_root, self.copies_root)
        return self._registry

    def keep_copies_on(self, uri: str) -> None:
        """Keep registered model versions' copies under ``uri`` (``s3://...``) instead of the files
        root: what a server whose artifacts are on S3 asks, so its replicas share no folder."""
        self.copies_root = uri
        if self._registry is not None:
            self._registry.copies_root = uri

    @property
    def logged_models(self) -> Any:
        if self._logged_models is None:
            from nbtrack.store.postgres.logged_models import PostgresLoggedModelStore

            self._logged_models = PostgresLoggedModelStore(self.db)
        return self._logged_models

    @property
    def workspaces(self) -> Any:
        """MLflow 3 workspaces kept in the same database (short transactions, row locks)."""
        from nbtrack.store.postgres.workspaces import PostgresWorkspaceStore

        return PostgresWorkspaceStore(self.db, os.path.join(self.files_root, "registry"))

    # == experiments ====================================================================
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: Sequence[tuple[str, str]] = ()) -> str:
        now = _now()
        with self.db.transaction() as con:
            workspace = require_workspace(con, config.active_workspace())
            row = con.execute("SELECT lifecycle_stage FROM arc.experiments WHERE name = %s AND workspace = %s",
                              [name, workspace]).fetchone()
            if row:
                state = " in deleted state" if row[0] == LifecycleStage.DELETED else ""
                hint = (" Restore it with nbtrack.restore_experiment() or choose another name."
                        if state else " Use nbtrack.set_experiment(name) to make it the active one.")
                raise ResourceExists(f"Experiment '{name}' already exists{state}.{hint}")
            new_id = con.execute("SELECT nextval('arc.experiment_ids')").fetchone()[0]  # type: ignore[index]
            con.execute("INSERT INTO arc.experiments VALUES (%s, %s, %s, 'active', %s, %s, %s)",
                        [new_id, name, artifact_location, now, now, workspace])
            for key, value in dict(tags).items():
                con.execute("INSERT INTO arc.experiment_tags VALUES (%s, %s, %s)", [new_id, key, value])
        return str(new_id)

    def _experiments(self, con: Any, where: str, params: list[Any]) -> list[Experiment]:
        rows = con.execute(f"SELECT {_EXP_COLS} FROM experiments WHERE {where}", params).fetchall()
        ids = [r[0] for r in rows]
        tags: dict[str, dict[str, str]] = defaultdict(dict)
        for eid, key, value in con.execute(
                "SELECT experiment_id, key, value FROM experiment_tags WHERE experiment_id = ANY(%s)", [ids]):
            tags[eid][key] = value
        return [Experiment(r[0], r[1], r[2], r[3], tags.get(r[0], {}), r[4], r[5], r[6]) for r in rows]

    def get_experiment(self, experiment_id: str) -> Experiment:
        with self.db.read() as con:
            found = self._experiments(con, "experiment_id = %s", [str(experiment_id)])
        if not found:
            raise NotFound(f"Experiment with ID '{experiment_id}' does not exist. "
                           "List experiments with nbtrack.search_experiments().")
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        with self.db.read() as con:
            found = self._experiments(con, "name = %s AND workspace = %s", [name, config.active_workspace()])
        return found[0] if found else None

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           offset: int = 0) -> list[Experiment]:
        from nbtrack.search import compile_experiment_search

        query = compile_experiment_search(filter_string, order_by, ViewType.stages(view_type), dialect="postgresql",
                                          workspace=config.active_workspace())
        with self.db.read() as con:
            ids = [r[0] for r in con.execute(pyformat(query.sql) + " LIMIT %s OFFSET %s",
                                             [*query.params, max_results if max_results is not None else 2**62,
                                              offset]).fetchall()]
            found = {e.experiment_id: e for e in self._experiments(con, "experiment_id = ANY(%s)", [ids])}
        return [found[i] for i in ids if i in found]

    def _update_experiment(self, experiment_id: str, statements: Sequence[tuple[str, list[Any]]]) -> None:
        eid = _int_id(experiment_id)
        with self.db.transaction() as con:
            if not con.execute("SELECT 1 FROM arc.experiments WHERE experiment_id = %s FOR UPDATE", [eid]).fetchone():
                raise NotFound(f"Experiment with ID '{experiment_id}' does not exist.")
            for sql, args in statements:
                con.execute(sql, args)
            con.execute("UPDATE arc.experiments SET last_update_time = %s WHERE experiment_id = %s", [_now(), eid])

    def delete_experiment(self, experiment_id: str) -> None:
        if str(experiment_id) == "0":
            raise InvalidParameter("Cannot delete the default experiment '0'. Delete its runs instead.")
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        eid = _int_id(experiment_id)
        deleted = _now() if stage == LifecycleStage.DELETED else None
        self._update_experiment(experiment_id, [
            ("UPDATE arc.experiments SET lifecycle_stage = %s WHERE experiment_id = %s", [stage, eid]),
            ("UPDATE arc.runs SET lifecycle_stage = %s, deleted_time = %s WHERE experiment_id = %s",
             [stage, deleted, eid])])  # its runs follow it, as in MLflow

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        if self.get_experiment_by_name(new_name) is not None:
            raise ResourceExists(f"Experiment '{new_name}' already exists. Choose another name.")
        self._update_experiment(experiment_id, [("UPDATE arc.experiments SET name = %s WHERE experiment_id = %s",
                                                 [new_name, _int_id(experiment_id)])])

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._update_experiment(experiment_id, [(
            "INSERT INTO arc.experiment_tags VALUES (%s, %s, %s) "
            "ON CONFLICT (experiment_id, key) DO UPDATE SET value = excluded.value",
            [_int_id(experiment_id), key, value])])

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._update_experiment(experiment_id, [(
            "DELETE FROM arc.experiment_tags WHERE experiment_id = %s AND key = %s", [_int_id(experiment_id), key])])

    # == runs ===========================================================================
    def create_run(self, experiment_id: str, user_id: str, start_time: int | None,
                   tags: Sequence[tuple[str, str]], run_name: str) -> Run:
        run_id = uuid.uuid4().hex
        start = _now() if start_time is None else _bigint(start_time, "start_time")
        tag_dict = dict(tags)
        tag_dict["mlflow.runName"] = run_name
        # one statement (one round trip, atomic on its own): check the experiment, insert the run
        # and its tags; it returns the experiment's row, so a refusal still says why
        with self.db.statement() as con:
            row = con.execute("""
                WITH e AS (SELECT experiment_id, artifact_location, lifecycle_stage FROM experiments
                           WHERE experiment_id = %s),
                r AS (INSERT INTO arc.runs SELECT %s, CAST(e.experiment_id AS BIGINT), %s, %s, %s, %s, NULL,
                                                  'active', NULL, NULL
                      FROM e WHERE e.lifecycle_stage = 'active' RETURNING run_id),
                t AS (INSERT INTO arc.tags SELECT r.run_id, u.key, u.value
                      FROM r, unnest(%s::text[], %s::text[]) AS u(key, value))
                SELECT artifact_location, lifecycle_stage FROM e""",
                [str(experiment_id), run_id, run_name, user_id, RunStatus.RUNNING, start, list(tag_dict),
                 list(tag_dict.values())]).fetchone()
        if row is None:
            raise NotFound(f"Experiment with ID '{experiment_id}' does not exist. "
                           "List experiments with nbtrack.search_experiments().")
        if row[1] != LifecycleStage.ACTIVE:
            raise RunNotActive(
                f"The experiment {experiment_id} must be in the 'active' state to create runs in it. "
                "Restore it with nbtrack.restore_experiment() or use another experiment.")
        info = RunInfo(run_id, experiment_id, run_name, user_id, RunStatus.RUNNING, start, None,
                       f"{row[0]}/{run_id}/artifacts", LifecycleStage.ACTIVE)
        return Run(info, RunData(tags=tag_dict))

    def local_run(self, run_id: str) -> Run | None:
        """Always None: nothing is mirrored in the process (the database is the one copy)."""
        return None

    @staticmethod
    def _active(con: Any, run_id: str) -> None:
        row = con.execute("SELECT lifecycle_stage FROM arc.runs WHERE run_id = %s", [run_id]).fetchone()
        if row is None:
            raise NotFound(f"Run with id={run_id} not found. Check the id, or search with nbtrack.search_runs().")
        if row[0] != LifecycleStage.ACTIVE:
            raise RunNotActive(f"The run {run_id} must be in the 'active' state. Current state is {row[0]}. "
                               f"Restore it with nbtrack.restore_run('{run_id}') first.")

    def update_run_info(self, run_id: str, status: str | None = None, end_time: int | None = None,
                        run_name: str | None = None, resume: bool = False) -> None:
        sets: list[str] = []
        args: list[Any] = []
        if status is not None:
            sets.append("status = %s")
            args.append(status)
        if end_time is not None:
            sets.append("end_time = %s")
            args.append(_bigint(end_time, "end_time"))
        if run_name is not None:
            sets.append("run_name = %s")
            args.append(run_name)
        with self.db.transaction() as con:
            self._active(con, run_id)
            if sets:
                con.execute(f"UPDATE arc.runs SET {', '.join(sets)} WHERE run_id = %s", [*args, run_id])
            if run_name is not None:
                _upsert_tags(con, run_id, [("mlflow.runName", run_name)])

    def _set_run_stage(self, run_id: str, stage: str, deleted_time: int | None) -> None:
        with self.db.transaction() as con:
            row = con.execute("UPDATE arc.runs SET lifecycle_stage = %s, deleted_time = %s WHERE run_id = %s "
                              "RETURNING 1", [stage, deleted_time, run_id]).fetchone()
            if row is None:
                raise NotFound(f"Run with id={run_id} not found. Check the id, or search with nbtrack.search_runs().")

    def delete_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.DELETED, _now())

    def restore_run(self, run_id: str) -> None:
        self._set_run_stage(run_id, LifecycleStage.ACTIVE, None)

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[tuple[str, str]] = (),
                  tags: Sequence[tuple[str, str]] = ()) -> None:
        with self.db.transaction() as con:
            self._active(con, run_id)
            if params:
                _insert_params(con, run_id, params)
            if tags:
                _upsert_tags(con, run_id, tags)
            if metrics:
                _insert_metrics(con, run_id, [m.key for m in metrics], [m.value for m in metrics],
                                [m.timestamp for m in metrics], [m.step for m in metrics])

    def log_metrics_columns(self, run_id: str, keys: Sequence[str], values: Sequence[float],
                            timestamps: Sequence[int], steps: Sequence[int]) -> None:
        with self.db.transaction() as con:
            self._active(con, run_id)
            _insert_metrics(con, run_id, list(keys), list(values), list(timestamps), list(steps))

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        self.log_metrics_columns(run_id, [key], [value], [timestamp], [step])

    def log_model_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int,
                         link: dict[str, str | None], run_point: bool = True) -> None:
        """A run metric point that also belongs to a logged model (``link``: model_id, dataset_name,
        dataset_digest); ``run_point=False`` links a point the run already has."""
        with self.db.transaction() as con:
            self._active(con, run_id)
            if run_point:
                _insert_metrics(con, run_id, [key], [value], [timestamp], [step])
            con.execute("INSERT INTO arc.logged_model_metrics VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                        [link.get("model_id"), key, value, _bigint(timestamp, "timestamp"), _bigint(step, "step"),
                         run_id, link.get("dataset_name"), link.get("dataset_digest")])

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.log_batch(run_id, tags=[(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        with self.db.transaction() as con:
            self._active(con, run_id)
            if con.execute("DELETE FROM arc.tags WHERE run_id = %s AND key = %s RETURNING 1",
                           [run_id, key]).fetchone() is None:
                raise NotFound(f"No tag with name: {key} in run with id {run_id}")

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        with self.db.transaction() as con:
            self._active(con, run_id)
            for item in datasets:
                d = item.dataset
                tags = {t.key: t.value for t in item.tags}
                context = tags.get("mlflow.data.context")
                import json

                con.execute(
                    "INSERT INTO arc.inputs SELECT %s, %s, %s, %s, %s, %s, %s, %s, %s WHERE NOT EXISTS ("
                    "SELECT 1 FROM arc.inputs WHERE run_id = %s AND dataset_name = %s AND dataset_digest = %s "
                    "AND context IS NOT DISTINCT FROM %s)",
                    [run_id, d.name, d.digest, d.source_type, d.source, d.schema, d.profile, context,
                     json.dumps(tags), run_id, d.name, d.digest, context])

    # == reading runs ===================================================================
    def get_run(self, run_id: str) -> Run:
        runs = self.runs_by_ids([run_id])
        if not runs:
            raise NotFound(f"Run with id={run_id} not found. Check the id, or search with nbtrack.search_runs().")
        return runs[0]

    def runs_by_ids(self, run_ids: Sequence[str]) -> list[Run]:
        ids = list(run_ids)
        if not ids:
            return []
        with self.db.statement() as con:
            return reads.runs_of(con, reads.IDS, [ids])

    def search_run_ids(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                       run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                       order_by: list[str] | None = None, offset: int = 0) -> list[str]:
        sql, params = self._search_sql(experiment_ids, filter_string, run_view_type, order_by)
        with self.db.read() as con:
            return [r[0] for r in con.execute(sql + " LIMIT %s OFFSET %s", [*params, max_results, offset])]

    @staticmethod
    def _search_sql(experiment_ids: Sequence[str], filter_string: str | None, run_view_type: int,
                    order_by: list[str] | None) -> tuple[str, list[Any]]:
        from nbtrack.search import compile_run_search

        query = compile_run_search(filter_string, order_by, [str(e) for e in experiment_ids],
                                   ViewType.stages(run_view_type), dialect="postgresql")
        return pyformat(query.sql), list(query.params)

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                    run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                    order_by: list[str] | None = None, offset: int = 0) -> list[Run]:
        sql, params = self._search_sql(experiment_ids, filter_string, run_view_type, order_by)
        with self.db.statement() as con:  # the page and its runs in one statement
            return reads.runs_of(con, reads.ordered_ids(sql), [*params, max_results, offset])

    def runs_frame(self, run_ids: Sequence[str]) -> Any:
        return reads.runs_frame(self.runs_by_ids(run_ids))

    def search_frame(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                     run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 100000,
                     order_by: list[str] | None = None) -> Any:
        return reads.runs_frame(self.search_runs(experiment_ids, filter_string, run_view_type, max_results, order_by))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        return [Metric(key, v, t, s, run_id) for v, t, s in self.metric_history_rows(run_id, key)]

    def metric_history_rows(self, run_id: str, key: str) -> list[tuple[float, int, int]]:
        """``(value, timestamp, step)`` of each point of ``key``, by step then timestamp (no Metric
        objects: the server writes a 100,000-point history straight from these rows)."""
        with self.db.statement() as con:
            return reads.history_rows(con, run_id, key)

    def metric_history_frame(self, run_ids: Sequence[str], keys: Sequence[str] | None) -> Any:
        import pandas as pd

        sql = ("SELECT m.run_id, m.key, m.step, m.timestamp, m.value FROM arc.metrics m "
               "JOIN unnest(%s::text[]) WITH ORDINALITY AS s(run_id, pos) ON s.run_id = m.run_id")
        params: list[Any] = [list(run_ids)]
        if keys is not None:
            sql += " WHERE m.key = ANY(%s)"
            params.append(list(keys))
        with self.db.read() as con:
            rows = con.execute(sql + " ORDER BY s.pos, m.key, m.step, m.timestamp", params).fetchall()
        frame = pd.DataFrame(rows, columns=["run_id", "key", "step", "timestamp", "value"])
        return frame.astype({"step": "int64", "timestamp": "int64", "value": "float64"})

    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any:
        raise InvalidStore(f"nbtrack.sql() reads the embedded DuckDB store; the tracking URI {self.where} is "
                           "a PostgreSQL database. Query it with psql or a PostgreSQL client (tables in schema arc, "
                           "views in schema nbtrack), or use search_runs().")

    def artifact_repository(self, uri: str) -> Any:
        """The repository of an artifact location: ``s3://`` on S3-compatible storage, else a local folder."""
        from nbtrack.store.s3 import S3ArtifactRepository, is_s3_uri

        if is_s3_uri(uri):
            return S3ArtifactRepository(uri)
        from nbtrack.store.artifacts import LocalArtifactRepository

        return LocalArtifactRepository(uri)

    # == durability =====================================================================
    def flush(self) -> None:
        """Nothing is buffered: every call committed before it returned."""

    def sync(self) -> None:
        """Nothing to fold: every process reads the same committed rows."""

    def close(self, timeout: float | None = None) -> None:
        if self._closed:
            return
        self._closed = True
        self.db.close()

    # == view operations (nbtrack.store.base.ViewStore) =================================
    views_module = views

    def _view(self, fn: Any, *args: Any) -> Any:
        with self.db.read() as con:
            # a view aggregates up to a few hundred thousand points: let it hash in memory rather
            # than sort on disk (the default 4 MB spilled a 100,000-point M4 to an external merge)
            con.execute("SET LOCAL work_mem = '64MB'")
            return fn(con, *args)



# -- writes (each takes the caller's transaction) --------------------------------------------------
def _insert_params(con: Any, run_id: str, params: Sequence[tuple[str, str]]) -> None:
    keys = list(dict.fromkeys(k for k, _ in params))
    known = dict(con.execute("SELECT key, value FROM arc.params WHERE run_id = %s AND key = ANY(%s)",
                             [run_id, keys]).fetchall())
    fresh = new_params(run_id, known, params)
    if not fresh:
        return
    added = {r[0] for r in con.execute(
        "INSERT INTO arc.params SELECT %s, * FROM unnest(%s::text[], %s::text[]) ON CONFLICT DO NOTHING RETURNING key",
        [run_id, [k for k, _ in fresh], [v for _, v in fresh]]).fetchall()}
    for key, value in fresh:  # another process logged the key in between: the rule still holds
        if key not in added:
            old = con.execute("SELECT value FROM arc.params WHERE run_id = %s AND key = %s", [run_id, key]).fetchone()
            if old is not None and old[0] != value:
                raise ParamConflict(run_id, key, old[0], value)


def _upsert_tags(con: Any, run_id: str, tags: Sequence[tuple[str, str]]) -> None:
    last = dict(tags)  # the last value of a key given twice wins, as applied in order
    con.execute("INSERT INTO arc.tags SELECT %s, * FROM unnest(%s::text[], %s::text[]) "
                "ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value",
                [run_id, list(last), list(last.values())])
    if "mlflow.runName" in last:
        con.execute("UPDATE arc.runs SET run_name = %s WHERE run_id = %s", [last["mlflow.runName"], run_id])


def _insert_metrics(con: Any, run_id: str, keys: list[str], values: list[float], timestamps: list[int],
                    steps: list[int]) -> None:
    """Append the points and keep each key's latest: greatest (step, timestamp, value), as MLflow
    (PostgreSQL orders NaN above every number, as the embedded store does)."""
    for name, column in (("timestamp", timestamps), ("step", steps)):
        for v in column:
            if not -_MAX_BIGINT <= v < _MAX_BIGINT:
                raise InvalidParameter(f"Invalid value {v} for '{name}': it must fit a 64-bit integer.")
    args = [run_id, keys, [float(v) for v in values], timestamps, steps]
    con.execute("INSERT INTO arc.metrics SELECT %s, * FROM unnest(%s::text[], %s::float8[], %s::bigint[], %s::bigint[])",
                args)
    con.execute("""
        INSERT INTO arc.latest_metrics AS l
        SELECT DISTINCT ON (p.key) %s, p.key, p.value, p.ts, p.step
        FROM unnest(%s::text[], %s::float8[], %s::bigint[], %s::bigint[]) AS p(key, value, ts, step)
        ORDER BY p.key, p.step DESC, p.ts DESC, p.value DESC
        ON CONFLICT (run_id, key) DO UPDATE SET value = excluded.value, timestamp = excluded.timestamp,
            step = excluded.step
        WHERE (excluded.step, excluded.timestamp, excluded.value) > (l.step, l.timestamp, l.value)""", args)


def _bigint(value: int, name: str) -> int:
    value = int(value)
    if not -_MAX_BIGINT <= value < _MAX_BIGINT:
        raise InvalidParameter(f"Invalid value {value} for '{name}': it must fit a 64-bit integer "
                               "(milliseconds since the epoch for times).")
    return value


def _int_id(experiment_id: str) -> int:
    try:
        value = int(experiment_id)
    except (TypeError, ValueError):
        raise NotFound(f"Experiment with ID '{experiment_id}' does not exist.") from None
    if not -_MAX_BIGINT <= value < _MAX_BIGINT:
        raise NotFound(f"Experiment with ID '{experiment_id}' does not exist.")
    return value
