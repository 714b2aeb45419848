"""The side-file lock that serialises every open of the DuckDB file.

duckdb 2.0.0 reads the file header before taking its own lock, so two processes taking
turns on one file can lose committed rows (docs/store.md). Every open of the archive
happens under this lock: exclusive for the single writer (the compactor, metadata
transactions), shared for readers. A threading lock covers the threads of one process,
because ``flock`` does not exclude two threads sharing one open file description.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import threading
import time
from collections.abc import Iterator

from nbtrack.errors import StoreBusy

__all__ = ["StoreLock"]


class StoreLock:
    def __init__(self, path: str, timeout: float = 60.0) -> None:
        self.path = path
        self.timeout = timeout
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._mode: int | None = None
        self._fd: int | None = None

    def _fileno(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
            except OSError:  # a read-only store: flock works on a read-only descriptor too
                try:
                    self._fd = os.open(self.path, os.O_RDONLY)
                except FileNotFoundError:
                    from nbtrack.errors import StoreReadOnly

                    raise StoreReadOnly(
                        f"Cannot create {self.path}: the store folder is not writable. Choose a "
                        "writable folder with nbtrack.set_tracking_uri() or NBTRACK_TRACKING_URI."
                    ) from None
        return self._fd

    @contextlib.contextmanager
    def exclusive(self, blocking: bool = True) -> Iterator[bool]:
        """Hold the lock exclusively. With ``blocking=False`` yields False if it is taken."""
        with self._hold(fcntl.LOCK_EX, blocking) as got:
            yield got

    @contextlib.contextmanager
    def shared(self) -> Iterator[bool]:
        with self._hold(fcntl.LOCK_SH, True) as got:
            yield got

    @contextlib.contextmanager
    def _hold(self, mode: int, blocking: bool) -> Iterator[bool]:
        if not self._thread_lock.acquire(blocking=blocking, timeout=-1 if not blocking else self.timeout):
            if blocking:
                raise StoreBusy(f"Timed out after {self.timeout:.0f} s waiting for the store lock {self.path}.")
            yield False
            return
        try:
            if self._depth:  # re-entrant within this thread: keep the outer lock
                if mode == fcntl.LOCK_EX and self._mode == fcntl.LOCK_SH:
                    raise RuntimeError("cannot upgrade a shared store lock to exclusive")
                self._depth += 1
                try:
                    yield True
                finally:
                    self._depth -= 1
                return
            if not self._flock(mode, blocking):
                yield False
                return
            self._depth, self._mode = 1, mode
            try:
                yield True
            finally:
                self._depth, self._mode = 0, None
                fcntl.flock(self._fileno(), fcntl.LOCK_UN)
        finally:
            self._thread_lock.release()

    def _flock(self, mode: int, blocking: bool) -> bool:
        fd = self._fileno()
        if not blocking:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                return False
        deadline = time.monotonic() + self.timeout
        delay = 0.001
        while True:  # poll instead of a blocking flock so a stuck holder surfaces as StoreBusy
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreBusy(
                        f"Another process has held the store lock {self.path} for over "
                        f"{self.timeout:.0f} s. If no nbtrack process is running, delete that file."
                    )
                time.sleep(delay)
                delay = min(delay * 2, 0.005)

    def acquire_thread(self, timeout: float) -> bool:
        return self._thread_lock.acquire(timeout=timeout)

    def release_thread(self) -> None:
        self._thread_lock.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
