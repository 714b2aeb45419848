"""The PostgreSQL schema as named, ordered migrations, each applied in one transaction.

Tables live in the schema ``arc`` (the same qualified names the embedded store's archive uses,
so the registry's search SQL runs on both), the query views the search compiler reads
(``runs``, ``params``, ``latest_metrics``, ...) in the schema ``nbtrack``, which is every
connection's ``search_path``. ``arc.schema_migrations`` records what was applied.

:func:`upgrade` runs on every open and from ``nbtrack db upgrade URI``. It takes
``pg_advisory_xact_lock`` first, so several server processes starting at once over an empty
database take turns: the first creates the schema, the others find it done.
Never edit a released migration: add a new one.

Every text column is ``COLLATE "C"``: ordering and comparisons by code point, as the embedded
store and MLflow's SQLite store do ('NLP' < 'Vision' < 'nlp'), whatever the database's locale.
"""

from __future__ import annotations

import time
from typing import Any

from nbtrack.errors import InvalidStore

__all__ = ["MIGRATIONS", "applied", "set_files_root", "upgrade"]

#: Key of the advisory lock every migration transaction takes (any fixed 64-bit number).
_LOCK_KEY = 0x6E62747261636B  # "nbtrack"

_T = 'TEXT COLLATE "C"'

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_tracking",
        f"""
        CREATE TABLE arc.settings (name {_T} PRIMARY KEY, value {_T});
        CREATE SEQUENCE arc.experiment_ids START 1;
        CREATE TABLE arc.experiments (
            experiment_id BIGINT PRIMARY KEY,
            name {_T} NOT NULL UNIQUE,
            artifact_location {_T},              -- NULL: <files root>/artifacts/<id>
            lifecycle_stage {_T} NOT NULL,
            creation_time BIGINT,
            last_update_time BIGINT
        );
        CREATE TABLE arc.experiment_tags (
            experiment_id BIGINT, key {_T}, value {_T}, PRIMARY KEY (experiment_id, key)
        );
        CREATE TABLE arc.runs (
            run_id {_T} PRIMARY KEY,
            experiment_id BIGINT NOT NULL,
            run_name {_T},
            user_id {_T},
            status {_T} NOT NULL,
            start_time BIGINT,
            end_time BIGINT,
            lifecycle_stage {_T} NOT NULL,
            artifact_uri {_T},                   -- NULL: <experiment location>/<run_id>/artifacts
            deleted_time BIGINT
        );
        CREATE INDEX runs_experiment ON arc.runs (experiment_id, lifecycle_stage, start_time DESC);
        CREATE TABLE arc.params (run_id {_T}, key {_T}, value {_T}, PRIMARY KEY (run_id, key));
        CREATE INDEX params_key_value ON arc.params (key, value);
        CREATE TABLE arc.tags (run_id {_T}, key {_T}, value {_T}, PRIMARY KEY (run_id, key));
        CREATE INDEX tags_key_value ON arc.tags (key, value);
        CREATE TABLE arc.metrics (run_id {_T}, key {_T}, value DOUBLE PRECISION, timestamp BIGINT, step BIGINT);
        CREATE INDEX metrics_series ON arc.metrics (run_id, key, step, timestamp);
        CREATE TABLE arc.latest_metrics (
            run_id {_T}, key {_T}, value DOUBLE PRECISION, timestamp BIGINT, step BIGINT,
            PRIMARY KEY (run_id, key)
        );
        CREATE INDEX latest_metrics_key_value ON arc.latest_metrics (key, value);
        CREATE TABLE arc.inputs (
            run_id {_T}, dataset_name {_T}, dataset_digest {_T}, source_type {_T},
            source {_T}, dataset_schema {_T}, profile {_T}, context {_T}, tags {_T}
        );
        CREATE INDEX inputs_run ON arc.inputs (run_id);
        INSERT INTO arc.experiments VALUES (0, 'Default', NULL, 'active',
            (extract(epoch FROM now()) * 1000)::BIGINT, (extract(epoch FROM now()) * 1000)::BIGINT)
        """,
    ),
    (
        "0002_registry",
        f"""
        CREATE TABLE arc.registered_models (
            model_id {_T} PRIMARY KEY,
            name {_T} NOT NULL UNIQUE,
            creation_time BIGINT NOT NULL,
            last_updated_time BIGINT NOT NULL,
            description {_T},
            last_version BIGINT NOT NULL
        );
        CREATE TABLE arc.registered_model_tags (
            model_id {_T}, key {_T}, value {_T}, PRIMARY KEY (model_id, key)
        );
        CREATE TABLE arc.model_versions (
            model_id {_T},
            version BIGINT,
            creation_time BIGINT NOT NULL,
            last_updated_time BIGINT NOT NULL,
            description {_T},
            user_id {_T},
            current_stage {_T} NOT NULL,
            source {_T},
            run_id {_T},
            run_link {_T},
            status {_T} NOT NULL,
            status_message {_T},
            storage_location {_T},
            model_link {_T},                     -- MLflow 3's ModelVersion.model_id (a logged model)
            PRIMARY KEY (model_id, version)
        );
        CREATE TABLE arc.model_version_tags (
            model_id {_T}, version BIGINT, key {_T}, value {_T}, PRIMARY KEY (model_id, version, key)
        );
        CREATE TABLE arc.registered_model_aliases (
            model_id {_T}, alias {_T}, version BIGINT NOT NULL, PRIMARY KEY (model_id, alias)
        );
        CREATE TABLE arc.registry_history (
            seq BIGSERIAL PRIMARY KEY,
            model_id {_T} NOT NULL,
            kind {_T} NOT NULL,
            version BIGINT,
            alias {_T},
            from_value {_T},
            to_value {_T},
            user_id {_T},
            timestamp BIGINT NOT NULL
        );
        CREATE INDEX registry_history_model ON arc.registry_history (model_id, timestamp)
        """,
    ),
    (
        "0003_logged_models",
        f"""
        CREATE TABLE arc.logged_models (
            model_id {_T} PRIMARY KEY,
            experiment_id BIGINT NOT NULL,
            name {_T} NOT NULL,
            artifact_location {_T},
            creation_timestamp BIGINT NOT NULL,
            last_updated_timestamp BIGINT NOT NULL,
            model_type {_T},
            source_run_id {_T},
            status {_T} NOT NULL,
            status_message {_T},
            lifecycle_stage {_T} NOT NULL
        );
        CREATE INDEX logged_models_run ON arc.logged_models (source_run_id);
        CREATE TABLE arc.logged_model_params (model_id {_T}, key {_T}, value {_T}, PRIMARY KEY (model_id, key));
        CREATE TABLE arc.logged_model_tags (model_id {_T}, key {_T}, value {_T}, PRIMARY KEY (model_id, key));
        CREATE TABLE arc.logged_model_metrics (
            model_id {_T}, key {_T}, value DOUBLE PRECISION, timestamp BIGINT, step BIGINT,
            run_id {_T}, dataset_name {_T}, dataset_digest {_T}
        );
        CREATE INDEX logged_model_metrics_model ON arc.logged_model_metrics (model_id);
        CREATE TABLE arc.run_model_links (
            run_id {_T} NOT NULL, model_id {_T} NOT NULL, direction {_T} NOT NULL,
            step BIGINT NOT NULL, seq BIGSERIAL
        );
        CREATE INDEX run_model_links_run ON arc.run_model_links (run_id)
        """,
    ),
    (
        # MLflow 3 workspaces (the embedded store's 0006): experiment and registered-model names
        # unique per workspace instead of in the store; what exists lands in 'default'. The
        # dropped constraints are the ones 0001 and 0002 made (PostgreSQL's <table>_<column>_key).
        "0004_workspaces",
        f"""
        CREATE TABLE arc.workspaces (
            name {_T} PRIMARY KEY,
            description {_T},
            default_artifact_root {_T},
            trace_archival_location {_T},
            trace_archival_retention {_T}
        );
        INSERT INTO arc.workspaces VALUES ('default', 'Default workspace for legacy resources', NULL, NULL, NULL);
        ALTER TABLE arc.experiments
            ADD COLUMN workspace {_T} NOT NULL DEFAULT 'default' REFERENCES arc.workspaces (name);
        ALTER TABLE arc.experiments DROP CONSTRAINT experiments_name_key;
        ALTER TABLE arc.experiments ADD CONSTRAINT experiments_workspace_name_key UNIQUE (workspace, name);
        ALTER TABLE arc.registered_models
            ADD COLUMN workspace {_T} NOT NULL DEFAULT 'default' REFERENCES arc.workspaces (name);
        ALTER TABLE arc.registered_models DROP CONSTRAINT registered_models_name_key;
        ALTER TABLE arc.registered_models
            ADD CONSTRAINT registered_models_workspace_name_key UNIQUE (workspace, name)
        """,
    ),
    (
        # Indexes that serve a search's first page. The views compare experiment ids as text, so
        # an index on that expression gives the planner its statistics (it estimated 50 runs of an
        # experiment of 10,000 and sorted them all) and the default order (start_time DESC). An
        # order_by on a metric sorts by (rank: number, NaN, missing; value): with these indexes a
        # filtered, ordered page reads its rows in order and stops at the page's end (1.3 ms instead
        # of 10-36 ms for the first 100 of 9,000 matching runs).
        "0005_search_order",
        """
        CREATE INDEX runs_experiment_text ON arc.runs
            ((CAST(experiment_id AS TEXT) COLLATE "C"), lifecycle_stage, start_time DESC, run_id);
        CREATE INDEX latest_metrics_order_desc ON arc.latest_metrics
            (key, (CASE WHEN value IS NULL THEN 2 WHEN (value = 'NaN'::float8) THEN 1 ELSE 0 END), value DESC);
        CREATE INDEX latest_metrics_order_asc ON arc.latest_metrics
            (key, (CASE WHEN value IS NULL THEN 2 WHEN (value = 'NaN'::float8) THEN 1 ELSE 0 END), value)
        """,
    ),
]

