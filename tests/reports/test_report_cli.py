"""`vakt report` on a store filled by a real `vakt run` (issue 21, "Done when", second
bullet): HTML, PDF, CSV and JSON; the PDF names the customer, the month and every case;
the HTML's chart has one bar per day as high as the computed figure; page 1 becomes a PNG.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date

from monitor.demo.targets import HostileFleet
from monitor.demo.targets.http import SiteState
from monitor.model import IncidentStatus, Level
from monitor.reports.figures import Month
from monitor.store import Incident, Store
from tests.e2e.support import Daemon, free_port, until
from tests.reports.test_render import bars, chart

OSLO = ZoneInfo("Europe/Oslo")
VAKT = (sys.executable, "-m", "monitor")

CONFIG = """\
vakt: 1
settings:
  timezone: Europe/Oslo
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: e2e
  flapping: {{changes: 9, within: 5m, reopen_within: 1s}}
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s, confirm: 2, recover: 2}}
customers:
  acme:
    name: ACME AS
    language: nb
    timezone: Europe/Oslo
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
"""


async def cases(store: Store) -> list[Incident]:
    async with store.transaction(read_only=True) as tx:
        return await tx.incidents.find(site_id="acme/shop")


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
async def test_vakt_report_on_a_store_filled_by_vakt_run(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with Store(url) as store:
        await store.upgrade()
    async with HostileFleet(tmp_path) as fleet:
        shop = fleet.http.site("shop")
        config = tmp_path / "checks.yaml"
        config.write_text(
            CONFIG.format(
                store=url, shop=fleet.url("/sites/shop/"), private=free_port(), public=free_port()
            )
        )
        log = tmp_path / "daemon.log"
        async with Daemon(config, log) as daemon, Store(url) as store:
            for _ in range(2):  # two outages, two cases
                before = len(await cases(store))
                shop.state = SiteState.ERROR
                await until("a case", lambda n=before: _opened(store, n + 1), log)
                shop.state = SiteState.HEALTHY
                await until("resolution", lambda: _resolved(store), log)
                hits = shop.hits  # healthy probes past reopen_within: the next is a new case
                await until("healthy probes", lambda h=hits: shop.hits >= h + 3, log)
            assert await daemon.stop(signal.SIGTERM) == 0
            found = await cases(store)
    assert len(found) == 2
    assert all(c.level is Level.A for c in found)
    await asyncio.to_thread(check_reports, config, found, tmp_path)


def check_reports(config: Path, found: list[Incident], tmp_path: Path) -> None:
    """`vakt report` for the month of the cases, in all four formats, and what they say."""
    month = Month.of(found[-1].opened_at, OSLO)
    out = tmp_path / "reports"
    formats = ["--format", "html,pdf,csv,json", "--out", str(out)]
    done = subprocess.run(
        [*VAKT, "report", "-c", str(config), "--month", str(month), "--customer", "acme", *formats],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    stem = out / f"acme-{month}"
    names = {p.name for p in out.iterdir()}
    assert names == {f"{stem.name}{s}" for s in (".html", ".pdf", ".json")} | {
        f"{stem.name}-days.csv",
        f"{stem.name}-cases.csv",
    }

    figures = json.loads(stem.with_suffix(".json").read_text())
    assert sorted(c["case"] for c in figures["cases"]) == sorted(c.case_number for c in found)
    assert figures["down_s"] > 0

    shown = bars(chart(stem.with_suffix(".html").read_text(), "availability-chart"))
    assert len(shown) == len(month.days())
    for day in figures["days"]:
        assert shown[day["day"]] == pytest.approx(day["uptime"] or 0.0, abs=1e-3)

    text = subprocess.run(
        ["pdftotext", str(stem.with_suffix(".pdf")), "-"], capture_output=True, text=True
    ).stdout
    assert "ACME AS" in text
    assert format_date(month.first, "LLLL y", locale="nb") in text
    for case in found:
        assert case.case_number in text
    subprocess.run(
        [
            "pdftoppm",
            "-f",
            "1",
            "-l",
            "1",
            "-r",
            "40",
            "-png",
            str(stem.with_suffix(".pdf")),
            str(tmp_path / "page"),
        ],
        check=True,
        timeout=60,
    )
    assert next(tmp_path.glob("page*.png")).read_bytes()[:4] == b"\x89PNG"


async def _opened(store: Store, count: int) -> bool:
    return len(await cases(store)) >= count


async def _resolved(store: Store) -> bool:
    found = await cases(store)
    return bool(found) and all(c.status is IncidentStatus.RESOLVED for c in found)
