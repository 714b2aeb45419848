"""``nbtrack ui``: a server on the store that serves the web UI at / and the API beside it, printing
the URL and opening the browser ($BROWSER, which Python's webbrowser honours, records it) unless
``--no-browser``. Run as the real entry point in a subprocess on a free port."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.server_fixtures import free_port, stop_server

WEBUI = Path(__file__).resolve().parents[1] / "nbtrack" / "server" / "webui" / "index.html"


@contextmanager
def nbtrack_ui(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    port = free_port()
    out = tmp_path / "ui.out"
    full = {**os.environ, **(env or {}), "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    full.pop("NBTRACK_TOKEN", None)
    with open(out, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "nbtrack", "ui", "--backend-store-uri", str(tmp_path / "store"),
                                 "--port", str(port), *args], env=full, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, out.read_text()
            try:
                with urllib.request.urlopen(url + "health", timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, out.read_text()
                time.sleep(0.1)
        yield url, out
    finally:
        stop_server(proc)


def get(url: str, body: bytes | None = None) -> tuple[int, str, str]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as r:
        return r.status, r.headers.get("Content-Type", ""), r.read().decode()


def test_ui_serves_the_app_and_the_api_and_prints_the_url(tmp_path):
    with nbtrack_ui(tmp_path, "--no-browser") as (url, out):
        status, kind, page = get(url)
        assert status == 200 and kind.startswith("text/html" if WEBUI.is_file() else "text/plain")
        if WEBUI.is_file():
            assert '<div id="nbt-app"' in page and "static/main.js" in page
            assert get(url + "static/main.js")[1].startswith("text/javascript")
        status, kind, found = get(url + "api/2.0/mlflow/experiments/search", b'{"max_results": 10}')
        assert status == 200 and '"Default"' in found
        assert f"Web UI: {url}" in out.read_text()


def test_ui_opens_the_browser_on_the_url_once_the_server_answers(tmp_path):
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    script.chmod(0o755)
    with nbtrack_ui(tmp_path, env={"BROWSER": f"{script} %s", "DISPLAY": ""}) as (url, _out):
        deadline = time.monotonic() + 30
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert opened.read_text().strip() == url


def test_no_browser_opens_none(tmp_path):
    opened = tmp_path / "opened.txt"
    script = tmp_path / "browser.sh"
    script.write_text(f'#!/bin/sh\necho "$1" > {opened}\n')
    script.chmod(0o755)
    with nbtrack_ui(tmp_path, "--no-browser", env={"BROWSER": f"{script} %s"}) as (url, _out):
        get(url)
        time.sleep(1)
        assert not opened.exists()
