"""The lean client against real loopback servers: requests, redirects, decoding, phases."""

from __future__ import annotations

import asyncio
import gzip
import os
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import pytest

from monitor.config.records import HttpSpec
from monitor.demo.targets import DOMAIN, CertKind, HostileFleet
from monitor.model import ErrorCode, ProbeResult, Verdict
from monitor.probes import ProbeContext, run_probe
from monitor.probes.lean import FetchError, Response
from monitor.probes.phases import Phases
from tests.probes.conftest import make_check
from tests.probes.test_memory import hostile_specs


class Canned:
    """A loopback server that records each request and answers from `replies` by path."""

    def __init__(self) -> None:
        self.requests: list[bytes] = []
        self.replies: dict[str, bytes] = {}
        self.port = 0
        self._server: asyncio.Server | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            (
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ),
            0,
        )
        request = head + await reader.readexactly(length)
        self.requests.append(request)
        path = head.split(b" ")[1].decode()
        writer.write(self.replies.get(path, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"))
        await writer.drain()
        writer.close()

    async def __aenter__(self) -> Canned:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()


@pytest.fixture
async def canned() -> AsyncIterator[Canned]:
    async with Canned() as server:
        yield server


def reply(status: int, body: bytes = b"", **headers: str) -> bytes:
    lines = [f"HTTP/1.1 {status} X", f"Content-Length: {len(body)}"]
    lines += [f"{name.replace('_', '-')}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


async def fetch(ctx: ProbeContext, url: str, **options: object) -> tuple[Response, Phases]:
    phases = Phases(ctx.clock.monotonic)
    async with asyncio.timeout(5):
        response = await ctx.http.fetch(url, phases, **options)  # type: ignore[arg-type]
    return response, phases


async def test_request_carries_method_headers_body_and_vakt_defaults(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/api?q=1"] = reply(200, b"ok")
    response, _ = await fetch(
        ctx,
        canned.url("/api?q=1"),
        method="POST",
        headers=(("Accept", "application/json"), ("X-Token", "t")),
        body=b'{"q":"x"}',
    )
    assert (response.status, response.body) == (200, b"ok")
    head, _, body = canned.requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /api?q=1 HTTP/1.1"
    fields = {
        name.lower(): value for name, _, value in (line.partition(": ") for line in lines[1:])
    }
    assert fields["host"] == f"127.0.0.1:{canned.port}"
    assert fields["user-agent"].startswith("Vakt/")
    assert fields["connection"] == "close"
    assert fields["accept"] == "application/json"  # the check's header wins over the default
    assert fields["x-token"] == "t"
    assert fields["content-length"] == "9"
    assert body == b'{"q":"x"}'


async def test_gzip_responses_are_decoded(ctx: ProbeContext, canned: Canned) -> None:
    packed = gzip.compress(b"Welcome to ACME")
    canned.replies["/"] = reply(200, packed, Content_Encoding="gzip")
    response, _ = await fetch(ctx, canned.url("/"))
    assert response.body == b"Welcome to ACME"
    assert b"accept-encoding: gzip, deflate" in canned.requests[0].lower()


async def test_relative_and_absolute_redirects_are_followed(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/a/start"] = reply(301, Location="next")
    canned.replies["/a/next"] = reply(302, Location=canned.url("/end"))
    canned.replies["/end"] = reply(200, b"done")
    response, _ = await fetch(ctx, canned.url("/a/start"))
    assert (response.status, response.body, response.url) == (200, b"done", canned.url("/end"))
    assert [r.split(b" ")[1] for r in canned.requests] == [b"/a/start", b"/a/next", b"/end"]


async def test_see_other_turns_a_post_into_a_get_without_body(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/form"] = reply(303, Location="/thanks")
    canned.replies["/thanks"] = reply(200, b"thanks")
    response, _ = await fetch(ctx, canned.url("/form"), method="POST", body=b"x=1")
    assert response.body == b"thanks"
    second = canned.requests[1]
    assert second.startswith(b"GET /thanks HTTP/1.1")
    assert b"content-length" not in second.lower()


async def test_redirect_to_a_non_http_url_fails_with_redirects(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/"] = reply(302, Location="ftp://files.example/")
    with pytest.raises(FetchError) as caught:
        await fetch(ctx, canned.url("/"))
    assert (caught.value.code, caught.value.detail) == (
        ErrorCode.REDIRECTS,
        "redirect to an invalid URL: ftp://files.example/",
    )


async def test_a_redirect_without_location_is_the_final_response(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/"] = reply(302, b"moved")
    response, _ = await fetch(ctx, canned.url("/"))
    assert (response.status, response.body) == (302, b"moved")


async def test_phases_of_an_https_request_by_name(ctx: ProbeContext, fleet: HostileFleet) -> None:
    url = f"https://localhost.{DOMAIN}:{fleet.tls_ports[CertKind.VALID]}/"
    response, phases = await fetch(ctx, url, verify_tls=False)
    timings = phases.timings()
    assert response.status == 200
    assert response.address == "127.0.0.1"
    assert timings.dns is not None
    assert timings.connect is not None
    assert timings.tls is not None
    assert timings.first_byte is not None
    assert timings.dns + timings.connect + timings.tls <= timings.first_byte <= timings.total


async def test_plain_http_by_ip_has_no_dns_or_tls_phase(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    _, phases = await fetch(ctx, fleet.url("/"))
    timings = phases.timings()
    assert (timings.dns, timings.tls) == (None, None)
    assert timings.connect is not None


async def test_an_unknown_charset_falls_back_to_none(ctx: ProbeContext, canned: Canned) -> None:
    canned.replies["/"] = reply(200, b"x", Content_Type="text/html; charset=klingon")
    canned.replies["/l1"] = reply(200, b"x", Content_Type='text/html; charset="latin-1"')
    unknown, _ = await fetch(ctx, canned.url("/"))
    latin, _ = await fetch(ctx, canned.url("/l1"))
    assert (unknown.charset, latin.charset) == (None, "latin-1")


async def test_the_probe_decodes_the_body_with_the_declared_charset(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/"] = reply(
        200, "Velkommen til Ærø".encode("latin-1"), Content_Type="text/html; charset=latin-1"
    )
    check = make_check(HttpSpec(url=canned.url("/"), body_contains="Ærø"))
    result = await run_probe(check, ctx)
    assert result.verdict is Verdict.OK, result.detail


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


async def settle_fds(at_most: int) -> None:
    """Wait until closing transports (ours and the in-process servers' ends) have finished
    and at most `at_most` descriptors are open; a leak never gets there (fails after 10 s)."""
    async with asyncio.timeout(10):
        while _open_fds() > at_most:  # noqa: ASYNC110 - the kernel closes, nothing signals
            await asyncio.sleep(0.02)


async def test_hostile_targets_leave_no_open_connections(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    checks = [make_check(spec, timeout=0.2) for spec in hostile_specs(fleet)]
    await asyncio.gather(*(run_probe(c, ctx) for c in checks))  # warm up resolvers
    before = _open_fds()
    for _ in range(3):
        results = await asyncio.gather(*(run_probe(c, ctx) for c in checks))
        assert all(r.verdict is Verdict.FAILED for r in results)
    await settle_fds(before)  # closing transports finish on later loop turns
    assert _open_fds() <= before


async def test_a_server_that_resets_mid_body_is_a_reset(ctx: ProbeContext) -> None:
    async def cut(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(cut, "127.0.0.1", 0)
    port = cast(int, server.sockets[0].getsockname()[1])
    try:
        result = await run_probe(make_check(HttpSpec(url=f"http://127.0.0.1:{port}/")), ctx)
    finally:
        server.close()
        await server.wait_closed()
    assert (result.error, result.detail) == (ErrorCode.RESET, "response body was cut short")
    assert result.timings.first_byte is not None


@pytest.mark.parametrize(
    ("path", "code", "detail"),
    [
        ("/reset", ErrorCode.RESET, "reset"),
        ("/hang", ErrorCode.TIMEOUT, "while waiting for the response headers"),
        ("/garbage", ErrorCode.PROTOCOL, ""),
        ("/huge", ErrorCode.TOO_LARGE, ""),
        ("/status/503", ErrorCode.HTTP_STATUS, "503"),
    ],
)
async def test_hostile_behaviours_over_tls_fail_as_they_do_in_plain_http(
    ctx: ProbeContext, fleet: HostileFleet, path: str, code: ErrorCode, detail: str
) -> None:
    """The records are decrypted by the client itself: every failure after the handshake
    must come out as it does over plain HTTP."""
    plain = await run_probe(make_check(HttpSpec(url=fleet.url(path)), timeout=0.5), ctx)
    secure = await run_probe(make_check(HttpSpec(url=fleet.tls_url(path=path)), timeout=0.5), ctx)
    assert secure.verdict is plain.verdict
    assert secure.error is plain.error
    assert secure.timings.tls is not None
    assert detail in secure.detail


async def test_https_to_a_plain_http_port_fails_the_handshake(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    result = await run_probe(
        make_check(HttpSpec(url=f"https://localhost:{fleet.port}/"), timeout=2.0), ctx
    )
    assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.TLS)
    assert result.detail.startswith(f"TLS handshake with localhost:{fleet.port} failed: ")


Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def probe_https_served_by(
    handler: Handler, ctx: ProbeContext, host: str
) -> tuple[ProbeResult, int]:
    """An HTTPS probe of `host` on a loopback server that runs `handler` per connection."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port: int = server.sockets[0].getsockname()[1]
    try:
        result = await run_probe(make_check(HttpSpec(url=f"https://{host}:{port}/")), ctx)
    finally:
        server.close()
        await server.wait_closed()
    return result, port


async def test_a_server_that_closes_during_the_handshake_fails_the_probe(
    ctx: ProbeContext,
) -> None:
    async def close_at_once(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read(1)  # the ClientHello
        writer.close()

    result, port = await probe_https_served_by(close_at_once, ctx, "127.0.0.1")
    assert result.verdict is Verdict.FAILED
    assert result.error in (ErrorCode.TLS, ErrorCode.RESET)
    assert f"127.0.0.1:{port}" in result.detail


async def test_many_https_probes_at_once_all_succeed_and_report_the_certificate(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    check = make_check(HttpSpec(url=fleet.tls_url()))
    results = await asyncio.gather(*(run_probe(check, ctx) for _ in range(40)))
    assert {r.verdict for r in results} == {Verdict.OK}
    assert all(r.cert_not_after is not None and r.timings.tls is not None for r in results)


@pytest.mark.parametrize("version", [ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3])
async def test_https_works_with_tls_1_2_and_1_3_servers(
    ctx: ProbeContext, fleet: HostileFleet, version: ssl.TLSVersion
) -> None:
    """TLS 1.2 ends the handshake with the server's Finished, 1.3 with the client's (which
    the client sends together with the request): both must carry a request through."""
    assert fleet.certs is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = context.maximum_version = version
    context.load_cert_chain(fleet.certs.issue(CertKind.VALID))
    loop = asyncio.get_running_loop()
    server = await loop.create_server(fleet.http.protocol, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    try:
        result = await run_probe(make_check(HttpSpec(url=f"https://localhost:{port}/")), ctx)
    finally:
        server.close()
        await server.wait_closed()
    assert result.verdict is Verdict.OK, result.detail
    assert result.cert_not_after is not None


async def test_a_broken_record_right_after_the_handshake_fails_the_probe(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    """A TLS 1.2 server whose Finished comes with a record that cannot be decrypted: the
    client's TLS object is broken before the request is written, which must end as a
    failed probe (it raised out of the probe once)."""
    assert fleet.certs is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(fleet.certs.issue(CertKind.VALID))

    async def finished_then_garbage(
        reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        tls = context.wrap_bio(incoming, outgoing, server_side=True)
        while True:
            try:
                tls.do_handshake()
                break
            except ssl.SSLWantReadError:
                writer.write(outgoing.read())
                data = await reader.read(65536)
                if not data:
                    writer.close()
                    return
                incoming.write(data)
        bogus = b"\x17\x03\x03\x00\x20" + bytes(32)  # application data no key opens
        writer.write(outgoing.read() + bogus)  # in one segment with the Finished
        await reader.read(65536)
        writer.close()

    result, _ = await probe_https_served_by(finished_then_garbage, ctx, "localhost")
    assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.PROTOCOL)
    assert result.detail.startswith("TLS error: ")
    assert result.detail != "TLS error: TLS error", "the record's failure, not the write's"
