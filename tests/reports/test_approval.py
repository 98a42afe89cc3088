"""The monthly report's approval (issue 21, part 4, `reports: {approve: true}`): the team
gets a preview with signed approve and hold links; nothing reaches the customer until the
report is approved; approving sends it once (the same path as the unapproved send), holding
records who held it and sends nothing."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from monitor.demo.targets import HostileFleet
from monitor.reports import monthly
from monitor.reports.figures import Month
from monitor.store import Store
from tests.e2e.support import Daemon, SmtpInbox, free_port, until
from tests.reports.test_monthly import CONFIG, _after, pdf_of
from tests.reports.test_snapshots import outage, seed

OSLO = ZoneInfo("Europe/Oslo")

APPROVED = CONFIG.replace("to: [primary]}", "to: [primary], approve: true}").replace(
    "  location: e2e\n", "  location: e2e\n  public_url: http://127.0.0.1:{public}\n"
)
LINK = re.compile(r"http://127\.0\.0\.1:\d+/report-approval/[A-Za-z0-9_.-]+")


def links(text: str) -> list[str]:
    return LINK.findall(text)


async def click(url: str) -> int:
    """GET the link's page (changes nothing), then POST its form with the CSRF token."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        async with session.get(url) as page:
            if page.status != 200:
                return page.status  # refused: nothing to post
            html = await page.text()
        found = re.search(r'name="([^"]+)" value="([^"]+)"', html)
        assert found is not None
        async with session.post(url, data={found[1]: found[2]}) as done:
            return done.status


async def _setup(tmp_path: Path) -> tuple[str, Month, str]:
    month = Month.of(datetime.now(UTC), OSLO).previous()
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with Store(url) as store:
        await store.upgrade()
    start, _ = month.bounds(OSLO)
    case = outage(7, start + timedelta(days=2, hours=9), 45)
    await seed(url, case, probes=False)
    return url, month, case[0].case_number


@pytest.mark.parametrize(
    "decision",
    # hold sends nothing: also in the default run by the team UI's and the CLI's tests
    ["approve", pytest.param("hold", marks=pytest.mark.slow)],
)
async def test_a_report_waits_for_approval_and_approving_sends_it_once(
    tmp_path: Path, decision: str
) -> None:
    url, month, _ = await _setup(tmp_path)
    async with SmtpInbox() as inbox, HostileFleet(tmp_path) as fleet:
        config = tmp_path / "checks.yaml"
        public, private = free_port(), free_port()
        config.write_text(
            APPROVED.format(
                store=url,
                private=private,
                public=public,
                smtp=inbox.port,
                shop=fleet.url("/sites/shop/"),
            )
        )
        log = tmp_path / "daemon.log"
        async with Daemon(config, log) as daemon:
            await until("the preview", lambda: bool(inbox.to("ops@agency.example")), log)
            [preview] = inbox.to("ops@agency.example")
            assert "ACME AS" in preview.text
            assert len(pdf_of(preview.message)) > 0  # the report itself, to read first
            approve, hold = links(preview.text)
            assert "approve" in preview.text.lower()
            assert "hold" in preview.text.lower()
            assert inbox.to("kari@acme.example") == []  # nothing before the approval
            if decision == "approve":
                assert await click(approve) == 200
                await until("the report", lambda: bool(inbox.to("kari@acme.example")), log)
                assert await click(approve) == 410  # spent: approving twice sends once
            else:
                assert await click(hold) == 200
            assert await daemon.stop(signal.SIGTERM) == 0
            restarted = datetime.now(UTC).timestamp()
            await daemon.start()  # the monthly job runs again soon after a start
            metrics = f"http://127.0.0.1:{private}/metrics"
            await until("the job after the restart", lambda: _after(metrics, restarted), log)
            assert await daemon.stop(signal.SIGTERM) == 0

    async with Store(url) as store, store.transaction(read_only=True) as tx:
        frozen = await tx.reports.latest("acme", str(month))
        standing = await monthly.standing(tx, "acme", month)
    previews = [m for m in inbox.to("ops@agency.example") if links(m.text)]
    assert len(previews) == 1  # the preview, once across the restart
    if decision == "approve":
        [mail] = inbox.to("kari@acme.example")
        assert len(pdf_of(mail.message)) > 0
        assert frozen is not None
        assert frozen.sent_at is not None
        assert standing.state is monthly.ReportState.SENT
    else:
        assert inbox.to("kari@acme.example") == []
        assert frozen is None or frozen.sent_at is None
        assert standing == monthly.Standing(monthly.ReportState.HELD, "team (email link)")


CLI_CONFIG = """\
vakt: 1
settings:
  timezone: Europe/Oslo
  store: "{store}"
  email:
    from: "Agency <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: 2525, starttls: false}}
calendars:
  always: {{timezone: Europe/Oslo, hours: {{mon-sun: ["00:00-24:00"]}}}}
policies:
  standard: {{calendar: always, reports: {{monthly: true, to: [primary], approve: true}}}}
customers:
  acme:
    name: ACME AS
    timezone: Europe/Oslo
    policy: standard
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites: {{shop: {{url: "http://127.0.0.1:9/", checks: {{home: {{path: /}}}}}}}}
"""


def vakt_report(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "monitor", "report", *args[:1], "-c", str(config)]
    return subprocess.run(
        [*command, *args[1:]], capture_output=True, text=True, timeout=120, check=False
    )


async def test_vakt_report_approve_sends_once_and_hold_sends_nothing(tmp_path: Path) -> None:
    url, month, _ = await _setup(tmp_path)
    config = tmp_path / "checks.yaml"
    config.write_text(CLI_CONFIG.format(store=url))
    which = ["--customer", "acme", "--month", str(month), "--by", "kari"]

    held = await asyncio.to_thread(vakt_report, config, "hold", *which)
    assert held.returncode == 0, held.stderr
    for _ in range(2):  # approving twice sends once
        done = await asyncio.to_thread(vakt_report, config, "approve", *which)
        assert done.returncode == 0, done.stderr

    async with Store(url) as store, store.transaction(read_only=True) as tx:
        rows = await tx.outbox.find()
        frozen = await tx.reports.latest("acme", str(month))
    to = sorted(json.loads(r.payload)["to"]["address"] for r in rows)
    assert to == ["kari@acme.example", "ops@agency.example"]  # the report and the summary
    assert frozen is not None
    assert (frozen.version, frozen.created_by) == (1, "kari")
    assert frozen.sent_at is not None
