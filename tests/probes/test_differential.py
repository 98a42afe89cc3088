"""The lean HTTP client against aiohttp + Python's `ssl`, judged by a hand-written table.

Each case is a local server behaving one way; `EXPECTED` says, by hand, what a probe of it
must conclude: (verdict, error code). The lean client (through the real HTTP probe) and
aiohttp with a verifying `ssl` context must BOTH match the table: the oracle is the table,
not either client, so a bug the two share still fails here, and so does a quirk of one.

aiohttp has its own error taxonomy; `aiohttp_code` maps its exceptions to `ErrorCode` with
a small table in this file (it is the test's reading of aiohttp, not product code). Both
clients get the same limits: the probe's default expectations (status 200-399, at most 10
redirects, 1 MiB of body), one second in total, and the lean parser's 64 KiB head cap
(aiohttp's per-line caps are raised to it; its default is 8 KiB).
"""

from __future__ import annotations

import asyncio
import errno
import gzip
import ssl
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest

from monitor.config.records import HttpSpec
from monitor.demo.targets import CertKind, HostileFleet
from monitor.demo.targets.certs import CertFactory
from monitor.model import ErrorCode, Verdict
from monitor.probes import ProbeContext, run_probe
from monitor.probes.lean.parser import HEAD_CAP
from tests.probes.conftest import make_check

LIMIT = 1.0  # seconds per probe, for both clients
WELCOME = b"<html><body>Welcome to ACME shop</body></html>"
MARKER = "Welcome"  # every good body contains it; each probe asks for it

Outcome = tuple[Verdict, ErrorCode | None]
OK: Outcome = (Verdict.OK, None)


def failed(code: ErrorCode) -> Outcome:
    return (Verdict.FAILED, code)


# ---------------------------------------------------------------- a scripted raw server


def head(status: str, *headers: str, version: str = "HTTP/1.1") -> bytes:
    return ("\r\n".join([f"{version} {status}", *headers]) + "\r\n\r\n").encode()


def chunked(*pieces: bytes) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(p), p) for p in pieces) + b"0\r\n\r\n"


@dataclass(frozen=True, slots=True)
class Reply:
    """Raw bytes to answer with; `close` False keeps the connection open afterwards."""

    data: bytes
    close: bool = True


GZIPPED = gzip.compress(WELCOME)
SCRIPTS: dict[str, Reply] = {
    "/plain": Reply(head("200 OK", f"Content-Length: {len(WELCOME)}") + WELCOME),
    "/chunked": Reply(
        head("200 OK", "Transfer-Encoding: chunked") + chunked(WELCOME[:10], WELCOME[10:])
    ),
    "/bad-chunk": Reply(head("200 OK", "Transfer-Encoding: chunked") + b"zz\r\nxx\r\n0\r\n\r\n"),
    "/gzip": Reply(
        head("200 OK", "Content-Encoding: gzip", f"Content-Length: {len(GZIPPED)}") + GZIPPED
    ),
    "/bad-gzip": Reply(
        head("200 OK", "Content-Encoding: gzip", "Content-Length: 20") + b"\x1f\x8b" + b"x" * 18
    ),
    "/http10": Reply(head("200 OK", version="HTTP/1.0") + WELCOME),  # body until close
    "/until-close": Reply(head("200 OK", "Connection: close") + WELCOME),
    "/keep-alive": Reply(  # framed, then the server keeps the connection open
        head("200 OK", "Connection: keep-alive", f"Content-Length: {len(WELCOME)}") + WELCOME,
        close=False,
    ),
    "/extra-after-body": Reply(  # a framed body, then bytes nobody asked for
        head("200 OK", f"Content-Length: {len(WELCOME)}") + WELCOME + b"HTTP/1.1 500 Oops\r\n\r\n"
    ),
    "/gzip-chunked": Reply(
        head("200 OK", "Content-Encoding: gzip", "Transfer-Encoding: chunked")
        + chunked(GZIPPED[:7], GZIPPED[7:])
    ),
    "/keep-alive-204": Reply(head("204 No Content", "Connection: keep-alive"), close=False),
    "/cut-short": Reply(head("200 OK", "Content-Length: 1000") + WELCOME),
    "/no-response": Reply(b""),
    "/half-head": Reply(b"HTTP/1.1 200 OK\r\nContent-Le"),
    "/big-header": Reply(
        head("200 OK", "X-Big: " + "b" * (HEAD_CAP + 1024), f"Content-Length: {len(WELCOME)}")
        + WELCOME
    ),
    "/fair-header": Reply(  # 40 KiB: under the head cap, over aiohttp's 8 KiB default
        head("200 OK", "X-Big: " + "b" * 40_000, f"Content-Length: {len(WELCOME)}") + WELCOME
    ),
    "/redirect-relative": Reply(head("302 Found", "Location: /plain", "Content-Length: 0")),
    "/redirect-ftp": Reply(head("302 Found", "Location: ftp://127.0.0.1/x", "Content-Length: 0")),
    "/not-found": Reply(head("404 Not Found", "Content-Length: 0")),
}


