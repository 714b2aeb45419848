"""The embedded store: run data as segments + compactor, metadata as short transactions.

Writes of run data (create, params, tags, metric points, status) only append to an
in-memory buffer that a background thread flushes as Parquet segments; nothing a
training loop does waits on a lock. Reads first make this process's own writes visible
(flush, then fold pending segments into the archive), then query the archive under a
shared lock. See docs/store.md for the measurements behind this design.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
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
    metric_history,
)
from nbtrack.errors import (
    InvalidParameter,
    NbtrackError,
    NotFound,
    ResourceExists,
    RunNotActive,
    StoreFull,
    StoreReadOnly,
)
from nbtrack.store.base import ViewOperations, new_params
from nbtrack.store.duckdb import liveness, queries, views
from nbtrack.store.duckdb.archive import Archive
from nbtrack.store.duckdb.segments import Buffer, write_segment
from nbtrack.store.duckdb.workspaces import require_workspace

__all__ = ["DuckDBStore"]

log = logging.getLogger("nbtrack.store")
_MAX_BUFFERED = 200_000  # records; past this a log call flushes itself (bounded memory)


@dataclass
class _RunState:
    """What this process knows about a run it writes to.

    For runs created here, ``info`` mirrors the run record and ``tags``/``metrics`` what this
    process logged, so :meth:`DuckDBStore.local_run` can answer without a store round trip.
    """

    experiment_id: str
    lifecycle_stage: str
    params: dict[str, str] = field(default_factory=dict)
    info: dict[str, Any] | None = None        # None: created elsewhere, the mirror is not whole
    tags: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, tuple[int, int, float]] = field(default_factory=dict)  # key -> (step, ts, value)


class DuckDBStore(ViewOperations):
    """A store rooted at a local folder: ``nbtrack.duckdb``, ``segments/``, ``artifacts/``."""

    def __init__(self, root: str) -> None:
        self.root = os.path.abspath(root)
        _prepare_root(self.root)
        self.archive = Archive(self.root)
        self.archive.initialise()
        self.artifact_root = os.path.join(self.root, "artifacts")
        self._buffer = Buffer()
        self._runs: dict[str, _RunState] = {}
        self._experiments: dict[str, Experiment] = {}
        self._flush_lock = threading.Lock()
        self._flush_error: BaseException | None = None
        self._writer_pid = 0
        self._writer_id = ""
        self._segment_no = 0
        self._thread: threading.Thread | None = None
        self._wake = threading.Event()
        self._closed = False
        self._last_compact = 0.0
        self._last_sweep = 0.0
        self._own_segments: set[str] = set()
        self._seg_con: Any = None
        self._seg_con_pid = 0
        self._registry: Any = None
        self._logged_models: Any = None
        atexit.register(self.close)

    def __repr__(self) -> str:
        return f"DuckDBStore({self.root!r})"

    @property
    def registry(self) -> Any:
        """The model registry kept in the same archive (short exclusive transactions)."""
        if self._registry is None:
            from nbtrack.store.duckdb.registry import RegistryStore

            self._registry = RegistryStore(self.archive)
        return self._registry

    @property
    def workspaces(self) -> Any:
        """MLflow 3 workspaces kept in the same archive (short exclusive transactions)."""
        from nbtrack.store.duckdb.workspaces import WorkspaceStore

        self.sync()  # a cascading delete removes runs: fold this process's pending writes first
        return WorkspaceStore(self.archive, os.path.join(self.root, "registry"), self._experiments.clear)

    @property
    def logged_models(self) -> Any:
        """MLflow 3 logged models kept in the same archive (short exclusive transactions)."""
        if self._logged_models is None:
            from nbtrack.store.duckdb.logged_models import LoggedModelStore

            self._logged_models = LoggedModelStore(self.archive, self.sync)
        return self._logged_models

    def log_model_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int,
                         link: dict[str, str | None], run_point: bool = True) -> None:
        """A run metric point that also belongs to a logged model (``link``: model_id, dataset_name,
        dataset_digest): the run's point plus one ``M`` record, both buffered like any metric.
        ``run_point=False`` links a point the run already has (no second copy in its history)."""
        if run_point:
            self.log_metric(run_id, key, value, timestamp, step)
        self._add("M", run_id, key, json.dumps(link), value, timestamp, step)

    # == writing run data ==============================================================
    def _add(self, kind: str, run_id: str, key: str | None, text: str | None,
             num: float | None = None, ts: int | None = None, step: int = 0) -> None:
        self._buffer.add(kind, run_id, key, text, num, _now() if ts is None else ts, step)
        self._after_add()

    def _after_add(self) -> None:
        if self._flush_error is not None:
            error, self._flush_error = self._flush_error, None
            raise _as_store_error(error, self.root)
        if self._thread is None:
            self._start_flusher()
        if len(self._buffer) >= _MAX_BUFFERED:
            self.flush()

    def _run_event(self, run_id: str, fields: dict[str, Any], ts: int | None = None) -> None:
        for name, value in fields.items():  # the archive's columns are BIGINT: never write what no fold reads
            if isinstance(value, int) and not -(2**63) <= value < 2**63:
                raise InvalidParameter(f"Invalid value {value} for '{name}': it must fit a 64-bit integer "
                                       "(milliseconds since the epoch for times).")
        self._add("r", run_id, None, json.dumps(fields), ts=ts)

    def create_run(self, experiment_id: str, user_id: str, start_time: int | None,
                   tags: Sequence[tuple[str, str]], run_name: str) -> Run:
        experiment = self.get_experiment(experiment_id)
        if experiment.lifecycle_stage != LifecycleStage.ACTIVE:
            raise RunNotActive(
                f"The experiment {experiment_id} must be in the 'active' state to create runs in it. "
                "Restore it with nbtrack.restore_experiment() or use another experiment."
            )
        run_id = uuid.uuid4().hex
        start = _now() if start_time is None else int(start_time)
        fields = {
            "experiment_id": int(experiment_id), "run_name": run_name, "user_id": user_id,
            "status": RunStatus.RUNNING, "start_time": start, "end_time": None,
            "lifecycle_stage": LifecycleStage.ACTIVE, "owner": liveness.current_owner(),
        }
        tag_dict = dict(tags)
        tag_dict["mlflow.runName"] = run_name
        artifact_uri = f"{experiment.artifact_location}/{run_id}/artifacts"
        self._runs[run_id] = _RunState(experiment_id, LifecycleStage.ACTIVE, tags=dict(tag_dict), info={
            "run_name": run_name, "user_id": user_id, "status": RunStatus.RUNNING, "start_time": start,
            "end_time": None, "artifact_uri": artifact_uri})
        self._run_event(run_id, fields, ts=start)
        for key, value in tag_dict.items():
            self._add("t", run_id, key, value, ts=start)
        info = RunInfo(run_id, experiment_id, run_name, user_id, RunStatus.RUNNING, start, None,
                       artifact_uri, LifecycleStage.ACTIVE)
        return Run(info, RunData(tags=tag_dict))

    def local_run(self, run_id: str) -> Run | None:
        """The run as this process wrote it, with no store access; None unless it was created
        here and every metric went through the per-point paths (a columnar batch is not mirrored).
        Another process writing to the same run is not seen."""
        state = self._runs.get(run_id)
        if state is None or state.info is None:
            return None
        i = state.info
        info = RunInfo(run_id, state.experiment_id, i["run_name"], i["user_id"], i["status"], i["start_time"],
                       i["end_time"], i["artifact_uri"], state.lifecycle_stage)
        metrics = {k: v for k, (_, _, v) in state.metrics.items()}
        return Run(info, RunData(metrics, dict(state.params), dict(state.tags)))

    @staticmethod
    def _mirror_metric(state: _RunState, key: str, value: float, ts: int, step: int) -> None:
        if state.info is None:
            return
        old = state.metrics.get(key)
        if old is None or (step, ts, value) > old:  # MLflow's latest: greatest (step, timestamp, value)
            state.metrics[key] = (step, ts, value)

    def _writable(self, run_id: str) -> _RunState:
        state = self._runs.get(run_id)
        if state is None:
            run = self.get_run(run_id)
            state = _RunState(run.info.experiment_id, run.info.lifecycle_stage, dict(run.data.params))
            self._runs[run_id] = state
        if state.lifecycle_stage != LifecycleStage.ACTIVE:
            raise RunNotActive(
                f"The run {run_id} must be in the 'active' state. Current state is "
                f"{state.lifecycle_stage}. Restore it with nbtrack.restore_run('{run_id}') first."
            )
        return state

    def update_run_info(self, run_id: str, status: str | None = None, end_time: int | None = None,
                        run_name: str | None = None, resume: bool = False) -> None:
        state = self._writable(run_id)
        fields: dict[str, Any] = {}
        if status is not None:
            fields["status"] = status
        if end_time is not None:
            fields["end_time"] = int(end_time)
        if state.info is not None:
            state.info.update(fields)
            if run_name is not None:
                state.info["run_name"] = run_name
                state.tags["mlflow.runName"] = run_name
        if resume:
            fields["owner"] = liveness.current_owner()
        if run_name is not None:
            fields["run_name"] = run_name
            self._add("t", run_id, "mlflow.runName", run_name)
        if fields:
            self._run_event(run_id, fields)

    def delete_run(self, run_id: str) -> None:
        self.get_run(run_id)
        self._run_event(run_id, {"lifecycle_stage": LifecycleStage.DELETED, "deleted_time": _now()})
        self._runs.pop(run_id, None)

    def restore_run(self, run_id: str) -> None:
        self.get_run(run_id)
        self._run_event(run_id, {"lifecycle_stage": LifecycleStage.ACTIVE, "deleted_time": None})
        self._runs.pop(run_id, None)

    def log_batch(self, run_id: str, metrics: Sequence[Metric] = (), params: Sequence[tuple[str, str]] = (),
                  tags: Sequence[tuple[str, str]] = ()) -> None:
        state = self._writable(run_id)
        fresh = new_params(run_id, state.params, params)
        for key, value in fresh:
            self._add("p", run_id, key, value)
        for key, value in tags:
            self._add("t", run_id, key, value)
            state.tags[key] = value
            if key == "mlflow.runName":
                self._run_event(run_id, {"run_name": value})
                if state.info is not None:
                    state.info["run_name"] = value
        if metrics:
            self._buffer.add_metrics(
                run_id, [m.key for m in metrics], [m.value for m in metrics],
                [m.timestamp for m in metrics], [m.step for m in metrics])
            self._after_add()
            for m in metrics[:64]:
                self._mirror_metric(state, m.key, m.value, m.timestamp, m.step)
            if len(metrics) > 64:
                state.info = None  # big batches are not mirrored: reads go to the store
        state.params.update(fresh)

    def log_metrics_columns(self, run_id: str, keys: Sequence[str], values: Sequence[float],
                            timestamps: Sequence[int], steps: Sequence[int]) -> None:
        """Columnar fast path: many points without building Metric objects."""
        state = self._writable(run_id)
        self._buffer.add_metrics(run_id, keys, values, timestamps, steps)
        if len(keys) <= 64:
            for args in zip(keys, values, timestamps, steps, strict=True):
                self._mirror_metric(state, *args)
        else:
            state.info = None  # not mirrored: reads of this run go to the store
        self._after_add()

    def log_metric(self, run_id: str, key: str, value: float, timestamp: int, step: int) -> None:
        state = self._runs.get(run_id)
        if state is None or state.lifecycle_stage != LifecycleStage.ACTIVE:
            state = self._writable(run_id)
        self._add("m", run_id, key, None, value, timestamp, step)
        if state.info is not None:
            self._mirror_metric(state, key, value, timestamp, step)

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.log_batch(run_id, tags=[(key, value)])

    def delete_tag(self, run_id: str, key: str) -> None:
        self._writable(run_id)
        run = self.get_run(run_id)
        if key not in run.data.tags:
            raise NotFound(f"No tag with name: {key} in run with id {run_id}")
        self._add("d", run_id, key, None)
        self._runs[run_id].tags.pop(key, None)

    def log_inputs(self, run_id: str, datasets: Sequence[DatasetInput]) -> None:
        self._writable(run_id)
        for item in datasets:
            d = item.dataset
            tags = {t.key: t.value for t in item.tags}
            payload = {
                "name": d.name, "digest": d.digest, "source_type": d.source_type, "source": d.source,
                "schema": d.schema, "profile": d.profile, "context": tags.get("mlflow.data.context"),
                "tags": json.dumps(tags),
            }
            self._add("i", run_id, None, json.dumps(payload))

    # == flushing ======================================================================
    def _start_flusher(self) -> None:
        with self._flush_lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._flush_loop, name="nbtrack-flusher", daemon=True)
                self._thread.start()

    def _flush_loop(self) -> None:
        interval = config.env_float("NBTRACK_FLUSH_INTERVAL", 0.25)
        while not self._closed:
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.flush()  # a failure is kept for the next log call (by flush, under its lock)
                if self._should_compact():
                    self._last_compact = time.monotonic()
                    try:
                        self.archive.compact(blocking=False)
                    except Exception as e:
                        self._flush_error = e  # the next log call reports it
                        raise
            except Exception as e:  # the flusher must never die
                log.warning("nbtrack background flush failed (will retry): %s", e)
                time.sleep(min(interval * 4, 2.0))

    def _should_compact(self) -> bool:
        """Writers leave compaction to readers (who compact before reading) unless segments pile up.

        Four writers each compacting twice a second kept the exclusive lock held almost all the
        time under load, starving readers; now a writer compacts only when more than 32 segments
        wait or the oldest has waited 3 s (no reader about).
        """
        if time.monotonic() - self._last_compact < 0.5:
            return False
        pending = self.archive.pending_segments()
        if len(pending) > 32:
            return True
        return bool(pending) and time.time() * 1000 - int(pending[0].split("-", 1)[0]) > 3000

    def flush(self) -> None:
        """Write buffered run data to a durable segment (blocking).

        On an I/O error (a full disk, a read-only folder) the records go back to the buffer and are
        written by a later flush; nothing logged is lost."""
        with self._flush_lock:
            batch = self._buffer.take()
            if batch is None:
                return
            try:
                path = write_segment(self.archive.segments_dir, self._writer(), batch, self._segment_con())
            except BaseException as e:
                self._buffer.put_back(batch)
                if threading.current_thread() is self._thread:  # the next log call reports it
                    self._flush_error = e
                raise
            self._own_segments.add(os.path.basename(path))
            self._flush_error = None  # what a failed flush put back is written now

    def _segment_con(self) -> Any:
        """The in-memory DuckDB connection that writes segments (one per process; under _flush_lock)."""
        if self._seg_con is None or self._seg_con_pid != os.getpid():
            import duckdb

            self._seg_con = duckdb.connect(":memory:")
            self._seg_con.execute("SET threads = 1")
            self._seg_con.execute("SET memory_limit = '64MB'")
            self._seg_con_pid = os.getpid()
        return self._seg_con

    def _writer(self) -> str:
        pid = os.getpid()
        if pid != self._writer_pid:  # new process (or fork): a fresh writer identity
            self._writer_pid, self._writer_id = pid, f"{pid}-{uuid.uuid4().hex[:6]}"
        self._segment_no += 1
        return f"{self._writer_id}-{self._segment_no:08d}"

    def sync(self) -> None:
        """Make everything written so far visible to readers: flush, then fold segments in.

        Every segment that is on disk when this starts is folded before it returns, whoever
        wrote it: if another process is folding, wait for it and fold what it left."""
        self.flush()
        if self.archive.read_only:
            return
        pending = set(self.archive.pending_segments())
        self._own_segments &= pending
        try:
            if self._own_segments:  # our own writes must be visible: wait for the lock
                self.archive.compact(blocking=True)  # sweeps dead runs too
            elif pending:
                if not self.archive.compact(blocking=False):
                    self.archive.compact(blocking=True, only_if=pending)
            elif time.monotonic() - self._last_sweep > 0.5:
                self.archive.sweep()
            self._last_sweep = time.monotonic()
        except StoreReadOnly:
            log.warning("store %s is read-only: showing what was already compacted", self.root)
        except StoreFull as e:
            if self._own_segments:
                raise
            log.warning("%s Showing what was folded before the disk filled up.", e)

    def close(self, timeout: float | None = None) -> None:
        """Flush and compact what is left, giving up after ``timeout`` seconds (never hangs)."""
        if self._closed:
            return
        self._closed = True
        self._wake.set()
        limit = config.env_float("NBTRACK_EXIT_FLUSH_TIMEOUT", 10.0) if timeout is None else timeout
        deadline = time.monotonic() + limit
        if self._thread is not None and self._thread is not threading.current_thread():
            # A daemon thread still inside DuckDB while the interpreter finalises can abort it.
            self._thread.join(timeout=limit)
        try:
            self.flush()
            while self.archive.pending_segments() and time.monotonic() < deadline:
                if self.archive.compact(blocking=False):
                    break
                time.sleep(0.05)
        except Exception as e:  # at exit: report, never raise into interpreter shutdown
            log.warning("nbtrack could not finish writing %s at exit: %s", self.root, e)
        finally:
            try:
                with self._flush_lock:
                    if self._seg_con is not None:
                        self._seg_con.close()
                        self._seg_con = None
                self.archive.close()
            except Exception as e:
                log.debug("closing %s: %s", self.root, e)

    # == experiments (short transactions under the exclusive lock) =====================
    def create_experiment(self, name: str, artifact_location: str | None = None,
                          tags: Sequence[tuple[str, str]] = ()) -> str:
        now = _now()
        with self.archive.writing() as con:
            workspace = require_workspace(con, config.active_workspace())
            row = con.execute("SELECT lifecycle_stage FROM arc.experiments WHERE name = ? AND workspace = ?",
                              [name, workspace]).fetchall()
            if row:
                state = " in deleted state" if row[0][0] == LifecycleStage.DELETED else ""
                hint = (" Restore it with nbtrack.restore_experiment() or choose another name."
                        if state else " Use nbtrack.set_experiment(name) to make it the active one.")
                raise ResourceExists(f"Experiment '{name}' already exists{state}.{hint}")
            new_id = con.execute("SELECT COALESCE(max(experiment_id), 0) + 1 FROM arc.experiments").fetchall()[0][0]
            con.execute("INSERT INTO arc.experiments VALUES (?, ?, ?, 'active', ?, ?, ?)",
                        [new_id, name, artifact_location, now, now, workspace])
            for key, value in tags:
                con.execute("INSERT OR REPLACE INTO arc.experiment_tags VALUES (?, ?, ?)", [new_id, key, value])
        return str(new_id)

    def get_experiment(self, experiment_id: str) -> Experiment:
        cached = self._experiments.get(str(experiment_id))
        if cached is not None:
            return cached
        found = self._read_experiments("e.experiment_id = ?", [str(experiment_id)])
        if not found:
            raise NotFound(f"Experiment with ID '{experiment_id}' does not exist. "
                           "List experiments with nbtrack.search_experiments().")
        self._experiments[found[0].experiment_id] = found[0]
        return found[0]

    def get_experiment_by_name(self, name: str) -> Experiment | None:
        found = self._read_experiments("e.name = ? AND e.workspace = ?", [name, config.active_workspace()])
        return found[0] if found else None

    def _read_experiments(self, where: str, params: list[Any]) -> list[Experiment]:
        with self.archive.reading() as con:
            return queries.experiments(con, where, params)

    def search_experiments(self, view_type: int = ViewType.ACTIVE_ONLY, max_results: int | None = None,
                           filter_string: str | None = None, order_by: list[str] | None = None,
                           offset: int = 0) -> list[Experiment]:
        from nbtrack.search import compile_experiment_search

        query = compile_experiment_search(filter_string, order_by, ViewType.stages(view_type),
                                          workspace=config.active_workspace())
        with self.archive.reading() as con:
            return queries.experiments_by_query(con, query.sql, query.params, max_results, offset)

    def _update_experiment(self, experiment_id: str, sql: str, params: list[Any]) -> None:
        with self.archive.writing() as con:
            exists = con.execute("SELECT 1 FROM arc.experiments WHERE experiment_id = ?",
                                 [int(experiment_id)]).fetchall()
            if not exists:
                raise NotFound(f"Experiment with ID '{experiment_id}' does not exist.")
            con.execute(sql, params)
            con.execute("UPDATE arc.experiments SET last_update_time = ? WHERE experiment_id = ?",
                        [_now(), int(experiment_id)])
        self._experiments.pop(str(experiment_id), None)

    def delete_experiment(self, experiment_id: str) -> None:
        if str(experiment_id) == "0":
            raise InvalidParameter("Cannot delete the default experiment '0'. Delete its runs instead.")
        self.sync()
        self._set_experiment_stage(experiment_id, LifecycleStage.DELETED)

    def restore_experiment(self, experiment_id: str) -> None:
        self.sync()
        self._set_experiment_stage(experiment_id, LifecycleStage.ACTIVE)

    def _set_experiment_stage(self, experiment_id: str, stage: str) -> None:
        eid = _int_id(experiment_id)
        deleted_time = _now() if stage == LifecycleStage.DELETED else None
        self._update_experiment(experiment_id, "UPDATE arc.experiments SET lifecycle_stage = ? WHERE experiment_id = ?",
                                [stage, eid])
        with self.archive.writing() as con:  # its runs follow it, as in MLflow
            con.execute("UPDATE arc.runs SET lifecycle_stage = ?, deleted_time = ? WHERE experiment_id = ?",
                        [stage, deleted_time, eid])
        for state in self._runs.values():
            if state.experiment_id == str(experiment_id):
                state.lifecycle_stage = stage

    def rename_experiment(self, experiment_id: str, new_name: str) -> None:
        if self.get_experiment_by_name(new_name) is not None:
            raise ResourceExists(f"Experiment '{new_name}' already exists. Choose another name.")
        self._update_experiment(experiment_id, "UPDATE arc.experiments SET name = ? WHERE experiment_id = ?",
                                [new_name, _int_id(experiment_id)])

    def set_experiment_tag(self, experiment_id: str, key: str, value: str) -> None:
        self._update_experiment(experiment_id, "INSERT OR REPLACE INTO arc.experiment_tags VALUES (?, ?, ?)",
                                [_int_id(experiment_id), key, value])

    def delete_experiment_tag(self, experiment_id: str, key: str) -> None:
        self._update_experiment(experiment_id, "DELETE FROM arc.experiment_tags WHERE experiment_id = ? AND key = ?",
                                [_int_id(experiment_id), key])

    # == reading runs ==================================================================
    def get_run(self, run_id: str) -> Run:
        self.sync()
        with self.archive.reading() as con:
            runs = queries.runs_by_ids(con, [run_id])
        if not runs:
            raise NotFound(f"Run with id={run_id} not found. Check the id, or search with nbtrack.search_runs().")
        return runs[0]

    def search_runs(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                    run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                    order_by: list[str] | None = None, offset: int = 0) -> list[Run]:
        ids = self.search_run_ids(experiment_ids, filter_string, run_view_type, max_results, order_by, offset)
        return self.runs_by_ids(ids)

    def search_run_ids(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                       run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 1000,
                       order_by: list[str] | None = None, offset: int = 0) -> list[str]:
        from nbtrack.search import compile_run_search

        query = compile_run_search(filter_string, order_by, [str(e) for e in experiment_ids],
                                   ViewType.stages(run_view_type))
        self.sync()
        with self.archive.reading() as con:
            rows = con.execute(query.sql + " LIMIT ? OFFSET ?", [*query.params, max_results, offset]).fetchall()
        return [r[0] for r in rows]

    def search_frame(self, experiment_ids: Sequence[str], filter_string: str | None = None,
                     run_view_type: int = ViewType.ACTIVE_ONLY, max_results: int = 100000,
                     order_by: list[str] | None = None) -> Any:
        """``search_runs``'s DataFrame in one read: the ids stay inside DuckDB."""
        from nbtrack.search import compile_run_search

        query = compile_run_search(filter_string, order_by, [str(e) for e in experiment_ids],
                                   ViewType.stages(run_view_type))
        self.sync()
        with self.archive.reading() as con:
            return queries.search_frame(con, query.sql + " LIMIT ?", [*query.params, max_results])

    def runs_by_ids(self, run_ids: Sequence[str]) -> list[Run]:
        with self.archive.reading() as con:
            return queries.runs_by_ids(con, list(run_ids))

    def runs_frame(self, run_ids: Sequence[str]) -> Any:
        """MLflow's search_runs DataFrame for these runs, in this order (built in DuckDB)."""
        with self.archive.reading() as con:
            return queries.runs_frame(con, list(run_ids))

    def get_metric_history(self, run_id: str, key: str) -> list[Metric]:
        self.sync()
        with self.archive.reading() as con:  # one read: the points, and if there are none, is there a run?
            cols = con.execute(
                "SELECT value, timestamp, step FROM metrics WHERE run_id = ? AND key = ?", [run_id, key]).fetchnumpy()
            if not len(cols["step"]) and not con.execute(
                    "SELECT 1 FROM arc.runs WHERE run_id = ?", [run_id]).fetchall():
                raise NotFound(f"Run with id={run_id} not found. Check the id, or search with "
                               "nbtrack.search_runs().")
        # In (step, timestamp) order: sorted here only if they are not already (a fold appends a run's
        # points as logged), which for 100,000 points is ~1 ms against DuckDB's ~15 ms ORDER BY.
        value, timestamp, step = cols["value"], cols["timestamp"], cols["step"]
        order = queries.order_unless_sorted([step, timestamp])
        if order is not None:
            value, timestamp, step = value[order], timestamp[order], step[order]
        # Columns to Python values in C (tolist), then the objects without Metric's __init__.
        return metric_history(key, value.tolist(), timestamp.tolist(), step.tolist(), run_id)

    def metric_history_frame(self, run_ids: Sequence[str], keys: Sequence[str] | None) -> Any:
        self.sync()
        with self.archive.reading() as con:
            return queries.metric_history_frame(con, list(run_ids), list(keys) if keys else None)

    def sql(self, query: str, params: Sequence[Any] | None = None) -> Any:
        self.sync()
        return queries.read_only_sql(self.archive, query, params)

    # == view operations (nbtrack.store.base.ViewStore), each one statement ======================
    views_module = views

    def _view(self, fn: Any, *args: Any) -> Any:
        self.sync()
        with self.archive.reading() as con:
            return fn(con, *args)



