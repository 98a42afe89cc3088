"""A small, cheap HTTP/1.1 server (raw asyncio protocol) that misbehaves on request.

Paths select behaviour (see `ROUTES`); `/sites/<name>/...` serve controllable sites
whose `SiteMode` the fleet owns and the demo switches at runtime. Every connection is
closed after one response, like the probes' fresh connections.
"""

from __future__ import annotations

import asyncio
import json
import socket
import struct
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import cast

WELCOME = b"<html><body><h1>Welcome to ACME shop</h1></body></html>"
ERROR_PAGE = b"<html><body><h1>Fatal error</h1><p>Database connection failed.</p></body></html>"
HUGE = 10 * 1024**3  # the advertised size of /huge: 10 GiB
_CHUNK = b"x" * 65536
_REASONS = {200: "OK", 302: "Found", 404: "Not Found", 500: "Internal Server Error"}


class SiteState(StrEnum):
    HEALTHY = "healthy"
    ERROR = "error"  # 500 on every page
    SLOW = "slow"  # answers `slow_factor` times slower than `latency`
    DOWN = "down"  # closes connections without answering
    BROKEN_CHECKOUT = "broken_checkout"  # home fine, /checkout answers 500


@dataclass(slots=True)
class SiteMode:
    """A controllable site's behaviour; change the fields while the fleet runs."""

    state: SiteState = SiteState.HEALTHY
    latency: float = 0.0  # seconds before every answer when healthy
    slow_factor: float = 5.0
    hits: int = 0
    heal_after: int | None = None  # hits left in `state` before it turns healthy by itself

    def break_for(self, state: SiteState, hits: int) -> None:
        """Be in `state` for exactly the next `hits` requests, then healthy again: a
        fault of a known number of probes, however late the prober runs."""
        self.state, self.heal_after = state, hits


@dataclass(slots=True)
class Request:
    method: str
    path: str
    headers: dict[str, str] = field(default_factory=dict)