class Scripted:
    """Answers each request with `SCRIPTS[path]`, byte for byte."""

    def __init__(self) -> None:
        self.port = 0
        self._server: asyncio.Server | None = None
        self._open: set[asyncio.StreamWriter] = set()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()
            return
        reply = SCRIPTS[request.split(b" ")[1].decode()]
        writer.write(reply.data)
        if reply.close:
            writer.close()
        else:
            self._open.add(writer)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def __aenter__(self) -> Scripted:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for writer in self._open:
            writer.close()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


# ------------------------------------------------------------------------- the corpus

Where = Callable[["Servers"], str]


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    url: Where
    expected: Outcome
    max_body_bytes: int = 1 << 20
    follow_redirects: int = 10
    contains: str | None = MARKER  # what the probe asks of the body (None: nothing)


@dataclass(slots=True)
class Servers:
    fleet: HostileFleet
    scripted: Scripted
    other_ca: CertFactory  # a CA nobody trusts


def script(path: str) -> Where:
    return lambda s: s.scripted.url(path)


def route(path: str) -> Where:
    return lambda s: s.fleet.url(path)


def tls(kind: CertKind) -> Where:
    return lambda s: s.fleet.tls_url(kind, host="127.0.0.1")


def refused(s: Servers) -> str:
    return f"http://127.0.0.1:{s.fleet.closed_port}/"


EXPECTED = (
    # plain HTTP/1.1 and its framings
    Case("content-length", script("/plain"), OK),
    Case("chunked", script("/chunked"), OK),
    Case("gzip", script("/gzip"), OK),
    Case("http/1.0, body until close", script("/http10"), OK),
    Case("http/1.1, no length, body until close", script("/until-close"), OK),
    Case("gzip in chunks", script("/gzip-chunked"), OK),
    Case("bytes after the framed body are ignored", script("/extra-after-body"), OK),
    Case("keep-alive: framed body, connection left open", script("/keep-alive"), OK),
    Case("keep-alive: 204 without body, left open", script("/keep-alive-204"), OK, contains=None),
    Case("a 40 KiB header (under the head cap)", script("/fair-header"), OK),
    # status and redirects
    Case("404", script("/not-found"), failed(ErrorCode.HTTP_STATUS)),
    Case("500", route("/status/500"), failed(ErrorCode.HTTP_STATUS)),
    Case("relative redirect", script("/redirect-relative"), OK),
    Case("three redirects", route("/redirect/3"), OK),
    Case("a redirect loop", route("/loop"), failed(ErrorCode.REDIRECTS)),
    Case("a redirect to ftp://", script("/redirect-ftp"), failed(ErrorCode.REDIRECTS)),
    Case(
        "a redirect not followed is an answer",
        route("/loop"),
        OK,
        follow_redirects=0,
        contains=None,
    ),
    # broken servers
    Case("a bad chunk size", script("/bad-chunk"), failed(ErrorCode.PROTOCOL)),
    Case("corrupt gzip", script("/bad-gzip"), failed(ErrorCode.PROTOCOL)),
    Case("not HTTP at all", route("/garbage"), failed(ErrorCode.PROTOCOL)),
    Case("a header over the head cap", script("/big-header"), failed(ErrorCode.PROTOCOL)),
    Case("closed before the length was sent", script("/cut-short"), failed(ErrorCode.RESET)),
    Case("closed without a response", script("/no-response"), failed(ErrorCode.RESET)),
    Case("closed in the middle of the head", script("/half-head"), failed(ErrorCode.RESET)),
    Case("reset (RST)", route("/reset"), failed(ErrorCode.RESET)),
    Case("refused", refused, failed(ErrorCode.REFUSED)),
    Case("accepts, never answers", route("/hang"), failed(ErrorCode.TIMEOUT)),
    Case("a body over the cap", script("/plain"), failed(ErrorCode.TOO_LARGE), max_body_bytes=10),
    Case("10 GiB announced", route("/huge"), failed(ErrorCode.TOO_LARGE)),
    # certificates (by IP address: the fleet's certificates name 127.0.0.1)
    Case("a valid certificate", tls(CertKind.VALID), OK),
    Case("an expired certificate", tls(CertKind.EXPIRED), failed(ErrorCode.TLS)),
    Case("a certificate for another host", tls(CertKind.WRONG_HOST), failed(ErrorCode.TLS)),
    Case("a self-signed certificate", tls(CertKind.SELF_SIGNED), failed(ErrorCode.TLS)),
)


