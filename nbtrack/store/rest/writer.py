"""The write path of the ``rest`` backend: run data buffered, sent as ``log-batch`` in order.

Log calls append to an in-memory queue and return at once. A background thread sends the queue
every ``NBTRACK_FLUSH_INTERVAL`` seconds (or as soon as a full batch is waiting), cut into
requests within MLflow's limits (1,000 metrics, 100 params, 100 tags, 1,000 entities per
request). When the server cannot be reached, the requests go to the :class:`~.rest_spool.Spool`
and everything queued after them follows them there, so the order is kept; each later send first
replays the spool. ``flush()`` returns once the server has acknowledged everything.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from typing import Any

from nbtrack import config
from nbtrack.errors import AccessDenied, NbtrackError, ServerUnreachable
from nbtrack.store.rest.http import RestClient, encode_float
from nbtrack.store.rest.spool import Spool, orphaned_spools

__all__ = ["MAX_ENTITIES", "MAX_METRICS", "MAX_PARAMS_TAGS", "Writer"]

log = logging.getLogger("nbtrack.store.rest")

MAX_METRICS = 1000        # MLflow's MAX_METRICS_PER_BATCH
MAX_PARAMS_TAGS = 100     # MLflow's MAX_PARAMS_TAGS_PER_BATCH (each of params and tags)
MAX_ENTITIES = 1000       # MLflow's MAX_ENTITIES_PER_BATCH
_BACKGROUND_RETRIES = 2   # the background sender spools soon; the spool is retried anyway
_MAX_QUEUED = 200_000     # points; past this a log call sends (or spools) itself: bounded memory

Request = tuple[str, dict[str, Any]]
_writers: weakref.WeakSet[Writer] = weakref.WeakSet()


def _after_fork_in_child() -> None:
    """A forked child must not send its parent's queue or spools again: they stay the parent's."""
    for writer in list(_writers):
        writer._forget_parent()


os.register_at_fork(after_in_child=_after_fork_in_child)


class _Batch:
    """Consecutive run data for one run, not yet cut into requests."""

    __slots__ = ("metrics", "params", "run_id", "tags")

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self.metrics: list[tuple[str, float, int, int]] = []
        self.params: list[tuple[str, str]] = []
        self.tags: list[tuple[str, str]] = []

    def requests(self) -> list[Request]:
        out: list[Request] = []
        params, tags, metrics = self.params, self.tags, self.metrics
        while params or tags or metrics:
            p, t = params[:MAX_PARAMS_TAGS], tags[:MAX_PARAMS_TAGS]
            m = metrics[:min(MAX_METRICS, MAX_ENTITIES - len(p) - len(t))]
            params, tags, metrics = params[len(p):], tags[len(t):], metrics[len(m):]
            body: dict[str, Any] = {"run_id": self.run_id}
            if m:
                body["metrics"] = [{"key": k, "value": encode_float(v), "timestamp": ts, "step": s}
                                   for k, v, ts, s in m]
            if p:
                body["params"] = [{"key": k, "value": v} for k, v in p]
            if t:
                body["tags"] = [{"key": k, "value": v} for k, v in t]
            out.append(("runs/log-batch", body))
        return out


class Writer:
    """The queue, the sender thread and the spool of one :class:`~.rest.RestStore`."""

    def __init__(self, http: RestClient) -> None:
        self.http = http
        self._queue: list[_Batch | Request] = []
        self._queued_points = 0
        self._lock = threading.Lock()        # the queue
        self._send_lock = threading.Lock()   # one sender at a time keeps requests in order
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._thread_pid = 0  # the process the sender thread runs in
        self._closed = False
        self._spools: list[Spool] = orphaned_spools(http.base)
        self._own = Spool(http.base)
        self._spools.append(self._own)
        self._rejected: list[NbtrackError] = []
        self._down_since: float | None = None
        self._failure: NbtrackError | None = None  # why the last send stopped
        _writers.add(self)
        if any(self._spools):
            self._start()

    def _forget_parent(self) -> None:
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._queue, self._queued_points = [], 0
        self._own = Spool(self.http.base)
        self._spools = [self._own]
        self._thread, self._thread_pid, self._rejected = None, 0, []

    # -- adding -----------------------------------------------------------------------------------
    def _batch(self, run_id: str) -> _Batch:
        last = self._queue[-1] if self._queue else None
        if isinstance(last, _Batch) and last.run_id == run_id:
            return last
        batch = _Batch(run_id)
        self._queue.append(batch)
        return batch

    def add(self, run_id: str, metrics: list[tuple[str, float, int, int]] = (),  # type: ignore[assignment]
            params: list[tuple[str, str]] = (), tags: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        if self._rejected:
            self.raise_rejected()
        with self._lock:
            batch = self._batch(run_id)
            batch.metrics.extend(metrics)
            batch.params.extend(params)
            batch.tags.extend(tags)
            before = self._queued_points
            self._queued_points = queued = before + len(metrics) + len(params) + len(tags)
        if self._thread_pid != os.getpid():
            self._start()
        if queued >= _MAX_QUEUED:
            self.send(_BACKGROUND_RETRIES)  # sent, or moved to the spool: memory stays bounded
        elif before < MAX_METRICS <= queued:  # a full batch waits: wake the sender once, not per point
            self._wake.set()

    def add_request(self, endpoint: str, body: dict[str, Any]) -> None:
        """A request kept in order with the run data (a status change, inputs)."""
        self.raise_rejected()
        with self._lock:
            self._queue.append((endpoint, body))
        self._start()
        self._wake.set()

    def raise_rejected(self) -> None:
        """Raise (once) an error the server gave for data sent in the background."""
        if self._rejected:
            error = self._rejected.pop(0)
            self._rejected.clear()
            raise error

    # -- sending ------------------------------------------------------------------------------------
    def _start(self) -> None:
        if self._thread is None or not self._thread.is_alive():  # none yet, or this is a forked child
            with self._lock:
                if self._thread is None or not self._thread.is_alive():
                    self._thread = threading.Thread(target=self._loop, name="nbtrack-rest-sender", daemon=True)
                    self._thread.start()
                    self._thread_pid = os.getpid()

    def _loop(self) -> None:
        while not self._closed:
            interval = config.env_float("NBTRACK_FLUSH_INTERVAL", 0.25)
            if self._down_since is not None:  # the server is away: try again less often
                interval = min(5.0, max(interval, (time.monotonic() - self._down_since) / 4))
            self._wake.wait(interval)
            self._wake.clear()
            try:
                self.send(_BACKGROUND_RETRIES)
            except Exception as e:  # a boundary: the sender thread must survive anything
                log.warning("nbtrack: sending run data to %s failed: %s", self.http.base, e)

    def _take(self) -> list[Request]:
        with self._lock:
            queue, self._queue, self._queued_points = self._queue, [], 0
        requests: list[Request] = []
        for item in queue:
            requests.extend(item.requests() if isinstance(item, _Batch) else [item])
        return requests

    def send(self, retries: int | None = None) -> bool:
        """Replay the spool, then send the queue; True when the server acknowledged everything."""
        with self._send_lock:
            if not self._replay(retries):
                self._own.append(self._take())
                return False
            requests = self._take()
            for i, (endpoint, body) in enumerate(requests):
                try:
                    self.http.call("POST", endpoint, body, retries=retries)
                except (ServerUnreachable, AccessDenied) as e:
                    self._went_down(e)
                    self._own.append(requests[i:])
                    return False
                except NbtrackError as e:  # refused (a bad value, a deleted run): say so at the next call
                    self._reject(e, endpoint)
            self._down_since = self._failure = None
            return True

    def _replay(self, retries: int | None) -> bool:
        for spool in self._spools:
            for offset, endpoint, body in spool.pending():
                try:
                    self.http.call("POST", endpoint, body, retries=retries)
                except (ServerUnreachable, AccessDenied) as e:
                    self._went_down(e)
                    return False
                except NbtrackError as e:
                    self._reject(e, endpoint)
                spool.ack(offset)
        self._spools = [s for s in self._spools if s is self._own or s]
        if self._down_since is not None:
            log.warning("nbtrack: the tracking server at %s is back; spooled run data was sent.", self.http.base)
        self._down_since = None
        return True

    def _went_down(self, error: NbtrackError) -> None:
        self._failure = error
        if self._down_since is None:
            self._down_since = time.monotonic()
            log.warning("nbtrack: the tracking server at %s cannot be reached; run data is spooled to %s and "
                        "sent when it is back.", self.http.base, self._own.path)

    def _reject(self, error: NbtrackError, endpoint: str) -> None:
        log.warning("nbtrack: the tracking server refused %s: %s", endpoint, error)
        self._rejected.append(error)

    @property
    def failure(self) -> NbtrackError | None:
        """Why the last send stopped (server away, credentials refused), or None."""
        return self._failure

    def pending(self) -> bool:
        """Anything queued, spooled or being sent right now (a read must wait for that too)."""
        with self._lock:
            queued = bool(self._queue)
        return queued or self._send_lock.locked() or any(self._spools)

    def flush(self, timeout: float | None = None) -> None:
        """Return once the server has acknowledged every request; ServerUnreachable after ``timeout``."""
        limit = config.env_float("NBTRACK_REST_FLUSH_TIMEOUT", 60.0) if timeout is None else timeout
        deadline = time.monotonic() + limit
        delay = 0.05
        while not self.send() or any(self._spools):  # what is queued after this send need not wait
            failure = self._failure
            if isinstance(failure, AccessDenied) or (isinstance(failure, ServerUnreachable) and not failure.retryable):
                raise failure  # waiting fixes neither credentials nor certificates; the data stays spooled
            if time.monotonic() >= deadline:
                raise ServerUnreachable(
                    f"The tracking server at {self.http.base} did not acknowledge everything within {limit:g} s; "
                    f"{self._own.count()} request(s) wait in {self._own.path} and are sent, in order, when it is "
                    "back (also by the next nbtrack process that logs to it).", self.http.base)
            time.sleep(delay)
            delay = min(1.0, delay * 2)
        self.raise_rejected()

    def close(self, timeout: float | None = None) -> None:
        """Send what is left; while the server is away it stays in the spool (durable) for later,
        so an exit does not wait for a server that is down."""
        try:
            if not self.send(_BACKGROUND_RETRIES):
                raise self.http.unreachable(RuntimeError("closing"))
            self.flush(timeout)  # a spool adopted at start may still be sending
        except (ServerUnreachable, AccessDenied) as e:
            log.warning("nbtrack: %s; %d request(s) wait in %s and are sent by the next nbtrack process that "
                        "logs to %s.", e, self._own.count(), self._own.path, self.http.base)
        finally:
            self._closed = True
            self._wake.set()
