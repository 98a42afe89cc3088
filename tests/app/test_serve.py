"""`monitor.app.serve` in-process: start, serve, stop, and refuse a second daemon.

Each test runs the whole daemon (store, engine, scheduler, dispatcher, both listeners)
in the test's event loop against a local `HostileFleet` site, with its config written to
`tmp_path` and free ports on 127.0.0.1. Every wait is bounded by `WAIT`.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from monitor.app import EXIT_CONFIG, EXIT_FAILED, EXIT_OK, Options, serve
from monitor.demo.targets import HostileFleet
from tests.ports import free_port

WAIT = 30.0  # seconds any one step may take (generous: CI may be busy)

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: inproc
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari, email: kari@acme.example}}]
    status_page: {{public: true}}
    sites:
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
"""

OPTIONS = Options(signals=False, drain=5.0, tick_every=0.5, planner_every=0.5, gauges_every=0.5)


@dataclass(frozen=True, slots=True)
class Setup:
    """A config file for one daemon on `db`, listening on `private` and `public`."""

    path: Path
    db: Path
    private: int
    public: int

    def url(self, path: str, *, public: bool = False) -> str:
        return f"http://127.0.0.1:{self.public if public else self.private}{path}"


def write_config(tmp_path: Path, fleet: HostileFleet, name: str, db: Path) -> Setup:
    private, public = free_port(), free_port()
    path = tmp_path / f"{name}.yaml"
    shop = fleet.url("/sites/shop/")
    path.write_text(CONFIG.format(db=db, private=private, public=public, shop=shop))
    return Setup(path, db, private, public)


@pytest.fixture(autouse=True)
def no_sentry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SENTRY_DSN", raising=False)  # never report from tests


@pytest.fixture
async def fleet(tmp_path: Path) -> AsyncIterator[HostileFleet]:
    async with HostileFleet(tmp_path) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


class Running:
    """One `serve(...)` task with its `ready` and `stop` events."""

    def __init__(self, setup: Setup, routes: tuple[web.RouteDef, ...] = ()) -> None:
        self.ready = asyncio.Event()
        self.stop = asyncio.Event()
        self.task = asyncio.create_task(
            serve(
                setup.path,
                options=OPTIONS,
                extra_private_routes=routes,
                ready=self.ready,
                stop=self.stop,
            )
        )

    async def started(self) -> None:
        """Wait until `ready` is set; fail early if serve returned instead."""
        waiter = asyncio.create_task(self.ready.wait())
        async with asyncio.timeout(WAIT):
            await asyncio.wait({waiter, self.task}, return_when=asyncio.FIRST_COMPLETED)
        if not waiter.done():
            waiter.cancel()
            pytest.fail(f"serve returned {self.task.result()} before it was ready")

    async def finish(self) -> int:
        self.stop.set()
        async with asyncio.timeout(WAIT):
            return await self.task


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url) as response:
        return response.status, await response.text()


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


def leftover_tasks(before: set[asyncio.Task[object]]) -> list[asyncio.Task[object]]:
    current = asyncio.current_task()
    return [t for t in asyncio.all_tasks() if t not in before and t is not current]


async def extra(request: web.Request) -> web.Response:
    return web.Response(text="extra route")


async def test_serve_starts_everything_serves_and_stops_cleanly_on_stop(
    tmp_path: Path, fleet: HostileFleet, http: aiohttp.ClientSession
) -> None:
    setup = write_config(tmp_path, fleet, "checks", tmp_path / "vakt.db")
    before = set(asyncio.all_tasks())
    daemon = Running(setup, (web.get("/extra", extra),))
    await daemon.started()

    assert await get(http, setup.url("/extra")) == (200, "extra route")
    assert (await get(http, setup.url("/extra", public=True)))[0] == 404  # private only
    assert (await get(http, setup.url("/healthz")))[0] == 200
    status, page = await get(http, setup.url("/status/acme", public=True))
    assert (status, "ACME AS" in page) == (200, True)
    assert (await get(http, setup.url("/readyz")))[0] == 200  # the scheduler runs

    async def probed() -> bool:
        _, text = await get(http, setup.url("/metrics"))
        return 'vakt_probe_results_total{code="ok",location="inproc",type="http"}' in text

    await until("a probe result counted in /metrics", probed)

    assert await daemon.finish() == EXIT_OK
    await http.close()
    assert leftover_tasks(before) == []
    with pytest.raises(aiohttp.ClientConnectionError):
        async with aiohttp.ClientSession() as late:
            await get(late, setup.url("/healthz"))


