"""`vakt run` under a small descriptor limit, flooded with slow clients (issue 16 item 2).

The daemon runs with RLIMIT_NOFILE 256 (soft and hard, set in the child before exec) and
a healthy site on loopback. Three hundred clients open connections to its public
listener and send half a request head. Before, every one of them kept a descriptor, the
probes failed with "Too many open files" and a false Level A incident opened. Now each
listener holds a bounded number of connections and cuts slow heads off: the site stays
ok, nothing opens, no probe lacks a socket.
"""

from __future__ import annotations

import asyncio
import os
import resource
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.support import free_port, until

CLIENTS = 300
CONFIG = """\
vakt: 1
settings:
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: e2e
  web: {{limits: {{header_timeout: 1s}}}}
  defaults: {{interval: 300ms, retry_interval: 300ms, timeout: 2s, confirm: 1, recover: 1}}
customers:
  acme:
    name: ACME
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: http://127.0.0.1:{site}
        checks:
          home: {{path: /}}
"""


def _small_descriptor_table() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))


@pytest.fixture
async def site() -> AsyncIterator[int]:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def _metrics(session: aiohttp.ClientSession, port: int) -> dict[tuple[str, str], float]:
    """Sample values by (name, sorted label values joined)."""
    try:
        async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
            text = await response.text()
    except aiohttp.ClientError:
        return {}
    return {
        (s.name, ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _ok_probes(seen: dict[tuple[str, str], float]) -> float:
    return sum(
        v
        for (n, labels), v in seen.items()
        if n == "vakt_probe_results_total" and "code=ok" in labels
    )


Client = tuple[asyncio.StreamReader, asyncio.StreamWriter]


async def _slow_client(port: int) -> Client | None:
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"GET / HTTP/1.1\r\nHost: vakt\r\n")  # and never the rest
    except OSError:
        return None
    return reader, writer


async def _closed(reader: asyncio.StreamReader) -> bool:
    try:
        while await reader.read(4096):
            pass
    except ConnectionError:
        pass
    return True


async def test_problem_2_slow_clients_under_a_small_descriptor_limit_open_no_incident(
    tmp_path: Path, site: int
) -> None:
    private, public = free_port(), free_port()
    config = tmp_path / "checks.yaml"
    config.write_text(
        CONFIG.format(db=tmp_path / "vakt.db", private=private, public=public, site=site)
    )
    log = tmp_path / "vakt.log"
    with log.open("ab") as out:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "monitor", "run", "-c", str(config), "--drain", "2",
            stdout=out, stderr=out, env={**os.environ, "PYTHONUNBUFFERED": "1"},
            preexec_fn=_small_descriptor_table,
        )  # fmt: skip
    clients: list[Client | None] = []
    try:
        async with aiohttp.ClientSession() as session:
            await until("the first ok probe", _ok_after(session, private, 0.0), log, 30.0)
            before = _ok_probes(await _metrics(session, private))
            clients = list(await asyncio.gather(*(_slow_client(public) for _ in range(CLIENTS))))
            await until("more ok probes", _ok_after(session, private, before + 5), log, 30.0)
            async with asyncio.timeout(30):
                await asyncio.gather(*(_closed(c[0]) for c in clients if c is not None))
            seen = await _metrics(session, private)
        assert seen[("vakt_probe_local_errors_total", "reason=local_resource")] == 0
        dropped = "vakt_web_connections_dropped_total"
        over, slow = "listener=public,reason=over_limit", "listener=public,reason=slow_head"
        connected = sum(client is not None for client in clients)
        assert seen[(dropped, over)] + seen[(dropped, slow)] == connected > 0
        assert seen[("vakt_incidents_opened_total", "level=A")] == 0
        assert seen[("vakt_incidents_opened_total", "level=B")] == 0
        assert proc.returncode is None  # still running
    finally:
        for client in clients:
            if client is not None:
                client[1].close()
        if proc.returncode is None:
            proc.terminate()
            async with asyncio.timeout(30):
                await proc.wait()


def _ok_after(
    session: aiohttp.ClientSession, port: int, count: float
) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return _ok_probes(await _metrics(session, port)) > count

    return check
