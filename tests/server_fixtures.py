"""Start a real ``nbtrack server`` process on a free 127.0.0.1 port and stop it by its PID.

>>> with nbtrack_server(tmp_path / "store", auth="token", env={"NBTRACK_TOKEN": "secret-1234"}) as url:
...     httpx.get(url + "/health")

``flags`` become command-line options: ``workers=2`` -> ``--workers 2``, ``artifacts_only=True`` ->
``--artifacts-only``, ``serve_artifacts=False`` -> ``--no-serve-artifacts``.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

__all__ = ["free_port", "nbtrack_server", "start_server", "stop_server"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _args(flags: dict[str, Any]) -> list[str]:
    out: list[str] = []
    for name, value in flags.items():
        option = "--" + name.replace("_", "-")
        if value is True:
            out.append(option)
        elif value is False:
            out.append("--no-" + name.replace("_", "-"))
        elif value is not None:
            out += [option, str(value)]
    return out


def start_server(store_path: str | os.PathLike[str], env: dict[str, str] | None = None,
                 log_path: str | os.PathLike[str] | None = None, **flags: Any) -> tuple[subprocess.Popen[bytes], str]:
    """Start the server and wait until ``/health`` answers; returns (process, base URL)."""
    port = free_port()
    cmd = [sys.executable, "-m", "nbtrack", "server", "--backend-store-uri", os.fspath(store_path),
           "--host", "127.0.0.1", "--port", str(port), *_args(flags)]
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    full_env = {**os.environ, **(env or {})}
    full_env["PYTHONPATH"] = root + os.pathsep + full_env.get("PYTHONPATH", "")
    if "NBTRACK_TOKEN" not in (env or {}):
        full_env.pop("NBTRACK_TOKEN", None)  # a token in the caller's shell must not switch auth on
    log = open(log_path or Path(os.fspath(store_path)).parent / f"server-{port}.log", "ab")
    proc = subprocess.Popen(cmd, env=full_env, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nbtrack server exited with {proc.returncode}; see {log.name}")
        with contextlib.suppress(OSError), urllib.request.urlopen(url + "/health", timeout=1) as r:
            if r.status == 200:
                return proc, url
        time.sleep(0.1)
    stop_server(proc)
    raise RuntimeError(f"nbtrack server did not answer /health within 60 s; see {log.name}")


def stop_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGTERM the server by its PID, then SIGKILL if it has not stopped within 15 s."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


@contextlib.contextmanager
def nbtrack_server(store_path: str | os.PathLike[str], env: dict[str, str] | None = None,
                   **flags: Any) -> Iterator[str]:
    """A running server over ``store_path``; yields its base URL (``http://127.0.0.1:<port>``)."""
    proc, url = start_server(store_path, env=env, **flags)
    try:
        yield url
    finally:
        stop_server(proc)
