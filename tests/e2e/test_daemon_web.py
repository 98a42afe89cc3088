"""Issues 7 and 8 end to end: `vakt run` serves the web apps and `/metrics`.

The private listener answers `/healthz`, `/readyz` and `/metrics` (parsed with the
Prometheus text parser); the public one serves the customer's status page. SIGHUP
reloads the config: a check added to the file shows in `vakt_checks`.
"""

from __future__ import annotations

import signal
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from monitor.demo.targets import HostileFleet
from tests.e2e.support import Daemon, free_port, until

CONFIG = """\
vakt: 1
settings:
  timezone: UTC
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: e2e
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
{extra}"""

EXTRA = "          checkout: {path: /checkout, impact: function}\n"


def samples(text: str) -> dict[str, float]:
    """`name{labels}` -> value of every sample, labels sorted."""
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}" if labels else s.name] = s.value
    return out


async def test_running_daemon_serves_health_readiness_metrics_and_status_page(
    tmp_path: Path,
) -> None:
    private, public = free_port(), free_port()
    store = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with HostileFleet(tmp_path) as fleet, aiohttp.ClientSession() as http:
        values = {
            "store": store,
            "private": private,
            "public": public,
            "shop": fleet.url("/sites/shop/"),
        }
        config = tmp_path / "checks.yaml"
        config.write_text(CONFIG.format(**values, extra=""))
        log = tmp_path / "daemon.log"
        base = f"http://127.0.0.1:{private}"

        async def get(url: str) -> tuple[int, str]:
            try:
                async with http.get(url) as response:
                    return response.status, await response.text()
            except aiohttp.ClientConnectionError:
                return 0, ""

        async def metric(name: str, value: float) -> bool:
            status, text = await get(f"{base}/metrics")
            return status == 200 and samples(text).get(name) == value

        async with Daemon(config, log) as daemon:

            async def ready() -> bool:
                return (await get(f"{base}/readyz"))[0] == 200

            await until("/readyz", ready, log)
            assert (await get(f"{base}/healthz"))[0] == 200
            await until("probe results in /metrics", lambda: probed(get, base), log)
            parsed = samples((await get(f"{base}/metrics"))[1])
            assert parsed["vakt_checks"] == 1
            assert parsed["vakt_incidents_open{level=A}"] == 0

            status, page = await get(f"http://127.0.0.1:{public}/status/acme")
            assert status == 200
            assert "ACME AS" in page
            assert (await get(f"http://127.0.0.1:{public}/metrics"))[0] == 404  # private only

            config.write_text(CONFIG.format(**values, extra=EXTRA))
            assert daemon.proc is not None
            daemon.proc.send_signal(signal.SIGHUP)
            await until("the reloaded config", lambda: metric("vakt_checks", 2), log)
            assert await metric("vakt_config_reload_success", 1)
            assert await daemon.stop(signal.SIGTERM) == 0


async def probed(get: Callable[[str], Awaitable[tuple[int, str]]], base: str) -> bool:
    status, text = await get(f"{base}/metrics")
    found = samples(text) if status == 200 else {}
    return found.get("vakt_probe_results_total{code=ok,location=e2e,type=http}", 0) > 0
