"""Listener limits: slow clients are cut off, and each listener holds a bounded number of
connections (issue 16 item 2; DESIGN.md trust rule 4).

aiohttp has no header or body timeout (a client that sends one header line every 10 s
holds its connection, and a descriptor, forever) and no connection limit; its
`keepalive_timeout` only closes a connection idle *after* a response. So each accepted
connection gets a small `asyncio.Protocol` in front of aiohttp's request handler that
watches the bytes as they arrive, without parsing what aiohttp parses:

- the head (request line and headers) must be complete `header_timeout` after its first
  byte (after the connection opened, for the first request);
- a declared body (`Content-Length`, or chunked up to its last chunk) must be complete
  `body_timeout` after the head;
- between requests, aiohttp's own keep-alive timer closes the connection after
  `idle_timeout` (passed to it as `keepalive_timeout`);
- a connection over `max_connections` is closed as soon as it is accepted.

The handler's own time is never limited: a slow report or a long query is not a slow
client. A cut connection is aborted without a response (as a proxy would).
"""

from __future__ import annotations

import asyncio
import logging
import re
import resource
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum
from typing import Any, cast

from aiohttp import web

from monitor.config.records import WebLimits

log = logging.getLogger(__name__)

HEAD_LIMIT = 64 * 1024  # bytes; aiohttp refuses far shorter heads (8 KiB lines)
RESERVED_DESCRIPTORS = 64  # store, logs, DNS, SMTP, the listeners themselves
MIN_CONNECTIONS = 16  # per listener, however small the descriptor limit

