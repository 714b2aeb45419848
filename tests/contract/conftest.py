"""The backend contract suite: every test here runs once per entry of ``BACKENDS``, through the
public API (``import nbtrack``, ``nbtrack.MlflowClient()``) with ``NBTRACK_TRACKING_URI`` pointed
at that backend. A backend is done when the whole suite passes on it; a new one (postgresql) is
one more entry here and one more branch in :func:`_location`.

The ``rest`` backend is one ``nbtrack server`` per session (``tracking_servers.shared_server``),
so tests never assume the store is empty: every experiment and registered model they make is
named with :meth:`Backend.name`, unique per test.
"""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from nbtrack.store import open_store
from tests.tracking_servers import shared_server

BACKENDS = ["duckdb", "rest", "postgresql"]


@dataclass
class Backend:
    """The backend a test runs against: its ``kind`` (an entry of BACKENDS) and tracking ``uri``."""

    kind: str
    uri: str
    prefix: str
    spool: Path

    def name(self, what: str = "") -> str:
        """A name no other test (or earlier session on the same server) uses."""
        return f"{self.prefix}-{what}" if what else self.prefix

    @contextlib.contextmanager
    def active(self) -> Iterator[Backend]:
        """nbtrack pointed at this backend inside the block (for module-scoped seeding)."""
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("NBTRACK_TRACKING_URI", self.uri)
            mp.setenv("NBTRACK_SPOOL_DIR", str(self.spool))
            yield self


def _location(kind: str, request: pytest.FixtureRequest, folder: Path) -> str:
    """The tracking URI of a fresh store of ``kind`` (for a server: the session's server)."""
    if kind == "duckdb":
        return str(folder / "store")
    if kind == "rest":
        return shared_server("nbtrack", request).url
    if kind == "postgresql":  # a fresh database on the session's throwaway cluster (tests/pg_fixtures.py)
        from tests.pg_fixtures import pg_uri

        return pg_uri(request, folder)
    raise AssertionError(f"unknown backend {kind!r}")


def _prefix(request: pytest.FixtureRequest) -> str:
    return re.sub(r"\W", "_", request.node.name)[:60] + "_" + uuid.uuid4().hex[:8]


def _release(backend: Backend) -> None:
    """Flush what was logged and drop the process's client of a server, so the next test starts
    afresh (with its own spool folder)."""
    open_store(backend.uri).flush()
    if backend.kind != "duckdb":
        open_store(backend.uri).close()


@pytest.fixture(params=BACKENDS)
def backend(request, _isolated_store, tmp_path, monkeypatch) -> Iterator[Backend]:
    """nbtrack pointed at a fresh store of each backend (NBTRACK_TRACKING_URI), per test."""
    here = Backend(request.param, _location(request.param, request, tmp_path), _prefix(request), tmp_path / "spool")
    monkeypatch.setenv("NBTRACK_TRACKING_URI", here.uri)
    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(here.spool))
    yield here
    _release(here)


@pytest.fixture(scope="module", params=BACKENDS)
def module_backend(request, tmp_path_factory) -> Iterator[Backend]:
    """One store of each backend for a whole module (data seeded once inside ``active()``, read
    by many tests through ``use_module_backend``). One client for the module: a fresh one per
    test costs more than most of these tests."""
    folder = tmp_path_factory.mktemp(f"contract-{request.param}")
    here = Backend(request.param, _location(request.param, request, folder), _prefix(request), folder / "spool")
    yield here
    _release(here)


@pytest.fixture
def use_module_backend(module_backend, _isolated_store, monkeypatch, request) -> Iterator[Backend]:
    """Point nbtrack at the module's store for one test; names made with it are the test's own."""
    monkeypatch.setenv("NBTRACK_TRACKING_URI", module_backend.uri)
    monkeypatch.setenv("NBTRACK_SPOOL_DIR", str(module_backend.spool))
    yield replace(module_backend, prefix=_prefix(request))
    open_store(module_backend.uri).flush()
