"""Fuzzing nbtrack server from its own OpenAPI document with schemathesis: 0 server errors.

Bounded (a few examples per operation, a fixed seed), against a server on 127.0.0.1 only.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server_fixtures import nbtrack_server

pytest.importorskip("schemathesis")


def _schemathesis() -> list[str]:
    exe = Path(sys.executable).with_name("schemathesis")
    return [str(exe)] if exe.exists() else [shutil.which("schemathesis") or "schemathesis"]


def test_fuzzing_the_openapi_document_finds_no_server_error(tmp_path):
    report = tmp_path / "junit.xml"
    with nbtrack_server(tmp_path / "store") as url:
        assert url.startswith("http://127.0.0.1:")
        cmd = [*_schemathesis(), "run", url + "/api/openapi.json", "--checks", "not_a_server_error",
               "--max-examples", "5", "--seed", "1", "--workers", "1", "--no-shrink", "--generation-database",
               "none", "--phases", "coverage,fuzzing", "--request-timeout", "20", "--report", "junit",
               "--report-junit-path", str(report)]
        env = {**os.environ, "NO_COLOR": "1"}
        done = subprocess.run(cmd, cwd=tmp_path, capture_output=True, text=True, timeout=300, env=env)
    summary = done.stdout[-4000:]
    generated = re.search(r"(\d+) generated", summary)
    print(f"\nschemathesis: {generated.group(0) if generated else '?'} test cases; exit code {done.returncode}")
    assert done.returncode == 0, summary + done.stderr[-3000:]
    xml = report.read_text()
    assert xml.count("<testcase") >= 50  # every operation was exercised
    assert "<failure" not in xml and "<error" not in xml
    assert generated is not None and int(generated.group(1)) > 1000
