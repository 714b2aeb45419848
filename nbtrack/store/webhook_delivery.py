"""Delivering registry events to webhooks, as MLflow 3's server does.

An event is an HTTP POST of MLflow's JSON (``{"entity", "action", "timestamp", "data"}``) with
MLflow's headers: ``X-MLflow-Delivery-Id``, ``X-MLflow-Timestamp`` and, when the webhook has a secret,
``X-MLflow-Signature: v1,<base64 HMAC-SHA256 of "<delivery id>.<timestamp>.<body>">``. Deliveries run
on a small thread pool so the registry change returns at once; 429 and 5xx answers and connection
errors are retried with backoff (``MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES``, default 3) and the
interpreter waits for pending deliveries at exit. As in MLflow, URLs must be https
(``MLFLOW_WEBHOOK_ALLOWED_SCHEMES``) and public unless ``MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS=true``;
nothing goes through a proxy.
"""

from __future__ import annotations

import atexit
import base64
import concurrent.futures
import datetime as dt
import hashlib
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
import urllib.parse
import uuid
from typing import Any

from nbtrack import config
from nbtrack.entities import Webhook, WebhookEvent, WebhookTestResult
from nbtrack.errors import InvalidParameter

__all__ = ["check_url", "send", "submit", "test_delivery", "wait_for_deliveries"]

_log = logging.getLogger(__name__)
_RETRY_STATUS = (429, 500, 502, 503, 504)
_pool: dict[str, Any] = {"executor": None, "pending": set()}
_pool_lock = threading.Lock()


def check_url(url: Any) -> str:
    """``url`` if a webhook may call it: an allowed scheme, a host, and (by default) a public address."""
    if not isinstance(url, str) or not url.strip():
        raise InvalidParameter(f"Webhook URL must be a non-empty string, got {url!r}.")
    try:
        parsed = urllib.parse.urlparse(url)
    except ValueError as e:
        raise InvalidParameter(f"Invalid webhook URL {url!r}: {e}") from None
    schemes = [s.strip() for s in (config.env("MLFLOW_WEBHOOK_ALLOWED_SCHEMES") or "https").split(",") if s.strip()]
    if parsed.scheme not in schemes:
        raise InvalidParameter(f"Invalid webhook URL scheme: {parsed.scheme!r}. Allowed schemes are: "
                               f"{', '.join(schemes)} (MLFLOW_WEBHOOK_ALLOWED_SCHEMES).")
    if not parsed.hostname:
        raise InvalidParameter(f"Webhook URL must include a hostname: {url!r}")
    if (config.env("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS") or "false").lower() not in ("true", "1"):
        try:
            infos = socket.getaddrinfo(parsed.hostname, None)
        except (socket.gaierror, UnicodeError) as e:
            raise InvalidParameter(f"Cannot resolve Webhook URL hostname {parsed.hostname!r}: {e}") from None
        for info in infos:
            ip = ipaddress.ip_address(str(info[4][0]).split("%")[0])
            if not ip.is_global:
                raise InvalidParameter(f"Webhook URL must not resolve to a non-public IP address. "
                                       f"{parsed.hostname!r} resolves to {ip} (set MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS="
                                       "true for a receiver on this machine or network).")
    return url


def _signature(secret: str, delivery_id: str, timestamp: str, body: str) -> str:
    digest = hmac.new(secret.encode(), f"{delivery_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def send(webhook: Webhook, event: WebhookEvent, data: dict[str, Any]) -> tuple[int, str]:
    """POST one event to ``webhook`` now, retrying 429/5xx and connection errors; (status, body)."""
    check_url(webhook.url)
    body = json.dumps({"entity": event.entity, "action": event.action,
                       "timestamp": dt.datetime.now(dt.UTC).isoformat(), "data": data})
    delivery_id, timestamp = str(uuid.uuid4()), str(int(time.time()))
    headers = {"Content-Type": "application/json", "X-MLflow-Delivery-Id": delivery_id,
               "X-MLflow-Timestamp": timestamp}
    if webhook.secret:
        headers["X-MLflow-Signature"] = _signature(webhook.secret, delivery_id, timestamp, body)
    retries = int(config.env("MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES") or 3)
    timeout = float(config.env("MLFLOW_WEBHOOK_REQUEST_TIMEOUT") or 30)
    for attempt in range(retries + 1):
        try:
            status, text = _post(webhook.url, body.encode(), headers, timeout)
            if status not in _RETRY_STATUS or attempt == retries:
                return status, text
        except OSError:  # refused, reset, timed out, TLS: retried like a 503
            if attempt == retries:
                raise
        time.sleep(min(2.0 ** attempt * 0.5, 60.0))
    raise AssertionError("unreachable")


def _post(url: str, body: bytes, headers: dict[str, str], timeout: float) -> tuple[int, str]:
    """One POST with http.client, which keeps MLflow's header names as written (urllib recases them)."""
    import http.client

    parsed = urllib.parse.urlparse(url)
    kind = http.client.HTTPSConnection if parsed.scheme == "https" else http.client.HTTPConnection
    conn = kind(parsed.hostname or "", parsed.port, timeout=timeout)
    try:
        target = (parsed.path or "/") + (f"?{parsed.query}" if parsed.query else "")
        conn.request("POST", target, body=body, headers={**headers, "Content-Length": str(len(body))})
        answer = conn.getresponse()
        return answer.status, answer.read().decode("utf-8", "replace")
    finally:
        conn.close()


def test_delivery(webhook: Webhook, event: WebhookEvent, data: dict[str, Any]) -> WebhookTestResult:
    try:
        status, text = send(webhook, event, data)
    except Exception as e:  # any failure is the test's answer, not an error of test_webhook
        return WebhookTestResult(False, error_message=f"Failed to test webhook: {e!r}")
    return WebhookTestResult(status < 400, status, text)


def submit(webhook: Webhook, event: WebhookEvent, data: dict[str, Any]) -> None:
    with _pool_lock:
        if _pool["executor"] is None:
            workers = int(config.env("MLFLOW_WEBHOOK_DELIVERY_MAX_WORKERS") or 10)
            _pool["executor"] = concurrent.futures.ThreadPoolExecutor(workers, thread_name_prefix="nbtrack-webhook")
            atexit.register(lambda: wait_for_deliveries(float(config.env("MLFLOW_WEBHOOK_REQUEST_TIMEOUT") or 30)))
        future = _pool["executor"].submit(_deliver_one, webhook, event, data)
        _pool["pending"].add(future)
    future.add_done_callback(lambda f: _pool["pending"].discard(f))


def _deliver_one(webhook: Webhook, event: WebhookEvent, data: dict[str, Any]) -> None:
    try:
        status, _ = send(webhook, event, data)
        if status >= 400:
            _log.warning("Webhook %s (%s) answered %s to %s.", webhook.name, webhook.url, status, event)
    except Exception as e:  # a delivery runs on a worker thread: log it, the registry change stands
        _log.error("Webhook %s (%s) could not be delivered %s: %s", webhook.name, webhook.url, event, e)


def wait_for_deliveries(timeout: float | None = None) -> bool:
    """Wait until every delivery started so far has finished; False if ``timeout`` ran out first."""
    pending = list(_pool["pending"])
    _, not_done = concurrent.futures.wait(pending, timeout=timeout)
    return not not_done
