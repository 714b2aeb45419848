"""Registry webhooks (MLflow 3's ``create_webhook`` ...): registry changes reach a real HTTP receiver on
127.0.0.1 as MLflow's JSON, with MLflow's headers and HMAC signature; CRUD, paging, test_webhook,
retries and the URL rules."""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import importlib.util
import json
import subprocess
import sys
import threading

import pytest
from procenv import python_env

from nbtrack.errors import InvalidParameter, NotFound
from nbtrack.store.webhook_delivery import wait_for_deliveries

ALL_EVENTS = ["registered_model.created", "model_version.created", "model_version_tag.set",
              "model_version_tag.deleted", "model_version_alias.created", "model_version_alias.deleted"]


class Receiver:
    """An HTTP server on 127.0.0.1 that records every POST; ``fail`` answers that many 503s first."""

    def __init__(self) -> None:
        self.got: list[tuple[dict[str, str], bytes]] = []
        self.fail = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                if outer.fail > 0:
                    outer.fail -= 1
                    self.send_response(503)
                    self.end_headers()
                    return
                outer.got.append((dict(self.headers.items()), body))
                self.send_response(200)
                self.end_headers()
                self.wfile.write(b"received")

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def events(self) -> list[tuple[str, dict]]:
        assert wait_for_deliveries(30)
        return [(f"{p['entity']}.{p['action']}", p["data"]) for p in (json.loads(b) for _, b in self.got)]


@pytest.fixture
def receiver(monkeypatch):
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES", "http,https")
    monkeypatch.setenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS", "true")
    monkeypatch.setenv("MLFLOW_WEBHOOK_REQUEST_MAX_RETRIES", "2")
    found = Receiver()
    yield found
    found.server.shutdown()


def test_registry_changes_are_posted_with_mlflows_payloads(receiver, client, tmp_path):
    client.create_webhook("all-events", receiver.url, ALL_EVENTS)
    client.create_registered_model("iris", tags={"team": "a"}, description="flowers")
    model = tmp_path / "m"
    model.mkdir()
    (model / "MLmodel").write_text("flavors: {}\n")
    version = client.create_model_version("iris", str(model), tags={"k": "v"}, description="first")
    client.set_model_version_tag("iris", "1", "stage", "qa")
    client.delete_model_version_tag("iris", "1", "stage")
    client.set_registered_model_alias("iris", "champion", 1)
    client.delete_registered_model_alias("iris", "champion")
    assert receiver.events() == [
        ("registered_model.created", {"name": "iris", "tags": {"team": "a"}, "description": "flowers"}),
        ("model_version.created", {"name": "iris", "version": "1", "source": str(model), "run_id": None,
                                   "tags": {"k": "v"}, "description": "first"}),
        ("model_version_tag.set", {"name": "iris", "version": "1", "key": "stage", "value": "qa"}),
        ("model_version_tag.deleted", {"name": "iris", "version": "1", "key": "stage"}),
        ("model_version_alias.created", {"name": "iris", "alias": "champion", "version": "1"}),
        ("model_version_alias.deleted", {"name": "iris", "alias": "champion"}),
    ]
    assert version.version == 1


def test_deliveries_are_signed_with_the_secret(receiver, client):
    client.create_webhook("signed", receiver.url, ["registered_model.created"], secret="s3cret")
    client.create_registered_model("signed-model")
    receiver.events()
    headers, body = receiver.got[0]
    delivery, stamp = headers["X-MLflow-Delivery-Id"], headers["X-MLflow-Timestamp"]
    expected = hmac.new(b"s3cret", f"{delivery}.{stamp}.{body.decode()}".encode(), hashlib.sha256).digest()
    assert headers["X-MLflow-Signature"] == "v1," + base64.b64encode(expected).decode()
    assert headers["Content-Type"] == "application/json"
    assert set(json.loads(body)) == {"entity", "action", "timestamp", "data"}


def test_only_active_subscribed_webhooks_are_called(receiver, client):
    tags_only = client.create_webhook("tags", receiver.url, ["model_version_tag.set"])
    off = client.create_webhook("off", receiver.url, ["registered_model.created"], status="DISABLED")
    client.create_registered_model("quiet")
    assert receiver.events() == []
    client.update_webhook(off.webhook_id, status="ACTIVE", description="on now")
    client.create_registered_model("loud")
    assert [e for e, _ in receiver.events()] == ["registered_model.created"]
    client.delete_webhook(tags_only.webhook_id)
    with pytest.raises(NotFound, match=tags_only.webhook_id):
        client.get_webhook(tags_only.webhook_id)