_LENGTH = re.compile(rb"\r?\ncontent-length[ \t]*:[ \t]*(\d+)", re.IGNORECASE)
_CHUNKED = re.compile(rb"\r?\ntransfer-encoding[ \t]*:[^\r\n]*chunked", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ListenerLimits:
    """Seconds, and connections per listener (`settings.web.limits`, resolved)."""

    header_timeout: float = 10.0
    body_timeout: float = 30.0
    idle_timeout: float = 60.0
    max_connections: int = 1024


def raise_descriptor_limit() -> int:
    """Raise the soft RLIMIT_NOFILE to the hard limit; the soft limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft == resource.RLIM_INFINITY:
        return soft if soft != resource.RLIM_INFINITY else 1 << 20
    if soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # a platform cap below the hard limit (macOS)
            return soft
        soft = hard
    return soft


def listener_limits(limits: WebLimits, probe_concurrency: int) -> ListenerLimits:
    """`settings.web.limits` resolved against the descriptor limit in force now."""
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    budget = connection_budget(
        1 << 20 if soft == resource.RLIM_INFINITY else soft, probe_concurrency
    )
    resolved = ListenerLimits(
        header_timeout=limits.header_timeout.total_seconds(),
        body_timeout=limits.body_timeout.total_seconds(),
        idle_timeout=limits.idle_timeout.total_seconds(),
        max_connections=limits.max_connections or budget,
    )
    log.info(
        "vakt.fd_limit",
        extra={"soft_limit": soft, "max_connections": resolved.max_connections},
    )
    return resolved


def connection_budget(soft_limit: int, probe_concurrency: int) -> int:
    """Connections each of the two listeners may hold: (soft − probes − 64) ÷ 2.

    Probes keep their descriptors: a flood of clients can never leave a healthy site's
    probe without a socket. At least `MIN_CONNECTIONS`, however small the limit.
    """
    spare = soft_limit - probe_concurrency - RESERVED_DESCRIPTORS
    return max(MIN_CONNECTIONS, spare // 2)


class Dropped(StrEnum):
    """Why the guard closed a connection (a metrics label)."""

    OVER_LIMIT = "over_limit"  # more than `max_connections`
    SLOW_HEAD = "slow_head"  # the head took longer than `header_timeout` (or grew too large)
    SLOW_BODY = "slow_body"  # the body took longer than `body_timeout`


class _Phase(Enum):
    HEAD = 1  # reading a request head
    BODY = 2  # reading a body of known length
    CHUNKED = 3  # reading a chunked body up to its last chunk
    WAITING = 4  # a request is complete: aiohttp's handler and keep-alive own the time


class ConnectionGuard:
    """One listener's limits: the protocol factory wrapper and its counters."""

    __slots__ = ("_on_drop", "cut", "limits", "open", "refused")

    def __init__(
        self, limits: ListenerLimits, on_drop: Callable[[Dropped], None] | None = None
    ) -> None:
        self.limits = limits
        self._on_drop = on_drop  # e.g. a metric per reason
        self.open = 0  # connections held now
        self.refused = 0  # closed at once: over `max_connections`
        self.cut = 0  # aborted: a head or body too slow (or a head too large)

    def dropped(self, reason: Dropped) -> None:
        if reason is Dropped.OVER_LIMIT:
            self.refused += 1
        else:
            self.cut += 1
        if self._on_drop is not None:
            self._on_drop(reason)

    def wrap(self, factory: Callable[[], asyncio.Protocol]) -> Callable[[], asyncio.Protocol]:
        """A protocol factory for `loop.create_server` around aiohttp's."""
        return lambda: _Guarded(self, factory())


class _Guarded(asyncio.Protocol):
    """aiohttp's request handler behind the guard's deadlines (see the module doc)."""

    __slots__ = (
        "_buffer",
        "_counted",
        "_guard",
        "_inner",
        "_left",
        "_phase",
        "_timer",
        "_transport",
    )

    def __init__(self, guard: ConnectionGuard, inner: asyncio.Protocol) -> None:
        self._guard = guard
        self._inner = inner
        self._phase = _Phase.HEAD
        self._buffer = b""  # the head so far (HEAD), or the last bytes seen (CHUNKED)
        self._left = 0  # body bytes still due (BODY)
        self._timer: asyncio.TimerHandle | None = None
        self._transport: asyncio.Transport | None = None
        self._counted = False

    # -- asyncio.Protocol -------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)
        guard = self._guard
        if guard.open >= guard.limits.max_connections:
            guard.dropped(Dropped.OVER_LIMIT)
            self._transport.abort()
            return
        guard.open += 1
        self._counted = True
        self._inner.connection_made(transport)
        self._deadline(guard.limits.header_timeout)

    def data_received(self, data: bytes) -> None:
        if not self._counted:
            return
        self._watch(data)
        if self._transport is not None and not self._transport.is_closing():
            self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        if not self._counted:
            return None
        return self._inner.eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if not self._counted:
            return
        self._counted = False
        self._guard.open -= 1
        self._inner.connection_lost(exc)

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    # -- the watch ----------------------------------------------------------------------

    def _watch(self, data: bytes) -> None:
        while data:
            phase = self._phase
            if phase is _Phase.WAITING:  # the next request's first byte
                self._phase, self._buffer = _Phase.HEAD, b""
                self._deadline(self._guard.limits.header_timeout)
                continue
            if phase is _Phase.HEAD:
                data = self._head(data)
            elif phase is _Phase.BODY:
                taken = min(self._left, len(data))
                self._left -= taken
                data = data[taken:]
                if not self._left:
                    self._waiting()
            else:
                self._chunk(data)
                data = b""

    def _head(self, data: bytes) -> bytes:
        """Take head bytes; returns what follows the head, once it is complete."""
        start = max(len(self._buffer) - 3, 0)
        buffer = self._buffer + data
        end = buffer.find(b"\r\n\r\n", start)
        if end < 0:
            if len(buffer) > HEAD_LIMIT:
                self._cut()
                return b""
            self._buffer = buffer
            return b""
        head, rest = buffer[: end + 2], buffer[end + 4 :]
        self._buffer = b""
        if _CHUNKED.search(head):
            self._phase = _Phase.CHUNKED
            self._deadline(self._guard.limits.body_timeout)
            return rest
        length = _LENGTH.search(head)
        self._left = int(length.group(1)) if length else 0
        if not self._left:
            self._waiting()
            return rest
        self._phase = _Phase.BODY
        self._deadline(self._guard.limits.body_timeout)
        return rest

    def _chunk(self, data: bytes) -> None:
        seen = self._buffer + data
        if seen.endswith(b"0\r\n\r\n"):  # the last chunk, no trailers
            self._waiting()
        else:
            self._buffer = seen[-5:]

    def _waiting(self) -> None:
        self._phase, self._buffer = _Phase.WAITING, b""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _deadline(self, seconds: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        loop = asyncio.get_running_loop()
        self._timer = loop.call_later(seconds, self._cut)

    def _cut(self) -> None:
        self._timer = None
        slow_body = self._phase in (_Phase.BODY, _Phase.CHUNKED)
        self._guard.dropped(Dropped.SLOW_BODY if slow_body else Dropped.SLOW_HEAD)
        if self._transport is not None:
            self._transport.abort()


class GuardedSite(web.TCPSite):
    """`web.TCPSite` whose connections pass through a `ConnectionGuard`."""

    __slots__ = ("guard",)

    def __init__(
        self, runner: web.BaseRunner, host: str, port: int, guard: ConnectionGuard
    ) -> None:
        super().__init__(runner, host, port)
        self.guard = guard

    async def start(self) -> None:
        await web.BaseSite.start(self)
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.guard.wrap(cast(Callable[[], asyncio.Protocol], server)),
            self._host,
            self._port,
            backlog=self._backlog,
            reuse_address=self._reuse_address,
            reuse_port=self._reuse_port,
        )


def runner_options(limits: ListenerLimits) -> dict[str, Any]:
    """`web.AppRunner` keyword arguments for `limits`: aiohttp's keep-alive = idle."""
    return {"keepalive_timeout": limits.idle_timeout}
