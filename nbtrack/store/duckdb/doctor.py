"""``nbtrack doctor``: a store's health, and the repairs that are safe to make.

``diagnose`` only reads: it never creates a store, never folds, never moves a file.
``repair`` folds what is pending (setting aside what cannot be folded), removes temp files
that killed writers left, marks runs of dead processes KILLED, and salvages quarantined
segments record by record: every record a store can take is written back as a new segment,
and the rest stays in quarantine with the reason.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from nbtrack.errors import InvalidStore, NbtrackError, NotFound
from nbtrack.store.duckdb import faults
from nbtrack.store.duckdb.segments import Batch, write_segment

__all__ = ["Report", "diagnose", "repair"]

_TMP_AGE_S = 3600  # a temp segment older than this belongs to a writer that died mid-flush


@dataclass
class Report:
    """What ``diagnose``/``repair`` found. ``problems`` is empty for a healthy store."""

    store: str
    schema: list[str] = field(default_factory=list)
    schema_missing: list[str] = field(default_factory=list)
    database_bytes: int = 0
    pending_segments: int = 0
    pending_bytes: int = 0
    oldest_pending_s: float | None = None
    temp_files: int = 0
    quarantined: list[dict[str, Any]] = field(default_factory=list)
    experiments: int = 0
    runs_by_status: dict[str, int] = field(default_factory=dict)
    artifact_bytes: int = 0
    free_bytes: int | None = None
    problems: list[str] = field(default_factory=list)
    repairs: list[str] = field(default_factory=list)

    @property
    def healthy(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"healthy": self.healthy}

    def to_text(self) -> str:
        lines = [f"store      {self.store}"]
        lines.append(f"schema     {', '.join(self.schema) or '?'}"
                     + (f" (needs {', '.join(self.schema_missing)})" if self.schema_missing else ""))
        lines.append(f"database   {_human(self.database_bytes)}")
        runs = ", ".join(f"{n} {s}" for s, n in sorted(self.runs_by_status.items())) or "none"
        lines.append(f"runs       {sum(self.runs_by_status.values())} ({runs}) in {self.experiments} experiments")
        age = f", oldest {self.oldest_pending_s:.1f} s" if self.oldest_pending_s is not None else ""
        lines.append(f"pending    {self.pending_segments} segments ({_human(self.pending_bytes)}{age})")
        lines.append(f"quarantine {len(self.quarantined)} segments")
        for q in self.quarantined:
            lines.append(f"           {os.path.basename(q['file'])}: {q.get('reason', '?')}")
        lines.append(f"temp files {self.temp_files}")
        lines.append(f"artifacts  {_human(self.artifact_bytes)}")
        lines.append(f"free disk  {_human(self.free_bytes)}")
        lines += [f"repaired   {r}" for r in self.repairs]
        lines += [f"PROBLEM    {p}" for p in self.problems]
        lines.append("healthy" if self.healthy else f"{len(self.problems)} problem(s)")
        return "\n".join(lines)


def diagnose(root: str) -> Report:
    """Report on the store at ``root`` without changing anything."""
    root = os.path.abspath(root)
    if not os.path.isdir(root):
        raise NotFound(f"There is no store at {root} (no such folder). Give the folder that holds "
                           "nbtrack.duckdb, e.g. `nbtrack doctor ./.nbtrack`.")
    db = os.path.join(root, "nbtrack.duckdb")
    if not os.path.exists(db):
        raise InvalidStore(f"{root} is not an nbtrack store: it has no nbtrack.duckdb.")
    report = Report(store=root, database_bytes=os.path.getsize(db), free_bytes=faults.free_bytes(root))
    _files(root, report)
    _database(root, report)
    report.artifact_bytes = _tree_bytes(os.path.join(root, "artifacts"))
    if report.free_bytes is not None and report.free_bytes < 64 << 20:
        report.problems.append(f"only {_human(report.free_bytes)} free on the store's disk: logging will "
                               "stop with StoreFull when it runs out")
    return report


def repair(root: str) -> Report:
    """Fold, clean and salvage what can be; return the report of the store afterwards."""
    root = os.path.abspath(root)
    diagnose(root)  # refuses a missing or foreign store before anything is touched
    from nbtrack.store.duckdb.archive import Archive

    done: list[str] = []
    archive = Archive(root)
    try:
        archive.initialise()  # upgrades the schema, marks runs of dead processes KILLED
        done.extend(_remove_temp_files(root))
        done.extend(_salvage(root, archive))
        before = len(archive.pending_segments())
        archive.compact(blocking=True)
        if before:
            done.append(f"folded {before - len(archive.pending_segments())} pending segments")
    except NbtrackError as e:
        report = diagnose(root)
        report.repairs = done
        report.problems.append(f"repair stopped: {e}")
        return report
    finally:
        archive.close()
    report = diagnose(root)
    report.repairs = done
    return report


def _files(root: str, report: Report) -> None:
    seg = os.path.join(root, "segments")
    if not os.path.isdir(seg):
        report.problems.append(f"{seg} is not a folder: move it away (writers put their data there)")
        return
    now = time.time()
    for entry in os.scandir(seg):
        if entry.name.endswith(".parquet") and entry.is_file():
            report.pending_segments += 1
            report.pending_bytes += entry.stat().st_size
            born = _segment_time(entry.name)
            if born is not None:
                age = max(0.0, now - born)
                report.oldest_pending_s = max(report.oldest_pending_s or 0.0, age)
        elif entry.name.endswith(".tmp"):
            report.temp_files += 1
    report.quarantined = faults.quarantined(root)
    if report.quarantined:
        report.problems.append(f"{len(report.quarantined)} segment(s) in quarantine: `nbtrack doctor --repair` "
                               "restores every record a store can take from them")
    if report.oldest_pending_s is not None and report.oldest_pending_s > 600:
        report.problems.append(f"segments have waited {report.oldest_pending_s:.0f} s to be folded: "
                               "`nbtrack doctor --repair` folds them")


def _database(root: str, report: Report) -> None:
    import duckdb

    from nbtrack.store.duckdb.locking import StoreLock
    from nbtrack.store.duckdb.schema import MIGRATIONS

    con = duckdb.connect(":memory:")
    try:
        with StoreLock(os.path.join(root, "nbtrack.lock"), timeout=10).shared():
            con.execute("ATTACH ? AS arc (READ_ONLY)", [os.path.join(root, "nbtrack.duckdb")])
            report.schema = [r[0] for r in con.execute(
                "SELECT name FROM arc.schema_migrations ORDER BY name").fetchall()]
            report.schema_missing = [n for n, _ in MIGRATIONS if n not in report.schema]
            report.experiments = con.execute("SELECT count(*) FROM arc.experiments").fetchall()[0][0]
            report.runs_by_status = dict(con.execute(
                "SELECT status, count(*) FROM arc.runs GROUP BY status").fetchall())
    except duckdb.Error as e:
        report.problems.append(f"the database nbtrack.duckdb cannot be read ({str(e).splitlines()[0]}); "
                               "restore it from a backup, or move it away to start an empty store "
                               "(the segments in segments/ are folded into the new one)")
    except NbtrackError as e:
        report.problems.append(str(e))
    finally:
        con.close()


def _remove_temp_files(root: str) -> list[str]:
    seg = os.path.join(root, "segments")
    cutoff = time.time() - _TMP_AGE_S
    removed = 0
    for entry in os.scandir(seg):
        if entry.name.endswith(".tmp") and entry.stat().st_mtime < cutoff:
            os.unlink(entry.path)
            removed += 1
    return [f"removed {removed} temp files left by killed writers"] if removed else []


def _salvage(root: str, archive: Any) -> list[str]:
    """Write back every valid record of each quarantined segment as a new segment."""
    import duckdb

    done = []
    folder = os.path.join(root, faults.QUARANTINE)
    for item in faults.quarantined(root):
        path = item["file"]
        con = duckdb.connect(":memory:")
        try:
            rows = con.execute(
                "SELECT kind::VARCHAR, run_id::VARCHAR, key::VARCHAR, text::VARCHAR, num::DOUBLE, "
                "ts::VARCHAR, step::VARCHAR FROM read_parquet(?)", [path]).fetchall()
        except duckdb.Error as e:
            done.append(f"kept {os.path.basename(path)} in quarantine: nothing in it can be read "
                        f"({str(e).splitlines()[0]})")
            continue
        finally:
            con.close()
        batch, bad = _valid_records(rows)
        if batch.size:
            write_segment(archive.segments_dir, f"doctor-{os.getpid()}-{time.time_ns() % 10**9}", batch)
        salvaged = os.path.join(folder, "salvaged")
        os.makedirs(salvaged, exist_ok=True)
        for suffix in ("", ".reason.json"):
            if os.path.exists(path + suffix):
                shutil.move(path + suffix, os.path.join(salvaged, os.path.basename(path) + suffix))
        done.append(f"restored {batch.size} of {len(rows)} records from {os.path.basename(path)}"
                    + (f"; {bad} could not be (kept in {salvaged})" if bad else ""))
    return done


def _valid_records(rows: list[tuple[Any, ...]]) -> tuple[Batch, int]:
    from nbtrack.store.duckdb.segments import _COLUMNS, _record_ok

    records: dict[str, list[Any]] = {name: [] for name in _COLUMNS}
    bad = 0
    for seq, (kind, run_id, key, text, num, ts, step) in enumerate(rows, 1):
        try:
            ts_i, step_i = int(ts), int(step)
        except (TypeError, ValueError):
            bad += 1
            continue
        if kind not in ("m", "M", "p", "t", "d", "r", "i") or not run_id or not _record_ok(
                kind, run_id, key, text, num, ts_i, step_i) or (kind in ("r", "i", "M") and not _json_ok(text)):
            bad += 1
            continue
        for name, value in zip(_COLUMNS, (kind, run_id, key, text, num, ts_i, step_i, seq), strict=True):
            records[name].append(value)
    return Batch(records, [], len(records["kind"])), bad


def _json_ok(text: str | None) -> bool:
    """A run event or input the fold can apply: a JSON object whose integers fit 64 bits."""
    try:
        value = json.loads(text or "")
    except ValueError:
        return False
    return isinstance(value, dict) and all(
        not isinstance(v, int) or -(2**63) <= v < 2**63 for v in value.values())


def _segment_time(name: str) -> float | None:
    try:
        return int(name.split("-", 1)[0]) / 1000
    except ValueError:
        return None


def _tree_bytes(folder: str) -> int:
    total = 0
    for dirpath, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(dirpath, name)).st_size
            except OSError:
                pass
    return total


def _human(n: int | None) -> str:
    if n is None:
        return "unknown"
    size = float(n)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if size < 1024 or unit == "TB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
