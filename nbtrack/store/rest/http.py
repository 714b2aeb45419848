"""The HTTP half of the ``rest`` backend: one pooled keep-alive client per server, MLflow's auth
variables, retries with backoff, and server errors turned into :class:`~nbtrack.errors.NbtrackError`
subclasses by their ``error_code``.

httpx is imported on first use, so ``import nbtrack`` stays light.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nbtrack import config
from nbtrack.errors import (
    AccessDenied,
    InvalidParameter,
    InvalidState,
    NbtrackError,
    NotFound,
    ParamConflict,
    ResourceExists,
    ServerUnreachable,
)

__all__ = ["API", "ARTIFACTS_API", "RestClient", "decode_float", "encode_float"]

log = logging.getLogger("nbtrack.store.rest")

API = "/api/2.0/mlflow"
WORKSPACE_HEADER = "X-MLFLOW-WORKSPACE"  # the active workspace, as MLflow's client sends it
ARTIFACTS_API = "/api/2.0/mlflow-artifacts/artifacts"
RETRY_STATUS = frozenset({429, 500, 502, 503, 504})  # MLflow's client retries the same
BUSY_STATUS = frozenset({429, 502, 503, 504})  # ... and these mean "later", not "never": spool, do not drop
_DEFAULT_RETRIES = 5
_DEFAULT_TIMEOUT = 120.0
_BACKOFF_BASE = 0.1  # seconds before the first retry; doubles each time
_BACKOFF_CAP = 4.0
# MLflow's and nbtrack's wordings of a param conflict: (key, old, new, run id)
_PARAM_CONFLICT = re.compile(r"'key': '(.*?)', 'old_value': '(.*?)', 'new_value': '(.*?)'.*run ID='(\w+)'", re.S)
_PARAM_CONFLICT_NB = re.compile(r"key='(.*?)' was already logged with value='(.*?)' for run ID='(\w+)'\. "
                                r"Attempted logging new value '(.*?)'", re.S)


def encode_float(value: float) -> float | str:
    """A double as proto3 JSON writes it: NaN and infinities as strings (bare NaN is not JSON)."""
    if math.isfinite(value):
        return value
    return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")


def decode_float(value: Any) -> float:
    return float(value)  # float() reads "NaN", "Infinity" and "-Infinity" as proto3 JSON writes them


def _truthy(name: str) -> bool:
    return (config.env(name) or "").strip().lower() in ("1", "true", "yes", "on")


def auth_headers() -> dict[str, str]:
    """Headers for MLflow's auth variables, read at call time: a bearer token, else basic auth."""
    token = config.env("MLFLOW_TRACKING_TOKEN") or config.env("NBTRACK_TOKEN")
    if token:
        return {"Authorization": f"Bearer {token}"}
    user, password = config.env("MLFLOW_TRACKING_USERNAME"), config.env("MLFLOW_TRACKING_PASSWORD")
    if user or password:
        import base64

        pair = base64.b64encode(f"{user or ''}:{password or ''}".encode()).decode("ascii")
        return {"Authorization": f"Basic {pair}"}
    return {}


def _tls_verify() -> bool | str:
    """The TLS setting: False (no verification), a CA bundle path, or True (the system's)."""
    if _truthy("MLFLOW_TRACKING_INSECURE_TLS"):
        return False
    return config.env("MLFLOW_TRACKING_SERVER_CERT_PATH") or True


def _ssl_context(verify: bool | str) -> Any:
    if not isinstance(verify, str):
        return verify
    import ssl

    if not os.path.exists(verify):
        raise InvalidParameter(f"MLFLOW_TRACKING_SERVER_CERT_PATH is {verify!r}, which does not exist; set it to "
                               "the CA bundle (a PEM file) that signed the tracking server's certificate.")
    if os.path.isdir(verify):
        return ssl.create_default_context(capath=verify)
    return ssl.create_default_context(cafile=verify)