# --------------------------------------------------------------------- the two clients


def aiohttp_code(exc: BaseException) -> ErrorCode:
    """aiohttp's exceptions read as Vakt's error codes (the test's mapping, first match)."""
    if isinstance(exc, TimeoutError):
        return ErrorCode.TIMEOUT
    if isinstance(exc, aiohttp.ClientSSLError | ssl.SSLError):
        return ErrorCode.TLS
    if isinstance(exc, aiohttp.TooManyRedirects | aiohttp.RedirectClientError):
        return ErrorCode.REDIRECTS
    if isinstance(exc, aiohttp.ClientConnectorError):
        refused = exc.os_error.errno == errno.ECONNREFUSED
        return ErrorCode.REFUSED if refused else ErrorCode.RESET
    if isinstance(exc, aiohttp.ServerDisconnectedError | aiohttp.ClientConnectionResetError):
        return ErrorCode.RESET
    if isinstance(exc, aiohttp.ClientPayloadError):
        # "not completed" (closed before the announced length) is the server going away;
        # a bad chunk or bad compression is a broken response
        return ErrorCode.RESET if "not completed" in str(exc) else ErrorCode.PROTOCOL
    if isinstance(exc, aiohttp.ClientResponseError):  # unparseable status line or header
        return ErrorCode.PROTOCOL
    if isinstance(exc, aiohttp.ClientOSError) and exc.errno in (errno.ECONNRESET, errno.EPIPE):
        return ErrorCode.RESET
    raise AssertionError(f"no ErrorCode for aiohttp's {exc!r}") from exc


class TooLarge(Exception):
    pass


async def read_capped(response: aiohttp.ClientResponse, cap: int) -> bytes:
    body = b""
    async for piece in response.content.iter_any():
        body += piece
        if len(body) > cap:
            raise TooLarge
    return body


def judge(status: int, body: bytes, contains: str | None) -> Outcome:
    """The probe's default expectations (status 200-399), then `body_contains`."""
    if not 200 <= status <= 399:
        return failed(ErrorCode.HTTP_STATUS)
    if contains is not None and contains.encode() not in body:
        return failed(ErrorCode.BODY)
    return OK


async def by_aiohttp(url: str, case: Case, trust: ssl.SSLContext) -> Outcome:
    connector = aiohttp.TCPConnector(ssl=trust, force_close=True)
    async with aiohttp.ClientSession(
        connector=connector, max_line_size=HEAD_CAP, max_field_size=HEAD_CAP
    ) as session:
        try:
            async with asyncio.timeout(LIMIT):
                async with session.get(
                    url,
                    allow_redirects=case.follow_redirects > 0,
                    max_redirects=case.follow_redirects,
                ) as response:
                    body = await read_capped(response, case.max_body_bytes)
        except TooLarge:
            return failed(ErrorCode.TOO_LARGE)
        except (aiohttp.ClientError, TimeoutError, ssl.SSLError) as exc:
            return (Verdict.FAILED, aiohttp_code(exc))
    return judge(response.status, body, case.contains)


async def by_lean(url: str, case: Case, ctx: ProbeContext) -> Outcome:
    spec = HttpSpec(
        url=url,
        body_contains=case.contains,
        max_body_bytes=case.max_body_bytes,
        follow_redirects=case.follow_redirects,
    )
    result = await run_probe(make_check(spec, timeout=LIMIT), ctx)
    return (result.verdict, result.error)


