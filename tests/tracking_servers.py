"""Tracking servers for the tests of nbtrack's ``http://`` client, on a free loopback port: the real
``mlflow server`` (sqlite backend, artifacts proxied) and ``nbtrack server`` (a store folder).
Started and stopped by the tests, by process id; a stopped server restarts on the same port
over the same data (the spool tests need that)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

MLFLOW = Path(sys.executable).with_name("mlflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


KINDS = ("mlflow", "nbtrack")


@dataclass
class TrackingServer:
    """One server process group; ``stop()`` and ``start()`` again keep port and data."""

    kind: str
    folder: Path
    port: int = field(default_factory=free_port)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _command(self) -> list[str]:
        where = ["--host", "127.0.0.1", "--port", str(self.port), "--workers", "1"]
        if self.kind == "mlflow":
            return [str(MLFLOW), "server", "--backend-store-uri", f"sqlite:///{self.folder / 'mlflow.db'}",
                    "--artifacts-destination", str(self.folder / "artifacts"), *where]
        return [sys.executable, "-m", "nbtrack", "server", "--backend-store-uri", str(self.folder / "store"), *where]

    def start(self, timeout: float = 120.0) -> TrackingServer:
        env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
        for name in ("MLFLOW_TRACKING_URI", "NBTRACK_TRACKING_URI", "NBTRACK_TOKEN"):
            env.pop(name, None)
        root = str(Path(__file__).resolve().parent.parent)
        env["PYTHONPATH"] = root + os.pathsep + env.get("PYTHONPATH", "")
        log = open(self.folder / "server.log", "ab")
        self.proc = subprocess.Popen(self._command(), stdout=log, stderr=log, env=env, start_new_session=True,
                                     cwd=self.folder)
        log.close()
        self._wait_healthy(timeout)
        return self

    def _wait_healthy(self, timeout: float) -> None:
        import httpx

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.proc is not None
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"{self.kind} server did not answer /health within {timeout} s")

    def stop(self, sig: int = signal.SIGKILL) -> None:
        """Stop the server's process group (the server and its uvicorn workers) by its id."""
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
        self.proc.wait(timeout=30)
        self.proc = None
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the port is free once every worker is gone
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) != 0:
                    return
            time.sleep(0.1)


def start_server(kind: str, tmp_path_factory: pytest.TempPathFactory) -> TrackingServer:
    """A running server of ``kind`` ("mlflow" or "nbtrack") in a fresh folder."""
    if kind == "mlflow" and not MLFLOW.exists():
        pytest.skip("the real mlflow package (the `bench` extra) is not installed")
    return TrackingServer(kind, tmp_path_factory.mktemp(f"{kind}-server")).start()


_shared: dict[str, TrackingServer] = {}


def shared_server(kind: str, request: pytest.FixtureRequest) -> TrackingServer:
    """One server of ``kind`` for the whole test session (an mlflow server takes 10-30 s to start):
    the first module that asks starts it, the session's end stops it. Tests that stop it start it
    again; each test uses its own experiments."""
    running = _shared.get(kind)
    if running is None:
        running = _shared[kind] = start_server(kind, request.getfixturevalue("tmp_path_factory"))
        request.config.add_cleanup(running.stop)
    elif running.proc is None:
        running.start()
    return running


def mlflow_read(url: str, script: str) -> str:
    """Run ``script`` with the real mlflow client pointed at ``url`` in a subprocess; its stdout."""
    env = {**os.environ, "MLFLOW_TRACKING_URI": url}
    env.pop("NBTRACK_TRACKING_URI", None)
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout
