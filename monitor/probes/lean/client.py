"""The lean HTTP/1.1 client: one fresh connection per request, every phase timed.

Built on an `asyncio.Protocol` (uvloop's transports in production): resolve through the
shared `CachingResolver`, connect with happy eyeballs (RFC 8305, as aiohttp does: 250 ms
stagger, families interleaved), TLS with verification on the shared `SSLContext`, write
the request in one call, parse the response as it arrives, abort the connection as soon
as the response is complete or the body is over its cap. Timeouts are the caller's
(`asyncio.timeout`); cancellation closes the connection.
"""

from __future__ import annotations

import asyncio
import codecs
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Protocol, cast

import aiodns
import aiohappyeyeballs
from cryptography import x509

from monitor.model import ErrorCode
from monitor.probes.certs import explain
from monitor.probes.lean.decoding import Body
from monitor.probes.lean.errors import (
    FetchError,
    connect_error,
    dns_error,
    exchange_error,
    handshake_error,
    raise_if_local,
    redirect_error,
)
from monitor.probes.lean.parser import Failure, Head, ResponseParser
from monitor.probes.lean.peek import peer_certificate
from monitor.probes.lean.request import (
    REDIRECT_STATUSES,
    Hop,
    Target,
    build_request,
    next_hop,
    parse_url,
)
from monitor.probes.lean.source import ANY, Source
from monitor.probes.lean.tls import TlsConnection, TlsContext, TlsError
from monitor.probes.phases import Phases
from monitor.probes.resolver import CachingResolver
from monitor.probes.targets import AddressClass, TargetPolicy, most_public

HAPPY_EYEBALLS_DELAY = 0.25  # seconds before racing the next address (aiohttp's default)
_FAMILIES: dict[int | None, socket.AddressFamily] = {
    None: socket.AF_UNSPEC,
    4: socket.AF_INET,
    6: socket.AF_INET6,
}

PREPARED_LIMIT = 1 << 17  # distinct first requests kept built (more than checks per process)
_RequestKey = tuple[str, str, tuple[tuple[str, str], ...], bytes | None]

AddrInfo = tuple[int, int, int, str, tuple[str, int] | tuple[str, int, int, int]]


@dataclass(frozen=True, slots=True)
class Response:
    """The final response of an exchange. `body` is None when it exceeded the cap."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    url: str
    address: str | None
    cert_not_after: datetime | None

    def header(self, name: str) -> str | None:
        """The first value of header `name` (case-insensitive), or None."""
        key = name.lower()
        for field, value in self.headers:
            if field == key:
                return value
        return None

    @property
    def charset(self) -> str | None:
        """The `charset` of `Content-Type` when Python knows it, else None."""
        content_type = self.header("content-type") or ""
        for param in content_type.split(";")[1:]:
            name, _, value = param.partition("=")
            if name.strip().lower() == "charset":
                return _known_codec(value.strip().strip('"'))
        return None


def _known_codec(name: str) -> str | None:
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


class _Exchange(asyncio.Protocol):
    """Feeds one connection's bytes to a parser; `finished` resolves when it is done."""

    __slots__ = ("_head_seen", "_phases", "error", "finished", "parser")

    def __init__(self, parser: ResponseParser, phases: Phases, finished: asyncio.Future[None]):
        self.parser = parser
        self.finished = finished
        self.error: Exception | None = None
        self._phases = phases
        self._head_seen = False

    @classmethod
    def new(cls, method: str, cap: int, phases: Phases) -> _Exchange:
        """An exchange for a `method` request whose body is read up to `cap` bytes."""
        parser = ResponseParser(Body(cap), head_request=method == "HEAD")
        return cls(parser, phases, asyncio.get_running_loop().create_future())

    def data_received(self, data: bytes) -> None:
        parser = self.parser
        parser.feed(data)
        if not self._head_seen and parser.head is not None:
            self._head_seen = True
            self._phases.headers_received()
        if parser.done:
            self._finish()

    def eof_received(self) -> bool:
        self.parser.feed_eof()
        self._finish()
        return False  # close the transport

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None and not self.parser.done:
            self.error = exc
        else:
            self.parser.feed_eof()
        self._finish()

    def _finish(self) -> None:
        if not self.finished.done():
            self.finished.set_result(None)


