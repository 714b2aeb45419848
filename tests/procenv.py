"""The environment for child processes of the tests (imported as ``from procenv import python_env``).

Not in conftest.py: pytest runs tests/ and notebooks/ in one session, each folder has a
conftest.py, and ``from conftest import ...`` would reach whichever was imported last.
"""

from __future__ import annotations

import os


def python_env() -> dict[str, str]:
    """Environment for child Python processes that must import this checkout's nbtrack."""
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
    return env
