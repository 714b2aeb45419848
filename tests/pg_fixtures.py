"""A throwaway PostgreSQL cluster for the tests, from the Debian ``postgresql`` package.

One cluster per test session (``initdb`` + ``pg_ctl`` in a temporary folder, on a free loopback
port, stopped by its postmaster PID at the end); one database per test or module, created from
a template that already holds nbtrack's schema (``CREATE DATABASE ... TEMPLATE`` copies files:
about 20 ms, where migrating a fresh database takes about 150 ms).

``initdb`` refuses to run as root (CI runs as root), so as root the programs run as the
``postgres`` user the package creates, on a folder that user owns. Tests that need the cluster
skip when no PostgreSQL programs are installed (``scripts/setup.sh`` installs them).

>>> uri = pg_database("mytest")   # postgresql://nb@127.0.0.1:PORT/mytest, schema migrated
"""

from __future__ import annotations

import atexit
import contextlib
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.server_fixtures import free_port

__all__ = ["PgCluster", "pg_bindir", "pg_cluster", "pg_database", "pg_uri"]

_USER = "nb"
_TEMPLATE = "nbtrack_template"
_PREFIX = "nbtrack-pg-"


def pg_bindir() -> str | None:
    """The folder of ``initdb``/``pg_ctl`` (Debian keeps them off PATH), or None if absent."""
    candidates = []
    if shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            out = subprocess.run(["pg_config", "--bindir"], capture_output=True, text=True, check=True)
            candidates.append(out.stdout.strip())
    base = Path("/usr/lib/postgresql")
    if base.is_dir():
        candidates += [str(p / "bin") for p in sorted(base.iterdir(), reverse=True)]
    for folder in candidates:
        if os.path.exists(os.path.join(folder, "initdb")) and os.path.exists(os.path.join(folder, "pg_ctl")):
            return folder
    return None


@dataclass
class PgCluster:
    folder: Path
    port: int
    bindir: str
    run_as: str | None  # None: this user
    durable: bool = False  # tests: no fsync (throwaway data); benchmarks: PostgreSQL's defaults

    @property
    def data(self) -> Path:
        return self.folder / "data"

    def uri(self, database: str) -> str:
        return f"postgresql://{_USER}@127.0.0.1:{self.port}/{database}"

    def _cmd(self, program: str, *args: str) -> list[str]:
        cmd = [os.path.join(self.bindir, program), *args]
        return ["runuser", "-u", self.run_as, "--", *cmd] if self.run_as else cmd

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        if self.run_as:
            entry = pwd.getpwnam(self.run_as)
            os.chown(self.folder, entry.pw_uid, entry.pw_gid)
        subprocess.run(self._cmd("initdb", "-D", str(self.data), "-A", "trust", "-U", _USER, "-E", "UTF8",
                                 "--locale=C", "--no-sync"), check=True, capture_output=True)
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c max_connections=200"
        if not self.durable:
            options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
        subprocess.run(self._cmd("pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.folder / "pg.log"),
                                 "-w", "-t", "60", "start"), check=True, capture_output=True)

    def postmaster_pid(self) -> int | None:
        with contextlib.suppress(OSError, ValueError, IndexError):
            return int((self.data / "postmaster.pid").read_text().splitlines()[0])
        return None

    def stop(self) -> None:
        """Fast shutdown by the postmaster's PID (SIGINT), SIGQUIT if it lingers."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGINT)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline:
                os.kill(pid, 0)
                time.sleep(0.05)
            os.kill(pid, signal.SIGQUIT)

    def execute(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.uri(database), autocommit=True) as con:
            con.execute(sql)


_cluster: PgCluster | None = None


def _start_cluster() -> PgCluster:
    bindir = pg_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (scripts/setup.sh installs the Debian package)")
    pytest.importorskip("psycopg")
    run_as = None
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            pytest.skip("running as root and there is no 'postgres' user to run initdb as")
        run_as = "postgres"
    _reap_orphans(bindir, run_as)
    folder = Path(tempfile.mkdtemp(prefix=_PREFIX))
    (folder / "owner.pid").write_text(str(os.getpid()))
    cluster = PgCluster(folder, free_port(), bindir, run_as)
    cluster.start()
    _make_template(cluster)
    return cluster


def _reap_orphans(bindir: str, run_as: str | None) -> None:
    """Stop clusters whose test process died without stopping them (killed, timed out)."""
    for folder in Path(tempfile.gettempdir()).glob(_PREFIX + "*"):
        try:
            owner = int((folder / "owner.pid").read_text())
        except (OSError, ValueError):
            continue
        try:
            os.kill(owner, 0)
            continue  # its test process still runs
        except ProcessLookupError:
            pass
        except PermissionError:
            continue
        PgCluster(folder, 0, bindir, run_as).stop()
        shutil.rmtree(folder, ignore_errors=True)


def _make_template(cluster: PgCluster) -> None:
    """A database holding nbtrack's migrated schema, copied by every test database."""
    from nbtrack.store.postgres.schema import upgrade

    cluster.execute(f"CREATE DATABASE {_TEMPLATE}")
    upgrade(cluster.uri(_TEMPLATE))
    cluster.execute(f"ALTER DATABASE {_TEMPLATE} WITH ALLOW_CONNECTIONS false IS_TEMPLATE true")


def pg_cluster() -> PgCluster:
    """The session's cluster (started on first use; see :func:`stop_cluster`)."""
    global _cluster
    if _cluster is None:
        _cluster = _start_cluster()
        atexit.register(stop_cluster)  # by the postmaster's PID, when the test process ends
    return _cluster


def stop_cluster() -> None:
    global _cluster
    if _cluster is not None:
        _cluster.stop()
        shutil.rmtree(_cluster.folder, ignore_errors=True)
        _cluster = None


def pg_database(prefix: str = "t", artifact_root: str | os.PathLike[str] | None = None) -> str:
    """A fresh, migrated database on the session's cluster; returns its URI.

    ``artifact_root`` is recorded as the database's local folder for artifacts and registry copies."""
    cluster = pg_cluster()
    name = f"{''.join(c for c in prefix.lower() if c.isalnum())[:30]}_{uuid.uuid4().hex[:8]}"
    cluster.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
    uri = cluster.uri(name)
    if artifact_root is not None:
        from nbtrack.store.postgres.schema import set_files_root

        set_files_root(uri, os.fspath(artifact_root))
    return uri


def pg_uri(request: pytest.FixtureRequest, folder: Path) -> str:
    """A database for one test (or module), its files under ``folder``."""
    return pg_database(request.node.name, folder / "pgfiles")


@pytest.fixture
def pg_store_uri(tmp_path, request) -> str:
    """A fresh PostgreSQL database URI for one test, artifacts under tmp_path."""
    return pg_uri(request, tmp_path)
