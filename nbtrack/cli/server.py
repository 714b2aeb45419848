"""``nbtrack server`` and ``nbtrack ui``: MLflow's tracking server command over an nbtrack store,
which also serves the web UI at ``/``; ``ui`` opens it in the browser."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

__all__ = ["server", "ui"]

F = Callable[..., Any]


def _options(f: F) -> F:
    options = [
        click.option("--default-artifact-root", default=None, metavar="URI",
                     help="Folder new experiments keep their artifacts in, written by clients directly "
                          "(default: served by the proxy, mlflow-artifacts:/)."),
        click.option("--artifacts-destination", default=None, metavar="PATH",
                     help="Folder the mlflow-artifacts proxy serves [default: <store>/artifacts]."),
        click.option("--serve-artifacts/--no-serve-artifacts", default=True, show_default=True,
                     help="Proxy artifact uploads and downloads through this server."),
        click.option("--artifacts-only", is_flag=True, help="Serve only the artifact proxy, no tracking API."),
        click.option("-h", "--host", default="127.0.0.1", show_default=True,
                     help="Interface to bind. Anything but loopback should use --auth."),
        click.option("-p", "--port", default=5000, show_default=True, type=click.IntRange(0, 65535)),
        click.option("-w", "--workers", default=1, show_default=True, type=click.IntRange(1),
                     help="Worker processes; each opens the store itself (safe: writers append segments)."),
        click.option("--auth", "auth", type=click.Choice(["none", "token", "basic"]), default="none",
                     show_default=True, help="token: 'Authorization: Bearer' (NBTRACK_TOKEN or --auth-file); "
                                             "basic: user:password lines in --auth-file."),
        click.option("--auth-file", default=None, type=click.Path(dir_okay=False), metavar="PATH",
                     help="Credentials, one a line: 'rw SECRET' or 'ro SECRET' (read-only)."),
        click.option("--max-body-size", default=64 * 1024 * 1024, show_default=True, type=click.IntRange(1),
                     help="Largest JSON request body in bytes (413 beyond)."),
        click.option("--max-upload-size", default=4 * 1024**3, show_default=True, type=click.IntRange(1),
                     help="Largest artifact upload in bytes (413 beyond)."),
        click.option("--request-timeout", default=60.0, show_default=True,
                     type=click.FloatRange(min=0, min_open=True), help="Seconds a request may take (504 beyond)."),
        click.option("--log-level", default="info", show_default=True,
                     type=click.Choice(["critical", "error", "warning", "info", "debug"])),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _open_when_up(url: str, timeout: float = 30.0) -> None:
    """Open ``url`` in the browser once the server answers /health (from a daemon thread)."""
    import threading

    def wait_then_open() -> None:
        import time
        import urllib.request
        import webbrowser

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url + "health", timeout=1):
                    break
            except OSError:
                time.sleep(0.1)
        webbrowser.open(url)

    threading.Thread(target=wait_then_open, name="nbtrack-open-browser", daemon=True).start()


def _run(store: str, open_browser: bool = False, **kw: Any) -> None:
    from nbtrack.server.tracking import ServerSettings, serve

    host, port, workers, log_level = kw.pop("host"), kw.pop("port"), kw.pop("workers"), kw.pop("log_level")
    settings = ServerSettings(
        store, artifacts_destination=kw["artifacts_destination"], default_artifact_root=kw["default_artifact_root"],
        serve_artifacts=kw["serve_artifacts"], artifacts_only=kw["artifacts_only"],
        max_body_bytes=kw["max_body_size"], max_upload_bytes=kw["max_upload_size"],
        request_timeout=kw["request_timeout"], auth=kw["auth"], auth_file=kw["auth_file"])
    shown = f"[{host}]" if ":" in host else host
    base = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else shown}:{port}/"
    click.echo(f"nbtrack server: store {settings.store_root}, API at {base}api/2.0/mlflow/ "
               f"(MLFLOW_TRACKING_URI={base.rstrip('/')})", err=True)
    click.echo(f"Web UI: {base}")
    if open_browser and not kw["artifacts_only"]:
        _open_when_up(base)
    serve(settings, host=host, port=port, workers=workers, log_level=log_level)


@click.command()
@click.option("--backend-store-uri", default=None, envvar="NBTRACK_TRACKING_URI", metavar="URI",
              help="Store folder or duckdb:///abs/folder, created if missing [env NBTRACK_TRACKING_URI; "
                   "default ./.nbtrack].")
@_options
def server(backend_store_uri: str | None, **kw: Any) -> None:
    """Serve a store over MLflow's REST API (any mlflow or nbtrack client with an http:// URI logs to
    it) and the web UI at / (behind the same --auth)."""
    import nbtrack

    _run(backend_store_uri or nbtrack.get_tracking_uri(), **kw)


@click.command()
@click.option("--backend-store-uri", default=None, envvar="NBTRACK_TRACKING_URI", metavar="URI",
              help="Store folder [default: the current tracking URI, ./.nbtrack].")
@click.option("--browser/--no-browser", default=True, show_default=True,
              help="Open the web UI in the default browser once the server is up.")
@_options
def ui(backend_store_uri: str | None, browser: bool, **kw: Any) -> None:
    """Browse the store in the web UI: the tracking server on the default store (127.0.0.1:5000),
    opened in the browser. Same options as nbtrack server."""
    import nbtrack

    _run(backend_store_uri or nbtrack.get_tracking_uri(), open_browser=browser, **kw)
