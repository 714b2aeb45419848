"""A real JupyterLab in Debian's chromium, driven by Python Playwright.

One JupyterLab server per module, on a free 127.0.0.1 port with a random token, serving a
temporary root that holds a copy of notebooks/dashboards.ipynb (whose demo store is
``.nbtrack`` beside it). Jupyter's own state (config, runtime, settings) lives in that
temporary directory too, so nothing of the user's is read or written. Tests skip only when
chromium, JupyterLab or Playwright are missing (``scripts/setup-browser.sh`` installs them).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.browser.lab import CHROMIUM, CHROMIUM_ARGS, REPO, Lab, missing, serve_lab

_missing = missing
ARTIFACTS = REPO / "test-artifacts" / "browser"


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Lab]:
    """A JupyterLab serving a root that holds a copy of notebooks/dashboards.ipynb
    (``serve_lab`` in tests/browser/lab.py starts others for tests that need their own)."""
    yield from serve_lab(tmp_path_factory, "lab", {"dashboards.ipynb": REPO / "notebooks" / "dashboards.ipynb"})


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def shot() -> Callable[[object, str], Path]:
    """``shot(page_or_element, name)`` saves a screenshot under test-artifacts/browser/."""

    def take(target: object, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        target.screenshot(path=str(path))  # type: ignore[attr-defined]
        return path

    return take
