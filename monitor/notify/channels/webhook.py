"""Webhook: a documented JSON body (`monitor/notify/webhook.schema.json`), signed.

Headers: `X-Vakt-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the
channel secret>` when a secret is configured, and `Idempotency-Key: <SHA-256 of the
dedupe key>`, the same on every attempt at the same notification, so a receiver can drop
the rare repeat. Extra `headers:` from the channel config are sent as given.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

from monitor.config.records import Channel as ChannelConfig
from monitor.notify.channels._http import post, require_url
from monitor.notify.channels.base import ChannelContext
from monitor.notify.message import Outgoing, Payload

SCHEMA_VERSION = 1


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _incident_fields(payload: Payload) -> dict[str, Any]:
    return {
        "case": payload.case,
        "site": payload.site,
        "site_id": payload.site_id,
        "customer": payload.customer,
        "level": payload.level,
        "previous_level": payload.previous_level,
        "status": payload.status,
        "since": _iso(payload.since),
        "respond_by": _iso(payload.respond_by),
        "resolved_at": _iso(payload.resolved_at),
        "ack_url": payload.ack_url,
        "evidence": [
            {"check": e.check, "error": e.error, "detail": e.detail, "location": e.location}
            for e in payload.evidence
        ],
        "incidents": [
            {
                "case": i.case,
                "site": i.site,
                "level": i.level.value,
                "since": i.since.isoformat(),
                "ack_url": i.ack_url,
            }
            for i in payload.incidents
        ],
    }


def webhook_body(message: Outgoing, sent_at: datetime) -> dict[str, Any]:
    """The body as documented by the JSON schema (version 1)."""
    payload = message.payload
    body: dict[str, Any] = {
        "version": SCHEMA_VERSION,
        "id": message.key_hash,
        "key": message.key,
        "kind": payload.kind.value,
        "subject": message.rendered.subject,
        "text": message.rendered.text,
        "sent_at": sent_at.isoformat(),
        **_incident_fields(payload),
    }
    for name in ("warning", "title", "note"):
        if getattr(payload, name):
            body[name] = getattr(payload, name)
    return body


def signature(secret: str, body: bytes) -> str:
    """The `X-Vakt-Signature` header value for `body`."""
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class WebhookChannel:
    __slots__ = ("_ctx", "_headers", "_name", "_secret", "_url")

    def __init__(self, config: ChannelConfig, ctx: ChannelContext) -> None:
        self._name = config.name
        self._url = require_url(config.url, config.name)
        self._secret = config.secret
        self._headers = dict(config.headers)
        self._ctx = ctx

    @property
    def name(self) -> str:
        return self._name

    async def send(self, message: Outgoing) -> None:
        body = json.dumps(webhook_body(message, self._ctx.clock.now())).encode()
        headers = {
            **self._headers,
            "Content-Type": "application/json",
            "Idempotency-Key": message.key_hash,
        }
        if self._secret:
            headers["X-Vakt-Signature"] = signature(self._secret, body)
        await post(self._ctx, self._url, body, headers)

    async def close(self) -> None:
        return None
