"""``nbtrack server``: MLflow's tracking REST API over an nbtrack store, as a Starlette ASGI app.

Paths are MLflow's, under ``/api/2.0/mlflow/`` and ``/ajax-api/2.0/mlflow/``: experiments, runs,
metrics and their history, artifact listing, the model registry, and the ``mlflow-artifacts``
proxy (``/api/2.0/mlflow-artifacts/``). Bodies and errors are MLflow's JSON
(``{"error_code": ..., "message": ...}`` with MLflow's status codes), so the real ``mlflow``
client works against it. ``/health``, ``/version`` and ``/api/openapi.json`` are served too.

:func:`serve` binds 127.0.0.1 unless told otherwise; :func:`build_app` gives the ASGI app.
"""

from __future__ import annotations

import logging
import signal
import socket
import sys
from typing import Any

from nbtrack.errors import InvalidParameter
from nbtrack.server.tracking._auth import AUTH_MODES, Credentials, load_credentials
from nbtrack.server.tracking._settings import ServerSettings

__all__ = ["AUTH_MODES", "ServerSettings", "build_app", "serve"]

_log = logging.getLogger("nbtrack.server")


def _credentials(settings: ServerSettings) -> Credentials:
    from nbtrack import config

    return load_credentials(settings.auth, settings.auth_file, config.env("NBTRACK_TOKEN"))


def build_app(settings: ServerSettings, credentials: Credentials | None = None) -> Any:
    """The ASGI app for ``settings`` (credentials default to those ``settings.auth`` names)."""
    from nbtrack.server.tracking._app import build_app as _build

    return _build(settings, credentials if credentials is not None else _credentials(settings))


def is_loopback(host: str) -> bool:
    return host in ("localhost", "::1") or host.startswith("127.")


def exposure_warning(host: str, auth: str) -> str | None:
    """The warning printed when the server listens beyond loopback without authentication."""
    if auth != "none" or is_loopback(host):
        return None
    return (f"WARNING: nbtrack server is listening on {host} without authentication: anyone who can reach this "
            "port can read and change every run. Start it with --auth token (or basic).")


def serve(settings: ServerSettings, host: str = "127.0.0.1", port: int = 5000, workers: int = 1,
          log_level: str = "info") -> None:
    """Serve ``settings.store_uri`` with uvicorn until interrupted."""
    import uvicorn

    if not isinstance(workers, int) or workers < 1:
        raise InvalidParameter(f"workers must be a positive integer, got {workers!r}.")
    if not isinstance(port, int) or not 0 <= port <= 65535:
        raise InvalidParameter(f"port must be between 0 and 65535, got {port!r}.")
    credentials = _credentials(settings)  # fail here, once, rather than in every worker
    if (warning := exposure_warning(host, settings.auth)) is not None:
        print(warning, file=sys.stderr, flush=True)
    common: dict[str, Any] = {"log_level": log_level, "timeout_graceful_shutdown": 5}
    if workers == 1:
        uvicorn.run(build_app(settings, credentials), host=host, port=port, **common)
        return
    _serve_workers(settings, host, port, workers, common)


def _worker(sock: socket.socket, settings: ServerSettings, options: dict[str, Any]) -> None:
    """One worker process: its own store handle and app on the shared listening socket."""
    import uvicorn

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops the workers
    server = uvicorn.Server(uvicorn.Config(build_app(settings), **options))
    server.run(sockets=[sock])


def _serve_workers(settings: ServerSettings, host: str, port: int, workers: int, options: dict[str, Any]) -> None:
    """``workers`` processes accepting on one socket; SIGINT/SIGTERM to this process stops them all."""
    import multiprocessing

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    sock.set_inheritable(True)
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_worker, args=(sock, settings, options), daemon=False) for _ in range(workers)]
    stopping = False

    def stop(signum: int, frame: Any) -> None:
        nonlocal stopping
        stopping = True
        for p in procs:
            if p.is_alive():
                p.terminate()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for p in procs:
        p.start()
    print(f"nbtrack server: {workers} workers on http://{host}:{sock.getsockname()[1]}", file=sys.stderr, flush=True)
    try:
        for p in procs:
            p.join()
    finally:
        stop(signal.SIGTERM, None)
        for p in procs:
            p.join(10)
        sock.close()