def test_crud_and_paging(receiver, client):
    made = [client.create_webhook(f"hook-{i}", receiver.url, ["model_version.created"], description=f"d{i}")
            for i in range(3)]
    got = client.get_webhook(made[0].webhook_id)
    assert (got.name, got.url, [str(e) for e in got.events], got.status) == (
        "hook-0", receiver.url, ["model_version.created"], "ACTIVE")
    first = client.list_webhooks(max_results=2)
    rest = client.list_webhooks(max_results=2, page_token=first.token)
    assert len(first) == 2 and first.token and len(rest) == 1 and rest.token is None
    assert {w.webhook_id for w in [*first, *rest]} == {w.webhook_id for w in made}
    changed = client.update_webhook(made[1].webhook_id, name="renamed", events=["model_version_alias.created"])
    assert (changed.name, [str(e) for e in changed.events], changed.description) == (
        "renamed", ["model_version_alias.created"], "d1")
    assert changed.last_updated_timestamp >= changed.creation_timestamp


def test_test_webhook_sends_mlflows_example_payload(receiver, client):
    hook = client.create_webhook("tester", receiver.url, ["model_version.created", "model_version_tag.set"])
    result = client.test_webhook(hook.webhook_id)
    assert (result.success, result.response_status, result.response_body) == (True, 200, "received")
    client.test_webhook(hook.webhook_id, event="model_version_alias.deleted")
    assert receiver.events() == [
        ("model_version.created", {"name": "example_model", "version": "1", "source": "models:/123",
                                   "run_id": "abcd1234abcd5678", "tags": {"example_key": "example_value"},
                                   "description": "An example model version"}),
        ("model_version_alias.deleted", {"name": "example_model", "alias": "example_alias"})]
    receiver.server.shutdown()
    receiver.server.server_close()
    failed = client.test_webhook(hook.webhook_id)
    assert not failed.success and "Failed to test webhook" in failed.error_message


def test_503s_are_retried(receiver, client, monkeypatch):
    monkeypatch.setattr("nbtrack.store.webhook_delivery.time.sleep", lambda s: None)  # no real backoff wait
    client.create_webhook("retry", receiver.url, ["registered_model.created"])
    receiver.fail = 2
    client.create_registered_model("flaky")
    assert [e for e, _ in receiver.events()] == ["registered_model.created"]


def test_bad_webhooks_are_refused(client, monkeypatch, receiver):
    url = receiver.url
    for kwargs, match in [({"name": "-bad"}, "name"), ({"events": []}, "non-empty"),
                          ({"events": ["prompt.created"]}, "GenAI"), ({"events": ["model.exploded"]}, "Invalid"),
                          ({"url": "ftp://x.example.com"}, "scheme"), ({"status": "PAUSED"}, "status")]:
        args = {"name": "ok", "url": url, "events": ["model_version.created"], **kwargs}
        with pytest.raises(InvalidParameter, match=match):
            client.create_webhook(**args)
    monkeypatch.delenv("MLFLOW_WEBHOOK_ALLOW_PRIVATE_IPS")
    with pytest.raises(InvalidParameter, match="non-public IP"):
        client.create_webhook("local", url, ["model_version.created"])
    monkeypatch.delenv("MLFLOW_WEBHOOK_ALLOWED_SCHEMES")
    with pytest.raises(InvalidParameter, match="Allowed schemes are: https"):
        client.create_webhook("plain", "http://example.com/hook", ["model_version.created"])
    with pytest.raises(InvalidParameter, match="between 1 and 1000"):
        client.list_webhooks(max_results=0)


@pytest.mark.skipif(importlib.util.find_spec("mlflow") is None, reason="needs the real mlflow (bench extra)")
def test_payloads_and_signature_match_mlflows_own():
    """MLflow's example payloads and its signing function give what nbtrack sends."""
    script = ("import json; from mlflow.entities.webhook import WebhookEvent; "
              "from mlflow.webhooks.types import get_example_payload_for_event as ex; "
              "from mlflow.webhooks.delivery import _generate_hmac_signature as sig; "
              f"print(json.dumps({{e: ex(WebhookEvent.from_str(e)) for e in {ALL_EVENTS!r}}})); "
              "print(sig('k', 'id-1', '123', '{\"a\": 1}'))")
    done = subprocess.run([sys.executable, "-W", "ignore", "-c", script], capture_output=True, text=True,
                          env=python_env(), timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    examples, signature = done.stdout.strip().splitlines()[-2:]
    from nbtrack.entities import WebhookEvent
    from nbtrack.store.webhook_delivery import _signature
    from nbtrack.tracking.webhooks import example_payload

    assert json.loads(examples) == {e: example_payload(WebhookEvent(*e.split("."))) for e in ALL_EVENTS}
    assert _signature("k", "id-1", "123", '{"a": 1}') == signature
