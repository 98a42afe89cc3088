"""PagerDuty Events API v2: trigger, acknowledge and resolve with one `dedup_key` per case.

The events URL is the channel's `url` (default: PagerDuty's own endpoint), so tests and
proxies can point it elsewhere. A page or digest triggers, an acknowledgement
acknowledges, a recovery resolves; other kinds trigger an info event of their own.
"""

from __future__ import annotations

import json
from typing import Any

from monitor.config.records import Channel as ChannelConfig
from monitor.model import Level
from monitor.notify.channels._http import post
from monitor.notify.channels.base import ChannelContext
from monitor.notify.message import MessageKind, Outgoing

EVENTS_URL = "https://events.pagerduty.com/v2/enqueue"
_ACTIONS = {MessageKind.ACKNOWLEDGED: "acknowledge", MessageKind.RECOVERED: "resolve"}
_SEVERITY = {Level.A: "critical", Level.B: "error"}


def dedup_key(message: Outgoing) -> str:
    """One key per case (a digest: its id; anything else: the notification's own subject)."""
    return message.payload.case or message.key.split("/", 1)[0]


def pagerduty_body(message: Outgoing, routing_key: str) -> dict[str, Any]:
    payload = message.payload
    action = _ACTIONS.get(payload.kind, "trigger")
    body: dict[str, Any] = {
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(message),
    }
    if action != "trigger":
        return body
    body["payload"] = {
        "summary": message.rendered.subject[:1024],
        "source": payload.site_id or payload.site or "vakt",
        "severity": _SEVERITY.get(payload.level, "warning") if payload.level else "warning",
        "timestamp": payload.since.isoformat() if payload.since else None,
        "component": payload.site or None,
        "group": payload.customer or None,
        "custom_details": {
            "text": message.rendered.text,
            "evidence": [
                f"{e.check}: {e.detail or e.error} ({e.location})" for e in payload.evidence
            ],
            "respond_by": payload.respond_by.isoformat() if payload.respond_by else None,
        },
    }
    body["payload"] = {k: v for k, v in body["payload"].items() if v is not None}
    if payload.ack_url:
        body["links"] = [{"href": payload.ack_url, "text": "Acknowledge in Vakt"}]
    return body


class PagerDutyChannel:
    __slots__ = ("_ctx", "_name", "_routing_key", "_url")

    def __init__(self, config: ChannelConfig, ctx: ChannelContext) -> None:
        if not config.routing_key:
            raise ValueError(f"channel {config.name!r} needs a routing_key")
        self._name = config.name
        self._routing_key = config.routing_key
        self._url = config.url or EVENTS_URL
        self._ctx = ctx

    @property
    def name(self) -> str:
        return self._name

    async def send(self, message: Outgoing) -> None:
        body = json.dumps(pagerduty_body(message, self._routing_key)).encode()
        await post(self._ctx, self._url, body, {"Content-Type": "application/json"})

    async def close(self) -> None:
        return None
