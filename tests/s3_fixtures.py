"""An S3-compatible server on 127.0.0.1 for the tests: moto's standalone server (``moto_server``),
one per test session, stopped by its PID; the real boto3 client reaches it over HTTP.

:func:`s3_env` gives the variables MLflow (and nbtrack) read: ``MLFLOW_S3_ENDPOINT_URL`` plus
boto3's ``AWS_ACCESS_KEY_ID`` / ``AWS_SECRET_ACCESS_KEY`` / ``AWS_DEFAULT_REGION``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.server_fixtures import free_port

__all__ = ["new_bucket", "s3_env", "s3_server"]

_server: tuple[subprocess.Popen[bytes], str] | None = None


def _stop() -> None:
    global _server
    if _server is not None:
        proc = _server[0]
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(5)
        _server = None


def s3_server() -> str:
    """The session's moto server URL (started on first use)."""
    global _server
    if _server is None:
        program = Path(sys.executable).with_name("moto_server")
        if not program.exists():
            pytest.skip("moto[server] is not installed (scripts/setup-services.sh installs it)")
        pytest.importorskip("boto3")
        port = free_port()
        log = open(os.path.join(tempfile.gettempdir(), f"nbtrack-moto-{port}.log"), "ab")
        proc = subprocess.Popen([str(program), "-H", "127.0.0.1", "-p", str(port)], stdout=log,
                                stderr=subprocess.STDOUT)
        log.close()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"moto_server exited with {proc.returncode}")
            with contextlib.suppress(OSError), urllib.request.urlopen(url + "/moto-api/", timeout=1):
                break
            time.sleep(0.1)
        _server = (proc, url)
        atexit.register(_stop)
    return _server[1]


def s3_env() -> dict[str, str]:
    return {"MLFLOW_S3_ENDPOINT_URL": s3_server(), "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}


def new_bucket(prefix: str = "nbtrack") -> str:
    """A fresh bucket on the session's server; returns its name."""
    import boto3

    env = s3_env()
    name = f"{prefix}-{uuid.uuid4().hex[:12]}"
    boto3.client("s3", endpoint_url=env["MLFLOW_S3_ENDPOINT_URL"], aws_access_key_id="testing",
                 aws_secret_access_key="testing", region_name="us-east-1").create_bucket(Bucket=name)
    return name
