"""``MlflowClient`` registry webhooks (MLflow 3): create, read, update, delete and test them.

The embedded registry keeps them and calls them after each change (see
:mod:`nbtrack.store.webhook_delivery`): ``registered_model.created``, ``model_version.created``,
``model_version_tag.set`` / ``.deleted``, ``model_version_alias.created`` / ``.deleted``.

Examples
--------
>>> hook = client.create_webhook("ci", "https://ci.example.com/mlflow", ["model_version.created"],
...                              secret="s3cret")
>>> client.test_webhook(hook.webhook_id).success
True
"""

from __future__ import annotations

import re
from typing import Any

from nbtrack.entities import WEBHOOK_EVENTS, Webhook, WebhookEvent, WebhookStatus, WebhookTestResult
from nbtrack.errors import InvalidParameter, NbtrackError
from nbtrack.tracking import validation
from nbtrack.tracking.paging import PagedList

__all__ = ["WebhookClientMixin", "example_payload"]

_NAME = re.compile(r"^(?=.{1,63}$)[a-z0-9]([a-z0-9._-]*[a-z0-9])?$", re.IGNORECASE)
_EXAMPLES: dict[str, dict[str, Any]] = {
    "registered_model.created": {"name": "example_model", "tags": {"example_key": "example_value"},
                                 "description": "An example registered model"},
    "model_version.created": {"name": "example_model", "version": "1", "source": "models:/123",
                              "run_id": "abcd1234abcd5678", "tags": {"example_key": "example_value"},
                              "description": "An example model version"},
    "model_version_tag.set": {"name": "example_model", "version": "1", "key": "example_key",
                              "value": "example_value"},
    "model_version_tag.deleted": {"name": "example_model", "version": "1", "key": "example_key"},
    "model_version_alias.created": {"name": "example_model", "alias": "example_alias", "version": "1"},
    "model_version_alias.deleted": {"name": "example_model", "alias": "example_alias"},
}


def example_payload(event: WebhookEvent) -> dict[str, Any]:
    """MLflow's example ``data`` of ``event``, which ``test_webhook`` sends."""
    return dict(_EXAMPLES[str(event)])


def _event(value: Any) -> WebhookEvent:
    if isinstance(value, WebhookEvent):
        entity, action = value.entity, value.action
    elif hasattr(value, "entity") and hasattr(value, "action"):  # MLflow's WebhookEvent (enums)
        entity, action = str(getattr(value.entity, "value", value.entity)), str(getattr(value.action, "value",
                                                                                     value.action))
    elif isinstance(value, str) and "." in value:
        entity, action = value.split(".", 1)
    else:
        raise InvalidParameter(f"Invalid webhook event {value!r}: use 'entity.action', e.g. 'model_version.created'.")
    if action not in WEBHOOK_EVENTS.get(entity, ()):
        known = ", ".join(f"{e}.{a}" for e, actions in WEBHOOK_EVENTS.items() for a in actions)
        raise InvalidParameter(f"Invalid webhook event {entity}.{action}: nbtrack's registry sends {known} "
                               "(prompt and budget events are GenAI features it does not have).")
    return WebhookEvent(entity, action)


def _events(events: Any) -> list[WebhookEvent]:
    if not isinstance(events, list | tuple) or not events:
        raise InvalidParameter(f"Webhook events must be a non-empty list of events: {events!r}.")
    return list(dict.fromkeys(_event(e) for e in events))


def _status(status: Any) -> str:
    value = str(getattr(status, "value", status)).upper()
    if value not in WebhookStatus.ALL:
        raise InvalidParameter(f"Invalid webhook status {status!r}: use 'ACTIVE' or 'DISABLED'.")
    return value


def _name(name: Any) -> str:
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise InvalidParameter(f"Webhook name {name!r} is invalid. It must start and end with a letter or digit, be "
                               "less than 63 characters long, and contain only letters, digits, dots (.), "
                               "underscores (_), and hyphens (-).")
    return name


class WebhookClientMixin:
    """The webhook methods of :class:`nbtrack.Client`."""

    _registry: Any

    def _webhooks(self) -> Any:
        found = getattr(self._registry, "webhooks", None)
        if found is None:
            raise NbtrackError(f"Registry webhooks are kept by the embedded (DuckDB) registry; this registry "
                               f"({type(self._registry).__name__}) keeps none. A tracking server delivers its "
                               "own: create them there.", error_code="NOT_IMPLEMENTED")
        return found

    def create_webhook(self, name: str, url: str, events: list[Any], description: str | None = None,
                       secret: str | None = None, status: Any = None) -> Webhook:
        """A webhook that receives an HTTP POST for each of ``events`` (``"model_version.created"``...),
        signed with ``secret`` (HMAC-SHA256) when one is given; ACTIVE unless ``status="DISABLED"``."""
        from nbtrack.store.webhook_delivery import check_url

        return self._webhooks().create(_name(name), check_url(url), _events(events),
                                       validation.optional_text(description, "description"),
                                       validation.optional_text(secret, "secret"),
                                       WebhookStatus.ACTIVE if status is None else _status(status))

    def get_webhook(self, webhook_id: str) -> Webhook:
        return self._webhooks().get(validation.text(webhook_id, "webhook_id", empty=False))

    def list_webhooks(self, max_results: int | None = None, page_token: str | None = None) -> PagedList[Webhook]:
        """The webhooks, newest first, ``max_results`` (1..1000, default 100) a page."""
        limit = 100 if max_results is None else max_results
        if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
            raise InvalidParameter("max_results must be between 1 and 1000.")
        offset = validation.page_token(page_token)
        found = self._webhooks().list(limit + 1, offset)
        if len(found) > limit:
            return PagedList(found[:limit], validation.encode_page_token(offset + limit))
        return PagedList(found, None)

    def update_webhook(self, webhook_id: str, name: str | None = None, description: str | None = None,
                       url: str | None = None, events: list[Any] | None = None, secret: str | None = None,
                       status: Any = None) -> Webhook:
        """Change what is given; the rest stays."""
        from nbtrack.store.webhook_delivery import check_url

        fields: dict[str, Any] = {}
        if name is not None:
            fields["name"] = _name(name)
        if description is not None:
            fields["description"] = validation.text(description, "description")
        if url is not None:
            fields["url"] = check_url(url)
        if events is not None:
            fields["events"] = _events(events)
        if secret is not None:
            fields["secret"] = validation.text(secret, "secret")
        if status is not None:
            fields["status"] = _status(status)
        return self._webhooks().update(validation.text(webhook_id, "webhook_id", empty=False), fields)

    def delete_webhook(self, webhook_id: str) -> None:
        self._webhooks().delete(validation.text(webhook_id, "webhook_id", empty=False))

    def test_webhook(self, webhook_id: str, event: Any = None) -> WebhookTestResult:
        """Send MLflow's example payload of ``event`` (the webhook's first event by default) now and
        say what came back; a failure is in the result, not raised."""
        from nbtrack.store.webhook_delivery import test_delivery

        webhook = self.get_webhook(webhook_id)
        chosen = webhook.events[0] if event is None else _event(event)
        return test_delivery(webhook, chosen, example_payload(chosen))
