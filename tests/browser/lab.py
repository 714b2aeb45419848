"""Start a real JupyterLab (and Debian's chromium) for the browser tests and benchmarks/bench_ui.py.

``start_lab(base)`` serves ``base/root`` on a free 127.0.0.1 port with a random token; Jupyter's own
state (config, runtime, settings) lives in ``base/home``, so nothing of the user's is read or written.
The server runs in its own process group and is stopped, with its kernels, by that group.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]


def missing() -> str | None:
    """Why the browser parts cannot run here, or None."""
    if not Path(CHROMIUM).exists():
        return f"{CHROMIUM} is not installed (run scripts/setup-browser.sh as root)"
    import importlib.util

    for module in ("playwright", "jupyterlab"):
        if importlib.util.find_spec(module) is None:
            return f"{module} is not installed (run scripts/setup-browser.sh)"
    return None


def free_port() -> int:
    with contextlib.closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Lab:
    def __init__(self, url: str, token: str, root: Path, process: subprocess.Popen[bytes], log: Path) -> None:
        self.url, self.token, self.root, self.process, self.log = url, token, root, process, log

    def page_url(self, path: str) -> str:
        return f"{self.url}/lab/tree/{path}?reset&token={self.token}"


@contextlib.contextmanager
def start_lab(base: Path, env_extra: dict[str, str] | None = None, timeout: float = 90) -> Iterator[Lab]:
    """A JupyterLab serving ``base/root`` (created if missing); raises RuntimeError if it does not start."""
    root, home = base / "root", base / "home"
    root.mkdir(parents=True, exist_ok=True)
    labconfig = home / "config" / "labconfig"
    labconfig.mkdir(parents=True, exist_ok=True)
    # no "get notified about news?" toast over the page
    (labconfig / "page_config.json").write_text(json.dumps(
        {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}))
    settings = home / "settings" / "@jupyterlab" / "notebook-extension"
    settings.mkdir(parents=True, exist_ok=True)
    # render every cell's output, not only those scrolled into view
    (settings / "tracker.jupyterlab-settings").write_text(json.dumps({"windowingMode": "none"}))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "MLFLOW_", "JUPYTER"))}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_SETTINGS_DIR=str(home / "settings"), IPYTHONDIR=str(home / "ipython"),
               PYTHONPATH=str(REPO) + os.pathsep + env.get("PYTHONPATH", ""))
    env.update(env_extra or {})
    port, token = free_port(), secrets.token_hex(16)
    log = base / "jupyter.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", "--ip=127.0.0.1",
             f"--port={port}", f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
             "--LabApp.expose_app_in_browser=True", "--ServerApp.port_retries=0"],
            cwd=root, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                with urllib.request.urlopen(f"{url}/api/status?token={token}", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"jupyter lab did not start:\n{log.read_text()[-3000:]}") from None
                time.sleep(0.3)
        yield Lab(url, token, root, process, log)
    finally:
        stop(process)


def stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the server we started and its kernels (its own process group), politely first."""
    if process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


def wait_for_kernel_idle(page: object, notebook: str, timeout: float = 90_000) -> None:
    """Wait until ``notebook`` is the current widget and its kernel is idle."""
    page.wait_for_function(  # type: ignore[attr-defined]
        """(path) => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;
            return w && w.context && w.context.path === path && w.sessionContext.session
                && w.sessionContext.session.kernel && w.sessionContext.session.kernel.status === 'idle'; }""",
        arg=notebook, timeout=timeout)


def run_python_with_nbtrack(tracking_uri: str, script: str, wait: bool = True) -> subprocess.Popen[bytes]:
    """Run ``script`` (dedented) in another Python process whose nbtrack writes to ``tracking_uri``
    (a store folder or an ``http://`` server), with none of this process's NBTRACK_/MLFLOW_ settings."""
    import textwrap

    code = f"import nbtrack\nnbtrack.set_tracking_uri({tracking_uri!r})\n" + textwrap.dedent(script)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NBTRACK_", "MLFLOW_"))}
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    process = subprocess.Popen([sys.executable, "-c", code], env=env)
    if wait:
        assert process.wait(timeout=120) == 0
    return process


def new_page(browser: Any, width: int, height: int, timeout: float = 60_000,
             http_errors: bool = False) -> tuple[Any, Any]:
    """(context, page): a page in a browser context of its own, with its console errors and uncaught
    exceptions (and, with ``http_errors``, every answer of 400 or more as ``HTTP <status> <url>``)
    collected in ``page.errors``."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.set_default_timeout(timeout)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    if http_errors:
        page.on("response", lambda r: errors.append(f"HTTP {r.status} {r.url}") if r.status >= 400 else None)
    page.errors = errors
    return context, page


def errors_but_one_bad_filter(errors: list[str]) -> list[str]:
    """``errors`` (of a ``new_page(..., http_errors=True)``) less what one bad filter typed in the
    side panel leaves: its 400 answer from runs/search, which the browser also logs as a failed
    resource. Fails unless exactly that one is there."""
    real = [e for e in errors if "GL Driver" not in e and "favicon" not in e]
    bad_filter = [e for e in real if e.startswith("HTTP 400") and "/nbtrack/api/2.0/mlflow/runs/search" in e]
    assert len(bad_filter) == 1, real
    real = [e for e in real if e not in bad_filter]
    real.remove("Failed to load resource: the server responded with a status of 400 (Bad Request)")
    return real


def serve_lab(tmp_path_factory: Any, name: str, files: dict[str, str | Path] | None = None,
              env_extra: dict[str, str] | None = None, log_as: str = "jupyter.log") -> Iterator[Lab]:
    """The body of a module-scoped ``lab`` fixture: skips when chromium, JupyterLab or Playwright
    is missing; serves a fresh root holding ``files`` (text, or a path to copy); keeps the server's
    log as ``test-artifacts/browser/<log_as>``."""
    import shutil

    import pytest

    reason = missing()
    if reason:
        pytest.skip(reason)
    base = tmp_path_factory.mktemp(name)
    (base / "root").mkdir()
    for relative, content in (files or {}).items():
        if isinstance(content, Path):
            shutil.copy(content, base / "root" / relative)
        else:
            (base / "root" / relative).write_text(content)
    artifacts = REPO / "test-artifacts" / "browser"
    try:
        with start_lab(base, env_extra) as server:
            yield server
    except RuntimeError as e:
        pytest.fail(str(e))
    finally:
        artifacts.mkdir(parents=True, exist_ok=True)
        if (base / "jupyter.log").exists():
            shutil.copy(base / "jupyter.log", artifacts / log_as)
