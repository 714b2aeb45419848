"""The local spool of the ``rest`` backend: requests the server has not acknowledged yet.

While the tracking server cannot be reached, run data (metric points, params, tags, status
changes, inputs) is appended here as JSON lines, each line one REST request, fsynced. When the
server answers again the lines are replayed in order; after each acknowledged request the byte
offset reached is recorded in a side file (``<spool>.acked``, written to a temporary name,
fsynced and renamed), so a replay that is interrupted, even by ``kill -9``, resumes after the last
acknowledged request instead of sending it twice. A torn last line (a crash while appending) is
cut off when the spool is opened again. Spools of dead processes are adopted by the next process that logs to the same server.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import socket
import uuid
from collections.abc import Iterator
from typing import Any

from nbtrack import config

__all__ = ["Spool", "orphaned_spools", "spool_dir"]

_SUFFIX = ".jsonl"
log = logging.getLogger("nbtrack.store.rest")


def spool_dir() -> str:
    return config.env("NBTRACK_SPOOL_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "nbtrack", "spool")


def _server_key(base: str) -> str:
    return hashlib.sha256(base.encode()).hexdigest()[:12]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Spool:
    """One process's spool file for one server (created on first use)."""

    def __init__(self, base: str, path: str | None = None) -> None:
        self.base = base
        name = f"{_server_key(base)}-{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{_SUFFIX}"
        self.path = path or os.path.join(spool_dir(), name)
        self._acked = self._read_acked()
        self._size = self._cut_torn_tail()

    def __repr__(self) -> str:
        return f"Spool({self.path!r})"

    def __bool__(self) -> bool:
        return self._size > self._acked

    def _cut_torn_tail(self) -> int:
        """Drop a last line without its newline (a crash while appending it: it was never sent)."""
        try:
            with open(self.path, "rb+") as f:
                data = f.read()
                keep = data.rfind(b"\n") + 1
                if keep != len(data):
                    f.truncate(keep)
                return keep
        except FileNotFoundError:
            return 0

    def _read_acked(self) -> int:
        try:
            with open(self.path + ".acked") as f:
                return int(f.read().strip() or 0)
        except (FileNotFoundError, ValueError):
            return 0

    def append(self, requests: list[tuple[str, dict[str, Any]]]) -> None:
        """Add requests (endpoint, body) after everything already spooled; durable on return."""
        if not requests:
            return
        os.makedirs(os.path.dirname(self.path), exist_ok=True)
        data = b"".join(json.dumps({"endpoint": e, "body": b}, allow_nan=False).encode() + b"\n"
                        for e, b in requests)
        with open(self.path, "ab") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            self._size = f.tell()

    def pending(self) -> Iterator[tuple[int, str, dict[str, Any]]]:
        """(offset after the line, endpoint, body) of each unacknowledged request, in order."""
        if not self:
            return
        with open(self.path, "rb") as f:
            f.seek(self._acked)
            for line in f:
                end = f.tell()
                if not line.endswith(b"\n"):
                    return  # torn: the process died while writing it, so it was never acknowledged
                try:
                    record = json.loads(line)
                except ValueError:
                    record = None  # blank, or damaged on disk: nothing that can be sent
                if isinstance(record, dict) and "endpoint" in record:
                    yield end, record["endpoint"], record["body"]
                else:
                    log.warning("nbtrack: skipping an unreadable line in %s", self.path)
                    self.ack(end)

    def ack(self, offset: int) -> None:
        """Everything before ``offset`` is acknowledged; a spool that is all acknowledged is removed."""
        self._acked = offset
        if offset >= self._size:
            self.clear()
            return
        tmp = f"{self.path}.acked.{uuid.uuid4().hex[:6]}"
        with open(tmp, "w") as f:
            f.write(str(offset))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path + ".acked")

    def clear(self) -> None:
        for path in (self.path, self.path + ".acked"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(path)
        self._size = self._acked = 0

    def count(self) -> int:
        """How many requests wait in the spool."""
        return sum(1 for _ in self.pending())


def orphaned_spools(base: str) -> list[Spool]:
    """Spools for ``base`` left by dead processes on this host, claimed (renamed) for this process."""
    folder, key, host = spool_dir(), _server_key(base), socket.gethostname()
    try:
        names = sorted(os.listdir(folder))
    except FileNotFoundError:
        return []
    claimed = []
    for name in names:
        parts = name[:-len(_SUFFIX)].split("-") if name.endswith(_SUFFIX) else []
        if len(parts) < 4 or parts[0] != key or "-".join(parts[1:-2]) != host or not parts[-2].isdigit():
            continue
        if _alive(int(parts[-2])):
            continue
        mine = os.path.join(folder, f"{key}-{host}-{os.getpid()}-{uuid.uuid4().hex[:8]}{_SUFFIX}")
        try:
            os.rename(os.path.join(folder, name), mine)  # atomic: two adopters cannot both win
        except FileNotFoundError:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.replace(os.path.join(folder, name + ".acked"), mine + ".acked")
        claimed.append(Spool(base, mine))
    return claimed
