"""Issue 16 problem 5: a SIGHUP reload adopts every setting that can change at run time
(here the dead-man's URL, against real receivers on loopback) and, for a setting read only
at start (a listen address), logs `config.needs_restart` naming the key while the old
listener keeps serving."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from monitor.app import EXIT_OK, Options, serve
from tests.ports import free_port

WAIT = 30.0  # seconds any one step may take (generous: CI may be busy)
OPTIONS = Options(drain=5.0, tick_every=0.5, planner_every=0.5, gauges_every=0.5)

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: inproc
  email: {{team: {team}}}
  deadman: {{url: "{deadman}", every: 1s}}
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s}}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: http://127.0.0.1:{private}/
        checks:
          home: {{path: /healthz}}
"""


@pytest.fixture(autouse=True)
def no_sentry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)  # never report from tests


class Receiver:
    """A dead-man's receiver on loopback: counts the pings on each path."""

    def __init__(self) -> None:
        self.hits: dict[str, int] = {}
        self.port = free_port()

    async def ping(self, request: web.Request) -> web.Response:
        self.hits[request.path] = self.hits.get(request.path, 0) + 1
        return web.Response(text="OK")

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver()
    app = web.Application()
    app.router.add_get("/{name}", found.ping)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", found.port).start()
    try:
        yield found
    finally:
        await runner.cleanup()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def events(self, name: str) -> list[logging.LogRecord]:
        return [r for r in self.records if r.getMessage() == name]


@pytest.fixture
def records() -> Iterator[Records]:
    handler = Records()
    logger = logging.getLogger("monitor.app")
    logger.addHandler(handler)
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def write(path: Path, **values: object) -> None:
    path.write_text(CONFIG.format(**values))


async def until(condition: Callable[[], object]) -> None:
    while True:  # bounded by the caller's timeout
        if condition():
            return
        await asyncio.sleep(0.05)


async def test_problem_5_a_reload_adopts_a_changed_dead_man_url(
    tmp_path: Path, receiver: Receiver, records: Records
) -> None:
    config = tmp_path / "checks.yaml"
    values = {
        "db": tmp_path / "vakt.db",
        "private": free_port(),
        "public": free_port(),
        "team": "ops@agency.example",
        "deadman": receiver.url("/old"),
    }
    write(config, **values)
    ready, stop = asyncio.Event(), asyncio.Event()
    daemon = asyncio.create_task(serve(config, options=OPTIONS, ready=ready, stop=stop))
    async with asyncio.timeout(WAIT):
        await ready.wait()
        await until(lambda: receiver.hits.get("/old", 0) >= 1)
        write(config, **{**values, "deadman": receiver.url("/new"), "team": "noc@x.example"})
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: receiver.hits.get("/new", 0) >= 2)
        old = receiver.hits["/old"]
        await until(lambda: receiver.hits.get("/new", 0) >= 4)
        assert receiver.hits["/old"] == old  # the old URL is no longer pinged
        assert records.events("config.reloaded")
        assert not records.events("config.needs_restart")
        stop.set()
        assert await daemon == EXIT_OK


async def test_problem_5_a_changed_listen_address_needs_a_restart_and_the_old_one_serves(
    tmp_path: Path, receiver: Receiver, records: Records
) -> None:
    config = tmp_path / "checks.yaml"
    values = {
        "db": tmp_path / "vakt.db",
        "private": free_port(),
        "public": free_port(),
        "team": "ops@agency.example",
        "deadman": receiver.url("/old"),
    }
    write(config, **values)
    ready, stop = asyncio.Event(), asyncio.Event()
    options = replace(OPTIONS)
    daemon = asyncio.create_task(serve(config, options=options, ready=ready, stop=stop))
    async with aiohttp.ClientSession() as http, asyncio.timeout(WAIT):
        await ready.wait()
        write(config, **{**values, "private": free_port()})
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: records.events("config.needs_restart"))
        keys = [getattr(r, "key", None) for r in records.events("config.needs_restart")]
        assert keys == ["settings.listen"]
        async with http.get(f"http://127.0.0.1:{values['private']}/healthz") as response:
            assert response.status == 200
        os.kill(os.getpid(), signal.SIGHUP)  # the file still differs: said again
        await until(lambda: len(records.events("config.needs_restart")) == 2)
        assert len(records.events("config.reloaded")) == 2
        stop.set()
        assert await daemon == EXIT_OK


async def test_a_reload_with_a_channel_that_cannot_work_is_refused_and_the_old_config_kept(
    tmp_path: Path, receiver: Receiver, records: Records
) -> None:
    config = tmp_path / "checks.yaml"
    values = {
        "db": tmp_path / "vakt.db",
        "private": free_port(),
        "public": free_port(),
        "team": "ops@agency.example",
        "deadman": receiver.url("/old"),
    }
    write(config, **values)
    ready, stop = asyncio.Event(), asyncio.Event()
    daemon = asyncio.create_task(serve(config, options=OPTIONS, ready=ready, stop=stop))
    async with asyncio.timeout(WAIT):
        await ready.wait()
        dead = 'ops@agency.example, smtp: {host: ""}'  # customer emails, no SMTP server
        write(config, **{**values, "team": dead, "deadman": receiver.url("/new")})
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: records.events("config.reload_failed"))
        [failed] = records.events("config.reload_failed")
        assert "settings.email.smtp.host" in str(failed.__dict__.get("errors"))
        assert not records.events("config.reloaded")
        assert not daemon.done()  # the daemon goes on with the old config
        write(config, **values)  # fixed: the next reload is adopted
        os.kill(os.getpid(), signal.SIGHUP)
        await until(lambda: records.events("config.reloaded"))
        assert receiver.hits.get("/new", 0) == 0
        stop.set()
        assert await daemon == EXIT_OK
