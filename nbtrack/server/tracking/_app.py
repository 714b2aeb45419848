"""The ASGI app: routes from the endpoint specs, auth, limits, timeouts, MLflow's error bodies.

Store calls run on one dedicated thread (the store's writes are then never interleaved within a
process), each under the per-request timeout. A write is acknowledged only once it is durable:
writers waiting at the same moment share one flush (group commit), so many small requests do not
each pay an fsync.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import time
from collections.abc import Callable
from typing import Any

from nbtrack.errors import NbtrackError, NotFound
from nbtrack.server.tracking import (
    _artifacts,
    _logged_models,
    _multipart,
    _openapi,
    _previews,
    _registry,
    _tracking,
    _views,
    _webui,
    _workspaces,
)
from nbtrack.server.tracking._auth import READ, Credentials, PermissionDenied
from nbtrack.server.tracking._protocol import Endpoint, Field, dumps, parse_body, parse_query
from nbtrack.server.tracking._settings import ServerSettings, server_locations
from nbtrack.server.tracking._tracking import Context

__all__ = ["build_app"]

_log = logging.getLogger("nbtrack.server")
API_PREFIXES = ("/api/2.0/mlflow/", "/ajax-api/2.0/mlflow/")
ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts/", "/ajax-api/2.0/mlflow-artifacts/")


def _json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Any:
    from starlette.responses import Response

    return Response(dumps(payload), status_code=status, media_type="application/json", headers=headers)


def error_response(e: NbtrackError, headers: dict[str, str] | None = None) -> Any:
    return _json({"error_code": e.error_code, "message": e.message}, e.get_http_status_code(), headers)


class _TooLarge(NbtrackError):
    error_code = "REQUEST_LIMIT_EXCEEDED"

    def get_http_status_code(self) -> int:
        return 413


class _Unavailable(NbtrackError):
    error_code = "TEMPORARILY_UNAVAILABLE"

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status

    def get_http_status_code(self) -> int:
        return self.status


class State:
    """Per-process server state: the client, the store thread and the group-commit flusher."""

    def __init__(self, settings: ServerSettings, credentials: Credentials) -> None:
        from nbtrack.tracking.client import Client

        self.settings, self.credentials = settings, credentials
        client = Client(settings.store_uri)
        self.ctx = Context(client, server_locations(settings, client.store))
        self.buffered = getattr(self.ctx.client.store, "buffers_writes", True)  # else flush() has nothing to do
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="nbtrack-store")
        self._next: asyncio.Future[None] | None = None
        self._flusher: asyncio.Future[None] | None = None

    async def run(self, fn: Callable[..., Any], *args: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, fn, *args)

    async def durable(self) -> None:
        """Return once everything written before this call is flushed (one flush serves many).

        The flushes run in their own task, so a request cancelled by its timeout never leaves
        the others waiting for a flush nobody runs."""
        if self._next is None:
            self._next = asyncio.get_running_loop().create_future()
        waiting = self._next
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.ensure_future(self._flush_loop())
        await asyncio.shield(waiting)

    async def _flush_loop(self) -> None:
        while self._next is not None:
            current, self._next = self._next, None
            try:
                await self.run(self.ctx.client.store.flush)
            except Exception as e:  # handed to every waiter, which answers with it
                current.set_exception(e)
                current.exception()  # marked retrieved: not every waiter may still be there
            else:
                current.set_result(None)

    def authorize(self, request: Any, writes: bool) -> None:
        role = self.credentials.role(request.headers.get("authorization"))
        if writes and role == READ:
            raise PermissionDenied("This credential is read-only; the request needs read-write access.")


async def read_body(request: Any, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge(f"The request body is larger than the server's limit of {limit} bytes. Send smaller "
                        "batches, or start the server with a larger --max-body-size.")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge(f"The request body is larger than the server's limit of {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


def _api_endpoint(state: State, by_method: dict[str, Endpoint]) -> Callable[..., Any]:
    settings = state.settings

    async def endpoint(request: Any) -> Any:
        ep = by_method[request.method]
        if settings.artifacts_only and ep.tracking:
            return _json({"error_code": "TEMPORARILY_UNAVAILABLE",
                          "message": f"Endpoint: {request.url.path} disabled due to the nbtrack server running "
                                     "in `--artifacts-only` mode."}, 503)
        state.authorize(request, ep.writes)
        if request.method == "GET":
            args = parse_query(request.query_params, ep.fields)
        else:
            args = parse_body(await read_body(request, settings.max_body_bytes), ep.fields, settings.max_json_depth)
            if request.method == "DELETE" and request.query_params:  # e.g. workspaces/{name}?mode=CASCADE
                args.update(parse_query(request.query_params, [f for f in ep.fields if f.name in request.query_params]))
        if request.path_params:  # e.g. logged-models/{model_id}: the path names the resource, not the body
            args.update(request.path_params)
        workspace = _workspaces.request_workspace(request.headers.get(_workspaces.HEADER))
        result = await state.run(_workspaces.in_workspace, workspace, ep.handler, state.ctx, args)
        if ep.writes and state.buffered:  # PostgreSQL: committed before the handler returned
            await state.durable()
        status = ep.extra.get("status", 200)
        if status == 204:
            from starlette.responses import Response

            return Response(status_code=204)
        return _json(result, status)

    return endpoint


def _guard(state: State, fn: Callable[..., Any]) -> Callable[..., Any]:
    """Errors to MLflow's body, the per-request timeout, and no traceback (or secret) to the client."""
    timeout = state.settings.request_timeout

    async def guarded(request: Any) -> Any:
        started = time.perf_counter()
        try:
            response = await asyncio.wait_for(fn(request), timeout)
            response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.3f}"
            return response
        except NbtrackError as e:
            status = e.get_http_status_code()
            headers = {"WWW-Authenticate": state.credentials.challenge} if status == 401 else None
            if status >= 500:
                _log.error("%s %s failed: %s", request.method, request.url.path, e.message)
            return error_response(e, headers)
        except TimeoutError:
            return error_response(_Unavailable(f"Request processing time exceeded limit ({timeout} s).", 504))
        except Exception:  # boundary: one request's bug must not take the server down
            _log.exception("%s %s failed", request.method, request.url.path)
            return _json({"error_code": "INTERNAL_ERROR", "message": "Internal server error; see the server log."},
                         500)

    return guarded


