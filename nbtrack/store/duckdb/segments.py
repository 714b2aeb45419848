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
M      metric point linked to a logged model: as m, text is JSON (model_id, dataset_name, dataset_digest)
=====  ==========================================================
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Sequence
from typing import Any

__all__ = ["SEGMENT_SUFFIX", "Buffer", "write_segment"]

SEGMENT_SUFFIX = ".parquet"
_COLUMNS = ("kind", "run_id", "key", "text", "num", "ts", "step", "seq")


class Buffer:
    """A thread-safe buffer of records. ``take()`` swaps it out for a flush.

    Single records go to eight parallel lists; a ``log_batch`` of metric points is kept as
    one chunk of its own column lists (constant run id and kind are not repeated), so a
    100,000-point batch costs a few list references until the flush turns it into arrays.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._seq = 0
        self._reset()

    def _reset(self) -> None:
        self.records: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
        self.chunks: list[tuple[str, Sequence[str], Sequence[float], Sequence[int], Sequence[int], int]] = []
        self._size = 0

    def __len__(self) -> int:
        return self._size

    def add(self, kind: str, run_id: str, key: str | None, text: str | None, num: float | None,
            ts: int, step: int = 0) -> None:
        r = self.records
        with self._lock:
            self._seq += 1
            self._size += 1
            r["kind"].append(kind)
            r["run_id"].append(run_id)
            r["key"].append(key)
            r["text"].append(text)
            r["num"].append(num)
            r["ts"].append(ts)
            r["step"].append(step)
            r["seq"].append(self._seq)

    def add_metrics(self, run_id: str, keys: Sequence[str], values: Sequence[float],
                    timestamps: Sequence[int], steps: Sequence[int]) -> None:
        """Append many metric points at once (the ``log_batch`` fast path); the lists are kept, not copied."""
        n = len(keys)
        with self._lock:
            self.chunks.append((run_id, keys, values, timestamps, steps, self._seq + 1))
            self._seq += n
            self._size += n

    def take(self) -> Batch | None:
        with self._lock:
            if not self._size:
                return None
            batch = Batch(self.records, self.chunks, self._size)
            self._reset()
            return batch

    def put_back(self, batch: Batch) -> None:
        """Return records whose flush failed to the front of the buffer (nothing is lost)."""
        with self._lock:
            for name in _COLUMNS:
                self.records[name][:0] = batch.records[name]
            self.chunks[:0] = batch.chunks
            self._size += batch.size


class Batch:
    """What one flush writes: single records and metric chunks (see :class:`Buffer`)."""

    __slots__ = ("chunks", "records", "size")

    def __init__(self, records: dict[str, list[Any]], chunks: list[Any], size: int) -> None:
        self.records, self.chunks, self.size = records, chunks, size


def write_segment(directory: str, writer_id: str, batch: Batch, con: Any = None) -> str:
    """Write ``batch`` as a Parquet segment atomically (temp name, fsync, rename); return its path.

    Written through DuckDB from NumPy arrays, strings as codes into one small dictionary:
    no pyarrow or pandas (whose import adds ~100 MB and fails during interpreter shutdown,
    when the exit flush runs), and a 100,000-point flush costs tens of milliseconds. Pass a
    kept in-memory DuckDB connection as ``con``: opening one costs about 20 ms, the rest of a
    small flush about 2 ms.

    An I/O failure (a full disk, a read-only folder) raises the NbtrackError for it, and the
    partial temp file is removed so it takes no room.
    """
    import time

    from nbtrack.store.duckdb import faults

    name = f"{time.time_ns() // 1_000_000:013d}-{writer_id}"
    tmp = os.path.join(directory, name + ".tmp")
    final = os.path.join(directory, name + SEGMENT_SUFFIX)
    try:
        try:
            _write_parquet(tmp, batch, con)
        except (ValueError, TypeError, OverflowError, UnicodeError) as e:
            # A record the validation at the API should have refused: never let it block the rest.
            _write_parquet(tmp, _drop_invalid(batch, e), con)
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.rename(tmp, final)
    except BaseException as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, Exception) and _is_io_error(e):
            raise faults.translate(e, os.path.dirname(directory), directory) from None
        raise
    return final


def _is_io_error(error: Exception) -> bool:
    import duckdb

    return isinstance(error, (OSError, duckdb.IOException, duckdb.PermissionException)) or (
        isinstance(error, duckdb.Error) and ("write" in str(error).lower() or "space" in str(error)))


_INT64 = (-(2**63), 2**63 - 1)


def _record_ok(kind: Any, run_id: Any, key: Any, text: Any, num: Any, ts: Any, step: Any) -> bool:
    for value in (kind, run_id, key, text):
        if value is not None and not (isinstance(value, str) and _utf8(value)):
            return False
    if num is not None and not isinstance(num, (int, float)):
        return False
    return all(isinstance(v, int) and _INT64[0] <= v <= _INT64[1] for v in (ts, step))


def _utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _drop_invalid(batch: Batch, error: Exception) -> Batch:
    """``batch`` without the records no segment can hold; each dropped record is logged as an error."""
    import logging

    r = batch.records
    keep: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    dropped = 0
    for row in zip(*(r[name] for name in _COLUMNS), strict=True):
        if _record_ok(*row[:7]):
            for name, value in zip(_COLUMNS, row, strict=True):
                keep[name].append(value)
        else:
            dropped += 1
    chunks = []
    for chunk in batch.chunks:
        run_id, keys, values, stamps, steps, _ = chunk
        if all(_record_ok("m", run_id, k, None, v, t, s) for k, v, t, s in zip(keys, values, stamps, steps,
                                                                                 strict=True)):
            chunks.append(chunk)
        else:
            dropped += len(keys)
    logging.getLogger("nbtrack.store").error(
        "nbtrack dropped %d buffered records that no store can hold (%s); the other records are written. "
        "This is a bug in nbtrack's input validation: please report it.", dropped, error)
    return Batch(keep, chunks, batch.size - dropped)


def _write_parquet(path: str, batch: Batch, con: Any) -> None:
    """Through pyarrow when this process has loaded it already (a tracking server does, at start:
    1.7 ms for a 1,000-point segment against 6 ms through DuckDB), else through DuckDB (no import,
    which could fail during interpreter shutdown). Both write the same schema."""
    import sys

    if "pyarrow.parquet" in sys.modules:
        _write_parquet_arrow(path, batch)
    else:
        _write_parquet_duckdb(path, batch, con)


def _write_parquet_arrow(path: str, batch: Batch) -> None:
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    r = batch.records
    columns: dict[str, list[Any]] = {name: [pa.array(r[name], type=_ARROW_TYPES[name])] for name in _COLUMNS
                                     if name != "num"}
    columns["num"] = [pa.array(_floats(r["num"]))]  # NaN where a record has no number, as DuckDB writes it
    for run_id, keys, values, stamps, steps, seq in batch.chunks:
        n = len(keys)
        for name, array in (("kind", pa.repeat("m", n)), ("run_id", pa.repeat(run_id, n)),
                            ("key", pa.array(keys, pa.string())), ("text", pa.nulls(n, pa.string())),
                            ("num", pa.array(np.asarray(values, dtype=np.float64))),
                            ("ts", pa.array(np.asarray(stamps, dtype=np.int64))),
                            ("step", pa.array(np.asarray(steps, dtype=np.int64))),
                            ("seq", pa.array(np.arange(seq, seq + n, dtype=np.int64)))):
            columns[name].append(array.cast(_ARROW_TYPES[name]))
    table = pa.table({name: pa.chunked_array(parts, _ARROW_TYPES[name]) for name, parts in columns.items()})
    pq.write_table(table, path, compression="snappy")


def _floats(values: Sequence[float | None]) -> Any:
    import numpy as np

    try:
        return np.array(values, dtype=np.float64)
    except TypeError:  # None for records that are not metric points
        return np.fromiter((np.nan if v is None else v for v in values), dtype=np.float64, count=len(values))


def _arrow_types() -> dict[str, Any]:
    import pyarrow as pa

    text, whole = pa.string(), pa.int64()
    return {"kind": text, "run_id": text, "key": text, "text": text, "num": pa.float64(), "ts": whole,
            "step": whole, "seq": whole}


class _LazyTypes(dict):
    def __missing__(self, name: str) -> Any:
        self.update(_arrow_types())
        return self[name]


_ARROW_TYPES: dict[str, Any] = _LazyTypes()


def _write_parquet_duckdb(path: str, batch: Batch, con: Any) -> None:
    import duckdb
    import numpy as np

    strings: dict[str | None, int] = {}

    def codes(values: Sequence[str | None]) -> Any:
        for v in set(values):
            strings.setdefault(v, len(strings))
        return np.fromiter(map(strings.__getitem__, values), dtype=np.int32, count=len(values))

    floats = _floats

    r = batch.records
    parts = [{
        "kind": codes(r["kind"]), "run_id": codes(r["run_id"]), "key": codes(r["key"]),
        "text": codes(r["text"]), "num": floats(r["num"]), "ts": np.array(r["ts"], dtype=np.int64),
        "step": np.array(r["step"], dtype=np.int64), "seq": np.array(r["seq"], dtype=np.int64)}]
    for run_id, keys, values, stamps, steps, seq in batch.chunks:
        n = len(keys)
        parts.append({
            "kind": np.full(n, codes(["m"])[0], dtype=np.int32),
            "run_id": np.full(n, codes([run_id])[0], dtype=np.int32), "key": codes(keys),
            "text": np.full(n, codes([None])[0], dtype=np.int32), "num": floats(values),
            "ts": np.array(stamps, dtype=np.int64), "step": np.array(steps, dtype=np.int64),
            "seq": np.arange(seq, seq + n, dtype=np.int64)})
    data = {name: np.concatenate([p[name] for p in parts]) for name in _COLUMNS}
    # DuckDB reads NaN in a NumPy float column as NULL (pandas' convention): carry it apart.
    # (Records that are not metric points get NaN in ``num``; the compactor never reads it.)
    data["nan"] = np.isnan(data["num"])
    own = con is None
    if own:
        con = duckdb.connect(":memory:")
    try:
        con.execute("CREATE OR REPLACE TEMP TABLE dict AS SELECT ?::VARCHAR[] AS s", [list(strings)])
        con.register("seg", data)
        con.execute(
            "COPY (SELECT d.s[kind + 1] AS kind, d.s[run_id + 1] AS run_id, d.s[key + 1] AS key, "
            "d.s[text + 1] AS text, CASE WHEN nan THEN 'NaN'::DOUBLE ELSE num END AS num, ts, step, seq "
            f"FROM seg, dict d) TO '{path.replace(chr(39), chr(39) * 2)}' (FORMAT parquet, COMPRESSION snappy)")
    finally:
        con.unregister("seg")
        if own:
            con.close()
