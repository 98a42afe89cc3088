"""The dead-man's switch against a local receiver, and structured logging."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import sys
from collections.abc import AsyncIterator, Callable, Iterator
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web

from monitor.clock import SystemClock
from monitor.observability import ConsoleFormatter, Deadman, JsonFormatter, setup_logging


class Receiver:
    """A Healthchecks.io-style receiver on loopback that counts pings."""

    def __init__(self) -> None:
        self.pings = 0
        self.status = 200
        self.url = ""
        self._pinged = asyncio.Condition()

    async def ping(self, request: web.Request) -> web.Response:
        async with self._pinged:
            self.pings += 1
            self._pinged.notify_all()
        return web.Response(status=self.status, text="OK")

    async def wait_for(self, pings: int) -> None:
        async with asyncio.timeout(5), self._pinged:
            await self._pinged.wait_for(lambda: self.pings >= pings)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    target = Receiver()
    app = web.Application()
    app.router.add_get("/ping/abc", target.ping)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    target.url = f"http://127.0.0.1:{runner.addresses[0][1]}/ping/abc"
    yield target
    await runner.cleanup()


async def until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the deadman's task changes the state
            await asyncio.sleep(0.01)


async def test_ping_once_reports_success_failure_and_skips(receiver: Receiver) -> None:
    healthy = True
    pinged: list[bool] = []

    class Observer:
        def deadman_pinged(self, ok: bool, at: float) -> None:
            pinged.append(ok)

    async with aiohttp.ClientSession() as session:
        deadman = Deadman(
            receiver.url, timedelta(minutes=1), session, lambda: healthy,
            clock=SystemClock(), observer=Observer(),
        )  # fmt: skip
        assert await deadman.ping_once() is True
        receiver.status = 503
        assert await deadman.ping_once() is False
        healthy = False
        assert await deadman.ping_once() is None
        dead = Deadman("http://127.0.0.1:9/nothing", timedelta(minutes=1), session, lambda: True,
                       clock=SystemClock())  # fmt: skip
        assert await dead.ping_once() is False
    assert pinged == [True, False]
    assert receiver.pings == 2


async def test_an_asynchronous_health_check_is_awaited_before_each_ping(
    receiver: Receiver,
) -> None:
    verdicts = [True, False, True]
    asked = 0

    async def health() -> bool:  # as the daemon asks its store
        nonlocal asked
        asked += 1
        return verdicts[asked - 1]

    async with aiohttp.ClientSession() as session:
        deadman = Deadman(receiver.url, timedelta(minutes=1), session, health, clock=SystemClock())
        results = [await deadman.ping_once() for _ in verdicts]
    assert results == [True, None, True]
    assert (asked, receiver.pings) == (3, 2)


@pytest.fixture
def restore_monitor_logger() -> Iterator[None]:
    logger, root = logging.getLogger("monitor"), logging.getLogger()
    saved = (list(logger.handlers), logger.level, logger.propagate)
    saved_root = (list(root.handlers), root.level)
    yield
    logger.handlers[:] = saved[0]
    logger.setLevel(saved[1])
    logger.propagate = saved[2]
    root.handlers[:] = saved_root[0]
    root.setLevel(saved_root[1])
    logging.captureWarnings(False)


@pytest.mark.usefixtures("restore_monitor_logger")
def test_logs_are_json_lines_off_a_terminal_with_event_and_fields() -> None:
    out = io.StringIO()  # not a TTY
    setup_logging("info", stream=out)
    log = logging.getLogger("monitor.incidents")
    log.info("incident.opened", extra={"case": "VAKT-2026-000001", "level": "A"})
    log.debug("probe.ok")  # below the level: nothing
    [line] = out.getvalue().splitlines()
    entry = json.loads(line)
    assert entry["event"] == "incident.opened"
    assert entry["case"] == "VAKT-2026-000001"
    assert entry["level"] == "info"
    assert entry["field_level"] == "A"  # a field never hides the record's own keys
    assert entry["logger"] == "monitor.incidents"


@pytest.mark.usefixtures("restore_monitor_logger")
def test_level_is_configurable_and_setup_replaces_its_handler() -> None:
    out = io.StringIO()
    setup_logging("warning", stream=out)
    setup_logging("debug", stream=out, json_lines=False)
    assert len([h for h in logging.getLogger().handlers if h.get_name() == "vakt"]) == 1
    logging.getLogger("monitor.scheduler").debug("scheduler.started", extra={"checks": 3})
    assert out.getvalue().rstrip().endswith("DEBUG scheduler.started checks=3")


def test_formatters_render_exceptions() -> None:
    try:
        raise ValueError("boom")
    except ValueError:
        record = logging.LogRecord("monitor.x", logging.ERROR, __file__, 1, "bug.caught", (), None)
        record.exc_info = sys.exc_info()
    assert "ValueError: boom" in json.loads(JsonFormatter().format(record))["exception"]
    assert "ValueError: boom" in ConsoleFormatter().format(record)
