"""Tornado handlers: the tracking server's read endpoints, dispatched in the Jupyter server.

One read-only :class:`Context` (client and artifact locations) per store, made on first use.
Each request runs the very handler ``nbtrack server`` runs for that path, on a small thread
pool (store calls block), and answers with the same JSON and the same MLflow error bodies.
A store whose tracking URI is ``http(s)://`` is not opened here: the request is forwarded to
that server with the credentials of the Jupyter server's environment (MLFLOW_TRACKING_TOKEN,
or MLFLOW_TRACKING_USERNAME and _PASSWORD).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import re
import threading
import urllib.parse
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError, NotFound
from nbtrack.server.tracking._app import all_endpoints
from nbtrack.server.tracking._auth import PermissionDenied
from nbtrack.server.tracking._protocol import Endpoint, dumps, parse_body, parse_query

__all__ = ["handlers", "resolve_store"]

_pool = concurrent.futures.ThreadPoolExecutor(4, thread_name_prefix="nbtrack-jupyter")
_contexts: dict[str, Any] = {}
_lock = threading.Lock()
MAX_BODY = 16 * 1024 * 1024
MAX_TEXT = 1024 * 1024


def resolve_store(root_dir: str, notebook_path: str | None) -> str:
    """The tracking URI a kernel started for ``notebook_path`` uses unless its code sets one:
    NBTRACK_TRACKING_URI, else MLFLOW_TRACKING_URI, else ``.nbtrack`` in the notebook's folder."""
    uri = os.environ.get("NBTRACK_TRACKING_URI") or os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    folder = os.path.dirname(notebook_path or "")
    return os.path.abspath(os.path.join(root_dir, folder, ".nbtrack"))


def _context(uri: str) -> Any:
    if _kind(uri) == "local" and not os.path.exists(_local_path(uri)):  # opening one would create it
        raise NotFound(f"No nbtrack store at {_local_path(uri)} yet: it is made when a kernel logs the first "
                       "run there.")
    with _lock:
        ctx = _contexts.get(uri)
        if ctx is None:
            from nbtrack.server.tracking._settings import ServerSettings
            from nbtrack.server.tracking._tracking import Context
            from nbtrack.tracking.client import Client

            settings = ServerSettings(store_uri=uri)
            ctx = _contexts[uri] = Context(Client(uri), settings.locations())
        return ctx


def _routes() -> list[tuple[re.Pattern[str], dict[str, Endpoint]]]:
    """(path pattern, endpoint by method) for every endpoint of nbtrack server."""
    from nbtrack.server.tracking import _views

    grouped: dict[str, dict[str, Endpoint]] = {}
    for ep in all_endpoints():
        for method in ep.methods:
            grouped.setdefault("2.0/mlflow/" + ep.path, {})[method] = ep
    for ep in _views.ENDPOINTS:
        grouped.setdefault("2.0/nbtrack/" + ep.path, {})["POST"] = ep
    routes = []
    for path, by_method in grouped.items():
        pattern = re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(path))
        routes.append((re.compile(pattern + "$"), by_method))
    return routes


def _call(ep: Endpoint, uri: str, args: dict[str, Any]) -> Any:
    return ep.handler(_context(uri), args)


def _error_body(e: NbtrackError) -> tuple[int, bytes]:
    return e.get_http_status_code(), json.dumps({"error_code": e.error_code, "message": e.message}).encode()


