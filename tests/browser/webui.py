"""The web UI under test: a real ``nbtrack server`` on 127.0.0.1 over a store the test builds,
opened in Debian's chromium by Python Playwright (``new_page`` of tests/browser/lab.py).

``serve_ui(tmp_path_factory, name, build)`` is the body of a module-scoped fixture: ``build(uri)``
fills a fresh store (it runs in this process, with ``nbtrack`` pointed at the store, before the
server starts), then the server serves it; the server's log is kept as
``test-artifacts/browser/<name>-server.log``.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from tests.browser.lab import REPO, missing
from tests.server_fixtures import start_server, stop_server

WEBUI = REPO / "nbtrack" / "server" / "webui" / "index.html"


class UI:
    def __init__(self, url: str, store: Path) -> None:
        self.url, self.store = url, store

    def page_url(self, route: str = "/experiments") -> str:
        return f"{self.url}/#{route}"


def serve_ui(tmp_path_factory: Any, name: str, build: Callable[[str], None] | None = None,
             **server_flags: Any) -> Iterator[UI]:
    import pytest

    reason = missing()
    if reason:
        pytest.skip(reason)
    if not WEBUI.is_file():
        pytest.fail(f"{WEBUI} is missing: build the web UI (cd extension && npm run build:app)")
    import nbtrack

    base = tmp_path_factory.mktemp(name)
    store = base / "store"
    if build is not None:
        before = nbtrack.get_tracking_uri()
        nbtrack.set_tracking_uri(str(store))
        try:
            build(str(store))
        finally:
            nbtrack.set_tracking_uri(before)
    log = base / "server.log"
    proc, url = start_server(store, log_path=log, **server_flags)
    try:
        yield UI(url, store)
    finally:
        stop_server(proc)
        artifacts = REPO / "test-artifacts" / "browser"
        artifacts.mkdir(parents=True, exist_ok=True)
        shutil.copy(log, artifacts / f"{name}-server.log")


def real_errors(errors: list[str], allowed: tuple[str, ...] = ()) -> list[str]:
    """A page's errors (``page.errors`` of ``new_page``) less the GPU driver's noise and any that
    contain one of ``allowed``."""
    return [e for e in errors if "GL Driver" not in e and not any(a in e for a in allowed)]


def readme_shot(page: Any, name: str, **screenshot: Any) -> Path:
    """A screenshot for the README: ``docs/images/<name>.png`` when ``NBTRACK_README_SHOTS=1`` (run
    the browser tests that way to refresh the README's pictures), else under test-artifacts/browser/
    (so an ordinary test run leaves the working tree as it was)."""
    import os

    folder = REPO / ("docs/images" if os.environ.get("NBTRACK_README_SHOTS") == "1" else "test-artifacts/browser")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    page.screenshot(path=str(path), **screenshot)
    return path
