"""The SLA figures after a scripted demo-like run, read from `/metrics` (issue 17 item 3).

`vakt run` (a subprocess) probes two local sites. The shop fails, is acknowledged with the
CLI, and recovers; the blog fails, recovers before anyone answers, and fails again (a
reopen of the same case). The figures must say how each response was met, count two
cases opened and one reopen, and time the one acknowledgement.
"""

from __future__ import annotations

import json
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.support import Daemon, until
from tests.ports import free_port


class Site:
    """A customer site on loopback that can be switched off."""

    def __init__(self) -> None:
        self.up = True

    async def home(self, request: web.Request) -> web.Response:
        return web.Response(status=200 if self.up else 503, text="ok")


CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: oslo
  defaults: {{interval: 300ms, retry_interval: 200ms, timeout: 2s, confirm: 2, recover: 2}}
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
customers:
  acme:
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
      blog:
        url: {blog}
        checks:
          home: {{path: /}}
"""


async def serve(site: Site) -> tuple[web.AppRunner, str]:
    app = web.Application()
    app.router.add_get("/", site.home)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}/"


class Run:
    def __init__(self, daemon: Daemon, log: Path, port: int) -> None:
        self.daemon, self.log, self.port = daemon, log, port

    async def cases(self) -> list[dict[str, str]]:
        code, out = await self.daemon.cli("incidents", "list", "--json")
        if code != 0 and "no database at" in out:  # `vakt run` has not created it yet
            return []
        assert code == 0, out
        listed: list[dict[str, str]] = json.loads(out)
        return listed

    async def case_of(self, site: str, status: str) -> str | None:
        for item in await self.cases():
            if item["site"] == site and item["status"] == status:
                return item["case"]
        return None

    async def wait_status(self, site: str, status: str) -> str:
        found: list[str] = []

        async def there() -> bool:
            case = await self.case_of(site, status)
            if case is not None:
                found.append(case)
            return case is not None

        await until(f"{site} {status}", there, self.log, poll=0.3)
        return found[0]

    async def responses_counted(self) -> bool:
        """Two responses counted, whatever the outcome label (the watch reads every 5 s)."""
        samples = await self.samples()
        return sum(v for (name, _), v in samples.items() if name == "vakt_sla_responses_total") >= 2

    async def samples(self) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
        async with (
            aiohttp.ClientSession() as session,
            session.get(f"http://127.0.0.1:{self.port}/metrics") as response,
        ):
            text = await response.text()
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


@pytest.fixture
async def run(tmp_path: Path) -> AsyncIterator[tuple[Run, Site, Site]]:
    shop, blog = Site(), Site()
    shop_runner, shop_url = await serve(shop)
    blog_runner, blog_url = await serve(blog)
    private = free_port()
    config = tmp_path / "checks.yaml"
    config.write_text(
        CONFIG.format(
            db=tmp_path / "vakt.db",
            private=private,
            public=free_port(),
            shop=shop_url,
            blog=blog_url,
        )
    )
    log = tmp_path / "vakt.log"
    try:
        async with Daemon(config, log) as daemon:
            yield Run(daemon, log, private), shop, blog
            assert await daemon.stop(signal.SIGTERM) == 0
    finally:
        await shop_runner.cleanup()
        await blog_runner.cleanup()


def value(
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str
) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_problem_3_sla_figures_say_how_each_response_was_met_and_count_cases_once(
    run: tuple[Run, Site, Site],
) -> None:
    vakt, shop, blog = run
    shop.up = False
    shop_case = await vakt.wait_status("acme/shop", "open")
    code, out = await vakt.daemon.cli("incidents", "ack", shop_case, "--by", "alice")
    assert code == 0, out
    shop.up = True
    await vakt.wait_status("acme/shop", "resolved")

    blog.up = False
    blog_case = await vakt.wait_status("acme/blog", "open")
    blog.up = True
    await vakt.wait_status("acme/blog", "resolved")
    await until("both responses counted", vakt.responses_counted, vakt.log, poll=0.5)
    blog.up = False
    assert await vakt.wait_status("acme/blog", "open") == blog_case  # reopened, same case

    async def reopen_counted() -> bool:
        return value(await vakt.samples(), "vakt_incidents_reopened_total", level="A") >= 1

    await until("the reopen counted", reopen_counted, vakt.log, poll=0.3)
    samples = await vakt.samples()
    assert value(samples, "vakt_incidents_opened_total", level="A") == 2
    assert value(samples, "vakt_incidents_reopened_total", level="A") == 1
    assert value(samples, "vakt_sla_responses_total", level="A", outcome="met_acknowledged") == 1
    assert value(samples, "vakt_sla_responses_total", level="A", outcome="met_resolved_first") == 1
    assert value(samples, "vakt_sla_responses_total", level="A", outcome="missed") == 0
    assert value(samples, "vakt_time_to_acknowledge_seconds_count", level="A") == 1
