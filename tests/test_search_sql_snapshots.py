"""Snapshot tests of the SQL that nbtrack.search compiles.

Each case's SQL and parameters live in ``tests/snapshots/search/<case>.sql``. After an
intended change to the compiler, regenerate them and review the diff::

    NBTRACK_UPDATE_SNAPSHOTS=1 .venv/bin/pytest tests/test_search_sql_snapshots.py

Every snapshot is also run against empty DuckDB relations of the store's shape, so a
snapshot can only be accepted if DuckDB can plan it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nbtrack.search import Query, compile_experiment_search, compile_run_search

duckdb = pytest.importorskip("duckdb")

SNAPSHOTS = Path(__file__).parent / "snapshots" / "search"
UPDATE = os.environ.get("NBTRACK_UPDATE_SNAPSHOTS") == "1"

SCHEMA = """
CREATE TABLE runs (run_id VARCHAR, experiment_id VARCHAR, run_name VARCHAR, user_id VARCHAR,
    status VARCHAR, start_time BIGINT, end_time BIGINT, lifecycle_stage VARCHAR,
    artifact_uri VARCHAR);
CREATE TABLE params (run_id VARCHAR, key VARCHAR, value VARCHAR);
CREATE TABLE tags (run_id VARCHAR, key VARCHAR, value VARCHAR);
CREATE TABLE latest_metrics (run_id VARCHAR, key VARCHAR, value DOUBLE, timestamp BIGINT,
    step BIGINT);
CREATE TABLE inputs (run_id VARCHAR, dataset_name VARCHAR, dataset_digest VARCHAR,
    context VARCHAR);
CREATE TABLE experiments (experiment_id VARCHAR, name VARCHAR, artifact_location VARCHAR,
    lifecycle_stage VARCHAR, creation_time BIGINT, last_update_time BIGINT);
CREATE TABLE experiment_tags (experiment_id VARCHAR, key VARCHAR, value VARCHAR);
"""

ACTIVE = ("active",)

RUN_CASES: dict[str, tuple[str | None, list[str] | None]] = {
    "runs_no_filter": (None, None),
    "runs_metric_gt": ("metrics.acc > 0.9", None),
    "runs_metric_ne_matches_nan": ("metrics.acc != 0.9", None),
    "runs_param_and_metric": ("params.model = 'rf' and metrics.loss <= 0.2", None),
    "runs_tag_ilike": ("tags.team ILIKE 'vis%'", None),
    "runs_tag_is_null": ("tags.`mlflow.note.content` IS NULL", None),
    "runs_param_in": ("params.model IN ('rf', 'svm')", None),
    "runs_tag_not_in": ("tags.team NOT IN ('nlp')", None),
    "runs_attributes": ("status = 'FINISHED' AND `Run Name` LIKE 'a%' AND created > 1000", None),
    "runs_run_id_in": ("attributes.run_id IN ('a1', 'b2')", None),
    "runs_datasets": ("datasets.name = 'iris' AND dataset.context = 'train'", None),
    "runs_or_not_parens": (
        "(metrics.acc > 0.9 OR params.model = 'rf') AND NOT tags.team = 'nlp'",
        None,
    ),
    "runs_order_mixed": (None, ["metrics.acc DESC", "params.lr", "tags.team ASC", "status"]),
    # past 8 joins: one grouped LEFT JOIN per relation, a flag per comparison
    "runs_grouped_many_terms": (
        " AND ".join([f"metrics.m{n} > {n}" for n in range(5)] + ["params.model != 'x'",
                     "tags.t IS NULL", "NOT tags.u LIKE 'a%'", "datasets.name = 'iris'",
                     "(params.lr = '0.1' OR status = 'FINISHED')"]),
        ["metrics.m0 DESC"],
    ),
    "runs_order_reuses_filter_join": ("metrics.acc > 0.5", ["metrics.acc DESC"]),
    "runs_order_created_asc": (None, ["created ASC"]),
}

EXPERIMENT_CASES: dict[str, tuple[str | None, list[str] | None]] = {
    "experiments_default": (None, None),
    "experiments_filter_and_order": (
        "name ILIKE 'a%' AND tags.team IS NOT NULL OR experiment_id IN ('1', '2')",
        ["name"],
    ),
    "experiments_order_by_id": ("creation_time >= 0", ["experiment_id DESC"]),
    "experiments_grouped_many_tags": (
        " AND ".join([f"tags.k{n} = 'v{n}'" for n in range(8)] + ["tags.gone IS NULL", "name LIKE 'a%'"]),
        None,
    ),
}


def _render(filter_string: str | None, order_by: list[str] | None, query: Query) -> str:
    header = [
        f"-- filter: {filter_string!r}",
        f"-- order_by: {order_by!r}",
        f"-- params: {json.dumps(query.params)}",
        f"-- description: {json.dumps(query.description)}",
    ]
    return "\n".join([*header, query.sql]) + "\n"


def _check_snapshot(name: str, text: str) -> None:
    path = SNAPSHOTS / f"{name}.sql"
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    assert path.exists(), f"no snapshot {path}; run with NBTRACK_UPDATE_SNAPSHOTS=1"
    assert text == path.read_text()


@pytest.fixture(scope="module")
def con():
    connection = duckdb.connect()
    connection.execute(SCHEMA)
    yield connection
    connection.close()


@pytest.mark.parametrize("name", sorted(RUN_CASES))
def test_run_search_sql_matches_snapshot(name, con):
    filter_string, order_by = RUN_CASES[name]
    query = compile_run_search(filter_string, order_by, ["1", "2"], ACTIVE)
    _check_snapshot(name, _render(filter_string, order_by, query))
    con.execute(query.sql + " LIMIT ? OFFSET ?", [*query.params, 10, 0]).fetchall()


@pytest.mark.parametrize("name", sorted(EXPERIMENT_CASES))
def test_experiment_search_sql_matches_snapshot(name, con):
    filter_string, order_by = EXPERIMENT_CASES[name]
    query = compile_experiment_search(filter_string, order_by, ACTIVE)
    _check_snapshot(name, _render(filter_string, order_by, query))
    con.execute(query.sql + " LIMIT ? OFFSET ?", [*query.params, 10, 0]).fetchall()


def test_no_snapshot_file_is_orphaned():
    known = set(RUN_CASES) | set(EXPERIMENT_CASES)
    on_disk = {p.stem for p in SNAPSHOTS.glob("*.sql")}
    assert on_disk <= known, f"delete stale snapshots: {sorted(on_disk - known)}"


def test_sql_never_contains_filter_text():
    query = compile_run_search(
        "params.`k'; DROP TABLE runs; --` = 'x'' OR 1=1 --'", None, ["1"], ACTIVE
    )
    assert "DROP" not in query.sql
    assert "1=1" not in query.sql
    assert query.params[-2:] == ["k'; DROP TABLE runs; --", "x' OR 1=1 --"]
