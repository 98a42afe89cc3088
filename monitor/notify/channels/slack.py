"""Slack: an incoming webhook, with blocks and an acknowledge link button."""

from __future__ import annotations

import json
from typing import Any

from monitor.config.records import Channel as ChannelConfig
from monitor.notify.channels._http import post, require_url
from monitor.notify.channels.base import ChannelContext
from monitor.notify.message import Outgoing

_MAX_SECTION = 2900  # Slack rejects section text over 3,000 characters


def slack_body(message: Outgoing) -> dict[str, Any]:
    """The webhook JSON: a header, the text as a section, and an Acknowledge button."""
    rendered = message.rendered
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": rendered.subject[:150]}},
        {"type": "section", "text": {"type": "mrkdwn", "text": rendered.text[:_MAX_SECTION]}},
    ]
    if message.payload.ack_url:
        button = {
            "type": "button",
            "style": "danger",
            "text": {"type": "plain_text", "text": "Acknowledge"},
            "url": message.payload.ack_url,
            "action_id": "vakt-ack",
        }
        blocks.append({"type": "actions", "elements": [button]})
    return {"text": rendered.subject, "blocks": blocks}


class SlackChannel:
    __slots__ = ("_ctx", "_name", "_url")

    def __init__(self, config: ChannelConfig, ctx: ChannelContext) -> None:
        self._name = config.name
        self._url = require_url(config.url, config.name)
        self._ctx = ctx

    @property
    def name(self) -> str:
        return self._name

    async def send(self, message: Outgoing) -> None:
        body = json.dumps(slack_body(message)).encode()
        await post(self._ctx, self._url, body, {"Content-Type": "application/json"})

    async def close(self) -> None:
        return None