_READ = 1 << 16  # plaintext bytes taken from the TLS object per read call


class _Tls(asyncio.Protocol):
    """TLS over memory buffers on a plain connection, in front of an `_Exchange`.

    The handshake and the records are driven here, on the transport the event loop made
    in one step, instead of by the loop's TLS transport (uvloop's costs a second
    transport, 256 KiB of buffers and several callbacks per record; a third of a probe's
    time beside the handshake itself). `handshaken` resolves when the handshake is done
    or fails (`TlsError`, or the connection's end).
    """

    __slots__ = (
        "_exchange",
        "_hold",
        "_ready",
        "_transport",
        "handshaken",
        "tls",
    )

    def __init__(
        self,
        exchange: _Exchange,
        context: TlsContext,
        server_name: str,
        handshaken: asyncio.Future[None],
    ) -> None:
        self._exchange = exchange
        self.tls = context.connect(server_name)
        self.handshaken = handshaken
        self._ready = False  # the handshake succeeded
        self._hold = False  # keep our Finished until the request goes with it
        self._transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.Transport, transport)

    def start(self) -> None:
        """Send the ClientHello (after the connect phase was timed)."""
        self._handshake()

    def get_extra_info(self, name: str, default: object = None) -> object:
        assert self._transport is not None
        return self._transport.get_extra_info(name, default)

    def write(self, data: bytes) -> None:
        self._hold = False
        self.tls.write(data)
        self._flush()

    def abort(self) -> None:
        if self._transport is not None:
            self._transport.abort()

    def data_received(self, data: bytes) -> None:
        try:
            self.tls.feed(data)
        except TlsError as exc:
            self.connection_lost(exc)
            return
        if not self._ready:
            if self.handshaken.done():
                return  # failed or given up: nothing more to read
            self._handshake()
            if not self._ready:
                return
        self._decrypt()

    def eof_received(self) -> bool:
        if self._ready:
            self._exchange.eof_received()
        else:
            self._fail(ConnectionResetError("Connection lost"))
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._ready:
            self._exchange.connection_lost(exc)
        else:
            self._fail(exc or ConnectionResetError("Connection lost"))

    def _fail(self, exc: BaseException) -> None:
        if not self.handshaken.done():
            self.handshaken.set_exception(exc)

    def _handshake(self) -> None:
        try:
            done = self.tls.handshake()
        except TlsError as exc:
            self._flush()  # the alert tells the server why
            self._fail(exc)
            return
        if not done:
            self._flush()
            return
        # Our Finished waits for the request: one segment, one send call for both (the
        # server reads neither before the other anyway).
        self._ready = self._hold = True
        if not self.handshaken.done():
            self.handshaken.set_result(None)

    def _decrypt(self) -> None:
        read, exchange = self.tls.read, self._exchange
        while True:
            try:
                chunk = read()
            except TlsError as exc:
                exchange.connection_lost(exc)
                break
            if chunk is None:
                break
            if not chunk:
                exchange.eof_received()
                break
            exchange.data_received(chunk)
            if exchange.finished.done():
                break
        self._flush()

    def _flush(self) -> None:
        if self._transport is not None and not self._hold:
            data = self.tls.outgoing()
            if data:
                self._transport.write(data)


class _Unvouched(Exception):
    """A connection made without verification showed a certificate not known to be good."""


class _Writer(Protocol):
    """What an exchange writes its request to and aborts: a transport, or `_Tls`."""

    def write(self, data: bytes) -> None: ...

    def abort(self) -> None: ...


_RefusedKey = tuple[str, int, str, int]  # address, port, server name, verify code