def _artifact_routes(state: State) -> list[Any]:
    from starlette.responses import StreamingResponse
    from starlette.routing import Route

    loc, settings = state.ctx.loc, state.settings

    def gate(request: Any, writes: bool) -> None:
        state.authorize(request, writes)
        if not loc.serve:
            raise _Unavailable(f"Endpoint: {request.url.path} disabled due to the nbtrack server running with "
                               "`--no-serve-artifacts`. To enable artifacts server functionality, run `nbtrack "
                               "server` with `--serve-artifacts`", 503)

    async def listing(request: Any) -> Any:
        gate(request, writes=False)
        args = parse_query(request.query_params, (Field("path"),))
        return _json(await asyncio.to_thread(_artifacts.list_files, loc, args.get("path")))

    async def one(request: Any) -> Any:
        path = request.path_params["artifact_path"]
        gate(request, writes=request.method in ("PUT", "DELETE"))
        if request.method == "GET":
            fd, size = await asyncio.to_thread(_artifacts.open_download, loc, path)
            return StreamingResponse(_artifacts.read_chunks(fd), media_type="application/octet-stream",
                                     headers={"Content-Length": str(size)})
        if request.method == "PUT":
            await _artifacts.save_upload(loc, path, request.stream(), settings.max_upload_bytes)
            return _json({})
        return _json(await asyncio.to_thread(_artifacts.delete, loc, path))

    async def multipart(request: Any) -> Any:
        gate(request, writes=True)
        action, path = request.path_params["action"], request.path_params["artifact_path"]
        fields = (Field("path", required=True), Field("num_parts", "int64"), Field("upload_id"),
                  Field("parts", "object", repeated=True,
                        fields=(Field("part_number", "int64", required=True), Field("etag"), Field("url"))))
        args = parse_body(await read_body(request, settings.max_body_bytes), fields, settings.max_json_depth)
        if action == "create":
            part_url = str(request.base_url).rstrip("/") + request.url.path.split("/mpu/")[0] + "/mpu/part"
            return _json(await asyncio.to_thread(_multipart.create, loc, path, args, part_url))
        if action == "complete":
            return _json(await asyncio.to_thread(_multipart.complete, loc, path, args))
        if action == "abort":
            return _json(await asyncio.to_thread(_multipart.abort, loc, path, args))
        raise NotFound(f"No multipart upload action {action!r}: use mpu/create, mpu/complete or mpu/abort.")

    async def part(request: Any) -> Any:
        """A part of a multipart upload, authorised by its upload id (MLflow's client sends no
        credentials to a part URL, as to S3's presigned URLs)."""
        if not loc.serve:
            gate(request, writes=True)
        etag = await _multipart.save_part(loc, request.path_params["upload_id"], request.path_params["part"],
                                          request.stream(), settings.max_upload_bytes)
        return _json({}, headers={"ETag": etag})

    async def presigned(request: Any) -> Any:
        gate(request, writes=False)
        raise NbtrackError("Presigned download URLs are not supported by this server's local artifact folder; "
                           "download through GET /api/2.0/mlflow-artifacts/artifacts/<path>.",
                           error_code="NOT_IMPLEMENTED")

    routes = []
    for prefix in ARTIFACT_PREFIXES:
        routes += [
            Route(prefix + "artifacts", _guard(state, listing), methods=["GET"]),
            Route(prefix + "artifacts/{artifact_path:path}", _guard(state, one), methods=["GET", "PUT", "DELETE"]),
            Route(prefix + "mpu/part/{upload_id:str}/{part:str}", _guard(state, part), methods=["PUT"]),
            Route(prefix + "mpu/{action:str}/{artifact_path:path}", _guard(state, multipart), methods=["POST"]),
            Route(prefix + "presigned/{artifact_path:path}", _guard(state, presigned), methods=["GET"]),
        ]
    return routes