class RestClient:
    """Requests to one tracking server (``base`` is its URL, e.g. ``http://127.0.0.1:5000``)."""

    def __init__(self, base: str) -> None:
        self.base = base.rstrip("/")
        self._http: Any = None
        self._tls: Any = None
        self._lock = threading.Lock()
        self._pid = os.getpid()

    def __repr__(self) -> str:
        return f"RestClient({self.base!r})"

    def _client(self) -> Any:
        verify = _tls_verify()
        with self._lock:
            if self._pid != os.getpid():  # a forked child never shares its parent's connections
                self._http, self._pid = None, os.getpid()
            if self._http is None or self._tls != verify:  # TLS settings changed: a new pool
                import httpx

                if self._http is not None:
                    self._http.close()
                timeout = config.env_float("MLFLOW_HTTP_REQUEST_TIMEOUT", _DEFAULT_TIMEOUT)
                self._http = httpx.Client(
                    verify=_ssl_context(verify), timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
                    limits=httpx.Limits(max_connections=16, max_keepalive_connections=8, keepalive_expiry=60),
                    headers={"User-Agent": "nbtrack"})
                self._tls = verify
            return self._http

    def close(self) -> None:
        with self._lock:
            if self._http is not None:
                self._http.close()
                self._http = None

    def __del__(self) -> None:  # a short-lived client (another host's artifacts) leaves no socket open
        http = getattr(self, "_http", None)
        if http is not None:
            http.close()

    # -- requests ---------------------------------------------------------------------------
    def call(self, method: str, endpoint: str, body: dict[str, Any] | None = None,
             retries: int | None = None) -> dict[str, Any]:
        """One MLflow REST call (``endpoint`` below ``/api/2.0/mlflow``); the decoded JSON answer.

        GET sends ``body`` as query parameters (lists repeated, as MLflow's client does).
        """
        url = endpoint if endpoint.startswith("/api/") else f"{API}/{endpoint.lstrip('/')}"
        if method == "GET":
            params = [(k, _query_value(v)) for k, v in (body or {}).items() if v is not None
                      for v in (v if isinstance(v, list) else [v])]
            response = self.send(method, url, params=params, retries=retries)
        else:
            content = json.dumps(body or {}, allow_nan=False).encode()
            response = self.send(method, url, content=content, retries=retries,
                                 headers={"Content-Type": "application/json"})
        try:
            return response.json() if response.content else {}
        except ValueError:
            raise NbtrackError(f"The server at {self.base} answered {url} with something that is not JSON "
                               f"({response.text[:200]!r}). Is {self.base} an MLflow tracking server?") from None

    def send(self, method: str, url: str, *, retries: int | None = None, **kwargs: Any) -> Any:
        """An HTTP request with retries on connection errors and 429/502/503/504; errors raised."""
        response = self._attempts(method, url, retries, kwargs)
        if response.status_code in BUSY_STATUS:  # still busy after every retry: like a server that is away
            raise ServerUnreachable(
                f"The tracking server at {self.base} kept answering HTTP {response.status_code} (busy or behind "
                "a gateway that cannot reach it); run data logged meanwhile is spooled and sent later.", self.base)
        if response.status_code >= 400:
            raise error_from(response, self.base, url)
        return response

    @contextmanager
    def stream(self, url: str) -> Iterator[Any]:
        """A streamed GET (artifact downloads), with the same retries and error mapping."""
        client = self._client()
        for attempt in range(self._max_retries(None) + 1):
            try:
                with client.stream("GET", self.base + url, headers=auth_headers()) as response:
                    if response.status_code in RETRY_STATUS and attempt < self._max_retries(None):
                        response.read()
                        self._sleep(attempt, response)
                        continue
                    if response.status_code >= 400:
                        response.read()
                        raise error_from(response, self.base, url)
                    yield response
                    return
            except _transport_errors() as e:
                if attempt >= self._max_retries(None) or _tls_failure(e):
                    raise self.unreachable(e) from None
                self._sleep(attempt, None)

    def _max_retries(self, retries: int | None) -> int:
        if retries is not None:
            return retries
        return int(config.env_float("MLFLOW_HTTP_REQUEST_MAX_RETRIES", _DEFAULT_RETRIES))

    def _attempts(self, method: str, url: str, retries: int | None, kwargs: dict[str, Any]) -> Any:
        limit = self._max_retries(retries)
        headers = {**kwargs.pop("headers", {}), **auth_headers()}
        workspace = config.active_workspace()
        if workspace != config.DEFAULT_WORKSPACE and "/mlflow/workspaces" not in url:  # the path names those
            headers[WORKSPACE_HEADER] = workspace
        client = self._client()
        for attempt in range(limit + 1):
            try:
                response = client.request(method, self.base + url, headers=headers, **kwargs)
            except _transport_errors() as e:
                if attempt >= limit or _tls_failure(e):  # a certificate does not get better by waiting
                    raise self.unreachable(e) from None
                self._sleep(attempt, None)
                continue
            if response.status_code in RETRY_STATUS and attempt < limit:
                self._sleep(attempt, response)
                continue
            return response
        raise AssertionError("unreachable")  # pragma: no cover - the loop always returns or raises

    @staticmethod
    def _sleep(attempt: int, response: Any) -> None:
        delay = min(_BACKOFF_CAP, _BACKOFF_BASE * 2 ** attempt) * (0.5 + random.random() / 2)
        after = response.headers.get("Retry-After") if response is not None else None
        if after is not None:
            try:
                delay = max(delay, min(float(after), 30.0))
            except ValueError:
                pass
        time.sleep(delay)

    def unreachable(self, error: BaseException) -> ServerUnreachable:
        if _tls_failure(error):
            return ServerUnreachable(
                f"The TLS connection to the tracking server at {self.base} failed ({error}). If the server uses "
                "a private certificate authority, set MLFLOW_TRACKING_SERVER_CERT_PATH to its CA bundle "
                "(MLFLOW_TRACKING_INSECURE_TLS=true skips verification: for testing only).", self.base,
                retryable=False)
        return ServerUnreachable(
            f"Cannot reach the tracking server at {self.base} ({type(error).__name__}: {error}). Check that "
            "it is running and the URL is right (nbtrack.get_tracking_uri()); run data logged meanwhile is "
            "kept in a local spool and sent when the server is back.", self.base)


