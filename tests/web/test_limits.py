"""Listener limits against a real aiohttp listener on loopback (issue 16 item 2).

Slow clients are raw sockets driven by the test: a bounded number of them, each sending
a little at a time, and every wait is a bounded poll.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web

from monitor.config.records import WebLimits
from monitor.web.limits import (
    MIN_CONNECTIONS,
    ConnectionGuard,
    Dropped,
    GuardedSite,
    ListenerLimits,
    connection_budget,
    listener_limits,
    runner_options,
)

LIMITS = ListenerLimits(header_timeout=0.3, body_timeout=0.5, idle_timeout=0.5, max_connections=8)
WAIT = 10.0  # seconds: the bound of every poll
DROPS: list[Dropped] = []


async def _echo(request: web.Request) -> web.Response:
    return web.Response(text=f"got {len(await request.read())}")


@pytest.fixture(autouse=True)
def _no_drops_yet() -> None:
    DROPS.clear()


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, ConnectionGuard]]:
    app = web.Application()
    app.router.add_route("*", "/", _echo)
    runner = web.AppRunner(app, access_log=None, **runner_options(LIMITS))
    await runner.setup()
    guard = ConnectionGuard(LIMITS, DROPS.append)
    site = GuardedSite(runner, "127.0.0.1", 0, guard)
    await site.start()
    try:
        yield runner.addresses[0][1], guard
    finally:
        await runner.cleanup()


async def _closed(reader: asyncio.StreamReader) -> bool:
    """True once the server closed (EOF or reset); reads within WAIT."""
    try:
        async with asyncio.timeout(WAIT):
            while await reader.read(4096):
                pass
    except (ConnectionError, TimeoutError):
        return True
    return True


async def _drip(writer: asyncio.StreamWriter, lines: list[bytes], every: float) -> None:
    try:
        for line in lines:
            writer.write(line)
            await writer.drain()
            await asyncio.sleep(every)
    except ConnectionError:
        pass


async def test_problem_2_a_slowloris_client_is_cut_off_after_the_header_timeout(
    listener: tuple[int, ConnectionGuard],
) -> None:
    port, guard = listener
    clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(5)]
    lines = [b"GET / HTTP/1.1\r\n", *(b"X-Slow: %d\r\n" % i for i in range(100))]
    drips = [asyncio.create_task(_drip(w, lines, 0.05)) for _, w in clients]
    async with asyncio.timeout(WAIT):
        closed = await asyncio.gather(*(_closed(r) for r, _ in clients))
    for task in drips:
        task.cancel()
    assert closed == [True] * 5
    assert guard.cut == 5
    assert guard.open == 0
    assert DROPS == [Dropped.SLOW_HEAD] * 5
    for _, writer in clients:
        writer.close()


async def test_a_slow_body_is_cut_off_after_the_body_timeout(
    listener: tuple[int, ConnectionGuard],
) -> None:
    port, guard = listener
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n"
    drip = asyncio.create_task(_drip(writer, [head, *([b"x"] * 200)], 0.05))
    assert await _closed(reader)
    drip.cancel()
    writer.close()
    assert guard.cut == 1
    assert DROPS == [Dropped.SLOW_BODY]


async def test_clients_that_keep_up_are_served_and_idle_ones_closed_after_a_response(
    listener: tuple[int, ConnectionGuard],
) -> None:
    port, guard = listener
    async with aiohttp.ClientSession() as session:
        for body in (b"", b"x" * 100_000):
            async with session.post(f"http://127.0.0.1:{port}/", data=body) as response:
                assert (response.status, await response.text()) == (200, f"got {len(body)}")
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    assert await _closed(reader)  # served, then closed when idle past idle_timeout
    writer.close()
    assert guard.cut == 0


async def test_connections_over_the_limit_are_closed_at_once(
    listener: tuple[int, ConnectionGuard],
) -> None:
    port, guard = listener
    clients = [await asyncio.open_connection("127.0.0.1", port) for _ in range(12)]
    async with asyncio.timeout(WAIT):
        while guard.open + guard.refused < 12:  # noqa: ASYNC110 - the server's accept
            await asyncio.sleep(0.01)
    assert (guard.open, guard.refused) == (8, 4)
    assert DROPS == [Dropped.OVER_LIMIT] * 4
    for _, writer in clients:
        writer.close()


def test_each_listener_gets_half_of_what_probes_and_vakt_leave() -> None:
    assert connection_budget(20_000, 1000) == (20_000 - 1000 - 64) // 2
    assert connection_budget(256, 1000) == MIN_CONNECTIONS
    configured = WebLimits(max_connections=5, header_timeout=timedelta(seconds=2))
    resolved = listener_limits(configured, 1000)
    assert (resolved.max_connections, resolved.header_timeout) == (5, 2.0)
    assert listener_limits(WebLimits(), 0).max_connections >= MIN_CONNECTIONS
