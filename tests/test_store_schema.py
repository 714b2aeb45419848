"""The embedded store's own schema: named migrations, applied in order, refused when newer.
(The Store protocol on every backend is the contract suite, tests/contract/.)"""

from __future__ import annotations

import pytest

from nbtrack.errors import InvalidStore
from nbtrack.store import open_store
from nbtrack.store.duckdb.schema import MIGRATIONS


def test_schema_is_migrated_and_versioned(tmp_path):  # the embedded store's own schema
    store = open_store(str(tmp_path / "schema"))
    assert store.archive.schema_version() == sorted(name for name, _ in MIGRATIONS)
    store.archive.initialise()  # opening again is a no-op
    assert store.archive.schema_version() == sorted(name for name, _ in MIGRATIONS)


def test_a_store_from_a_newer_nbtrack_is_refused(tmp_path):
    import duckdb

    s = open_store(str(tmp_path / "newer"))
    s.close()
    con = duckdb.connect(str(tmp_path / "newer" / "nbtrack.duckdb"))
    con.execute("INSERT INTO schema_migrations VALUES ('9999_future', 0)")
    con.close()
    from nbtrack.store.duckdb.store import DuckDBStore

    with pytest.raises(InvalidStore, match="newer nbtrack"):
        DuckDBStore(str(tmp_path / "newer"))


def test_an_older_store_is_upgraded(tmp_path):
    """A store holding only the first migration gets the later ones on open, data intact."""
    import duckdb

    from nbtrack.store.duckdb.store import DuckDBStore

    root = tmp_path / "old"
    root.mkdir()
    con = duckdb.connect(str(root / "nbtrack.duckdb"))
    con.execute("CREATE TABLE schema_migrations (name VARCHAR PRIMARY KEY, applied_at BIGINT)")
    name, sql = MIGRATIONS[0]
    for statement in filter(str.strip, sql.split(";")):
        con.execute(statement)
    con.execute("INSERT INTO schema_migrations VALUES (?, 0)", [name])
    con.execute("INSERT INTO experiments VALUES (7, 'kept', NULL, 'active', 0, 0)")
    con.close()
    store = DuckDBStore(str(root))
    try:
        assert store.archive.schema_version() == sorted(n for n, _ in MIGRATIONS)
        assert store.get_experiment("7").name == "kept"
    finally:
        store.close()
