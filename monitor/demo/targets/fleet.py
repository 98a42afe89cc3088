"""The target fleet: every hostile and controllable target on loopback, in-process.

    async with HostileFleet(tmp_path) as fleet:
        fleet.url("/reset")                      # plain HTTP behaviours (see http.ROUTES)
        fleet.tls_url(CertKind.EXPIRED)          # TLS listeners, one per certificate kind
        fleet.resolver                           # the fleet's DNS server (HostPort)
        fleet.http.site("shop").state = SiteState.DOWN   # switch a site at runtime

Ports are random; names under `vakt.test` resolve through `fleet.resolver` only.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
from collections.abc import Callable
from pathlib import Path
from typing import cast

from monitor.config.records import HostPort
from monitor.demo.targets.certs import CertFactory, CertKind
from monitor.demo.targets.dns import DnsServer, Zone
from monitor.demo.targets.http import HttpTarget

DOMAIN = "vakt.test"


class _Banner(asyncio.Protocol):
    """A Redis-like service: greets nobody, answers `PING` with `+PONG`."""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports do not subclass asyncio.Transport
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        if b"PING" in data:
            self.transport.write(b"+PONG\r\n")


class _Silent(asyncio.Protocol):
    """Accepts and then says nothing, ever."""


def default_zone(host: str) -> Zone:
    zone = Zone()
    zone.add(f"shop.{DOMAIN}", "A", "127.0.0.1")
    zone.add(f"shop.{DOMAIN}", "AAAA", "::1")
    zone.add(f"www.{DOMAIN}", "CNAME", f"shop.{DOMAIN}")
    zone.add(DOMAIN, "MX", f"10 mail.{DOMAIN}")
    zone.add(DOMAIN, "TXT", "v=spf1 -all")
    zone.add(DOMAIN, "NS", f"ns1.{DOMAIN}", f"ns2.{DOMAIN}")
    zone.add(f"localhost.{DOMAIN}", "A", host)
    # a name that points somewhere wrong: nothing listens on 127.0.0.2 at the fleet's ports
    zone.add(f"wrong.{DOMAIN}", "A", "127.0.0.2")
    return zone


def reserve_port(host: str) -> socket.socket:
    """A socket bound to a free port with SO_REUSEADDR and never listening; close it when
    done. While it is open the kernel gives the port to nobody else (no bind to port 0, no
    outgoing connection's source port), so connecting to it is refused, yet a server that
    binds with SO_REUSEADDR (asyncio and aiohttp do) can still listen on it. Binding port
    0 and releasing it at once would leave the port up for grabs until that server binds."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, 0))
    except OSError:
        sock.close()
        raise
    return sock


def port_of(sock: socket.socket) -> int:
    port: int = sock.getsockname()[1]
    return port


class HostileFleet:
    """Starts every target on `host` (loopback) with certificates written to `directory`."""

    def __init__(self, directory: Path, host: str = "127.0.0.1") -> None:
        self.directory = directory
        self.host = host
        self.http = HttpTarget()
        self.certs: CertFactory | None = None
        self.port = 0
        self.tls_ports: dict[CertKind, int] = {}
        self.banner_port = 0
        self.silent_port = 0
        self.closed_port = 0  # reserved (nothing listens), so connecting is refused
        self.dns = DnsServer(default_zone(host), host=host)
        self._servers: list[asyncio.Server] = []
        self._closed: socket.socket | None = None

    @property
    def ca_file(self) -> str:
        assert self.certs is not None, "the fleet is not running"
        return self.certs.ca_file

    @property
    def resolver(self) -> HostPort:
        return HostPort(self.dns.host, self.dns.port)

    def url(self, path: str = "/", host: str | None = None) -> str:
        return f"http://{self._netloc(host or self.host, self.port)}{path}"

    def tls_url(self, kind: CertKind = CertKind.VALID, path: str = "/", host: str = "") -> str:
        return f"https://{self._netloc(host or 'localhost', self.tls_ports[kind])}{path}"

    @staticmethod
    def _netloc(host: str, port: int) -> str:
        return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"

    async def _listen(
        self, factory: Callable[[], asyncio.BaseProtocol], context: ssl.SSLContext | None = None
    ) -> int:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(factory, self.host, 0, backlog=4096, ssl=context)
        self._servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    async def __aenter__(self) -> HostileFleet:
        self.certs = await asyncio.to_thread(CertFactory, self.directory)
        self.port = await self._listen(self.http.protocol)
        for kind in CertKind:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(await asyncio.to_thread(self.certs.issue, kind))
            self.tls_ports[kind] = await self._listen(self.http.protocol, context)
        self.banner_port = await self._listen(_Banner)
        self.silent_port = await self._listen(_Silent)
        self._closed = reserve_port(self.host)
        self.closed_port = port_of(self._closed)
        await self.dns.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.dns.__aexit__(*exc)
        for server in self._servers:
            server.close()
        self.http.abort_all()
        for server in self._servers:
            await server.wait_closed()
        self._servers.clear()
        if self._closed is not None:
            self._closed.close()
            self._closed = None