def response(status: int, body: bytes, content_type: str = "text/html", **headers: str) -> bytes:
    reason = _REASONS.get(status, "Status")
    lines = [
        f"HTTP/1.1 {status} {reason}",
        f"Content-Type: {content_type}",
        f"Content-Length: {len(body)}",
        "Connection: close",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


_OK = response(200, WELCOME)


def parse(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    method, _, rest = lines[0].partition(" ")
    path = rest.rpartition(" ")[0] or rest
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method, path, headers)


class Connection(asyncio.Protocol):
    """One client connection: read one request head, then run its behaviour."""

    def __init__(self, server: HttpTarget) -> None:
        self.server = server
        self.transport: asyncio.Transport | None = None
        self.buffer = b""
        self.handled = False
        self.task: asyncio.Task[None] | None = None
        self.writable = asyncio.Event()
        self.writable.set()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport
        self.transport = cast(asyncio.Transport, transport)
        self.server.connections.add(self)

    def data_received(self, data: bytes) -> None:
        if self.handled or self.transport is None:
            return
        if not self.buffer and data[:1] == b"\x16":  # a TLS ClientHello on the plain port
            self.handled = True
            self.send(response(400, b"plain HTTP port"))
            return
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        self.handled = True
        head = self.buffer[:end]
        if head.startswith(b"GET / HTTP/1.1\r\n"):  # the fast path the benchmark uses
            self.transport.write(_OK)
            self.transport.close()
            return
        self.task = asyncio.get_running_loop().create_task(self.server.serve(self, parse(head)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.server.connections.discard(self)
        self.writable.set()
        if self.task is not None:
            self.task.cancel()

    def pause_writing(self) -> None:
        self.writable.clear()

    def resume_writing(self) -> None:
        self.writable.set()

    def send(self, data: bytes, *, close: bool = True) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(data)
            if close:
                self.transport.close()

    async def stream(self, chunk: bytes) -> None:
        """Write `chunk` forever, as fast as the client reads (until it goes away)."""
        while self.transport is not None and not self.transport.is_closing():
            await self.writable.wait()
            self.transport.write(chunk)
            await asyncio.sleep(0)

    def reset(self) -> None:
        """Close with a TCP RST instead of a FIN."""
        if self.transport is None:
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


Behaviour = Callable[[Connection, Request, list[str]], Awaitable[None]]


async def _ok(conn: Connection, _req: Request, _args: list[str]) -> None:
    conn.send(_OK)


async def _status(conn: Connection, _req: Request, args: list[str]) -> None:
    code = int(args[0]) if args and args[0].isdigit() else 500
    conn.send(response(code, f"status {code}".encode()))


async def _slow(conn: Connection, _req: Request, args: list[str]) -> None:
    await asyncio.sleep(float(args[0]) if args else 1.0)
    conn.send(_OK)


async def _slow_headers(conn: Connection, _req: Request, _args: list[str]) -> None:
    conn.send(b"HTTP/1.1 200 OK\r\n", close=False)
    while True:  # slowloris: one header byte at a time, never finishing the head
        await asyncio.sleep(0.2)
        conn.send(b"X", close=False)


async def _endless(conn: Connection, _req: Request, _args: list[str]) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
    conn.send(head, close=False)
    await conn.stream(b"%x\r\n" % len(_CHUNK) + _CHUNK + b"\r\n")


async def _huge(conn: Connection, _req: Request, _args: list[str]) -> None:
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {HUGE}"
    conn.send(head.encode() + b"\r\n\r\n", close=False)
    await conn.stream(_CHUNK)


async def _loop(conn: Connection, _req: Request, _args: list[str]) -> None:
    conn.send(response(302, b"", Location="/loop"))


async def _redirect(conn: Connection, _req: Request, args: list[str]) -> None:
    hops = int(args[0]) if args and args[0].isdigit() else 1
    target = f"/redirect/{hops - 1}" if hops > 1 else "/"
    conn.send(response(302, b"", Location=target))


async def _reset(conn: Connection, _req: Request, _args: list[str]) -> None:
    conn.reset()


async def _hang(_conn: Connection, _req: Request, _args: list[str]) -> None:
    await asyncio.Event().wait()  # accept, read the request, never answer


async def _error_page(conn: Connection, _req: Request, _args: list[str]) -> None:
    conn.send(response(200, ERROR_PAGE))


_JSON = {
    "ok": {"status": "ok", "checks": {"db": "ok"}, "version": 3},
    "error": {"status": "error", "checks": {"db": "down"}, "version": 3},
}


async def _json(conn: Connection, _req: Request, args: list[str]) -> None:
    name = args[0] if args else "ok"
    document = _JSON.get(name)
    if name == "deep":  # 50,000 nested arrays: a recursive decoder runs out of stack
        body = b"[" * 50_000 + b"]" * 50_000
    else:
        body = json.dumps(document).encode() if document else b'{"status": "ok",'
    conn.send(response(200, body, "application/json"))


async def _garbage(conn: Connection, _req: Request, _args: list[str]) -> None:
    conn.send(b"SSH-2.0-OpenSSH_9.6\r\n\r\n")


async def _echo_headers(conn: Connection, req: Request, _args: list[str]) -> None:
    conn.send(response(200, json.dumps(req.headers).encode(), "application/json"))


ROUTES: dict[str, Behaviour] = {
    "": _ok,
    "ok": _ok,
    "status": _status,
    "slow": _slow,
    "slow-headers": _slow_headers,
    "endless": _endless,
    "huge": _huge,
    "loop": _loop,
    "redirect": _redirect,
    "reset": _reset,
    "hang": _hang,
    "error-page": _error_page,
    "json": _json,
    "garbage": _garbage,
    "echo-headers": _echo_headers,
}


class HttpTarget:
    """Routes requests to behaviours; owns the controllable sites' modes."""

    def __init__(self) -> None:
        self.sites: dict[str, SiteMode] = {}
        self.connections: set[Connection] = set()
        self.requests = 0

    def abort_all(self) -> None:
        """Drop every open connection (at shutdown: hanging behaviours never end)."""
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.abort()

    def site(self, name: str) -> SiteMode:
        """The mode of `/sites/<name>/`, created healthy on first use."""
        return self.sites.setdefault(name, SiteMode())

    def protocol(self) -> Connection:
        return Connection(self)

    async def serve(self, conn: Connection, req: Request) -> None:
        self.requests += 1
        parts = req.path.split("?", 1)[0].strip("/").split("/")
        if parts[0] == "sites" and len(parts) >= 2:
            await self._site(conn, self.site(parts[1]), parts[2:])
            return
        behaviour = ROUTES.get(parts[0])
        if behaviour is None:
            conn.send(response(404, b"not found"))
            return
        await behaviour(conn, req, parts[1:])

    async def _site(self, conn: Connection, mode: SiteMode, rest: list[str]) -> None:
        mode.hits += 1
        state = mode.state  # this request's, even when the mode changes while it waits
        if mode.heal_after is not None:
            mode.heal_after -= 1
            if mode.heal_after <= 0:
                mode.state, mode.heal_after = SiteState.HEALTHY, None
        if state is SiteState.DOWN:
            conn.reset()
            return
        delay = mode.latency * (mode.slow_factor if state is SiteState.SLOW else 1.0)
        if delay:
            await asyncio.sleep(delay)
        broken = state is SiteState.ERROR or (
            state is SiteState.BROKEN_CHECKOUT and rest[:1] == ["checkout"]
        )
        conn.send(response(500, ERROR_PAGE) if broken else _OK)