_ARTIFACT_DOCS = [
    Endpoint("artifacts", ("GET",), lambda: None, (Field("path"),), False, "List artifacts (proxy)", raw=True),
    Endpoint("artifacts/{artifact_path}", ("GET", "PUT", "DELETE"), lambda: None, (), True,
             "Download, upload or delete an artifact (proxy)", raw=True, extra={"path_param": True}),
]


def all_endpoints() -> list[Endpoint]:
    return [*_tracking.ENDPOINTS, *_logged_models.ENDPOINTS, *_registry.ENDPOINTS]


def _misc_routes(state: State, api_routes: list[tuple[str, Endpoint]]) -> list[Any]:
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    from nbtrack.models.model import _nbtrack_version

    version = _nbtrack_version()
    doc = dumps(_openapi.document(api_routes, version))

    plain_root = (
        "nbtrack tracking server\n\nMLflow's REST API is under /api/2.0/mlflow/ (and /ajax-api/2.0/mlflow/), "
        "the artifact proxy under /api/2.0/mlflow-artifacts/.\nOpenAPI document: /api/openapi.json\n"
        "Health: /health   Version: /version\n\nPoint a client at this URL: "
        "MLFLOW_TRACKING_URI=<this server's URL> (mlflow or nbtrack).\n")

    async def health(request: Any) -> Any:
        return PlainTextResponse("OK")

    async def get_version(request: Any) -> Any:
        return PlainTextResponse(version)

    async def openapi(request: Any) -> Any:
        return Response(doc, media_type="application/json")

    async def server_info(request: Any) -> Any:
        return _json({"store_type": "nbtrack", "workspaces_enabled": True, "multipart_uploads_enabled": True,
                      "multipart_downloads_enabled": False})

    routes = [*_webui.routes(plain_root, state.credentials), Route("/health", health, methods=["GET"]),
              Route("/version", get_version, methods=["GET"]), Route("/api/openapi.json", openapi, methods=["GET"])]
    for prefix in ("/api/3.0/mlflow/", "/ajax-api/3.0/mlflow/"):
        routes.append(Route(prefix + "server-info", server_info, methods=["GET"]))
    return routes


