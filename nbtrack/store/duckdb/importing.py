"""Bulk writes that keep ids and timestamps, for importing history (``nbtrack import``).

The ordinary write path gives every record a new id and "now": right for logging, wrong for
history brought over from MLflow or another nbtrack store. These are the explicit operations
that keep what the source had: an experiment with its own id (if free), runs with their own
run ids, metric points with their own timestamps, registry versions with their numbers, and
logged models with their ids.

Run data goes in as Arrow tables, one exclusive transaction per batch (the same
``Archive.writing()`` every metadata write uses, so pending segments are folded first and
other processes take turns). Every insert skips what the store already has, so running an
import again duplicates nothing: a batch either commits whole or not at all.

The read half (:func:`read_run_batch` and friends) hands the same tables out of a store, for
merging two nbtrack stores and for exporting to MLflow.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from nbtrack.store.duckdb.archive import _FOLD_MEMORY_FALLBACK, _MEMORY_LIMIT, Archive

__all__ = [
    "RUN_COLUMNS",
    "ExperimentRow",
    "LoggedModelRow",
    "ModelVersionRow",
    "RegisteredModelRow",
    "RunBatch",
    "existing_logged_model_ids",
    "existing_run_ids",
    "insert_experiment",
    "insert_logged_model",
    "insert_registered_model",
    "insert_runs",
    "read_experiments",
    "read_logged_models",
    "read_registry",
    "read_run_batch",
    "read_run_index",
]

RUN_COLUMNS = ("run_id", "experiment_id", "run_name", "user_id", "status", "start_time", "end_time",
               "lifecycle_stage", "artifact_uri", "deleted_time")
_SCHEMAS = {
    "runs": pa.schema([("run_id", pa.string()), ("experiment_id", pa.int64()), ("run_name", pa.string()),
                       ("user_id", pa.string()), ("status", pa.string()), ("start_time", pa.int64()),
                       ("end_time", pa.int64()), ("lifecycle_stage", pa.string()),
                       ("artifact_uri", pa.string()), ("deleted_time", pa.int64())]),
    "params": pa.schema([("run_id", pa.string()), ("key", pa.string()), ("value", pa.string())]),
    "tags": pa.schema([("run_id", pa.string()), ("key", pa.string()), ("value", pa.string())]),
    "metrics": pa.schema([("run_id", pa.string()), ("key", pa.string()), ("value", pa.float64()),
                          ("timestamp", pa.int64()), ("step", pa.int64())]),
    "inputs": pa.schema([("run_id", pa.string()), ("dataset_name", pa.string()), ("dataset_digest", pa.string()),
                         ("source_type", pa.string()), ("source", pa.string()), ("dataset_schema", pa.string()),
                         ("profile", pa.string()), ("context", pa.string()), ("tags", pa.string())]),
}


@dataclass
class RunBatch:
    """Runs and their data as columns (lists), ready for one transaction.

    ``runs`` has :data:`RUN_COLUMNS` (``experiment_id`` already the destination's id; an
    ``artifact_uri`` of None means the store's own folder); ``params``/``tags`` have run_id, key,
    value; ``metrics`` run_id, key, value, timestamp, step (every point); ``inputs`` run_id,
    dataset_name, dataset_digest, source_type, source, dataset_schema, profile, context, tags (JSON).
    """

    runs: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in RUN_COLUMNS})
    params: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in ("run_id", "key", "value")})
    tags: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in ("run_id", "key", "value")})
    metrics: dict[str, list[Any]] = field(
        default_factory=lambda: {c: [] for c in ("run_id", "key", "value", "timestamp", "step")})
    inputs: dict[str, list[Any]] = field(default_factory=lambda: {c: [] for c in _SCHEMAS["inputs"].names})

    def __len__(self) -> int:
        return len(self.runs["run_id"])

    def table(self, name: str) -> pa.Table:
        columns = getattr(self, name)
        schema = _SCHEMAS[name]
        return pa.table({c: pa.array(columns[c], type=schema.field(c).type) for c in schema.names}, schema=schema)


@dataclass
class ExperimentRow:
    experiment_id: str
    name: str
    artifact_location: str | None
    lifecycle_stage: str
    creation_time: int | None
    last_update_time: int | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class ModelVersionRow:
    version: int
    creation_time: int
    last_updated_time: int
    description: str | None
    user_id: str | None
    current_stage: str
    source: str | None
    run_id: str | None
    run_link: str | None
    status: str
    status_message: str | None
    tags: dict[str, str] = field(default_factory=dict)


@dataclass
class RegisteredModelRow:
    name: str
    creation_time: int
    last_updated_time: int
    description: str | None
    tags: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, int] = field(default_factory=dict)
    versions: list[ModelVersionRow] = field(default_factory=list)


@dataclass
class LoggedModelRow:
    model_id: str
    experiment_id: str
    name: str
    artifact_location: str | None       # None: the store's own folder
    creation_timestamp: int
    last_updated_timestamp: int
    model_type: str | None
    source_run_id: str | None
    status: str
    status_message: str | None
    lifecycle_stage: str
    params: dict[str, str] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    # key, value, timestamp, step, run_id, dataset_name, dataset_digest
    metrics: list[tuple[Any, ...]] = field(default_factory=list)


# == writing ==========================================================================
def existing_run_ids(archive: Archive, run_ids: Sequence[str]) -> set[str]:
    """Which of ``run_ids`` the store already has (any lifecycle stage)."""
    if not run_ids:
        return set()
    with archive.reading() as con:
        con.register("imp_ids", pa.table({"run_id": pa.array(list(run_ids), pa.string())}))
        try:
            rows = con.execute("SELECT run_id FROM imp_ids SEMI JOIN arc.runs USING (run_id)").fetchall()
        finally:
            con.unregister("imp_ids")
    return {r[0] for r in rows}


def existing_logged_model_ids(archive: Archive) -> set[str]:
    with archive.reading() as con:
        return {r[0] for r in con.execute("SELECT model_id FROM arc.logged_models").fetchall()}


def insert_experiment(archive: Archive, exp: ExperimentRow) -> tuple[str, str]:
    """Put ``exp`` in the store keeping its id when that is free; returns (id here, what happened).

    What happened is one of ``"created"`` (with its own id), ``"created-new-id"`` (its id belongs
    to another experiment here, or is not a 64-bit integer), ``"exists"`` (same id and name: its
    tags are merged, existing values kept) or ``"merged-by-name"`` (an experiment of that name
    has another id here; runs go into it)."""
    with archive.writing() as con:
        by_name = con.execute("SELECT experiment_id FROM arc.experiments WHERE name = ? AND workspace = 'default'", [exp.name]).fetchall()
        wanted = _as_int64(exp.experiment_id)
        if by_name:
            eid, action = by_name[0][0], ("exists" if by_name[0][0] == wanted else "merged-by-name")
        else:
            taken = wanted is None or bool(con.execute(
                "SELECT 1 FROM arc.experiments WHERE experiment_id = ?", [wanted]).fetchall())
            if taken:
                eid = con.execute("SELECT COALESCE(max(experiment_id), 0) + 1 FROM arc.experiments").fetchall()[0][0]
                action = "created-new-id"
            else:
                eid, action = wanted, "created"
            con.execute("INSERT INTO arc.experiments VALUES (?, ?, ?, ?, ?, ?, 'default')",
                        [eid, exp.name, exp.artifact_location, exp.lifecycle_stage, exp.creation_time,
                         exp.last_update_time])
        for key, value in exp.tags.items():
            con.execute("INSERT INTO arc.experiment_tags VALUES (?, ?, ?) ON CONFLICT DO NOTHING", [eid, key, value])
    return str(eid), action


def insert_runs(archive: Archive, batch: RunBatch) -> list[str]:
    """Insert the runs of ``batch`` the store does not have yet, with all their data, in one
    transaction; returns the ids inserted (a run already here is left as it is)."""
    if not len(batch):
        return []
    tables = {name: batch.table(name) for name in _SCHEMAS}
    # The inserts check the primary keys' indexes, which for a store of 100,000 runs outgrow the
    # archive connection's 128 MB cap (the import failed with OutOfMemory there); a bulk import
    # may use more, as a large fold may, and the cap is put back afterwards.
    archive._connection().execute(f"SET memory_limit = '{_FOLD_MEMORY_FALLBACK}'")
    try:
        with archive.writing() as con:
            for name, table in tables.items():
                con.register(f"imp_{name}", table)
            try:
                con.execute("CREATE OR REPLACE TEMP TABLE imp_new AS "
                            "SELECT DISTINCT run_id FROM imp_runs ANTI JOIN arc.runs USING (run_id)")
                new = [r[0] for r in con.execute("SELECT run_id FROM imp_new").fetchall()]
                if new:
                    _insert_run_data(con)
                con.execute("DROP TABLE imp_new")  # on a failure the rollback drops it
            finally:
                for name in tables:
                    con.unregister(f"imp_{name}")
    finally:
        if archive._con is not None:  # None if a failure discarded the connection
            archive._con.execute(f"SET memory_limit = '{_MEMORY_LIMIT}'")
    return new


def _insert_run_data(con: Any) -> None:
    con.execute(f"""INSERT INTO arc.runs SELECT {", ".join(RUN_COLUMNS)}, NULL AS owner
                    FROM imp_runs SEMI JOIN imp_new USING (run_id)""")
    for name in ("params", "tags"):  # a key twice for a run: the last wins, as a re-logged tag
        con.execute(f"""INSERT INTO arc.{name}
                        SELECT run_id, key, last(value) FROM imp_{name} SEMI JOIN imp_new USING (run_id)
                        GROUP BY run_id, key""")
    # Each run's history in one piece, in order: a read of one run's history then touches the few
    # row groups whose run_id range holds it (zone maps), not every row group of the table, and
    # needs no sort (at 10,000,000 points: 82 of 89 row groups scanned when imported unsorted).
    con.execute("""INSERT INTO arc.metrics SELECT run_id, key, value, timestamp, step
                   FROM imp_metrics SEMI JOIN imp_new USING (run_id) ORDER BY run_id, key, step, timestamp""")
    con.execute("""
        INSERT INTO arc.latest_metrics
        SELECT run_id, key, best.v, best.t, best.s FROM (
            SELECT run_id, key,
                   arg_max(struct_pack(v := value, t := timestamp, s := step),
                           struct_pack(s := step, t := timestamp, v := value)) AS best
            FROM imp_metrics SEMI JOIN imp_new USING (run_id) GROUP BY run_id, key)""")
    con.execute("""INSERT INTO arc.inputs
                   SELECT DISTINCT run_id, dataset_name, dataset_digest, source_type, source, dataset_schema,
                          profile, context, tags
                   FROM imp_inputs SEMI JOIN imp_new USING (run_id)""")


def insert_registered_model(archive: Archive, model: RegisteredModelRow) -> tuple[bool, int, list[tuple[str, str]]]:
    """Put a registered model and its versions in, keeping version numbers; returns (model
    created, versions added, conflicts as (kind, message)). A model of that name already here is merged: versions it lacks are added
    with their numbers, unless the number was issued here before (numbers are never reused),
    aliases and tags it lacks are added, existing ones are kept."""
    import uuid

    conflicts: list[tuple[str, str]] = []
    added = 0
    with archive.writing() as con:
        found = con.execute("SELECT model_id, last_version FROM arc.registered_models "
                            "WHERE name = ? AND workspace = 'default'",
                            [model.name]).fetchall()
        if found:
            model_id, last_version = found[0]
        else:
            model_id, last_version = uuid.uuid4().hex, 0
            con.execute("INSERT INTO arc.registered_models VALUES (?, ?, ?, ?, ?, 0, 'default')",
                        [model_id, model.name, model.creation_time, model.last_updated_time, model.description])
        here = {r[0]: (r[1], r[2]) for r in con.execute(
            "SELECT version, source, run_id FROM arc.model_versions WHERE model_id = ?", [model_id]).fetchall()}
        have = set(here)
        for v in sorted(model.versions, key=lambda v: v.version):
            if v.version in here:
                if here[v.version] != (v.source, v.run_id):
                    conflicts.append(("differs", f"registered model {model.name!r} version {v.version}: this store "
                                      f"has another one (source {here[v.version][0]}); kept this store's"))
                continue
            if v.version <= last_version:
                conflicts.append(("model versions", f"registered model {model.name!r} version {v.version}: "
                                  "that number was already issued in this store (and deleted)"))
                continue
            con.execute("INSERT INTO arc.model_versions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                        [model_id, v.version, v.creation_time, v.last_updated_time, v.description, v.user_id,
                         v.current_stage, v.source, v.run_id, v.run_link, v.status, v.status_message])
            for key, value in v.tags.items():
                con.execute("INSERT INTO arc.model_version_tags VALUES (?, ?, ?, ?)", [model_id, v.version, key, value])
            _history(con, model_id, "created", v.version, None, "None", v.user_id, v.creation_time)
            if v.current_stage != "None":
                _history(con, model_id, "stage", v.version, "None", v.current_stage, v.user_id, v.last_updated_time)
            have.add(v.version)
            added += 1
        top = max([last_version, *have]) if have else last_version
        con.execute("UPDATE arc.registered_models SET last_version = ? WHERE model_id = ?", [top, model_id])
        for key, value in model.tags.items():
            con.execute("INSERT INTO arc.registered_model_tags VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                        [model_id, key, value])
        for alias, version in model.aliases.items():
            if version not in have:
                conflicts.append(("aliases", f"registered model {model.name!r} alias {alias!r}: "
                                             f"version {version} is not in this store"))
                continue
            inserted = con.execute("INSERT INTO arc.registered_model_aliases VALUES (?, ?, ?) "
                                   "ON CONFLICT DO NOTHING RETURNING alias", [model_id, alias, version]).fetchall()
            if inserted:
                _history(con, model_id, "alias", None, None, str(version), None, model.last_updated_time, alias)
    return not found, added, conflicts


def _history(con: Any, model_id: str, kind: str, version: int | None, from_value: str | None,
             to_value: str | None, user_id: str | None, timestamp: int, alias: str | None = None) -> None:
    con.execute(
        "INSERT INTO arc.registry_history SELECT COALESCE(max(seq), 0) + 1, ?, ?, ?, ?, ?, ?, ?, ? "
        "FROM arc.registry_history", [model_id, kind, version, alias, from_value, to_value, user_id, timestamp])


def insert_logged_model(archive: Archive, model: LoggedModelRow) -> bool:
    """Put an MLflow 3 logged model in with its id, params, tags and metrics; False if it is here."""
    with archive.writing() as con:
        if con.execute("SELECT 1 FROM arc.logged_models WHERE model_id = ?", [model.model_id]).fetchall():
            return False
        con.execute("INSERT INTO arc.logged_models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [model.model_id, int(model.experiment_id), model.name, model.artifact_location,
                     model.creation_timestamp, model.last_updated_timestamp, model.model_type, model.source_run_id,
                     model.status, model.status_message, model.lifecycle_stage])
        for table, items in (("logged_model_params", model.params), ("logged_model_tags", model.tags)):
            for key, value in items.items():
                con.execute(f"INSERT INTO arc.{table} VALUES (?, ?, ?)", [model.model_id, key, value])
        if model.metrics:
            con.executemany("INSERT INTO arc.logged_model_metrics VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                            [[model.model_id, *m] for m in model.metrics])
    return True


def _as_int64(value: str) -> int | None:
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if 0 <= number < 2**63 else None


# == reading (merge and export) =======================================================
def read_experiments(archive: Archive) -> list[ExperimentRow]:
    """Every experiment with its tags and its artifact folder (resolved: never None)."""
    with archive.reading() as con:
        rows = con.execute("SELECT experiment_id, name, artifact_location, lifecycle_stage, creation_time, "
                           "last_update_time FROM experiments ORDER BY CAST(experiment_id AS BIGINT)").fetchall()
        tags = con.execute("SELECT CAST(experiment_id AS VARCHAR), key, value FROM arc.experiment_tags").fetchall()
    out = {r[0]: ExperimentRow(*r) for r in rows}
    for eid, key, value in tags:
        if eid in out:
            out[eid].tags[key] = value
    return list(out.values())


def read_run_index(archive: Archive) -> list[tuple[str, str]]:
    """(run_id, experiment_id) of every run, oldest first."""
    with archive.reading() as con:
        return [(r[0], r[1]) for r in con.execute(
            "SELECT run_id, CAST(experiment_id AS VARCHAR) FROM arc.runs ORDER BY start_time, run_id").fetchall()]


def read_run_batch(archive: Archive, run_ids: Sequence[str]) -> RunBatch:
    """The runs ``run_ids`` with all their data (``artifact_uri`` resolved: never None)."""
    batch = RunBatch()
    with archive.reading() as con:
        con.register("imp_ids", pa.table({"run_id": pa.array(list(run_ids), pa.string())}))
        try:
            for name, sql in (
                ("runs", "SELECT r.run_id, r.experiment_id, r.run_name, r.user_id, r.status, r.start_time, "
                         "r.end_time, r.lifecycle_stage, v.artifact_uri, r.deleted_time FROM arc.runs r "
                         "JOIN runs v USING (run_id)"),
                ("params", "SELECT run_id, key, value FROM arc.params"),
                ("tags", "SELECT run_id, key, value FROM arc.tags"),
                ("metrics", "SELECT run_id, key, value, timestamp, step FROM arc.metrics"),
                ("inputs", f"SELECT {', '.join(_SCHEMAS['inputs'].names)} FROM arc.inputs"),
            ):
                rows = con.execute(f"SELECT * FROM ({sql}) SEMI JOIN imp_ids USING (run_id)").fetchall()
                columns = list(zip(*rows, strict=True)) if rows else [() for _ in _SCHEMAS[name].names]
                setattr(batch, name, {c: list(v) for c, v in zip(_SCHEMAS[name].names, columns, strict=True)})
        finally:
            con.unregister("imp_ids")
    return batch


def read_registry(archive: Archive) -> list[RegisteredModelRow]:
    with archive.reading() as con:
        models = con.execute("SELECT model_id, name, creation_time, last_updated_time, description "
                             "FROM arc.registered_models ORDER BY name").fetchall()
        versions = con.execute("SELECT model_id, version, creation_time, last_updated_time, description, user_id, "
                               "current_stage, source, run_id, run_link, status, status_message "
                               "FROM arc.model_versions ORDER BY model_id, version").fetchall()
        mtags = con.execute("SELECT model_id, key, value FROM arc.registered_model_tags").fetchall()
        vtags = con.execute("SELECT model_id, version, key, value FROM arc.model_version_tags").fetchall()
        aliases = con.execute("SELECT model_id, alias, version FROM arc.registered_model_aliases").fetchall()
    out = {m[0]: RegisteredModelRow(*m[1:]) for m in models}
    by_version: dict[tuple[str, int], ModelVersionRow] = {}
    for v in versions:
        row = ModelVersionRow(*v[1:])
        out[v[0]].versions.append(row)
        by_version[(v[0], v[1])] = row
    for model_id, key, value in mtags:
        out[model_id].tags[key] = value
    for model_id, version, key, value in vtags:
        by_version[(model_id, version)].tags[key] = value
    for model_id, alias, version in aliases:
        out[model_id].aliases[alias] = version
    return list(out.values())


def read_logged_models(archive: Archive) -> list[LoggedModelRow]:
    with archive.reading() as con:
        rows = con.execute("SELECT model_id, experiment_id, name, artifact_location, creation_timestamp, "
                           "last_updated_timestamp, model_type, source_run_id, status, status_message, "
                           "lifecycle_stage FROM logged_models ORDER BY model_id").fetchall()
        params = con.execute("SELECT model_id, key, value FROM arc.logged_model_params").fetchall()
        tags = con.execute("SELECT model_id, key, value FROM arc.logged_model_tags").fetchall()
        metrics = con.execute("SELECT model_id, key, value, timestamp, step, run_id, dataset_name, dataset_digest "
                              "FROM arc.logged_model_metrics").fetchall()
    out = {r[0]: LoggedModelRow(*r) for r in rows}
    for model_id, key, value in params:
        out[model_id].params[key] = value
    for model_id, key, value in tags:
        out[model_id].tags[key] = value
    for m in metrics:
        if m[0] in out:
            out[m[0]].metrics.append(tuple(m[1:]))
    return list(out.values())
