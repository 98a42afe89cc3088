"""`vakt run` as a subprocess against local targets, on SQLite and PostgreSQL.

home broken -> Level A; recovery resolves; only /checkout broken -> the same case
reopened at Level B; SIGKILL + restart keeps the open case and opens no second one;
recovery resolves it, marked flapping after its changes; 5x slower -> Level B;
SIGTERM stops cleanly. Waits are bounded polls of the store.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteMode, SiteState
from monitor.evaluate.baseline import MIN_BASELINE
from monitor.model import IncidentStatus, Level
from monitor.store import Incident, Store
from tests.e2e.support import Daemon, free_port

WAIT = 60.0  # seconds: the longest any one transition may take (generous: CI may be busy)

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: e2e
  flapping: {{changes: 2, within: 5m, reopen_within: 5m}}  # opened + reopened: 2 changes
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
customers:
  acme:
    name: ACME
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
          checkout: {{path: /checkout, impact: function}}
      blog:
        url: {blog}
        slow: {{factor: 3, over: 3s, min: 100ms, baseline: 1h}}
        checks:
          home: {{path: /, interval: 300ms}}  # a baseline of 30 samples within 9 s
"""


async def until(what: str, probe: Callable[[], Awaitable[bool]], log: Path) -> None:
    """Poll `probe` until it holds, at most WAIT seconds."""
    try:
        async with asyncio.timeout(WAIT):
            while not await probe():  # noqa: ASYNC110 - another process writes the store
                await asyncio.sleep(0.25)
    except TimeoutError:
        text = await asyncio.to_thread(log.read_text)
        pytest.fail(f"timed out waiting for {what}; daemon log:\n{text[-3000:]}")


async def site_incidents(store: Store, site_id: str) -> list[Incident]:
    async with store.transaction(read_only=True) as tx:
        return await tx.incidents.find(site_id=site_id)


async def test_vakt_run_end_to_end(store_url: str, tmp_path: Path) -> None:
    async with HostileFleet(tmp_path) as fleet:
        shop, blog = fleet.http.site("shop"), fleet.http.site("blog")
        blog.latency = 0.04  # 5x slower: 0.2 s
        config = tmp_path / "checks.yaml"
        config.write_text(
            CONFIG.format(
                store=store_url,
                shop=fleet.url("/sites/shop/"),
                blog=fleet.url("/sites/blog/"),
                private=free_port(),
                public=free_port(),
            )
        )
        log = tmp_path / "daemon.log"
        async with Daemon(config, log) as daemon, Store(store_url) as store:  # kills on failure

            async def shop_case(level: Level | None, status: IncidentStatus) -> bool:
                found = await site_incidents(store, "acme/shop")
                return bool(found) and (found[0].status, found[0].level)[: 2 if level else 1] == (
                    (status, level) if level else (status,)
                )

            async def checks_ok() -> bool:
                async with store.transaction(read_only=True) as tx:
                    states = await tx.checks.load()
                return len(states) == 3 and all(s.state.value == "ok" for s in states)

            await until("all checks ok", checks_ok, log)
            assert await site_incidents(store, "acme/shop") == []

            shop.state = SiteState.ERROR  # home broken
            await until("a Level A case", lambda: shop_case(Level.A, IncidentStatus.OPEN), log)
            shop.state = SiteState.HEALTHY
            await until("resolution", lambda: shop_case(None, IncidentStatus.RESOLVED), log)

            shop.state = SiteState.BROKEN_CHECKOUT  # only /checkout broken
            await until("Level B", lambda: shop_case(Level.B, IncidentStatus.OPEN), log)
            [case] = await site_incidents(store, "acme/shop")  # reopened, not a second case

            assert await daemon.stop(signal.SIGKILL) == -signal.SIGKILL
            shop_hits, blog_hits = shop.hits, blog.hits  # from here on, the new process's
            await daemon.start()
            # several probes of the new process (/checkout failing), then a flush and a
            # tick: a second case would have opened by now
            await until("probes after the restart", lambda: hit(shop, shop_hits + 8), log)
            await asyncio.sleep(2)
            [same] = await site_incidents(store, "acme/shop")
            assert (same.case_number, same.status) == (case.case_number, IncidentStatus.OPEN)

            shop.state = SiteState.HEALTHY
            await until("resolution", lambda: shop_case(None, IncidentStatus.RESOLVED), log)
            [resolved] = await site_incidents(store, "acme/shop")
            assert resolved.case_number == case.case_number
            assert resolved.flapping

            # The baseline (not checkpointed before the SIGKILL) needs MIN_BASELINE samples
            # again: count the new process's probes rather than wait a fixed time (a loaded
            # machine probes late). Results reach the engine in order, so these fast samples
            # are all in the baseline before the first slow one.
            await until(
                "a new latency baseline", lambda: hit(blog, blog_hits + MIN_BASELINE + 2), log
            )
            blog.state = SiteState.SLOW  # 5x slower than its baseline
            await until(
                "slow Level B",
                lambda: blog_level(store, Level.B),
                log,
            )
            assert await daemon.stop(signal.SIGTERM) == 0
        assert "vakt.stopped" in log.read_text()


async def hit(site: SiteMode, hits: int) -> bool:
    """The fleet has answered `hits` probes of `site` (an awaitable, for `until`)."""
    return site.hits >= hits


async def blog_level(store: Store, level: Level) -> bool:
    found = await site_incidents(store, "acme/blog")
    return bool(found) and found[0].level is level and found[0].status is IncidentStatus.OPEN
