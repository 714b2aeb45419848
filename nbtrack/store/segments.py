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


def write_segment(directory: str, writer_id: str, columns: dict[str, list[Any]], con: Any = None) -> str:
    """Write ``columns`` as a Parquet segment atomically (temp name, fsync, rename); return its path.

    Written through DuckDB from NumPy arrays, strings as codes into one small dictionary:
    no pyarrow or pandas (whose import adds ~100 MB and fails during interpreter shutdown,
    when the exit flush runs), and a 100,000-point flush costs tens of milliseconds. Pass a
    kept in-memory DuckDB connection as ``con``: opening one costs about 20 ms, the rest of a
    small flush about 2 ms.
    """
    import time

    name = f"{time.time_ns() // 1_000_000:013d}-{writer_id}"
    tmp = os.path.join(directory, name + ".tmp")
    final = os.path.join(directory, name + SEGMENT_SUFFIX)
    try:
        _write_parquet(tmp, columns, con)
    except OSError:
        raise
    except Exception as e:  # duckdb.IOException: report it as the OSError it is
        import errno

        code = errno.EROFS if "Read-only" in str(e) else errno.EACCES if "ermission" in str(e) else errno.EIO
        raise OSError(code, str(e).splitlines()[0]) from None
    with open(tmp, "rb+") as f:
        os.fsync(f.fileno())
    os.rename(tmp, final)
    return final


def _write_parquet(path: str, columns: dict[str, list[Any]], con: Any) -> None:
    import duckdb
    import numpy as np

    n = len(columns["kind"])
    strings: dict[str | None, int] = {}

    def codes(values: list[str | None]) -> Any:
        return np.fromiter((strings.setdefault(v, len(strings)) for v in values), dtype=np.int32, count=n)

    num = columns["num"]
    try:
        nums = np.array(num, dtype=np.float64)
    except TypeError:  # None for records that are not metric points
        nums = np.fromiter((np.nan if v is None else v for v in num), dtype=np.float64, count=n)
    data = {
        "kind": codes(columns["kind"]), "run_id": codes(columns["run_id"]), "key": codes(columns["key"]),
        "text": codes(columns["text"]), "num": nums,
        # DuckDB reads NaN in a NumPy float column as NULL (pandas' convention): carry it apart.
        "nan": np.isnan(nums),
        "ts": np.array(columns["ts"], dtype=np.int64), "step": np.array(columns["step"], dtype=np.int64),
        "seq": np.array(columns["seq"], dtype=np.int64),
    }
    own = con is None
    if own:
        con = duckdb.connect(":memory:")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE dict AS SELECT ?::VARCHAR[] AS s", [list(strings)])
        con.register("seg", data)
        con.execute(
            "COPY (SELECT d.s[kind + 1] AS kind, d.s[run_id + 1] AS run_id, d.s[key + 1] AS key, "
            "d.s[text + 1] AS text, CASE WHEN d.s[kind + 1] = 'm' THEN (CASE WHEN nan THEN 'NaN'::DOUBLE ELSE num END) END AS num, ts, step, seq "
            f"FROM seg, dict d) TO '{path.replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION zstd)")
    finally:
        con.unregister("seg")
        if own:
            con.close()
