"""What can go wrong under the store, named: DuckDB and OS errors become NbtrackErrors, and
segments that cannot be folded are set aside in a quarantine folder with the reason.

A store is read by every process that logs to it, so one bad file or a full disk must never
leave it stuck or surface as a raw DuckDB traceback: each fault here maps to an error that says
what happened and what to do (``nbtrack doctor <store>`` shows and repairs the state).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import socket
import time
from typing import Any

import duckdb

from nbtrack.errors import InvalidStore, NbtrackError, StoreFull, StoreIOError, StoreReadOnly

__all__ = ["QUARANTINE", "SEGMENT_SCHEMA", "doctor_hint", "free_bytes", "is_disk_full", "quarantine",
           "quarantined", "segment_problems", "translate"]

log = logging.getLogger("nbtrack.store")

QUARANTINE = "quarantine"
#: column -> Parquet physical type of a segment written by segments.write_segment.
SEGMENT_SCHEMA = {"kind": "BYTE_ARRAY", "run_id": "BYTE_ARRAY", "key": "BYTE_ARRAY", "text": "BYTE_ARRAY",
                  "num": "DOUBLE", "ts": "INT64", "step": "INT64", "seq": "INT64"}
#: DuckDB errors that a segment's *content* causes while it is folded (a value no column takes).
VALUE_ERRORS: tuple[type[Exception], ...] = (
    duckdb.ConversionException, duckdb.InvalidInputException, duckdb.OutOfRangeException,
    duckdb.TypeMismatchException, duckdb.BinderException, UnicodeError)
#: ... and what reading a segment that is not whole or not Parquet raises.
READ_ERRORS: tuple[type[Exception], ...] = (duckdb.IOException, *VALUE_ERRORS)
_warned: set[str] = set()


def doctor_hint(root: str) -> str:
    return f"Run `nbtrack doctor {root}` to see the store's state, and `nbtrack doctor --repair {root}` to fix it."


def free_bytes(path: str) -> int | None:
    """Free bytes on the disk holding ``path`` (or its nearest existing parent)."""
    while path and not os.path.exists(path):
        path = os.path.dirname(path)
    try:
        return shutil.disk_usage(path or "/").free
    except OSError:
        return None


def is_disk_full(error: BaseException, path: str) -> bool:
    """ENOSPC/EDQUOT, DuckDB's wording of it, or an I/O error on a disk with (almost) no room left.

    DuckDB reports a failed Parquet write as ``[Errno 5] Async write failed``, without the cause."""
    if getattr(error, "errno", None) in (errno.ENOSPC, errno.EDQUOT):
        return True
    text = str(error)
    if "No space left" in text or "Disk quota exceeded" in text:
        return True
    free = free_bytes(path)
    return free is not None and free < 1 << 20 and ("write" in text.lower() or isinstance(error, OSError))


def translate(error: BaseException, root: str, path: str | None = None, needed: int | None = None) -> NbtrackError:
    """The NbtrackError for an OS or DuckDB error met while reading or writing the store at ``root``."""
    if isinstance(error, NbtrackError):
        return error
    where = path or root
    first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    if is_disk_full(error, where):
        free = free_bytes(where)
        return StoreFull(
            f"The disk holding the store {root} is full ({_size(free)} free; {first}). Nothing that was "
            "logged is lost: it stays buffered in memory and is written as soon as there is room. Free "
            "some space (or move the store with nbtrack.set_tracking_uri()).", where, needed, free)
    code = getattr(error, "errno", None)
    if code in (errno.EACCES, errno.EPERM, errno.EROFS) or "Permission denied" in first or "Read-only" in first:
        return StoreReadOnly(
            f"Cannot write to the store {root}: {first}. Buffered data is kept in memory; make the folder "
            "writable or choose another with nbtrack.set_tracking_uri().")
    if "Corrupt database" in first or "Could not read enough bytes" in first or "checksum" in first:
        return InvalidStore(
            f"The store's database {where} is damaged (truncated or corrupt: {first}). Restore it from a "
            f"backup, or move it away to start an empty store. {doctor_hint(root)}")
    if isinstance(error, (duckdb.FatalException, duckdb.InternalException, duckdb.SerializationException)) or (
            isinstance(error, duckdb.Error) and "invalidated" in first):
        return InvalidStore(f"The store's database {where} could not be used: {first}. {doctor_hint(root)}")
    if isinstance(error, (OSError, duckdb.IOException)):
        return StoreIOError(f"Reading or writing the store {root} failed: {first}. {doctor_hint(root)}", where)
    return StoreIOError(f"The store {root} could not complete an operation: {first}. {doctor_hint(root)}", where)


def _size(n: int | None) -> str:
    if n is None:
        return "unknown space"
    for unit in ("bytes", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} bytes"


#: The leaf columns of Parquet footers (the root element is named by the writer: DuckDB's
#: ``duckdb_schema``, pyarrow's ``schema``).
_SCHEMA_SQL = "SELECT file_name, name, type FROM parquet_schema(?) WHERE num_children IS NULL OR num_children = 0"


def segment_problems(con: duckdb.DuckDBPyConnection, paths: list[str]) -> dict[str, str]:
    """Segments among ``paths`` that are not segments nbtrack wrote (unreadable, wrong columns or
    types), with the reason. Reads only the Parquet footers: about 0.5 ms a file."""
    try:
        rows = con.execute(_SCHEMA_SQL, [paths]).fetchall()
    except duckdb.Error:
        rows = []
        problems: dict[str, str] = {}
        for path in paths:
            try:
                rows += con.execute(_SCHEMA_SQL, [path]).fetchall()
            except (duckdb.Error, OSError) as e:
                problems[path] = f"not a readable Parquet file: {str(e).splitlines()[0]}"
        return problems | _schema_problems(rows, [p for p in paths if p not in problems])
    return _schema_problems(rows, paths)


def _schema_problems(rows: list[tuple[Any, ...]], paths: list[str]) -> dict[str, str]:
    found: dict[str, dict[str, str]] = {p: {} for p in paths}
    for file_name, name, kind in rows:
        if file_name in found:
            found[file_name][name] = kind
    problems = {}
    for path, columns in found.items():
        if columns != SEGMENT_SCHEMA:
            wrong = sorted(set(columns.items()) ^ set(SEGMENT_SCHEMA.items()))
            problems[path] = f"not an nbtrack segment: its columns differ from a segment's ({wrong[:6]})"
    return problems


def quarantine(root: str, segment: str, reason: str) -> str:
    """Move ``segment`` (a path in ``segments/``) to ``<root>/quarantine/`` with a reason file."""
    folder = os.path.join(root, QUARANTINE)
    os.makedirs(folder, exist_ok=True)
    name = os.path.basename(segment)
    target = os.path.join(folder, name)
    if os.path.exists(target):
        target = os.path.join(folder, f"{time.time_ns()}-{name}")
    os.replace(segment, target)
    with open(target + ".reason.json", "w", encoding="utf-8") as f:
        json.dump({"segment": name, "reason": reason, "quarantined_at": time.time_ns() // 1_000_000,
                   "by": f"{socket.gethostname()}:{os.getpid()}"}, f, indent=1)
    if target not in _warned:  # once per segment and process: every reader would otherwise repeat it
        _warned.add(target)
        log.warning("nbtrack set the segment %s aside in %s: %s. Every other segment was folded. %s",
                    name, folder, reason, doctor_hint(root))
    return target


def quarantined(root: str) -> list[dict[str, Any]]:
    """The quarantined segments of the store at ``root`` with their reasons."""
    folder = os.path.join(root, QUARANTINE)
    try:
        names = sorted(n for n in os.listdir(folder)
                       if not n.endswith(".reason.json") and os.path.isfile(os.path.join(folder, n)))
    except FileNotFoundError:
        return []
    out = []
    for name in names:
        info: dict[str, Any] = {"file": os.path.join(folder, name), "reason": "unknown"}
        try:
            with open(os.path.join(folder, name + ".reason.json"), encoding="utf-8") as f:
                info.update(json.load(f))
        except (OSError, ValueError):
            pass
        info["bytes"] = os.path.getsize(os.path.join(folder, name))
        out.append(info)
    return out
