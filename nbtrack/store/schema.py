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
]
