"""The two segment writers (DuckDB's COPY, and pyarrow once a process has loaded it, as a tracking
server does) write the same records with the same schema, which the fold's footer check accepts."""

from __future__ import annotations

import math

import duckdb

from nbtrack.store.duckdb import faults, segments


def _batch() -> segments.Batch:
    buffer = segments.Buffer()
    buffer.add("r", "run1", None, '{"status": "RUNNING"}', None, 5)
    buffer.add("p", "run1", "lr", "0.1", None, 6)
    buffer.add("t", "run1", "note", "café ✓", None, 7)
    buffer.add("m", "run1", "loss", None, math.nan, 8, 3)
    buffer.add_metrics("run1", ["acc", "acc", "loss"], [math.inf, -math.inf, 0.25], [9, 10, 11], [0, 1, 2**62])
    batch = buffer.take()
    assert batch is not None
    return batch


def _rows(path: str) -> list[tuple]:
    rows = duckdb.sql(f"SELECT kind, run_id, key, text, num, ts, step, seq FROM read_parquet('{path}') "
                      "ORDER BY seq").fetchall()
    return [tuple("nan" if isinstance(v, float) and math.isnan(v) else v for v in row) for row in rows]


def test_both_writers_write_the_same_segment(tmp_path):
    by_duckdb, by_arrow = str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")
    segments._write_parquet_duckdb(by_duckdb, _batch(), None)
    segments._write_parquet_arrow(by_arrow, _batch())
    rows = _rows(by_duckdb)
    assert rows == _rows(by_arrow)
    assert rows[3][4] == "nan" and rows[4][4] == math.inf and rows[5][4] == -math.inf and rows[6][6] == 2**62
    assert rows[2][3] == "café ✓" and len(rows) == 7
    assert faults.segment_problems(duckdb.connect(), [by_duckdb, by_arrow]) == {}


def test_a_foreign_parquet_file_is_still_told_apart(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    foreign = str(tmp_path / "x.parquet")
    pq.write_table(pa.table({"kind": ["m"], "run_id": ["r"], "value": [1.0]}), foreign)
    assert "not an nbtrack segment" in faults.segment_problems(duckdb.connect(), [foreign])[foreign]
