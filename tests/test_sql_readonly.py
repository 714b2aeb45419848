"""nbtrack.sql is read-only by construction: every attack is an InvalidQuery and the store is intact."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys

import pytest
from procenv import python_env

import nbtrack
from nbtrack.errors import InvalidQuery, NbtrackError

ALLOWED = "nbtrack.sql runs exactly one read-only SELECT"


@pytest.fixture
def store(store_uri):
    for n in range(3):
        with nbtrack.start_run(run_name=f"run{n}"):
            nbtrack.log_metric("acc", n / 10, step=n)
            nbtrack.log_param("model", "rf")
            nbtrack.set_tag("team", "vision")
    nbtrack.create_experiment("other")
    nbtrack.sql("SELECT 1")  # fold everything in, so the attacks below start from a quiet file
    return store_uri


def _attacks(root: str, tmp: str) -> list[tuple[str, str]]:
    """(query, a fragment the refusal must contain)."""
    db = f"{root}/nbtrack.duckdb"
    return [
        (f"DETACH arc; ATTACH '{db}' AS arc; UPDATE arc.runs SET status = 'X'; DROP TABLE arc.metrics",
         "holds 4 statements (DETACH, ATTACH, UPDATE, DROP)"),
        ("SELECT 1; DELETE FROM arc.runs", "holds 2 statements"),
        (f"COPY (SELECT * FROM runs) TO '{tmp}/out.csv'", "type COPY"),
        (f"COPY arc.runs FROM '{tmp}/in.csv'", "type COPY"),
        (f"EXPORT DATABASE '{tmp}/export'", "type EXPORT"),
        ("INSTALL httpfs", "type LOAD"),
        ("LOAD httpfs", "type LOAD"),
        ("PRAGMA enable_profiling", "type PRAGMA"),
        ("SET enable_external_access = true", "type SET"),
        ("SET VARIABLE nbtrack_root = '/etc'", "type SET"),
        ("RESET lock_configuration", "type SET"),
        ("USE arc", "type SET"),
        ("CALL pragma_version()", "type CALL"),
        ("CHECKPOINT arc", "type CALL"),
        (f"ATTACH '{db}' AS w", "type ATTACH"),
        (f"ATTACH '{tmp}/new.duckdb' AS n", "type ATTACH"),
        ("DETACH arc", "type DETACH"),
        ("CREATE TABLE t AS SELECT * FROM runs", "type CREATE"),
        ("CREATE OR REPLACE VIEW runs AS SELECT 1 AS run_id", "type CREATE"),
        ("DROP VIEW runs", "type DROP"),
        ("INSERT INTO arc.params VALUES ('a', 'b', 'c')", "type INSERT"),
        ("UPDATE arc.runs SET status = 'KILLED'", "type UPDATE"),
        ("DELETE FROM arc.metrics", "type DELETE"),
        ("ALTER TABLE arc.runs RENAME TO gone", "type ALTER"),
        ("BEGIN TRANSACTION", "type TRANSACTION"),
        ("VACUUM", "type VACUUM"),
        ("EXPLAIN ANALYZE SELECT * FROM runs", "type EXPLAIN"),
        ("PIVOT runs ON status", "type MULTI"),
        ("WITH gone AS (DELETE FROM arc.metrics RETURNING *) SELECT count(*) FROM gone", "holds a write (DELETE)"),
        ("WITH x AS (INSERT INTO arc.params SELECT * FROM arc.params RETURNING *) SELECT * FROM x",
         "holds a write (INSERT)"),
        ("WITH x AS (UPDATE arc.runs SET status = 'X' RETURNING 1) SELECT * FROM x", "holds a write (UPDATE)"),
        ("SELECT * FROM read_csv('/etc/passwd')", "cannot read files"),
        (f"SELECT * FROM read_parquet('{root}/segments/*.parquet')", "cannot read files"),
        ("SELECT * FROM read_text('/etc/hostname')", "cannot read files"),
        (f"SELECT * FROM read_blob('{root}/nbtrack.lock')", "cannot read files"),
        ("SELECT * FROM glob('/etc/*')", "cannot read files"),
        ("SELECT * FROM '/etc/passwd'", "Table with name /etc/passwd does not exist"),  # no replacement scans
        ("SELECT * FROM read_csv(getvariable('nbtrack_root') || '/nbtrack.lock')", "cannot read files"),
        ("SELECT * FROM read_json('https://example.com/x.json')", "cannot read files"),
        ("SELECT * FROM query('DETACH arc')", "Expected a single SELECT statement"),
        ("", "The query is empty"),
        (";", "The query is empty"),
        ("  -- only a comment\n", "The query is empty"),
        ("SELEC 1", "could not parse the query"),
        ("SELECT '\ud800'", "lone surrogate"),
    ]


def _state(root: str) -> tuple[str, dict[str, str]]:
    """The archive file's digest and a digest of every table's rows (read in a fresh process)."""
    code = (
        "import duckdb, hashlib, json, sys\n"
        "con = duckdb.connect(sys.argv[1], read_only=True)\n"
        "tables = [t for (t,) in con.execute(\"SELECT table_name FROM duckdb_tables() ORDER BY 1\").fetchall()]\n"
        "print(json.dumps({t: hashlib.sha256(repr(sorted(map(repr, con.execute(f'SELECT * FROM \"{t}\"')"
        ".fetchall()))).encode()).hexdigest() for t in tables}))\n"
    )
    db = f"{root}/nbtrack.duckdb"
    with open(db, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    out = subprocess.run([sys.executable, "-c", code, db], capture_output=True, text=True,
                         env=python_env(), timeout=60, check=True).stdout
    return digest, json.loads(out)


def test_every_attack_is_refused_and_the_store_is_intact(store, tmp_path):
    before = _state(store)
    counts = nbtrack.sql("SELECT (SELECT count(*) FROM runs) AS r, (SELECT count(*) FROM metrics) AS m")
    for query, fragment in _attacks(store, str(tmp_path)):
        with pytest.raises(InvalidQuery) as caught:
            nbtrack.sql(query)
        assert fragment in caught.value.message, (query, caught.value.message)
        assert ALLOWED in caught.value.message or "lone surrogate" in caught.value.message
    assert sorted(p.name for p in tmp_path.iterdir()) == ["store"]  # nothing written next to it
    after = _state(store)
    assert after == before
    assert len(after[1]) > 10  # the comparison covered the real tables
    again = nbtrack.sql("SELECT (SELECT count(*) FROM runs) AS r, (SELECT count(*) FROM metrics) AS m")
    assert again.values.tolist() == counts.values.tolist() == [[3, 3]]
    assert nbtrack.sql("SELECT getvariable('nbtrack_root') AS root")["root"][0] == store


@pytest.mark.parametrize(("query", "params", "problem"), [
    (None, None, "takes the query as a str, got NoneType"),
    (5, None, "takes the query as a str, got int"),
    (b"SELECT 1", None, "takes the query as a str, got bytes"),
    ("SELECT ?", 5, "takes params as a list or tuple (for ?) or a dict (for $name), got int"),
    ("SELECT ?", "a", "got str"),
    ("SELECT ?", {1: "a"}, "need str keys"),
    ("SELECT ?", ["\udcff"], "Parameter 1 is not valid UTF-8"),
    ("SELECT ?", [object()], "could not run the query"),
    ("SELECT ?, ?", [1], "could not run the query"),
    ("SELECT * FROM no_such_view", None, "could not run the query: Catalog Error"),
])
def test_wrong_types_and_values_are_invalid_queries(store, query, params, problem):
    with pytest.raises(InvalidQuery, match="nbtrack.sql|UTF-8") as caught:
        nbtrack.sql(query, params)
    assert problem in caught.value.message
    assert isinstance(caught.value, NbtrackError) and isinstance(caught.value, ValueError)


def test_read_only_queries_keep_working(store):
    assert nbtrack.sql("SELECT count(*) AS n FROM runs WHERE status = ?", ["FINISHED"])["n"][0] == 3
    assert nbtrack.sql("SELECT count(*) AS n FROM runs WHERE status = ?", ("FINISHED",))["n"][0] == 3
    assert nbtrack.sql("SELECT $s AS s", {"s": "x"})["s"][0] == "x"
    cte = nbtrack.sql("WITH best AS (SELECT run_id, value FROM latest_metrics WHERE key = 'acc') "
                      "SELECT r.run_name FROM best JOIN runs r USING (run_id) ORDER BY value DESC LIMIT 1;")
    assert cte["run_name"].tolist() == ["run2"]
    assert nbtrack.sql("FROM params SELECT DISTINCT value")["value"].tolist() == ["rf"]
    assert nbtrack.sql("VALUES (1), (2)").shape == (2, 1)
    assert "run_id" in nbtrack.sql("DESCRIBE runs")["column_name"].tolist()
    assert "runs" in nbtrack.sql("SHOW TABLES")["name"].tolist()
    recursive = nbtrack.sql("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 3) "
                            "SELECT sum(i) AS s FROM n")
    assert recursive["s"][0] == 6
    assert nbtrack.sql("SELECT count(*) AS n FROM arc.experiments")["n"][0] == 2  # raw tables: read-only too


def test_the_kept_connection_never_holds_the_file(store):
    """Between calls another process can open the archive read-write (DuckDB's own lock is free)."""
    nbtrack.sql("SELECT count(*) FROM runs")
    with pytest.raises(InvalidQuery):
        nbtrack.sql("SELECT * FROM missing")  # an error drops the connection; the next call makes one
    code = ("import duckdb, sys\ncon = duckdb.connect(sys.argv[1])\n"
            "print(con.execute('SELECT count(*) FROM runs').fetchall()[0][0])\ncon.close()\n")
    for _ in range(2):
        out = subprocess.run([sys.executable, "-c", code, f"{store}/nbtrack.duckdb"], capture_output=True,
                             text=True, env=python_env(), timeout=60)
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "3"
        assert nbtrack.sql("SELECT count(*) AS n FROM runs")["n"][0] == 3
    with nbtrack.start_run():  # and this process still writes and reads as usual
        nbtrack.log_metric("acc", 1.0)
    assert nbtrack.sql("SELECT count(*) AS n FROM runs")["n"][0] == 4