def _prepare_root(root: str) -> None:
    if os.path.exists(root) and not os.path.isdir(root):
        from nbtrack.errors import InvalidStore

        raise InvalidStore(
            f"The tracking URI points at the file {root}, but an nbtrack store is a folder. "
            "Use the folder that should hold nbtrack.duckdb (for example ./.nbtrack)."
        )
    try:
        for sub in ("", "segments", "artifacts"):
            os.makedirs(os.path.join(root, sub), exist_ok=True)
        # Clean temp segments abandoned by killed writers (never matched by readers).
        seg = os.path.join(root, "segments")
        cutoff = time.time() - 3600
        for name in os.listdir(seg):
            if name.endswith(".tmp") and os.path.getmtime(os.path.join(seg, name)) < cutoff:
                os.unlink(os.path.join(seg, name))
    except PermissionError as e:
        raise StoreReadOnly(
            f"Cannot create the store folder {root}: {e.strerror}. Choose a writable folder with "
            "nbtrack.set_tracking_uri() or NBTRACK_TRACKING_URI."
        ) from None
    except OSError as e:  # e.g. segments/ is a file, or a path component is not a folder
        from nbtrack.errors import InvalidStore
        from nbtrack.store.duckdb import faults

        if faults.is_disk_full(e, root):
            raise faults.translate(e, root) from None
        raise InvalidStore(
            f"The store folder {root} cannot be used: {e.strerror or e} ({e.filename}). A store holds the "
            "folders segments/ and artifacts/; move whatever is in their place away, or choose another "
            f"store. Run `nbtrack doctor {root}` to see its state."
        ) from None


def _as_store_error(error: BaseException, root: str) -> NbtrackError:
    from nbtrack.store.duckdb import faults

    return faults.translate(error, root)


def _int_id(experiment_id: str) -> int:
    try:
        return int(experiment_id)
    except (TypeError, ValueError):
        raise NotFound(f"Experiment with ID '{experiment_id}' does not exist.") from None


def _now() -> int:
    return time.time_ns() // 1_000_000