async def test_public_listener_answers_healthz(
    tmp_path: Path, fleet: HostileFleet, http: aiohttp.ClientSession
) -> None:
    setup = write_config(tmp_path, fleet, "checks", tmp_path / "vakt.db")
    daemon = Running(setup)
    await daemon.started()
    try:
        status = (await get(http, setup.url("/healthz", public=True)))[0]
    finally:
        assert await daemon.finish() == EXIT_OK
    assert status == 200


async def test_second_serve_on_the_same_database_is_refused_until_the_first_stops(
    tmp_path: Path,
    fleet: HostileFleet,
    http: aiohttp.ClientSession,
    capsys: pytest.CaptureFixture[str],
) -> None:
    db = tmp_path / "vakt.db"
    first = Running(write_config(tmp_path, fleet, "first", db))
    await first.started()
    second = write_config(tmp_path, fleet, "second", db)

    async with asyncio.timeout(WAIT):
        code = await serve(second.path, options=OPTIONS, stop=asyncio.Event())

    assert code == EXIT_FAILED
    err = capsys.readouterr().err
    assert f"the database {db} is already used by a running `vakt run`" in err
    assert "stop that daemon first" in err
    with pytest.raises(aiohttp.ClientConnectionError):
        await get(http, second.url("/healthz"))  # it never listened
    assert await first.finish() == EXIT_OK

    third = Running(second)  # the lock was released with the first daemon
    await third.started()
    assert (await get(http, second.url("/healthz")))[0] == 200
    assert await third.finish() == EXIT_OK


async def test_missing_config_file_returns_the_config_exit_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere.yaml"
    assert await serve(missing, options=OPTIONS) == EXIT_CONFIG == 2
    assert "nowhere.yaml" in capsys.readouterr().err
    assert not (tmp_path / "vakt.db").exists()


async def test_invalid_config_returns_the_config_exit_code_naming_the_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text("vakt: 1\nsettings:\n  timezone: UTC\n  colour: blue\n")
    assert await serve(path, options=OPTIONS) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "checks.yaml" in err
    assert "colour" in err


async def test_a_taken_listener_port_fails_and_releases_the_database(
    tmp_path: Path,
    fleet: HostileFleet,
    http: aiohttp.ClientSession,
    capsys: pytest.CaptureFixture[str],
) -> None:
    setup = write_config(tmp_path, fleet, "checks", tmp_path / "vakt.db")
    with socket.socket() as taken:
        # SO_REUSEADDR, as servers set it: the port is reserved for the test (tests.ports)
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", setup.public))
        taken.listen()
        async with asyncio.timeout(WAIT):
            code = await serve(setup.path, options=OPTIONS, stop=asyncio.Event())
    assert code == EXIT_FAILED
    err = capsys.readouterr().err
    assert str(setup.public) in err
    assert "address already in use" in err
    retry = Running(setup)  # the lock is free again
    await retry.started()
    assert (await get(http, setup.url("/healthz")))[0] == 200
    assert await retry.finish() == EXIT_OK


async def test_a_taken_listener_port_leaves_no_task_behind(
    tmp_path: Path, fleet: HostileFleet
) -> None:
    setup = write_config(tmp_path, fleet, "checks", tmp_path / "vakt.db")
    before = set(asyncio.all_tasks())
    with socket.socket() as taken:
        # SO_REUSEADDR, as servers set it: the port is reserved for the test (tests.ports)
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        taken.bind(("127.0.0.1", setup.private))
        taken.listen()
        async with asyncio.timeout(WAIT):
            code = await serve(setup.path, options=OPTIONS, stop=asyncio.Event())
    assert code == EXIT_FAILED
    left = leftover_tasks(before)
    for task in left:  # do not leak them into the next test
        task.cancel()
    await asyncio.gather(*left, return_exceptions=True)
    assert [t.get_name() for t in left] == []


async def test_another_location_than_settings_location_needs_postgresql(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(
        "vakt: 1\nsettings:\n  timezone: UTC\n  location: oslo\ncustomers:\n  acme:\n"
        "    contacts: [{name: Kari, email: kari@acme.example}]\n    sites:\n"
        "      shop: {url: 'http://127.0.0.1:9/', checks: {home: {path: /}}}\n"
    )
    options = replace(OPTIONS, location="frankfurt")
    assert await serve(path, options=options) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "--location frankfurt" in err
    assert "PostgreSQL" in err
    assert not (tmp_path / "vakt.db").exists()
