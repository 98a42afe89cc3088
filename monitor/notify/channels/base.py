"""The one seam every channel implements, its error, and what a channel is built from.

A channel delivers one `Outgoing` message or raises `DeliveryError`:
`permanent=True` when sending again cannot help (a 4xx other than 408/429, an SMTP 5xx,
no address), `permanent=False` when it might (a 5xx, 408, 429, a timeout, a refused or
reset connection, an SMTP 4xx). Anything else escaping `send` is a bug.

Every channel bounds its own network work with `asyncio.timeout(ctx.timeout)`.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Protocol

import aiohttp

from monitor.clock import Clock, SystemClock
from monitor.config.records import Channel as ChannelConfig
from monitor.config.records import EmailSettings
from monitor.notify.message import Outgoing


class DeliveryError(Exception):
    """A delivery failed. `permanent`: do not retry (the dispatcher marks the row failed)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent

    @property
    def message(self) -> str:
        return str(self.args[0])


class Channel(Protocol):
    """Delivers messages to one destination (an SMTP relay, a webhook URL...)."""

    @property
    def name(self) -> str: ...

    async def send(self, message: Outgoing) -> None:
        """Deliver `message` once, or raise `DeliveryError`."""
        ...

    async def close(self) -> None:
        """Release connections (idempotent)."""
        ...


@dataclass(frozen=True, slots=True)
class ChannelContext:
    """What channels share: one HTTP session, the clock (for `sent_at` stamps), the email
    settings, the send timeout, and a user agent for HTTP requests."""

    session: aiohttp.ClientSession
    clock: Clock = field(default_factory=SystemClock)
    email: EmailSettings = field(default_factory=EmailSettings)
    timeout: timedelta = timedelta(seconds=10)
    user_agent: str = "vakt-notify"
    smtp_tls_context: ssl.SSLContext | None = None  # None: the system's trusted CAs


ChannelFactory = Callable[[ChannelConfig, ChannelContext], Channel]
"""Builds a channel from its config record (`channels:` in checks.yaml) and the context."""

TRANSIENT_HTTP = frozenset({408, 429})


def classify_http(status: int, body: str) -> DeliveryError | None:
    """None for a 2xx; else the error: 4xx permanent (but 408/429), anything else transient."""
    if 200 <= status < 300:
        return None
    permanent = 400 <= status < 500 and status not in TRANSIENT_HTTP
    excerpt = " ".join(body.split())[:200]
    detail = f"HTTP {status}" + (f": {excerpt}" if excerpt else "")
    return DeliveryError(detail, permanent=permanent)