def _not_found(status: int) -> Callable[..., Any]:
    async def handler(request: Any, exc: Any) -> Any:
        if status == 405:
            return _json({"error_code": "BAD_REQUEST",
                          "message": f"Method {request.method} is not allowed on {request.url.path}."}, 405)
        return _json({"error_code": "ENDPOINT_NOT_FOUND",
                      "message": f"No API endpoint {request.url.path}; see /api/openapi.json."}, 404)

    return handler


def build_app(settings: ServerSettings, credentials: Credentials | None = None) -> Any:
    """The Starlette app serving ``settings.store_uri``."""
    from starlette.applications import Starlette
    from starlette.routing import Route

    from nbtrack.tracking import fluent

    fluent.set_tracking_uri(settings.store_uri)  # runs:/ and models:/ sources resolve in this store
    import pyarrow.parquet  # noqa: F401  (loaded: the store then writes its segments through pyarrow, ~4 ms faster)
    state = State(settings, credentials or Credentials("none"))
    grouped: dict[str, dict[str, Endpoint]] = {}
    for ep in all_endpoints():
        for method in ep.methods:
            grouped.setdefault(ep.path, {})[method] = ep
    routes: list[Any] = []
    documented: list[tuple[str, Endpoint]] = []
    for prefix in API_PREFIXES:
        for path, by_method in grouped.items():
            routes.append(Route(prefix + path, _guard(state, _api_endpoint(state, by_method)),
                                methods=list(by_method)))
    for ep in all_endpoints():
        documented.append((API_PREFIXES[0] + ep.path, ep))
    for prefix in _views.PREFIXES:  # nbtrack's own read endpoints, beside MLflow's
        for ep in _views.ENDPOINTS:
            routes.append(Route(prefix + ep.path, _guard(state, _api_endpoint(state, {"POST": ep})), methods=["POST"]))
    documented += [(_views.PREFIXES[0] + ep.path, ep) for ep in _views.ENDPOINTS]
    for prefix in _previews.PREFIXES:  # the web UI's table previews of artifacts
        for ep in _previews.ENDPOINTS:
            routes.append(Route(prefix + ep.path, _guard(state, _api_endpoint(state, {"POST": ep})), methods=["POST"]))
    documented += [(_previews.PREFIXES[0] + ep.path, ep) for ep in _previews.ENDPOINTS]
    workspace_routes: dict[str, dict[str, Endpoint]] = {}
    for ep in _workspaces.ENDPOINTS:
        for method in ep.methods:
            workspace_routes.setdefault(ep.path, {})[method] = ep
    for prefix in _workspaces.PREFIXES:  # MLflow 3's workspaces are under /api/3.0/mlflow/
        for path, by_method in workspace_routes.items():
            routes.append(Route(prefix + path, _guard(state, _api_endpoint(state, by_method)), methods=list(by_method)))
    documented += [(_workspaces.PREFIXES[0] + ep.path, ep) for ep in _workspaces.ENDPOINTS]
    documented += [(ARTIFACT_PREFIXES[0] + ep.path, ep) for ep in _ARTIFACT_DOCS]
    routes += _artifact_routes(state)
    routes += _previews.routes(state, _guard)
    documented += [(ep.path, ep) for ep in _previews.DOCS]
    routes += _misc_routes(state, documented)
    app = Starlette(routes=routes, exception_handlers={404: _not_found(404), 405: _not_found(405)})
    app.state.nbtrack = state
    return app
