"""One background thread that polls the store for every live view of this kernel.

A thread (not the kernel's event loop) so charts keep moving while the same kernel is busy
training in another cell: widget messages go out through ipykernel's IOPub thread, which
any thread may use. Each view's ``_poll()`` returns the seconds until it wants the next
call, or None to stop. Views are held weakly: a view that is gone stops being polled.
"""

from __future__ import annotations

import logging
import threading
import time
import weakref
from typing import Any, Protocol

__all__ = ["Pollable", "schedule", "unschedule"]

log = logging.getLogger("nbtrack.ui")


class Pollable(Protocol):
    def _poll(self) -> float | None: ...


_lock = threading.Lock()
_due: dict[int, tuple[weakref.ref[Any], float]] = {}
_wake = threading.Event()
_thread: threading.Thread | None = None


def schedule(view: Pollable, delay: float = 0.0) -> None:
    """Poll ``view`` after ``delay`` seconds (and then as often as it asks)."""
    global _thread
    with _lock:
        _due[id(view)] = (weakref.ref(view), time.monotonic() + delay)
        if _thread is None or not _thread.is_alive():
            _thread = threading.Thread(target=_loop, name="nbtrack-ui-live", daemon=True)
            _thread.start()
    _wake.set()


def unschedule(view: Any) -> None:
    with _lock:
        _due.pop(id(view), None)


def scheduled(view: Any) -> bool:
    with _lock:
        return id(view) in _due


def _loop() -> None:
    while True:
        with _lock:
            now = time.monotonic()
            ready = [(key, ref) for key, (ref, when) in _due.items() if when <= now]
            upcoming = [when for _, when in _due.values()]
        for key, ref in ready:
            view = ref()
            delay: float | None = None
            if view is not None:
                try:
                    delay = view._poll()
                except Exception:  # a failed poll must not end live updates of the other views
                    log.exception("nbtrack: live update failed; retrying in 5 s")
                    delay = 5.0
            with _lock:
                if key in _due and _due[key][0] is ref:
                    if delay is None:
                        del _due[key]
                    else:
                        _due[key] = (ref, time.monotonic() + delay)
        wait = max(min(upcoming, default=now + 1.0) - time.monotonic(), 0.02)
        _wake.wait(min(wait, 1.0))
        _wake.clear()