class RefusedCertificates:
    """Certificates read to explain a refusal, kept `ttl` seconds (at most `size` of them).

    Every check of a site with an expired certificate fails the same way; reading the
    certificate again for each of them would double their handshakes for nothing.
    Concurrent refusals of one key share one read; a waiter that is cancelled (its probe
    timed out) does not cancel the read, which `READ_LIMIT` bounds.
    """

    READ_LIMIT = 10.0  # seconds

    __slots__ = ("_entries", "_now", "_pending", "_size", "_ttl")

    def __init__(self, now: Callable[[], float], ttl: float = 60.0, size: int = 1024) -> None:
        self._now = now
        self._ttl = ttl
        self._size = size
        self._entries: dict[_RefusedKey, tuple[float, x509.Certificate]] = {}
        self._pending: dict[_RefusedKey, asyncio.Future[x509.Certificate | None]] = {}

    async def get(
        self, key: _RefusedKey, read: Callable[[], Awaitable[x509.Certificate | None]]
    ) -> x509.Certificate | None:
        """The certificate for `key`: kept, being read, or read now with `read()`."""
        entry = self._entries.get(key)
        if entry is not None and entry[0] > self._now():
            return entry[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._bounded(read))
            self._pending[key] = pending
            pending.add_done_callback(partial(self._read, key))
        return await asyncio.shield(pending)

    async def _bounded(
        self, read: Callable[[], Awaitable[x509.Certificate | None]]
    ) -> x509.Certificate | None:
        try:
            async with asyncio.timeout(self.READ_LIMIT):
                return await read()
        except TimeoutError:
            return None

    def _read(self, key: _RefusedKey, done: asyncio.Future[x509.Certificate | None]) -> None:
        del self._pending[key]
        if done.cancelled() or done.exception() is not None:
            return
        cert = done.result()
        if cert is None:
            return  # not reachable again: ask next time
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[key] = (self._now() + self._ttl, cert)


