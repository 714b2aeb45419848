"""Artifact work still under way for a run, so readers can wait for it.

Autolog draws its figures on a background thread to keep ``fit`` fast, and the system
metrics monitor logs from one. A script that lists or downloads a run's artifacts right
after ``fit`` returns must still see those files, so producers mark each job with
:func:`begin`/:func:`done` and ``Client.list_artifacts``/``download_artifacts`` call
:func:`wait` for that run first. The counter lives here, in the tracking layer, because
the producers (autolog) sit above it and may not be imported by it.
"""

from __future__ import annotations

import logging
import threading

__all__ = ["begin", "done", "wait", "wait_all"]

_log = logging.getLogger(__name__)
_counts: dict[str, int] = {}
_changed = threading.Condition()
_workers: set[int] = set()  # threads doing the work; they never wait for themselves


def begin(run_id: str) -> None:
    """Record one more pending artifact job for ``run_id``."""
    with _changed:
        _counts[run_id] = _counts.get(run_id, 0) + 1


def done(run_id: str) -> None:
    """Record that one job of ``run_id`` finished (whether or not it succeeded)."""
    with _changed:
        left = _counts.get(run_id, 0) - 1
        if left > 0:
            _counts[run_id] = left
        else:
            _counts.pop(run_id, None)
        _changed.notify_all()


def mark_worker() -> None:
    """Declare the calling thread a producer: its own reads do not wait (no self-deadlock)."""
    _workers.add(threading.get_ident())


def wait(run_id: str, timeout: float = 60.0) -> bool:
    """Block until ``run_id`` has no pending artifact jobs; False if ``timeout`` ran out."""
    if threading.get_ident() in _workers:
        return True
    with _changed:
        finished = _changed.wait_for(lambda: run_id not in _counts, timeout)
    if not finished:
        _log.warning("Artifacts of run %s were still being written after %.0f s; listing what is "
                     "there now.", run_id, timeout)
    return finished


def wait_all(timeout: float = 60.0) -> bool:
    """Block until no run has pending artifact jobs (``flush_artifact_async_logging``)."""
    with _changed:
        pending = list(_counts)
    finished = True
    for run_id in pending:  # every run, even after one timed out
        finished = wait(run_id, timeout) and finished
    return finished