#: The query views (schema ``nbtrack``), recreated by every upgrade: they hold no data.
TRY_FLOAT = """
CREATE OR REPLACE FUNCTION nbtrack.try_float(text) RETURNS float8 LANGUAGE plpgsql IMMUTABLE AS $f$
BEGIN
    RETURN CAST($1 AS float8);
EXCEPTION WHEN OTHERS THEN
    RETURN NULL;
END
$f$"""

VIEWS = """
CREATE OR REPLACE VIEW nbtrack.experiments AS
SELECT CAST(e.experiment_id AS TEXT) COLLATE "C" AS experiment_id, e.name,
       COALESCE(e.artifact_location,
                (SELECT value FROM arc.settings WHERE name = 'files_root') || '/artifacts/' || e.experiment_id)
           AS artifact_location,
       e.lifecycle_stage, e.creation_time, e.last_update_time, e.workspace
FROM arc.experiments e;
CREATE OR REPLACE VIEW nbtrack.experiment_tags AS
SELECT CAST(experiment_id AS TEXT) COLLATE "C" AS experiment_id, key, value FROM arc.experiment_tags;
CREATE OR REPLACE VIEW nbtrack.runs AS
SELECT r.run_id, CAST(r.experiment_id AS TEXT) COLLATE "C" AS experiment_id, r.run_name, r.user_id,
       r.status, r.start_time, r.end_time, r.lifecycle_stage,
       COALESCE(r.artifact_uri, e.artifact_location || '/' || r.run_id || '/artifacts') AS artifact_uri
FROM arc.runs r JOIN nbtrack.experiments e ON e.experiment_id = CAST(r.experiment_id AS TEXT);
CREATE OR REPLACE VIEW nbtrack.params AS SELECT * FROM arc.params;
CREATE OR REPLACE VIEW nbtrack.tags AS SELECT * FROM arc.tags;
CREATE OR REPLACE VIEW nbtrack.metrics AS SELECT * FROM arc.metrics;
CREATE OR REPLACE VIEW nbtrack.latest_metrics AS SELECT * FROM arc.latest_metrics;
CREATE OR REPLACE VIEW nbtrack.inputs AS
SELECT run_id, dataset_name, dataset_digest, context, source_type, source, dataset_schema, profile, tags
FROM arc.inputs;
CREATE OR REPLACE VIEW nbtrack.logged_models AS
SELECT m.model_id, CAST(m.experiment_id AS TEXT) COLLATE "C" AS experiment_id, m.name,
       COALESCE(m.artifact_location, e.artifact_location || '/models/' || m.model_id || '/artifacts')
           AS artifact_location,
       m.creation_timestamp, m.last_updated_timestamp, m.model_type, m.source_run_id, m.status,
       m.status_message, m.lifecycle_stage
FROM arc.logged_models m JOIN nbtrack.experiments e ON e.experiment_id = CAST(m.experiment_id AS TEXT);
CREATE OR REPLACE VIEW nbtrack.logged_model_params AS SELECT * FROM arc.logged_model_params;
CREATE OR REPLACE VIEW nbtrack.logged_model_tags AS SELECT * FROM arc.logged_model_tags;
CREATE OR REPLACE VIEW nbtrack.logged_model_metrics AS SELECT * FROM arc.logged_model_metrics
"""


