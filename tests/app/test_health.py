"""Health that means something: `/readyz` and the dead-man's ping on a whole daemon.

`serve(...)` runs in the test's loop against a site nobody answers (a Level A case opens
after two probes), an aiosmtpd relay on loopback that answers every mail with a transient
refusal, and a dead-man receiver (a real aiohttp server) that counts pings. The limits
are shortened through `settings.delivery` and `settings.health`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from aiohttp import web

from monitor.app import EXIT_OK, Options, serve
from tests.notify.support import SmtpSink
from tests.ports import free_port

WAIT = 20.0  # seconds any one step may take

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: inproc
  deadman: {{url: "{deadman}", every: 200ms}}
  email:
    from: "Vakt <vakt@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}, timeout: 2s}}
  delivery:
    poll: 100ms
    lease: 5s
    timeout: 2s
    retry: {{base: 200ms, cap: 400ms, max_attempts: 1000, max_age: 1h}}
  health: {{delivery_after: 2s}}
  defaults: {{interval: 500ms, retry_interval: 250ms, timeout: 1s, confirm: 2, recover: 2}}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: http://127.0.0.1:{closed}/
        checks:
          home: {{path: /}}
"""

OPTIONS = Options(signals=False, drain=2.0, tick_every=0.5, planner_every=0.5, gauges_every=0.5)


class Receiver:
    """A dead-man receiver on loopback that counts pings."""

    def __init__(self) -> None:
        self.pings = 0
        self.url = ""

    async def ping(self, request: web.Request) -> web.Response:
        self.pings += 1
        return web.Response(text="OK")


@pytest.fixture(autouse=True)
def no_sentry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_get("/ping", target.ping)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    target.url = f"http://127.0.0.1:{runner.addresses[0][1]}/ping"
    yield target
    await runner.cleanup()


@pytest.fixture
def refusing_relay() -> AsyncIterator[SmtpSink]:
    sink = SmtpSink()
    sink.handler.reply = "451 4.3.0 try again later"
    sink.start()
    yield sink  # type: ignore[misc]
    sink.stop()


class Events(logging.Handler):
    """The event names logged under `monitor` while the test runs."""

    def __init__(self) -> None:
        super().__init__()
        self.names: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.names.append(record.getMessage())

    def deadman(self) -> str | None:
        """The dead-man's last change: `deadman.paused` or `deadman.resumed`."""
        changes = [n for n in self.names if n in ("deadman.paused", "deadman.resumed")]
        return changes[-1] if changes else None


@pytest.fixture
def events() -> AsyncIterator[Events]:
    handler = Events()
    logger = logging.getLogger("monitor")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    yield handler  # type: ignore[misc]
    logger.removeHandler(handler)
    logger.setLevel(level)


async def until(what: str, condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll `condition` every 0.1 s; fail naming `what` after `WAIT` seconds."""
    # polling, not an Event: the condition is another server's HTTP answer
    try:
        async with asyncio.timeout(WAIT):
            while True:
                if await condition():
                    return
                await asyncio.sleep(0.1)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


async def readyz(http: aiohttp.ClientSession, base: str) -> tuple[int, Any]:
    async with http.get(f"{base}/readyz") as response:
        return response.status, await response.json()


async def test_problem_3_a_relay_refusing_every_mail_turns_readyz_red_and_stops_the_deadman(
    tmp_path: Path, receiver: Receiver, refusing_relay: SmtpSink, events: Events
) -> None:
    private = free_port()
    path = tmp_path / "checks.yaml"
    path.write_text(
        CONFIG.format(
            db=tmp_path / "vakt.db",
            private=private,
            public=free_port(),
            deadman=receiver.url,
            smtp=refusing_relay.port,
            closed=free_port(),  # nothing listens: the site is down
        )
    )
    base = f"http://127.0.0.1:{private}"
    ready, stop = asyncio.Event(), asyncio.Event()
    daemon = asyncio.create_task(serve(path, options=OPTIONS, ready=ready, stop=stop))
    async with aiohttp.ClientSession() as http:
        try:
            async with asyncio.timeout(WAIT):
                await ready.wait()

            async def pinged() -> bool:
                return receiver.pings > 0

            await until("a dead-man's ping while healthy", pinged)

            async def delivery_failing() -> bool:
                status, body = await readyz(http, base)
                return status == 503 and body["checks"].get("delivery") == "failing"

            await until("/readyz to report delivery failing", delivery_failing)

            async def paused() -> bool:
                return events.deadman() == "deadman.paused"

            await until("the dead-man's ping to pause", paused)
            pings = receiver.pings
            status, body = await readyz(http, base)
        finally:
            stop.set()
            async with asyncio.timeout(WAIT):
                code = await daemon
    assert code == EXIT_OK
    assert status == 503
    assert body["status"] == "not ready"
    assert body["checks"]["delivery"] == "failing"
    assert body["checks"]["dispatcher"] == "ok"  # it settles attempts: the channel fails
    assert body["checks"]["store"] == "ok"
    assert receiver.pings == pings, "no ping after the pause"
    assert events.deadman() == "deadman.paused"  # still paused when the test ended
    assert refusing_relay.messages == []  # the relay never took a mail
