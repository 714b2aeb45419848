"""The archive's schema as named, ordered migrations, each applied in one transaction.

``schema_migrations`` records what was applied; opening an older store applies the rest.
Never edit a released migration: add a new one.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[str, str]] = [
    (
        "0001_tracking",
        """
        CREATE TABLE experiments (
            experiment_id BIGINT PRIMARY KEY,
            name VARCHAR NOT NULL UNIQUE,
            artifact_location VARCHAR,          -- NULL: <root>/artifacts/<id>
            lifecycle_stage VARCHAR NOT NULL,
            creation_time BIGINT,
            last_update_time BIGINT
        );
        CREATE TABLE experiment_tags (
            experiment_id BIGINT, key VARCHAR, value VARCHAR, PRIMARY KEY (experiment_id, key)
        );
        CREATE TABLE runs (
            run_id VARCHAR PRIMARY KEY,
            experiment_id BIGINT NOT NULL,
            run_name VARCHAR,
            user_id VARCHAR,
            status VARCHAR NOT NULL,
            start_time BIGINT,
            end_time BIGINT,
            lifecycle_stage VARCHAR NOT NULL,
            artifact_uri VARCHAR,               -- NULL: <experiment location>/<run_id>/artifacts
            deleted_time BIGINT,
            owner VARCHAR                       -- host:pid:process-start of the writer, for dead-run detection
        );
        CREATE TABLE params (run_id VARCHAR, key VARCHAR, value VARCHAR, PRIMARY KEY (run_id, key));
        CREATE TABLE tags (run_id VARCHAR, key VARCHAR, value VARCHAR, PRIMARY KEY (run_id, key));
        CREATE TABLE metrics (run_id VARCHAR, key VARCHAR, value DOUBLE, timestamp BIGINT, step BIGINT);
        CREATE TABLE latest_metrics (
            run_id VARCHAR, key VARCHAR, value DOUBLE, timestamp BIGINT, step BIGINT,
            PRIMARY KEY (run_id, key)
        );
        CREATE TABLE inputs (
            run_id VARCHAR, dataset_name VARCHAR, dataset_digest VARCHAR, source_type VARCHAR,
            source VARCHAR, dataset_schema VARCHAR, profile VARCHAR, context VARCHAR, tags VARCHAR
        );
        CREATE TABLE segments_done (name VARCHAR PRIMARY KEY, compacted_at BIGINT);
        """,
    ),
    (
        "0002_registry",
        """
        CREATE TABLE registered_models (
            model_id VARCHAR PRIMARY KEY,       -- internal id: survives renames, names the artifact folder
            name VARCHAR NOT NULL UNIQUE,
            creation_time BIGINT NOT NULL,
            last_updated_time BIGINT NOT NULL,
            description VARCHAR,
            last_version BIGINT NOT NULL        -- highest version ever issued, so numbers are never reused
        );
        CREATE TABLE registered_model_tags (
            model_id VARCHAR, key VARCHAR, value VARCHAR, PRIMARY KEY (model_id, key)
        );
        CREATE TABLE model_versions (
            model_id VARCHAR,
            version BIGINT,
            creation_time BIGINT NOT NULL,
            last_updated_time BIGINT NOT NULL,
            description VARCHAR,
            user_id VARCHAR,
            current_stage VARCHAR NOT NULL,
            source VARCHAR,
            run_id VARCHAR,
            run_link VARCHAR,
            status VARCHAR NOT NULL,
            status_message VARCHAR,
            storage_location VARCHAR,           -- copied model folder relative to the store root, or NULL
            PRIMARY KEY (model_id, version)
        );
        CREATE TABLE model_version_tags (
            model_id VARCHAR, version BIGINT, key VARCHAR, value VARCHAR,
            PRIMARY KEY (model_id, version, key)
        );
        CREATE TABLE registered_model_aliases (
            model_id VARCHAR, alias VARCHAR, version BIGINT NOT NULL, PRIMARY KEY (model_id, alias)
        );
        CREATE TABLE registry_history (
            seq BIGINT PRIMARY KEY,             -- total order of changes (timestamps can tie)
            model_id VARCHAR NOT NULL,
            kind VARCHAR NOT NULL,              -- created, stage, alias, deleted, renamed
            version BIGINT,
            alias VARCHAR,
            from_value VARCHAR,
            to_value VARCHAR,
            user_id VARCHAR,
            timestamp BIGINT NOT NULL
        );
        CREATE INDEX registry_history_model ON registry_history (model_id, timestamp)
        """,
    ),
    (
        "0003_logged_models",
        """
        CREATE TABLE logged_models (
            model_id VARCHAR PRIMARY KEY,       -- m-<32 hex>, as MLflow 3
            experiment_id BIGINT NOT NULL,
            name VARCHAR NOT NULL,
            artifact_location VARCHAR,          -- NULL: <experiment location>/models/<model_id>/artifacts
            creation_timestamp BIGINT NOT NULL,
            last_updated_timestamp BIGINT NOT NULL,
            model_type VARCHAR,
            source_run_id VARCHAR,
            status VARCHAR NOT NULL,            -- PENDING, READY, FAILED
            status_message VARCHAR,
            lifecycle_stage VARCHAR NOT NULL
        );
        CREATE TABLE logged_model_params (
            model_id VARCHAR, key VARCHAR, value VARCHAR, PRIMARY KEY (model_id, key)
        );
        CREATE TABLE logged_model_tags (
            model_id VARCHAR, key VARCHAR, value VARCHAR, PRIMARY KEY (model_id, key)
        );
        CREATE TABLE logged_model_metrics (   -- folded from segment records of kind 'M'
            model_id VARCHAR, key VARCHAR, value DOUBLE, timestamp BIGINT, step BIGINT,
            run_id VARCHAR, dataset_name VARCHAR, dataset_digest VARCHAR
        );
        CREATE INDEX logged_models_run ON logged_models (source_run_id)
        """,
    ),
    (
        "0004_logged_model_links",
        """
        CREATE TABLE run_model_links (          -- MLflow 3's run outputs and model inputs
            run_id VARCHAR NOT NULL,
            model_id VARCHAR NOT NULL,          -- a logged model, m-<32 hex>
            direction VARCHAR NOT NULL,         -- 'output' (the run produced it) or 'input' (the run used it)
            step BIGINT NOT NULL,               -- outputs: the step it was logged at (inputs: 0)
            seq BIGINT NOT NULL                 -- the order they were logged in
        );
        CREATE INDEX run_model_links_run ON run_model_links (run_id);
        CREATE TABLE model_version_models (     -- MLflow 3's ModelVersion.model_id, apart from model_versions
            model_id VARCHAR,                   -- so that table's positional inserts stay valid
            version BIGINT,
            logged_model_id VARCHAR NOT NULL,
            PRIMARY KEY (model_id, version)
        )
        """,
    ),
    (
        "0005_webhooks",
        """
        CREATE TABLE webhooks (                 -- registry webhooks (MLflow 3)
            webhook_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            url VARCHAR NOT NULL,
            events VARCHAR NOT NULL,            -- JSON list of "entity.action"
            description VARCHAR,
            status VARCHAR NOT NULL,            -- ACTIVE or DISABLED
            secret VARCHAR,                     -- the HMAC key deliveries are signed with
            creation_timestamp BIGINT NOT NULL,
            last_updated_timestamp BIGINT NOT NULL
        )
        """,
    ),
    (
        "0006_workspaces",
        """
        CREATE TABLE workspaces (               -- MLflow 3 workspaces: namespaces of experiment and model names
            name VARCHAR PRIMARY KEY,
            description VARCHAR,
            default_artifact_root VARCHAR,
            trace_archival_location VARCHAR,
            trace_archival_retention VARCHAR
        );
        INSERT INTO workspaces VALUES ('default', 'Default workspace for legacy resources', NULL, NULL, NULL);
        CREATE TABLE experiments_0006 (         -- names unique per workspace now (were unique in the store)
            experiment_id BIGINT PRIMARY KEY,
            name VARCHAR NOT NULL,
            artifact_location VARCHAR,
            lifecycle_stage VARCHAR NOT NULL,
            creation_time BIGINT,
            last_update_time BIGINT,
            workspace VARCHAR NOT NULL DEFAULT 'default',
            UNIQUE (workspace, name)
        );
        INSERT INTO experiments_0006 SELECT *, 'default' FROM experiments;
        DROP TABLE experiments;
        ALTER TABLE experiments_0006 RENAME TO experiments;
        CREATE TABLE registered_models_0006 (
            model_id VARCHAR PRIMARY KEY,
            name VARCHAR NOT NULL,
            creation_time BIGINT NOT NULL,
            last_updated_time BIGINT NOT NULL,
            description VARCHAR,
            last_version BIGINT NOT NULL,
            workspace VARCHAR NOT NULL DEFAULT 'default',
            UNIQUE (workspace, name)
        );
        INSERT INTO registered_models_0006 SELECT *, 'default' FROM registered_models;
        DROP TABLE registered_models;
        ALTER TABLE registered_models_0006 RENAME TO registered_models
        """,
    ),
]
