"""The model scoring server: MLflow's ``/invocations`` protocol as a Starlette ASGI app.

``GET /ping`` and ``GET /health`` answer 200 with ``"\\n"`` once the model is loaded;
``GET /version`` gives nbtrack's version; ``POST /invocations`` takes JSON
(``dataframe_split``, ``dataframe_records``, ``instances`` or ``inputs``, plus optional
``params``), CSV or Parquet and answers ``{"predictions": ...}``. Errors are JSON
``{"error_code", "message"}``: 400 for bad input, 413 for a body over ``max_body_bytes``,
415 for an unsupported content type, 504 when a prediction outlives ``timeout``.

``serve`` binds 127.0.0.1 unless told otherwise.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from dataclasses import asdict, dataclass
from typing import Any

from nbtrack.errors import InvalidParameter, NbtrackError

__all__ = ["DEFAULT_MAX_BODY_BYTES", "build_app", "serve"]

_log = logging.getLogger(__name__)

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
CONTENT_TYPES = ["text/csv", "application/json", "application/vnd.apache.parquet"]
_CONFIG_ENV = "NBTRACK_SCORING_SERVER_CONFIG"


@dataclass(frozen=True, slots=True)
class ServerSettings:
    model_uri: str
    timeout: float = 60.0
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES


def _error(status: int, error_code: str, message: str) -> Any:
    from starlette.responses import Response

    body = json.dumps({"error_code": error_code, "message": message})
    return Response(body, status_code=status, media_type="application/json")


class _TooLarge(Exception):
    pass


async def _read_body(request: Any, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _content_type(header: str | None) -> tuple[str | None, str | None]:
    """Return (mime, problem); problem is a 415 message or None."""
    if not header:
        return None, "The request has no Content-Type header. " + _supported(header)
    mime, *pairs = [p.strip() for p in header.split(";")]
    params = {k.strip().lower(): v.strip() for k, _, v in (p.partition("=") for p in pairs) if k}
    if params.get("charset", "utf-8").lower() != "utf-8":
        return None, "The scoring server only supports UTF-8"
    if unknown := sorted(set(params) - {"charset"}):
        return None, f"Unrecognized content type parameters: {', '.join(unknown)}."
    if mime.lower() not in CONTENT_TYPES:
        return None, _supported(header)
    return mime.lower(), None


def _supported(got: str | None) -> str:
    return f"This predictor only supports the following content types: Types: {CONTENT_TYPES}. Got '{got}'."


def _predict(model: Any, body: bytes, mime: str) -> str:
    """Parse, predict and serialise; runs in a worker thread."""
    import io

    from nbtrack.models.payload import bad_input, dumps_predictions, parse_csv, parse_json_for

    schema = model.metadata.get_input_schema()
    params = None
    if mime == "application/json":
        data, params = parse_json_for(model, body)
    elif mime == "text/csv":
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as e:
            raise bad_input(f"Ensure that input is a valid UTF-8 encoded string. Error: '{e}'") from None
        data = parse_csv(text, schema)
    else:
        import pandas as pd

        try:
            data = pd.read_parquet(io.BytesIO(body))
        except (ValueError, OSError) as e:
            raise bad_input(f"Failed to parse input as a Parquet Pandas DataFrame. Error: '{e}'") from None
    try:
        raw = model.predict(data, params=params)
    except InvalidParameter as e:
        raise InvalidParameter(f"Failed to predict data '{_short(data)}'. \nError: {e.message}", e.error_code) from None
    except Exception as e:  # boundary: the model's own code failed
        _log.exception("Model prediction failed")
        raise InvalidParameter(
            "Encountered an unexpected error while evaluating the model. Verify that the input is "
            f"compatible with the model for inference. Error: {type(e).__name__}: {e}",
            error_code="BAD_REQUEST",
        ) from None
    return dumps_predictions(raw)


def _short(data: Any) -> str:
    text = repr(data)
    return text if len(text) <= 300 else text[:300] + " ..."


def build_app(model: Any, timeout: float = 60.0, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> Any:
    """A Starlette app serving ``model`` (a loaded :class:`~nbtrack.models.pyfunc.PyFuncModel`)."""
    from starlette.applications import Starlette
    from starlette.responses import Response
    from starlette.routing import Route

    from nbtrack.models.model import _nbtrack_version

    version = _nbtrack_version()

    async def ping(request: Any) -> Any:
        return Response("\n", status_code=200 if model is not None else 404, media_type="application/json")

    async def get_version(request: Any) -> Any:
        return Response(version, media_type="application/json")

    async def invocations(request: Any) -> Any:
        mime, problem = _content_type(request.headers.get("content-type"))
        if problem is not None or mime is None:
            return _error(415, "BAD_REQUEST", problem or _supported(None))
        try:
            body = await _read_body(request, max_body_bytes)
        except _TooLarge:
            return _error(413, "REQUEST_LIMIT_EXCEEDED",
                          f"The request body is larger than the server's limit of {max_body_bytes} bytes. "
                          "Send fewer rows per request, or start the server with a larger --max-body-size.")
        try:
            result = await asyncio.wait_for(asyncio.to_thread(_predict, model, body, mime), timeout)
        except TimeoutError:
            return _error(504, "TEMPORARILY_UNAVAILABLE",
                          f"Request processing time exceeded limit ({timeout} s). Send fewer rows, or "
                          "start the server with a larger --timeout.")
        except NbtrackError as e:
            return Response(e.serialize_as_json(), status_code=e.get_http_status_code(),
                            media_type="application/json")
        return Response(result, media_type="application/json")

    return Starlette(routes=[
        Route("/ping", ping, methods=["GET"]),
        Route("/health", ping, methods=["GET"]),
        Route("/version", get_version, methods=["GET"]),
        Route("/invocations", invocations, methods=["POST"]),
    ])


def app_from_settings(settings: ServerSettings) -> Any:
    # import what request handling needs now, so the first request is not slowed (or timed out)
    import pandas  # noqa: F401

    from nbtrack.models import _enforce, payload  # noqa: F401
    from nbtrack.models.pyfunc import load_model

    return build_app(load_model(settings.model_uri), settings.timeout, settings.max_body_bytes)


def _app_from_env() -> Any:
    """uvicorn factory used by worker processes when ``workers > 1``."""
    from nbtrack import config

    raw = config.env(_CONFIG_ENV)
    if raw is None:
        raise InvalidParameter(f"{_CONFIG_ENV} is not set; start the server with nbtrack models serve.")
    return app_from_settings(ServerSettings(**json.loads(raw)))


def serve(
    model_uri: str,
    host: str = "127.0.0.1",
    port: int = 5000,
    workers: int = 1,
    timeout: float = 60,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    log_level: str = "info",
) -> None:
    """Load the model at ``model_uri`` and serve it with uvicorn until interrupted.

    The model is loaded before the port opens, so ``/ping`` answers 200 from the start.
    With ``workers > 1`` each uvicorn worker process loads its own copy.
    """
    import uvicorn

    for label, value in (("workers", workers), ("port", port), ("max_body_bytes", max_body_bytes)):
        if not isinstance(value, int) or value < (0 if label == "port" else 1):
            raise InvalidParameter(f"{label} must be a positive integer, got {value!r}.")
    if timeout <= 0:
        raise InvalidParameter(f"timeout must be positive, got {timeout!r}.")
    settings = ServerSettings(os.fspath(model_uri), float(timeout), max_body_bytes)
    if workers == 1:
        app = app_from_settings(settings)
        uvicorn.run(app, host=host, port=port, log_level=log_level)
        return
    from nbtrack.models.pyfunc import load_model

    load_model(settings.model_uri)  # fail here, once, rather than in every worker
    os.environ[_CONFIG_ENV] = json.dumps(asdict(settings))
    uvicorn.run("nbtrack.server.scoring:_app_from_env", factory=True, host=host, port=port,
                workers=workers, log_level=log_level)