class LeanClient:
    """HTTP/1.1 for probes. Build one per process (see `ProbeContext`) and share it.

    `fetch` returns the final `Response` or raises `FetchError` (code, detail) for any
    failure the target is to blame for; anything else is a bug.
    """

    __slots__ = (
        "_insecure",
        "_policy",
        "_prepared",
        "_refused",
        "_resolver",
        "_source",
        "_tls",
        "_user_agent",
    )

    def __init__(
        self,
        resolver: CachingResolver,
        tls: TlsContext,
        user_agent: str,
        now: Callable[[], float],
        unverified: TlsContext | None = None,
        policy: TargetPolicy | None = None,
        source: Source = ANY,
    ) -> None:
        self._resolver = resolver
        self._source = source  # the local address of every connection (`--probe-source-address`)
        self._policy = policy or TargetPolicy()  # where probes may connect
        self._tls = tls
        # `verify_tls: false`, reading refused certificates, and vouched-for connections
        self._insecure = unverified or TlsContext(verify=False)
        self._user_agent = user_agent
        self._refused = RefusedCertificates(now)  # monotonic seconds
        self._prepared: dict[_RequestKey, Hop] = {}

    async def fetch(
        self,
        url: str,
        phases: Phases,
        *,
        method: str = "GET",
        headers: tuple[tuple[str, str], ...] = (),
        body: bytes | None = None,
        follow_redirects: int = 10,
        max_body_bytes: int = 1 << 20,
        ip_version: int | None = None,
        verify_tls: bool = True,
    ) -> Response:
        """Request `url`, following up to `follow_redirects` redirects (0: none)."""
        hop = self._first_hop(url, method.upper(), headers, body)
        family = _FAMILIES.get(ip_version, socket.AF_UNSPEC)
        source: AddressClass | None = None  # the most public class this fetch has been on
        for hops in range(follow_redirects + 1):
            response = await self._exchange(hop, phases, family, verify_tls, max_body_bytes, source)
            location = response.header("location")
            if not follow_redirects or response.status not in REDIRECT_STATUSES or not location:
                return response
            if hops == follow_redirects:
                break
            if response.address is not None:
                kind = self._policy.address_class(response.address, hop.target.port)
                source = most_public(source, kind)
            phases.waiting_for = "a redirect target"
            hop = next_hop(hop, response.status, location)
        raise redirect_error(f"more than {follow_redirects} redirects")

    def _first_hop(
        self, url: str, method: str, headers: tuple[tuple[str, str], ...], body: bytes | None
    ) -> Hop:
        """The first request of a fetch, parsed and built once per distinct request.

        A check sends the same request at every probe: parsing its URL and building its
        bytes each time cost ~5 % of a plain probe. At most `PREPARED_LIMIT` are kept
        (then all are dropped), a few hundred bytes each.
        """
        key = (url, method, headers, body)
        hop = self._prepared.get(key)
        if hop is not None:
            return hop
        try:
            target = parse_url(url)
        except ValueError as exc:
            raise FetchError.protocol(f"cannot request {url}: {exc}") from exc
        wire = build_request(method, target, headers, body, self._user_agent)
        hop = Hop(method, target, headers, body, wire)
        if len(self._prepared) >= PREPARED_LIMIT:
            self._prepared.clear()
        self._prepared[key] = hop
        return hop

    async def _exchange(
        self,
        hop: Hop,
        phases: Phases,
        family: socket.AddressFamily,
        verify: bool,
        cap: int,
        source: AddressClass | None,
    ) -> Response:
        request = hop.wire or build_request(
            hop.method, hop.target, hop.headers, hop.body, self._user_agent
        )
        exchange = _Exchange.new(hop.method, cap, phases)
        target = hop.target
        addresses = await self._addresses(target, family, phases, source)
        try:
            transport = await self._open(target, addresses, exchange, phases, verify)
        except _Unvouched:  # a certificate not verified lately: verify it, on a new connection
            exchange = _Exchange.new(hop.method, cap, phases)
            transport = await self._open(target, addresses, exchange, phases, verify, False)
        try:
            try:
                transport.write(request)
            except TlsError as exc:  # the connection broke right after the handshake
                raise exchange_error(exchange.error or exc) from None
            await exchange.finished
        finally:
            transport.abort()
        return _response(hop.target, exchange, phases)

    async def _open(
        self,
        target: Target,
        addresses: list[AddrInfo],
        exchange: _Exchange,
        phases: Phases,
        verify: bool,
        vouch: bool = True,
    ) -> _Writer:
        """A connection to `target` with `exchange` on it, TLS done when it is https.

        With `verify`, a server name whose chain the verifying context knows (its
        `verified`) is connected to without verification, and the chain it shows must be
        one of those known (else `_Unvouched`: the caller connects again with `vouch`
        False, verifying)."""
        phases.begin("a connection")
        loop = asyncio.get_running_loop()
        protocol: _Exchange | _Tls = exchange
        vouched = False
        if target.tls:
            name = target.host.rstrip(".")
            vouched = verify and vouch and self._tls.verified.knows(name)
            context = self._tls if verify and not vouched else self._insecure
            try:
                protocol = _Tls(exchange, context, name, loop.create_future())
            except TlsError as exc:
                raise FetchError(ErrorCode.TLS, exc.reason) from None
        try:
            transport = await _connect(addresses, protocol, self._source)
        except (OSError, RuntimeError) as exc:  # uvloop may raise RuntimeError
            _release(exc)
            raise connect_error(_as_os_error(exc), target.host, target.port) from None
        phases.add_connect()
        if isinstance(protocol, _Tls):  # the handshake is a phase of its own
            phases.begin("the TLS handshake")
            try:
                await self._secure(target, protocol)
                not_after = self._certified(protocol.tls, verify, vouched)
            except BaseException:
                protocol.abort()  # also when the caller's timeout cancels the handshake
                raise
            phases.add_tls()
            phases.connected(transport, not_after)
            writer: _Writer = protocol
        else:
            phases.connected(transport, None)
            writer = cast(asyncio.Transport, transport)  # uvloop's do not subclass it
        phases.waiting_for = "the response headers"
        return writer

    async def _addresses(
        self,
        target: Target,
        family: socket.AddressFamily,
        phases: Phases,
        source: AddressClass | None,
    ) -> list[AddrInfo]:
        """The addresses to connect to: resolved, and permitted by the target policy."""
        host, port = target.host, target.port
        if target.is_ip:
            own = socket.AF_INET6 if ":" in host else socket.AF_INET
            if family not in (socket.AF_UNSPEC, own):
                raise dns_error(host, "an address of the other IP version")
            refusal = self._policy.refusal(host, port, source)
            if refusal is not None:
                raise FetchError(ErrorCode.BLOCKED, refusal)
            return [_addr_info(own, host, port)]
        phases.begin("the name to resolve")
        try:
            answer = await self._resolver.lookup(host, family)
        except aiodns.error.DNSError as exc:
            raise_if_local()
            raise dns_error(host, exc.args[1] if len(exc.args) > 1 else str(exc)) from exc
        phases.add_dns()
        if not answer:
            raise dns_error(host, "no address")
        permitted, refusal = [], None
        for node_family, address in answer:
            why = self._policy.refusal(address, port, source, host)
            if why is None:
                permitted.append(_addr_info(node_family, address, port))
            else:
                refusal = refusal or why
        if not permitted:
            raise FetchError(ErrorCode.BLOCKED, refusal or f"{host}: no permitted address")
        return permitted

    def _certified(self, tls: TlsConnection, verify: bool, vouched: bool) -> datetime | None:
        """The notAfter of the certificate of a finished handshake; raises `_Unvouched`
        when it was made without verification and the certificate is not a known one."""
        if not vouched:
            if verify:  # OpenSSL verified it just now
                self._tls.verified.add(tls.server_name, tls)
            return tls.not_after()
        known, not_after = self._tls.verified.vouch(tls.server_name, tls.chain_der())
        if not known:
            raise _Unvouched
        return not_after

    async def _secure(self, target: Target, tls: _Tls) -> None:
        """Finish `tls`'s handshake, or raise the `FetchError` that says why it failed."""
        tls.start()
        try:
            await tls.handshaken
        except TlsError as exc:
            _release(exc)
            if not exc.verify_code:
                raise handshake_error(exc, target.host, target.port) from None
            name = tls.tls.server_name
            peer = tls.get_extra_info("peername")
            address = str(peer[0]) if isinstance(peer, tuple) else target.host
            key = (address, target.port, name, exc.verify_code)
            cert = await self._refused.get(
                key,
                partial(peer_certificate, self._insecure, address, target.port, name, self._source),
            )
            raise FetchError(ErrorCode.TLS, explain(exc, cert, name)) from None
        except OSError as exc:
            _release(exc)
            raise handshake_error(exc, target.host, target.port) from None


