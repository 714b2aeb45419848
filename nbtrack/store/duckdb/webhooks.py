"""Registry webhooks (MLflow 3) kept in the archive: create, read, update, delete, and
:meth:`WebhookStore.deliver`, which hands an event to :mod:`nbtrack.store.webhook_delivery` for every
ACTIVE webhook subscribed to it (the registry calls it after each change is committed)."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Sequence
from typing import Any

from nbtrack.entities import Webhook, WebhookEvent, WebhookStatus
from nbtrack.errors import NotFound
from nbtrack.store.duckdb.archive import Archive
from nbtrack.store.webhook_delivery import submit

__all__ = ["WebhookStore"]

_COLS = "webhook_id, name, url, events, description, status, secret, creation_timestamp, last_updated_timestamp"


def _now() -> int:
    return time.time_ns() // 1_000_000


class WebhookStore:
    """Create, read, update and delete webhooks, and deliver events to them."""

    def __init__(self, archive: Archive) -> None:
        self.archive = archive

    def create(self, name: str, url: str, events: Sequence[WebhookEvent], description: str | None,
               secret: str | None, status: str) -> Webhook:
        webhook_id, now = str(uuid.uuid4()), _now()
        with self.archive.writing() as con:
            con.execute("INSERT INTO arc.webhooks VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [webhook_id, name, url, json.dumps([str(e) for e in events]), description, status, secret,
                         now, now])
            return _read(con, webhook_id)

    def get(self, webhook_id: str) -> Webhook:
        with self.archive.reading() as con:
            return _read(con, webhook_id)

    def list(self, limit: int, offset: int) -> list[Webhook]:
        with self.archive.reading() as con:
            rows = con.execute(f"SELECT {_COLS} FROM arc.webhooks ORDER BY creation_timestamp DESC, webhook_id "
                               "LIMIT ? OFFSET ?", [limit, offset]).fetchall()
        return [_entity(r) for r in rows]

    def update(self, webhook_id: str, fields: dict[str, Any]) -> Webhook:
        if "events" in fields:
            fields = {**fields, "events": json.dumps([str(e) for e in fields["events"]])}
        with self.archive.writing() as con:
            _read(con, webhook_id)
            for column, value in fields.items():  # column names come from the caller's fixed set
                con.execute(f"UPDATE arc.webhooks SET {column} = ? WHERE webhook_id = ?", [value, webhook_id])
            con.execute("UPDATE arc.webhooks SET last_updated_timestamp = ? WHERE webhook_id = ?",
                        [_now(), webhook_id])
            return _read(con, webhook_id)

    def delete(self, webhook_id: str) -> None:
        with self.archive.writing() as con:
            _read(con, webhook_id)
            con.execute("DELETE FROM arc.webhooks WHERE webhook_id = ?", [webhook_id])

    def deliver(self, event: WebhookEvent, data: dict[str, Any]) -> None:
        """POST ``data`` to every active webhook subscribed to ``event``, in the background."""
        with self.archive.reading() as con:
            rows = con.execute(f"SELECT {_COLS} FROM arc.webhooks WHERE status = ? AND list_contains("
                               "CAST(json_extract_string(events, '$[*]') AS VARCHAR[]), ?)",
                               [WebhookStatus.ACTIVE, str(event)]).fetchall()
        for webhook in (_entity(r) for r in rows):
            submit(webhook, event, data)


def _read(con: Any, webhook_id: str) -> Webhook:
    rows = con.execute(f"SELECT {_COLS} FROM arc.webhooks WHERE webhook_id = ?", [webhook_id]).fetchall()
    if not rows:
        raise NotFound(f"Webhook with ID {webhook_id} not found. List webhooks with MlflowClient().list_webhooks().")
    return _entity(rows[0])


def _entity(r: Any) -> Webhook:
    events = [WebhookEvent(*e.split(".", 1)) for e in json.loads(r[3])]
    return Webhook(webhook_id=r[0], name=r[1], url=r[2], events=events, description=r[4], status=r[5], secret=r[6],
                   creation_timestamp=r[7], last_updated_timestamp=r[8])
