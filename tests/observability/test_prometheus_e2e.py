"""A real Prometheus (Debian's `prometheus`, loopback, temp data dir, 1 s scrapes) scrapes
Vakt's metrics and fires an alert from alerts/ when a local target goes down.

`vakt run` runs as a subprocess probing a local target and serves `/metrics` on its
private listener; the engine sets the check's level once its failure is confirmed.
"""

from __future__ import annotations

import asyncio
import shutil
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import yaml
from aiohttp import web

from tests.e2e.support import Daemon
from tests.observability.support import ALERTS, promtool
from tests.ports import free_port


class Target:
    """A customer site on loopback that can be switched off."""

    def __init__(self) -> None:
        self.up = True

    async def home(self, request: web.Request) -> web.Response:
        return web.Response(status=200 if self.up else 503, text="ACME")


@pytest.fixture
def prometheus_binary() -> str:
    promtool()  # the same skip/fail rule as the promtool tests
    found = shutil.which("prometheus")
    assert found is not None, "Debian's prometheus package provides both binaries"
    return found


async def start_prometheus(binary: str, tmp: Path, vakt_port: int) -> tuple[Any, str]:
    config = {
        "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS / "customers.rules.yml"), str(ALERTS / "vakt.rules.yml")],
        "scrape_configs": [
            {"job_name": "vakt", "static_configs": [{"targets": [f"127.0.0.1:{vakt_port}"]}]}
        ],
    }
    (tmp / "prometheus.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    with (tmp / "prometheus.log").open("w") as log:  # the child keeps its own copy
        process = await asyncio.create_subprocess_exec(
            binary,
            f"--config.file={tmp / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp / 'data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    return process, f"http://127.0.0.1:{port}"


async def api(session: aiohttp.ClientSession, url: str) -> Any:
    try:
        async with session.get(url) as response:
            return (await response.json())["data"]
    except aiohttp.ClientError:
        return None  # not listening yet


async def wait_for(what: str, predicate: Any, limit: float = 60) -> None:
    try:
        async with asyncio.timeout(limit):
            # Prometheus's HTTP API offers no push: asking again is the only way.
            while not await predicate():  # noqa: ASYNC110
                await asyncio.sleep(0.25)
    except TimeoutError:
        pytest.fail(f"timed out waiting for {what}")


VAKT_CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "sqlite:///{db}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: oslo
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
customers:
  acme:
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: {url}
        checks:
          home: {{path: /}}
"""


@pytest.fixture
async def vakt(tmp_path: Path) -> AsyncIterator[tuple[Target, int]]:
    """`vakt run` (a subprocess) probing a local target; yields the target and the port
    of the private listener that serves /metrics."""
    target = Target()
    app = web.Application()
    app.router.add_get("/", target.home)
    site_runner = web.AppRunner(app)
    await site_runner.setup()
    await web.TCPSite(site_runner, "127.0.0.1", 0).start()
    url = f"http://127.0.0.1:{site_runner.addresses[0][1]}/"
    private = free_port()
    config = tmp_path / "checks.yaml"
    config.write_text(
        VAKT_CONFIG.format(db=tmp_path / "vakt.db", private=private, public=free_port(), url=url)
    )
    try:
        async with Daemon(config, tmp_path / "vakt.log") as daemon:
            yield target, private
            assert await daemon.stop(signal.SIGTERM) == 0
    finally:
        await site_runner.cleanup()


async def test_prometheus_scrapes_vakt_and_fires_site_level_a_when_the_target_goes_down(
    tmp_path: Path, prometheus_binary: str, vakt: tuple[Target, int]
) -> None:
    target, vakt_port = vakt
    process, base = await start_prometheus(prometheus_binary, tmp_path, vakt_port)
    try:
        async with aiohttp.ClientSession() as session:

            async def scraped_and_up() -> bool:
                data = await api(session, f"{base}/api/v1/query?query=vakt_check_up")
                return bool(data and data["result"] and data["result"][0]["value"][1] == "1")

            async def level_a_firing() -> bool:
                data = await api(session, f"{base}/api/v1/alerts")
                return any(
                    a["labels"]["alertname"] == "VaktSiteLevelA"
                    and a["labels"]["site"] == "shop"
                    and a["state"] == "firing"
                    for a in (data or {}).get("alerts", [])
                )

            await wait_for("Prometheus to scrape vakt_check_up == 1", scraped_and_up)
            assert not await level_a_firing()
            target.up = False
            await wait_for("VaktSiteLevelA to fire", level_a_firing, limit=90)
    finally:
        process.terminate()
        await process.wait()