def handlers(base_url: str, root_dir: str) -> list[tuple[str, Any, dict[str, Any]]]:
    from jupyter_server.base.handlers import APIHandler
    from tornado import web

    routes = _routes()
    prefix = base_url.rstrip("/") + "/nbtrack"

    class _Base(APIHandler):
        def _store_uri(self) -> str:
            uri = self.request.headers.get("X-Nbtrack-Store") or self.get_query_argument("store", "")
            if uri:
                return uri
            return resolve_store(root_dir, self.get_query_argument("notebook", None))

        def _send(self, status: int, body: bytes) -> None:
            self.set_status(status)
            self.set_header("Content-Type", "application/json")
            self.finish(body)

    class StoreHandler(_Base):
        """Which store a notebook's kernel would use, and whether it exists yet."""

        @web.authenticated
        def get(self) -> None:
            uri = self._store_uri()
            kind = _kind(uri)
            exists = kind != "local" or os.path.exists(_local_path(uri))
            self.finish(json.dumps({"tracking_uri": uri, "kind": kind, "exists": exists,
                                    "server_root": os.path.abspath(root_dir)}))

    class ArtifactTextHandler(_Base):
        """The text of one small artifact of a run (the side panel restores a run's cell source)."""

        @web.authenticated
        async def get(self) -> None:
            uri, run_id = self._store_uri(), self.get_query_argument("run_id", "")
            path = self.get_query_argument("path", "")
            try:
                text = await asyncio.get_running_loop().run_in_executor(_pool, _artifact_text, uri, run_id, path)
            except NbtrackError as e:
                self._send(*_error_body(e))
                return
            self.finish(json.dumps({"run_id": run_id, "path": path, "text": text}))

    class ApiHandler(_Base):
        @web.authenticated
        async def get(self, path: str) -> None:
            await self._dispatch("GET", path)

        @web.authenticated
        async def post(self, path: str) -> None:
            await self._dispatch("POST", path)

        def check_xsrf_cookie(self) -> None:  # reads only; Jupyter's token or cookie still authenticates
            return

        @web.authenticated
        async def patch(self, path: str) -> None:  # every PATCH and DELETE endpoint writes: 403
            await self._dispatch("PATCH", path)

        @web.authenticated
        async def delete(self, path: str) -> None:
            await self._dispatch("DELETE", path)

        async def _dispatch(self, method: str, path: str) -> None:
            uri = self._store_uri()
            try:
                # the endpoint first, so a write is refused here and never forwarded with our credentials
                ep, match = _endpoint(routes, method, path)
                if _kind(uri) == "http":
                    await self._forward(uri, method, path)
                    return
                status, body = await self._local(uri, ep, match)
            except NbtrackError as e:
                status, body = _error_body(e)
            self._send(status, body)

        async def _local(self, uri: str, ep: Endpoint, match: re.Match[str]) -> tuple[int, bytes]:
            if self.request.method == "GET":
                args = parse_query(_Query(self.request.query_arguments), ep.fields)
            else:
                if len(self.request.body) > MAX_BODY:
                    raise InvalidParameter(f"The request body is larger than {MAX_BODY} bytes.")
                args = parse_body(self.request.body or b"{}", ep.fields)
            args.update(match.groupdict())
            result = await asyncio.get_running_loop().run_in_executor(_pool, _call, ep, uri, args)
            return 200, dumps(result)

        async def _forward(self, uri: str, method: str, path: str) -> None:
            from tornado.httpclient import AsyncHTTPClient, HTTPClientError, HTTPRequest

            from nbtrack.store.rest.http import auth_headers

            query = urllib.parse.urlencode([(k, v.decode()) for k, values in self.request.query_arguments.items()
                                            if k not in ("store", "notebook") for v in values])
            url = uri.rstrip("/") + "/api/" + path + ("?" + query if query else "")
            request = HTTPRequest(url, method=method, body=self.request.body if method == "POST" else None,
                                  headers={"Content-Type": "application/json", **auth_headers()},
                                  request_timeout=60)
            try:
                response = await AsyncHTTPClient().fetch(request, raise_error=False)
            except (OSError, HTTPClientError) as e:
                self._send(502, json.dumps({"error_code": "TEMPORARILY_UNAVAILABLE",
                                            "message": f"The tracking server at {uri} did not answer: {e}"}
                                           ).encode())
                return
            self._send(response.code, response.body or b"")

    return [(prefix + "/store", StoreHandler, {}), (prefix + "/artifact-text", ArtifactTextHandler, {}),
            (prefix + "/api/(.*)", ApiHandler, {})]


def _kind(uri: str) -> str:
    if uri.startswith(("http://", "https://")):
        return "http"
    return "postgresql" if uri.startswith("postgresql") else "local"


def _local_path(uri: str) -> str:
    return uri.removeprefix("duckdb://").removeprefix("file://")


def _endpoint(routes: list[tuple[re.Pattern[str], dict[str, Endpoint]]], method: str,
              path: str) -> tuple[Endpoint, re.Match[str]]:
    """The endpoint serving ``method path``; writes are refused (PermissionDenied), unknown paths NotFound."""
    for pattern, by_method in routes:
        match = pattern.match(path)
        if match is None:
            continue
        ep = by_method.get(method)
        if ep is None:
            if method in ("PATCH", "DELETE"):
                break
            raise InvalidParameter(f"{method} is not allowed on {path}.")
        if not ep.writes:
            return ep, match
        break
    else:
        raise NotFound(f"No nbtrack API endpoint at {path}.")
    raise PermissionDenied("nbtrack's JupyterLab API only reads; log and change runs from the kernel, "
                           "or through nbtrack server.")


def _artifact_text(uri: str, run_id: str, path: str) -> str:
    """At most MAX_TEXT bytes of an artifact, decoded as UTF-8 (through the store's client: local
    folders and a tracking server's artifact proxy alike)."""
    import tempfile

    if not run_id or not path or path.startswith("/") or ".." in path.split("/"):
        raise InvalidParameter("artifact-text needs a run_id and a relative artifact path.")
    client = _context(uri).client if not uri.startswith(("http://", "https://")) else _http_client(uri)
    with tempfile.TemporaryDirectory(prefix="nbtrack-artifact-") as tmp:
        local = client.download_artifacts(run_id, path, tmp)
        if not os.path.isfile(local):
            raise InvalidParameter(f"{path} of run {run_id} is a folder, not a file.")
        if os.path.getsize(local) > MAX_TEXT:
            raise InvalidParameter(f"{path} of run {run_id} is larger than {MAX_TEXT} bytes.")
        with open(local, "rb") as f:
            return f.read().decode("utf-8", "replace")


def _http_client(uri: str) -> Any:
    from nbtrack.tracking.client import Client

    return Client(uri)


class _Query:
    """Tornado's query arguments (lists of bytes) read as parse_query reads Starlette's QueryParams."""

    def __init__(self, arguments: dict[str, list[bytes]]) -> None:
        self._args = {k: [v.decode() for v in values] for k, values in arguments.items()}

    def getlist(self, key: str) -> list[str]:
        return self._args.get(key, [])