def _transport_errors() -> tuple[type[BaseException], ...]:
    import httpx

    return (httpx.TransportError,)


def _tls_failure(error: BaseException) -> bool:
    import ssl

    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ssl.SSLError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def error_from(response: Any, base: str, url: str) -> NbtrackError:
    """The NbtrackError for an error response, by MLflow's ``error_code`` (or the HTTP status)."""
    try:
        body = response.json()
        code, message = str(body.get("error_code") or ""), str(body.get("message") or "")
    except (ValueError, AttributeError):
        code, message = "", response.text[:500]
    status = response.status_code
    if status in (401, 403) or code in ("PERMISSION_DENIED", "UNAUTHENTICATED"):
        return AccessDenied(
            f"The tracking server at {base} refused {url} (HTTP {status}: {message or 'no message'}). Set "
            "MLFLOW_TRACKING_TOKEN, or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD, to "
            "credentials it accepts.")
    if code == "RESOURCE_DOES_NOT_EXIST":
        return NotFound(message)
    if code == "RESOURCE_ALREADY_EXISTS":
        return ResourceExists(message)
    if code == "INVALID_STATE" and message.startswith("Cannot delete"):  # a workspace that is not empty
        return InvalidState(message)
    if code in ("INVALID_PARAMETER_VALUE", "BAD_REQUEST", "INVALID_STATE", "MALFORMED_REQUEST"):
        return _invalid(message)
    if not code and status == 404:
        return NbtrackError(f"The server at {base} has no endpoint {url} (HTTP 404). Is it an MLflow "
                            "tracking server, and is the tracking URI its root URL?", "ENDPOINT_NOT_FOUND")
    return NbtrackError(f"The tracking server at {base} failed on {url} (HTTP {status}"
                        f"{', ' + code if code else ''}): {message}", code or "INTERNAL_ERROR")


def _invalid(message: str) -> InvalidParameter:
    if message.startswith("Changing param values is not allowed"):
        if found := _PARAM_CONFLICT.search(message):
            key, old, new, run_id = found.groups()
            return ParamConflict(run_id, key, old, new)
        if found := _PARAM_CONFLICT_NB.search(message):
            key, old, run_id, new = found.groups()
            return ParamConflict(run_id, key, old, new)
    return InvalidParameter(message)