def _statements(sql: str) -> list[str]:
    return [s for s in (part.strip() for part in sql.split(";")) if s]


def upgrade(uri: str) -> list[str]:
    """Apply every migration not yet applied to the database at ``uri``; returns their names.

    Each migration is one transaction holding the advisory lock, so concurrent callers (several
    server processes starting at once) serialise: each sees what the previous one committed.

    Raises
    ------
    InvalidStore
        When the database cannot be reached, belongs to something else, or was migrated by a
        newer nbtrack.
    """
    import psycopg

    from nbtrack.store.postgres._db import connect_once, translate

    done: list[str] = []
    with connect_once(uri) as con:
        try:
            for name, sql in MIGRATIONS:
                with con.transaction():
                    con.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
                    seen = _applied(con)
                    if name in seen:
                        continue
                    for statement in _statements(sql):
                        con.execute(statement)  # fixed text of this module
                    con.execute("INSERT INTO arc.schema_migrations VALUES (%s, %s)", [name, _now()])
                    done.append(name)
            with con.transaction():
                con.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
                unknown = set(_applied(con)) - {n for n, _ in MIGRATIONS}
                if unknown:
                    raise InvalidStore(
                        f"The database {_shown(uri)} was migrated by a newer nbtrack (migrations {sorted(unknown)}). "
                        "Upgrade nbtrack to open it.")
                con.execute(TRY_FLOAT)  # a text as a number, NULL when it is not one (DuckDB's TRY_CAST)
                for statement in _statements(VIEWS):
                    con.execute(statement)
        except psycopg.Error as e:
            raise translate(e, _shown(uri)) from None
    return done


