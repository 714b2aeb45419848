"""Run data on its way to the store: an in-memory buffer and atomic Parquet segments.

Writers never open the DuckDB file. Every record a run produces (run creation and
updates, params, tags, metric points, inputs) is appended to a columnar buffer; a flush
writes the buffer as one Parquet file in ``segments/`` (temp name, fsync, rename, so a
killed process never leaves a torn file), and the compactor later folds segments into
the archive. One schema serves every kind of record:

=====  ==========================================================
kind   meaning
=====  ==========================================================
m      metric point: key, num, ts, step
p      param: key, text
t      tag set: key, text
d      tag deleted: key
r      run fields set: text is a JSON object of RunInfo fields
i      dataset input: text is a JSON object
=====  ==========================================================
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["SEGMENT_SUFFIX", "Buffer", "write_segment"]

SEGMENT_SUFFIX = ".parquet"
_COLUMNS = ("kind", "run_id", "key", "text", "num", "ts", "step", "seq")


class Buffer:
    """A thread-safe columnar buffer of records. ``take()`` swaps it out for a flush."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._reset()

    def _reset(self) -> None:
        self.kind: list[str] = []
        self.run_id: list[str] = []
        self.key: list[str | None] = []
        self.text: list[str | None] = []
        self.num: list[float | None] = []
        self.ts: list[int] = []
        self.step: list[int] = []
        self.seq: list[int] = []

    def __len__(self) -> int:
        return len(self.kind)

    def add(self, kind: str, run_id: str, key: str | None, text: str | None, num: float | None,
            ts: int, step: int = 0) -> None:
        with self._lock:
            self._seq += 1
            self.kind.append(kind)
            self.run_id.append(run_id)
            self.key.append(key)
            self.text.append(text)
            self.num.append(num)
            self.ts.append(ts)
            self.step.append(step)
            self.seq.append(self._seq)

    def add_metrics(self, run_id: str, keys: Sequence[str], values: Sequence[float],
                    timestamps: Sequence[int], steps: Sequence[int]) -> None:
        """Append many metric points at once (the ``log_batch`` fast path)."""
        n = len(keys)
        with self._lock:
            start = self._seq + 1
            self._seq += n
            self.kind.extend(["m"] * n)
            self.run_id.extend([run_id] * n)
            self.key.extend(keys)
            self.text.extend([None] * n)
            self.num.extend(values)
            self.ts.extend(timestamps)
            self.step.extend(steps)
            self.seq.extend(range(start, start + n))

    def take(self) -> dict[str, list[Any]] | None:
        with self._lock:
            if not self.kind:
                return None
            columns = {name: getattr(self, name) for name in _COLUMNS}
            self._reset()
            return columns

    def put_back(self, columns: dict[str, list[Any]]) -> None:
        """Return records whose flush failed to the front of the buffer (nothing is lost)."""
        with self._lock:
            for name in _COLUMNS:
                getattr(self, name)[:0] = columns[name]


def write_segment(directory: str, writer_id: str, columns: dict[str, list[Any]], at_exit: bool = False) -> str:
    """Write ``columns`` as a Parquet segment atomically; return its final path.

    pyarrow is the fast path. At interpreter exit pyarrow's first conversion would import
    pandas, which fails once shutdown has begun, so the exit flush writes through DuckDB.
    """
    import time

    name = f"{time.time_ns() // 1_000_000:013d}-{writer_id}"
    tmp = os.path.join(directory, name + ".tmp")
    final = os.path.join(directory, name + SEGMENT_SUFFIX)
    if at_exit:
        _write_with_duckdb(tmp, columns)
    else:
        _write_with_arrow(tmp, columns)
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.rename(tmp, final)
    return final


def _write_with_duckdb(path: str, columns: dict[str, list[Any]]) -> None:
    import duckdb
    import numpy as np

    data = {name: np.array(columns[name], dtype=object if name in ("kind", "run_id", "key", "text") else None)
            for name in _COLUMNS}
    data["num"] = np.array([np.nan if v is None else v for v in columns["num"]], dtype=np.float64)
    con = duckdb.connect(":memory:")
    try:
        con.register("seg", data)
        con.execute(
            "COPY (SELECT kind::VARCHAR AS kind, run_id::VARCHAR AS run_id, key::VARCHAR AS key, "
            "text::VARCHAR AS text, CASE WHEN kind = 'm' THEN num END AS num, ts::BIGINT AS ts, "
            f"step::BIGINT AS step, seq::BIGINT AS seq FROM seg) TO '{_sql_path(path)}' "
            "(FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.close()


def _sql_path(path: str) -> str:
    return path.replace("'", "''")


def _write_with_arrow(path: str, columns: dict[str, list[Any]]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pa.table(
        {
            "kind": pa.array(columns["kind"], pa.string()).dictionary_encode(),
            "run_id": pa.array(columns["run_id"], pa.string()).dictionary_encode(),
            "key": pa.array(columns["key"], pa.string()),
            "text": pa.array(columns["text"], pa.string()),
            "num": pa.array(columns["num"], pa.float64()),
            "ts": pa.array(columns["ts"], pa.int64()),
            "step": pa.array(columns["step"], pa.int64()),
            "seq": pa.array(columns["seq"], pa.int64()),
        }
    )
    pq.write_table(table, path, compression="zstd")
