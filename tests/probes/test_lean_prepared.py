"""The lean client's fast paths: requests built once per check, plain HTTP connected in one go."""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator

import pytest

from monitor.model import ErrorCode
from monitor.probes import ProbeContext
from monitor.probes.lean import FetchError
from monitor.probes.phases import Phases
from tests.probes.test_lean_client import Canned, fetch, reply, settle_fds


@pytest.fixture
async def canned() -> AsyncIterator[Canned]:
    async with Canned() as server:
        yield server


async def test_a_repeated_request_is_sent_identically(ctx: ProbeContext, canned: Canned) -> None:
    canned.replies["/a?x=1"] = reply(200, b"ok")
    for _ in range(3):
        response, _ = await fetch(ctx, canned.url("/a?x=1"), headers=(("X-Probe", "1"),))
        assert response.status == 200
    assert len(canned.requests) == 3
    assert canned.requests[0] == canned.requests[1] == canned.requests[2]
    assert canned.requests[0].startswith(b"GET /a?x=1 HTTP/1.1\r\n")
    assert b"\r\nX-Probe: 1\r\n" in canned.requests[0]


async def test_requests_to_one_url_keep_their_own_method_headers_and_body(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/"] = reply(200)
    url = canned.url("/")
    await fetch(ctx, url, headers=(("X-Team", "a"),))
    await fetch(ctx, url, headers=(("X-Team", "b"),))
    await fetch(ctx, url, method="post", body=b"ping")
    await fetch(ctx, url)
    first, second, post, plain = canned.requests
    assert b"X-Team: a" in first
    assert b"X-Team: b" not in first
    assert b"X-Team: b" in second
    assert b"X-Team: a" not in second
    assert post.startswith(b"POST / HTTP/1.1\r\n")
    assert post.endswith(b"\r\n\r\nping")
    assert plain.startswith(b"GET / HTTP/1.1\r\n")
    assert b"X-Team" not in plain


async def test_a_redirect_hop_gets_its_own_request(ctx: ProbeContext, canned: Canned) -> None:
    canned.replies["/old"] = reply(301, Location="/new?y=2")
    canned.replies["/new?y=2"] = reply(200, b"here")
    for _ in range(2):
        response, _ = await fetch(ctx, canned.url("/old"))
        assert (response.status, response.body) == (200, b"here")
    paths = [request.split(b" ")[1] for request in canned.requests]
    assert paths == [b"/old", b"/new?y=2", b"/old", b"/new?y=2"]


async def test_a_bad_header_fails_every_time_and_is_never_kept(
    ctx: ProbeContext, canned: Canned
) -> None:
    for _ in range(2):
        with pytest.raises(FetchError) as caught:
            await fetch(ctx, canned.url("/"), headers=(("X-Bad", "a\r\nInjected: 1"),))
        assert caught.value.code is ErrorCode.PROTOCOL
    assert canned.requests == []


def _closed_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
    return port  # nothing listens there once the socket is closed


async def test_a_closed_port_by_ip_is_refused_with_the_address(ctx: ProbeContext) -> None:
    for host, shown in (("127.0.0.1", "127.0.0.1"), ("::1", "[::1]")):
        port = _closed_port(host)
        with pytest.raises(FetchError) as caught:
            await fetch(ctx, f"http://{shown}:{port}/")
        assert (caught.value.code, caught.value.detail) == (
            ErrorCode.REFUSED,
            f"connection refused by {shown}:{port}",
        )


async def test_plain_http_by_ip_reports_the_peer_and_ordered_phases(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/"] = reply(200, b"ok")
    response, phases = await fetch(ctx, canned.url("/"))
    timings = phases.timings()
    assert (response.address, response.cert_not_after) == ("127.0.0.1", None)
    assert timings.connect is not None
    assert timings.first_byte is not None
    assert 0 <= timings.connect <= timings.first_byte <= timings.total


async def test_probes_cut_short_anywhere_leave_no_connection_behind(
    ctx: ProbeContext, canned: Canned
) -> None:
    canned.replies["/"] = reply(200)
    await fetch(ctx, canned.url("/"))
    await asyncio.sleep(0.05)
    before = len(os.listdir("/proc/self/fd"))
    for attempt in range(40):  # cancelled while connecting, writing or reading
        try:
            async with asyncio.timeout(attempt * 0.0001):
                await ctx.http.fetch(canned.url("/"), Phases(ctx.clock.monotonic))
        except TimeoutError:
            pass
    await settle_fds(before)  # the server side closes its ends on later loop turns
    assert len(os.listdir("/proc/self/fd")) <= before
    response, _ = await fetch(ctx, canned.url("/"))
    assert response.status == 200