# ------------------------------------------------------------------------------ tests


@pytest.fixture
async def servers(fleet: HostileFleet, tmp_path: Path) -> AsyncIterator[Servers]:
    other = tmp_path / "other-ca"
    other.mkdir()
    async with Scripted() as scripted:
        yield Servers(fleet, scripted, await asyncio.to_thread(CertFactory, other))


@pytest.fixture
def trust(fleet: HostileFleet) -> ssl.SSLContext:
    """Python's `ssl`, verifying, trusting the fleet's CA as the lean context does."""
    return ssl.create_default_context(cafile=fleet.ca_file)


async def test_both_clients_conclude_what_the_table_says_for_every_server(
    servers: Servers, ctx: ProbeContext, trust: ssl.SSLContext
) -> None:
    async def both(case: Case) -> tuple[str, Outcome, Outcome, Outcome]:
        url = case.url(servers)
        lean, other = await asyncio.gather(by_lean(url, case, ctx), by_aiohttp(url, case, trust))
        return case.name, case.expected, lean, other

    rows = await asyncio.gather(*(both(case) for case in EXPECTED))
    wrong = [row for row in rows if not row[1] == row[2] == row[3]]
    assert wrong == [], "(case, expected, lean, aiohttp) where a client disagrees with the table"
    assert len(rows) == len(EXPECTED) == len({case.name for case in EXPECTED})


# ------------------------------------------------ certificates that change between probes


class Rotating:
    """An HTTPS target (the fleet's pages) whose certificate is replaced between probes:
    each new handshake presents the chain loaded last."""

    def __init__(self, fleet: HostileFleet) -> None:
        self.fleet = fleet
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.url = ""
        self._server: asyncio.Server | None = None

    def serve(self, pem_file: str) -> None:
        self.context.load_cert_chain(pem_file)

    async def __aenter__(self) -> Rotating:
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            self.fleet.http.protocol, "127.0.0.1", 0, ssl=self.context
        )
        self.url = f"https://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/"
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


def leaf(certs: CertFactory, name: str) -> str:
    """A fresh valid leaf (new key) of `certs`' CA, kept under its own file name."""
    path = Path(certs.issue(CertKind.VALID))
    kept = path.with_name(f"{name}.pem")
    path.rename(kept)
    return str(kept)


# Each sequence: the chain served before each probe (by key of `chains`), and what the
# probe must conclude. Both clients keep their state across a sequence (the lean context
# with its verification cache, aiohttp its `ssl` context), over fresh connections.
SEQUENCES = {
    "untrusted root": (("other", failed(ErrorCode.TLS)),),
    "rotated key, same name and CA": (("first", OK), ("rotated", OK), ("first", OK)),
    "a trusted chain replaced by an untrusted root": (
        ("first", OK),
        ("other", failed(ErrorCode.TLS)),
        ("first", OK),
    ),
    "a trusted chain replaced by a self-signed one": (
        ("first", OK),
        ("self", failed(ErrorCode.TLS)),
    ),
    "a trusted chain replaced by an expired one": (
        ("first", OK),
        ("expired", failed(ErrorCode.TLS)),
    ),
}


@pytest.mark.parametrize("sequence", SEQUENCES)
async def test_both_clients_follow_a_certificate_that_changes_between_probes(
    sequence: str, servers: Servers, ctx: ProbeContext, trust: ssl.SSLContext
) -> None:
    certs = servers.fleet.certs
    assert certs is not None
    chains = {
        "first": leaf(certs, "first"),
        "rotated": leaf(certs, "rotated"),
        "other": leaf(servers.other_ca, "other"),
        "self": certs.issue(CertKind.SELF_SIGNED),
        "expired": certs.issue(CertKind.EXPIRED),
    }
    case = Case(sequence, lambda _s: "", OK)
    seen = []
    async with Rotating(servers.fleet) as target:
        for chain, expected in SEQUENCES[sequence]:
            target.serve(chains[chain])
            lean = await by_lean(target.url, case, ctx)
            other = await by_aiohttp(target.url, case, trust)
            seen.append((chain, expected, lean, other))
    assert [row for row in seen if not row[1] == row[2] == row[3]] == []
