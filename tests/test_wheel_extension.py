"""The wheel carries the prebuilt JupyterLab extension and the web UI, and enables the Jupyter server extension.

``pip wheel . --no-deps`` (isolated build env, hatch-jupyter-builder) of a copy of the project's
tracked files plus the built ``nbtrack/labextension`` and ``nbtrack/server/webui``: a copy, so other edits of extension/src in
the working tree cannot make the build stale halfway through. ``npm`` on PATH is a stand-in that
records its calls and fails, so an up-to-date build provably runs no npm, and a stale one does.
The wheel is then installed alone (``--no-deps``) in a fresh venv, and the dev venv's ``jupyter``
pointed at that prefix lists both extensions.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
LAB = "share/jupyter/labextensions/nbtrack-labextension"
SERVER_CONFIG = "etc/jupyter/jupyter_server_config.d/nbtrack.json"
WEBUI = ("nbtrack/server/webui/index.html", "nbtrack/server/webui/static/main.js", "nbtrack/server/webui/static/main.css")
ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _copy_project(dest: Path) -> None:
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=REPO, capture_output=True, check=True).stdout
    for name in tracked.decode().split("\0"):
        if not name or name.startswith("extension/node_modules/") or not (REPO / name).is_file():
            continue
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, dest / name)
    now = time.time()
    for built in ("labextension", "server/webui"):
        shutil.copytree(REPO / "nbtrack" / built, dest / "nbtrack" / built)
        for path in [dest / "nbtrack" / built, *(dest / "nbtrack" / built).rglob("*")]:
            os.utime(path, (now, now))  # built after every source, as a fresh `npm run build` leaves it


def _env(tmp: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBTRACK_", "MLFLOW_"))}
    env.update(PATH=f"{tmp / 'bin'}{os.pathsep}{BIN}{os.pathsep}{env.get('PATH', '')}", HOME=str(tmp / "home"),
               JUPYTER_DATA_DIR=str(tmp / "home" / "data"), **extra)
    return env


def _wheel(src: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "pip"), "wheel", ".", "--no-deps", "-w", str(out)], cwd=src, env=env,
                          capture_output=True, text=True, timeout=300)


def _section(listing: str, header: str) -> str:
    """The lines of ``jupyter ... list`` output under the line ``header``, up to the next header."""
    lines = ANSI.sub("", listing).splitlines()
    start = lines.index(header) + 1
    body = []
    for line in lines[start:]:
        if line and not line.startswith((" ", "\t", "-")):
            break
        body.append(line)
    return "\n".join(body)


def test_the_wheel_ships_both_extensions_and_builds_without_npm(tmp_path):
    for built in ("labextension/package.json", "server/webui/index.html"):
        if not (REPO / "nbtrack" / built).exists():
            pytest.fail(f"nbtrack/{built} is not built: cd extension && npm run build")
    src, out = tmp_path / "src", tmp_path / "dist"
    _copy_project(src)
    (tmp_path / "bin").mkdir()
    calls = tmp_path / "npm-calls"
    npm = tmp_path / "bin" / "npm"
    npm.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 1\n')
    npm.chmod(0o755)
    env = _env(tmp_path)

    started = time.monotonic()
    built = _wheel(src, out, env)
    seconds = time.monotonic() - started
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-3000:]
    assert not calls.exists(), calls.read_text()  # up to date: npm never ran
    print(f"pip wheel (isolated build env, no npm): {seconds:.1f} s")
    assert seconds < 60

    (wheel,) = out.glob("nbtrack-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    data = next(n.split("/")[0] for n in names if ".data/" in n)
    assert re.fullmatch(r"nbtrack-[^/]+\.data", data)
    for name in (f"{LAB}/package.json", f"{LAB}/install.json", SERVER_CONFIG):
        assert f"{data}/data/{name}" in names, name
    entries = [n for n in names if re.fullmatch(rf"{re.escape(data)}/data/{LAB}/static/remoteEntry\.[0-9a-f]+\.js", n)]
    assert len(entries) == 1, entries
    for name in WEBUI:  # the web UI, inside the package: nbtrack server serves it from there
        assert name in names, name

    fresh = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(fresh)], check=True, timeout=120)
    installed = subprocess.run([str(BIN / "pip"), "--python", str(fresh / "bin" / "python"), "install", "--no-deps",
                                "-q", str(wheel)], capture_output=True, text=True, env=env, timeout=300)
    assert installed.returncode == 0, installed.stderr[-3000:]
    for name in (f"{LAB}/package.json", f"{LAB}/install.json", SERVER_CONFIG):
        assert (fresh / name).is_file(), name
    assert list((fresh / LAB / "static").glob("remoteEntry.*.js"))
    site = next((fresh / "lib").glob("python3*/site-packages"))
    for name in WEBUI:
        assert (site / name).is_file(), name
    enabled = (fresh / SERVER_CONFIG).read_text()
    assert '"nbtrack.jupyter": true' in enabled

    # the dev venv's jupyter, reading that prefix's data (JUPYTER_PATH) and config (JUPYTER_CONFIG_DIR:
    # `jupyter server extension list` reads only the user, sys-prefix and system config dirs)
    look = _env(tmp_path, JUPYTER_PATH=str(fresh / "share" / "jupyter"),
                JUPYTER_CONFIG_DIR=str(fresh / "etc" / "jupyter"))
    labs = subprocess.run([str(BIN / "jupyter"), "labextension", "list"], env=look, capture_output=True,
                          text=True, timeout=120)
    lab_listing = labs.stdout + labs.stderr
    under_fresh = _section(lab_listing, str(fresh / "share" / "jupyter" / "labextensions"))
    assert re.search(r"nbtrack-labextension v[\d.]+ enabled\s+OK", under_fresh), lab_listing
    servers = subprocess.run([str(BIN / "jupyter"), "server", "extension", "list"], env=look,
                             capture_output=True, text=True, timeout=120)
    server_listing = servers.stdout + servers.stderr
    under_fresh = _section(server_listing, f"Config dir: {fresh / 'etc' / 'jupyter'}")
    assert re.search(r"nbtrack\.jupyter enabled", under_fresh) and "nbtrack.jupyter  OK" in under_fresh, server_listing


def test_a_stale_build_runs_npm(tmp_path):
    """The other side of "no npm when up to date": a source newer than the build does run it."""
    src, out = tmp_path / "src", tmp_path / "dist"
    _copy_project(src)
    (tmp_path / "bin").mkdir()
    calls = tmp_path / "npm-calls"
    npm = tmp_path / "bin" / "npm"
    npm.write_text(f'#!/bin/sh\necho "$@" >> {calls}\nexit 1\n')
    npm.chmod(0o755)
    later = time.time() + 5
    os.utime(src / "extension" / "src" / "index.ts", (later, later))
    built = _wheel(src, out, _env(tmp_path))
    assert built.returncode != 0 and calls.read_text().splitlines()[0] == "install"
