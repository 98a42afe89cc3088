"""`--probe-source-address`: every probe connection (HTTP, TCP, TLS) leaves from the
configured local address (`monitor.probes.lean.source`); without one the system chooses."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from monitor.clock import SystemClock
from monitor.config.records import HttpSpec, TcpSpec, TlsSpec
from monitor.probes import open_probe_context, run_probe
from tests.probes.conftest import make_check

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"


class Recorder:
    """A TCP server on 127.0.0.1 noting each client's address, answering one HTTP 200."""

    def __init__(self) -> None:
        self.peers: list[str] = []
        self.port = 0

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.peers.append(writer.get_extra_info("peername")[0])
        try:
            writer.write(ANSWER)
            await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()


@pytest.fixture
async def recorder() -> AsyncIterator[Recorder]:
    rec = Recorder()
    server = await asyncio.start_server(rec._client, "127.0.0.1", 0)
    rec.port = server.sockets[0].getsockname()[1]
    async with server:
        yield rec


@pytest.mark.parametrize("source", ["127.0.0.2", None])
async def test_every_probe_type_connects_from_the_source_address(
    recorder: Recorder, source: str | None
) -> None:
    port = recorder.port
    checks = [
        make_check(HttpSpec(url=f"http://127.0.0.1:{port}/"), name="http"),
        make_check(TcpSpec(host="127.0.0.1", port=port), name="tcp"),
        make_check(TlsSpec(host="127.0.0.1", port=port), name="tls"),
    ]
    async with open_probe_context(SystemClock(), source_address=source) as ctx:
        for check in checks:
            await run_probe(check, ctx)
    assert len(recorder.peers) == 3
    assert set(recorder.peers) == {source or "127.0.0.1"}
