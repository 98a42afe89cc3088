"""ntfy: POST the text to the topic URL; priority by level, title, tags, an ack action."""

from __future__ import annotations

from email.header import Header

from monitor.config.records import Channel as ChannelConfig
from monitor.model import Level
from monitor.notify.channels._http import post, require_url
from monitor.notify.channels.base import ChannelContext
from monitor.notify.message import MessageKind, Outgoing, Payload

PRIORITY = {Level.A: "urgent", Level.B: "high"}  # anything else: "default"
_TAGS = {Level.A: "rotating_light", Level.B: "warning"}
_QUIET = frozenset({MessageKind.RECOVERED, MessageKind.ACKNOWLEDGED})


def ntfy_headers(message: Outgoing, token: str | None) -> dict[str, str]:
    """Title, Priority (A urgent/5, B high/4, else default/3), Tags, and an ack action."""
    payload = message.payload
    priority, tag = _priority_and_tag(payload)
    headers = {
        "Title": _header_text(message.rendered.subject),
        "Priority": priority,
        "Tags": tag,
        "Content-Type": "text/plain; charset=utf-8",
    }
    if payload.ack_url and payload.kind not in _QUIET:
        headers["Actions"] = f"view, Acknowledge, {payload.ack_url}, clear=true"
        headers["Click"] = payload.ack_url
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _priority_and_tag(payload: Payload) -> tuple[str, str]:
    if payload.kind in _QUIET:
        return "default", "white_check_mark"
    if payload.level is None:
        return "default", "information_source"
    return PRIORITY[payload.level], _TAGS[payload.level]


def _header_text(text: str) -> str:
    # HTTP headers are Latin-1; ntfy decodes RFC 2047 encoded words for anything else.
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return Header(text, "utf-8").encode()
    return text


class NtfyChannel:
    __slots__ = ("_ctx", "_name", "_token", "_url")

    def __init__(self, config: ChannelConfig, ctx: ChannelContext) -> None:
        self._name = config.name
        self._url = require_url(config.url, config.name)
        self._token = config.token
        self._ctx = ctx

    @property
    def name(self) -> str:
        return self._name

    async def send(self, message: Outgoing) -> None:
        headers = ntfy_headers(message, self._token)
        await post(self._ctx, self._url, message.rendered.text.encode(), headers)

    async def close(self) -> None:
        return None
