"""A read-only attachment of the archive kept between reads, holding no lock while idle.

ATTACH + DETACH of the archive costs 3-6 ms (DuckDB reads the headers and the catalog, then
drops its caches), which was most of a small read (``nbtrack.sql``, a run, a history). An
attachment is kept instead, under two rules that keep what made per-read attachments safe:

* **No lock while idle.** DuckDB takes a POSIX ``fcntl`` read lock on the file when it attaches
  it, and would hold it as long as the attachment (locking every writer process out). POSIX
  ties those locks to the process and the file, not to a descriptor: unlocking through a
  descriptor of our own (``lockf(fd, LOCK_UN)``) releases DuckDB's lock as well. Each read
  takes the same read lock for its own length (a program that opens the file outside nbtrack
  is kept out exactly as before) and unlocks at its end. Where that release cannot be seen
  (no ``/proc/locks``: not Linux; or a DuckDB that takes open-file-description locks) nothing
  is kept and every read attaches and detaches as before.
* **Never a stale view.** A read uses the kept attachment only if the file is in the very state
  it was attached in, checked under the store's shared side-file lock (so no nbtrack writer is
  active): the same inode, size and modification time, the same 12 KiB of headers (every
  checkpoint writes a new database header with a higher iteration) and the same WAL (commits not
  yet checkpointed). Otherwise the archive is detached and attached again. The check costs
  tens of microseconds.

A read-write attach of the file anywhere in this process first detaches every kept attachment
of it (:func:`drop_all`), because DuckDB refuses a read-write ATTACH of a file that another
connection of the same process has attached.
"""

from __future__ import annotations

import fcntl
import os
import threading
import weakref
from typing import Any

import duckdb

__all__ = ["KeptAttachment", "drop_all"]

_HEADER_BYTES = 3 * 4096  # DuckDB's main header and its two alternating database headers
_HOLDERS: dict[str, weakref.WeakSet[KeptAttachment]] = {}
_HOLDERS_LOCK = threading.Lock()
_release_seen: bool | None = None  # whether unlocking our descriptor was seen to free DuckDB's lock


class KeptAttachment:
    """The kept read-only attachment ``alias`` of ``db_path`` on one connection.

    The owner calls :meth:`begin` before a read (under the store's shared lock) and :meth:`end`
    after it; :meth:`begin` says whether the attachment can be used as it is or must be made.
    """

    def __init__(self, db_path: str, alias: str = "arc") -> None:
        self.db_path = os.path.abspath(db_path)
        self.alias = alias
        self._fd: int | None = None
        self._con: Any = None
        self._signature: tuple[Any, ...] | None = None
        self._pid = os.getpid()

    # -- one read ---------------------------------------------------------------------------
    def begin(self, con: Any) -> bool:
        """Lock the file for this read; True if ``con`` already has it attached, unchanged.

        False means: attach it now (a stale or missing attachment was detached), then call
        :meth:`attached`. If the read lock cannot be taken (a program outside nbtrack holds the
        file for writing), nothing is kept and the caller's ATTACH reports that as it always did."""
        if self._pid != os.getpid():  # a forked child: the parent's connection and descriptor are not ours
            self._fd, self._con, self._signature, self._pid = None, None, None, os.getpid()
        if _release_seen is False:
            return False
        fd = self._descriptor()
        if fd is not None and not _same_file(fd, self.db_path):  # replaced or moved: start from the new one
            self.drop()
            fd = self._descriptor()
        if fd is None or not _lock(fd):
            self.drop()
            return False
        if self._con is con and self._signature is not None and self._signature == _signature(fd, self.db_path):
            return True
        self.drop(keep_fd=True)
        return False

    def attached(self, con: Any) -> None:
        """``con`` has just attached the file (under the store's shared lock): remember its state."""
        fd = self._descriptor()
        if fd is None or _release_seen is False:
            return
        self._con, self._signature = con, _signature(fd, self.db_path)
        with _HOLDERS_LOCK:
            _HOLDERS.setdefault(self.db_path, weakref.WeakSet()).add(self)

    def end(self, con: Any, ok: bool = True) -> bool:
        """The read is over (``ok``: without an error): release every lock this process holds on the file.

        Returns True if the attachment stays; False if the caller must DETACH it itself (nothing
        is kept: the read failed, or the release could not be confirmed)."""
        global _release_seen
        fd = self._fd
        if fd is not None:
            _unlock(fd)
        if not ok or fd is None or self._con is not con or self._signature is None:
            self.forget()
            return False
        if _release_seen is None:
            _release_seen = _no_lock_left(fd)
        if not _release_seen:  # keep nothing in this process from now on
            self.forget()
            self._fd = None
            os.close(fd)
            return False
        return True

    # -- dropping ---------------------------------------------------------------------------
    def forget(self) -> None:
        """Stop using the attachment without touching the connection (closed, or detached by the owner)."""
        self._con, self._signature = None, None

    def drop(self, keep_fd: bool = False) -> None:
        """Detach the kept attachment (if any); close the descriptor unless ``keep_fd``."""
        con, self._con, self._signature = self._con, None, None
        if con is not None:
            try:
                con.execute(f"DETACH {self.alias}")
            except duckdb.Error:  # a closed or broken connection has nothing attached
                pass
        if not keep_fd and self._fd is not None:
            fd, self._fd = self._fd, None
            os.close(fd)

    def _descriptor(self) -> int | None:
        if self._fd is None:
            try:
                self._fd = os.open(self.db_path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:  # no file yet, or unreadable: the caller's ATTACH says why
                return None
        return self._fd


def drop_all(db_path: str) -> None:
    """Detach every kept attachment of ``db_path`` in this process (before a read-write open).

    Called under the store's exclusive lock, so no read is using any of them."""
    with _HOLDERS_LOCK:
        holders = list(_HOLDERS.pop(os.path.abspath(db_path), ()))
    for holder in holders:
        holder.drop()


def _signature(fd: int, path: str) -> tuple[Any, ...] | None:
    try:
        st = os.stat(path)
        header = os.pread(fd, _HEADER_BYTES, 0)
    except OSError:
        return None
    if st.st_ino != os.fstat(fd).st_ino:  # replaced or moved away: attach whatever is there now
        return None
    try:
        wal = os.stat(path + ".wal")
        wal_state: tuple[int, int, int] | None = (wal.st_ino, wal.st_size, wal.st_mtime_ns)
    except FileNotFoundError:
        wal_state = None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, header, wal_state


def _same_file(fd: int, path: str) -> bool:
    try:
        return os.stat(path).st_ino == os.fstat(fd).st_ino
    except OSError:
        return False


def _lock(fd: int) -> bool:
    try:
        fcntl.lockf(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return True
    except OSError:
        return False


def _unlock(fd: int) -> None:
    try:
        fcntl.lockf(fd, fcntl.LOCK_UN)
    except OSError:
        pass


def _no_lock_left(fd: int) -> bool:
    """True if /proc/locks shows no lock of this process (or open-file-description lock) on the file."""
    inode = os.fstat(fd).st_ino
    pid = str(os.getpid())
    try:
        with open("/proc/locks") as f:
            lines = f.read().splitlines()
    except OSError:
        return False
    for line in lines:
        fields = line.split()
        # "1: POSIX  ADVISORY  READ 16012 fe:00:2711575 0 EOF" (a blocked waiter's line starts "1: ->")
        if len(fields) < 6 or fields[1] == "->" or not fields[5].endswith(f":{inode}"):
            continue
        if fields[1] == "OFDLCK" or fields[4] == pid:
            return False
    return True