async def _connect(
    addresses: list[AddrInfo], protocol: asyncio.Protocol, source: Source
) -> asyncio.BaseTransport:
    """A connection to the first address that answers, with `protocol` on it, from
    `source`.

    One address lets the event loop make the socket and the transport in one go (uvloop:
    in C), which costs about half of a socket connected first and wrapped after; several
    race (happy eyeballs), then the winner is wrapped.
    """
    loop = asyncio.get_running_loop()
    if len(addresses) == 1:
        family, _, _, _, address = addresses[0]
        transport, _ = await loop.create_connection(
            lambda: protocol,
            address[0],
            address[1],
            family=family,
            local_addr=source.local_addr(family),
        )
        return transport
    sock = await aiohappyeyeballs.start_connection(
        addresses,
        happy_eyeballs_delay=HAPPY_EYEBALLS_DELAY,
        interleave=1,
        local_addr_infos=source.local_infos(),
    )
    transport, _ = await loop.create_connection(lambda: protocol, sock=sock)
    return transport


def _release(exc: BaseException) -> None:
    """Drop `exc`'s traceback before it becomes a `FetchError`.

    asyncio's connection frames hold the future that holds `exc`: a reference cycle that
    keeps each failed TLS connection's buffers (256 KiB) alive until the cyclic garbage
    collector runs, which under a burst of failing handshakes leaves RSS tens of MB high.
    A target failure is a value; its traceback is worth nothing to anyone.
    """
    exc.__traceback__ = None


def _addr_info(family: int, address: str, port: int) -> AddrInfo:
    sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
    return (family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", sockaddr)


def _as_os_error(exc: OSError | RuntimeError) -> OSError:
    return exc if isinstance(exc, OSError) else OSError(None, str(exc))


def _response(target: Target, exchange: _Exchange, phases: Phases) -> Response:
    parser = exchange.parser
    if exchange.error is not None:
        raise exchange_error(exchange.error)
    if parser.failure is Failure.MALFORMED:
        raise FetchError.protocol(parser.detail)
    if parser.failure is not None or parser.head is None:
        # the server closed before the response was complete
        raise FetchError(ErrorCode.RESET, parser.detail)
    head: Head = parser.head
    return Response(
        head.status,
        head.headers,
        parser.body.value(),
        target.url,
        phases.address,
        phases.cert_not_after,
    )
