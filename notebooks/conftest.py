"""When nbval runs these notebooks, each logs to its own temporary store, not notebooks/.nbtrack.

nbval starts a notebook's kernel when its first cell is set up, and the kernel inherits this
process's environment then; so NBTRACK_TRACKING_URI is pointed at a fresh folder just before.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from typing import Any

import pytest

_stores: dict[str, str] = {}


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_setup(item: Any) -> Iterator[None]:
    notebook = str(getattr(item, "parent", None) and item.parent.path)
    if notebook.endswith(".ipynb") and notebook not in _stores:
        _stores[notebook] = tempfile.mkdtemp(prefix="nbtrack-nbval-")
        os.environ["NBTRACK_TRACKING_URI"] = os.path.join(_stores[notebook], "store")
    yield


def pytest_sessionfinish(session: Any) -> None:
    for folder in _stores.values():
        shutil.rmtree(folder, ignore_errors=True)