def _applied(c: Any) -> list[str]:
    """Names applied so far, creating the bookkeeping (schemas, table) on an empty database."""
    exists = c.execute("SELECT to_regclass('arc.schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        foreign = c.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'arc'").fetchone()[0]
        if foreign:
            raise InvalidStore("The database has a schema 'arc' that nbtrack did not create; point the URI "
                               "at an empty database or one nbtrack made.")
        c.execute("CREATE SCHEMA IF NOT EXISTS arc")
        c.execute("CREATE SCHEMA IF NOT EXISTS nbtrack")
        c.execute('CREATE TABLE arc.schema_migrations (name TEXT COLLATE "C" PRIMARY KEY, '
                  "applied_at BIGINT)")
        return []
    return [r[0] for r in c.execute("SELECT name FROM arc.schema_migrations ORDER BY name").fetchall()]


def applied(uri: str) -> list[str]:
    """The migrations applied to the database at ``uri``, by name."""
    from nbtrack.store.postgres._db import connect_once

    with connect_once(uri) as con:
        row = con.execute("SELECT to_regclass('arc.schema_migrations') IS NOT NULL").fetchone()
        if row is None or not row[0]:
            return []
        return [r[0] for r in con.execute("SELECT name FROM arc.schema_migrations ORDER BY name").fetchall()]


def set_files_root(uri: str, folder: str, replace: bool = True) -> str:
    """Record ``folder`` as the database's local folder for artifacts (``artifacts/``) and registry
    copies (``registry/``); with ``replace=False`` only if none is recorded. Returns the one in force."""
    import os

    from nbtrack.store.postgres._db import connect_once

    folder = os.path.abspath(os.path.expanduser(folder))
    conflict = "DO UPDATE SET value = excluded.value" if replace else "DO NOTHING"
    with connect_once(uri) as con:
        con.execute(f"INSERT INTO arc.settings VALUES ('files_root', %s) ON CONFLICT (name) {conflict}",
                    [folder])
        row = con.execute("SELECT value FROM arc.settings WHERE name = 'files_root'").fetchone()
    return str(row[0]) if row else folder


def _shown(uri: str) -> str:
    from nbtrack.store.postgres._db import display_uri

    return display_uri(uri)


def _now() -> int:
    return time.time_ns() // 1_000_000
