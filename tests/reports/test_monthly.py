"""The monthly report email (issue 21, part 4): due on the first business day in the
customer's calendar; sent once by a real `vakt run` to a local SMTP server with the PDF
attached, in the customer's language, and not again after a restart."""

from __future__ import annotations

import asyncio
import re
import shutil
import signal
import subprocess
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest

from monitor.config.loader import load_config_text
from monitor.demo.targets import HostileFleet
from monitor.policy.contracts import Contracts
from monitor.reports.figures import Month
from monitor.store import Store
from tests.e2e.support import Daemon, SmtpInbox, free_port, until
from tests.reports.test_figures import oslo
from tests.reports.test_snapshots import outage, seed

OSLO = ZoneInfo("Europe/Oslo")

CALENDARS = """\
vakt: 1
calendars:
  oslo-office: {timezone: Europe/Oslo, hours: {mon-fri: ["09:00-16:00"]}, holidays: {country: "NO"}}
policies:
  standard: {calendar: oslo-office, reports: {monthly: true}}
customers:
  acme:
    name: ACME AS
    timezone: Europe/Oslo
    policy: standard
    contacts: [{name: Kari, email: kari@acme.example}]
    sites: {shop: {url: "http://127.0.0.1:9/", checks: {home: {path: /}}}}
"""


@pytest.mark.parametrize(
    ("month", "due"),
    [
        (Month(2026, 12), oslo(2026, 12, 1, 9)),  # a Tuesday
        (Month(2026, 11), oslo(2026, 11, 2, 9)),  # the 1st is a Sunday
        (Month(2027, 1), oslo(2027, 1, 4, 9)),  # New Year's Day, then a weekend
    ],
)
def test_the_report_is_due_on_the_first_business_day_in_the_customers_calendar(
    month: Month, due: datetime
) -> None:
    from monitor.reports.monthly import due_at

    config = load_config_text(CALENDARS)
    customer = config.customers["acme"]
    assert due_at(month, customer, Contracts.from_config(config).clock("standard")) == due


CONFIG = """\
vakt: 1
settings:
  timezone: Europe/Oslo
  store: "{store}"
  listen: 127.0.0.1:{private}
  public_listen: 127.0.0.1:{public}
  location: e2e
  defaults: {{interval: 1s, retry_interval: 500ms, timeout: 2s}}
  email:
    from: "Agency <support@agency.example>"
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {smtp}, starttls: false}}
calendars:
  always: {{timezone: Europe/Oslo, hours: {{mon-sun: ["00:00-24:00"]}}}}
policies:
  standard: {{calendar: always, reports: {{monthly: true, to: [primary]}}}}
customers:
  acme:
    name: ACME AS
    language: nb
    timezone: Europe/Oslo
    policy: standard
    contacts:
      - {{name: Kari Nordmann, email: kari@acme.example}}
      - {{name: Ola Nordmann, email: ola@acme.example}}
    sites:
      shop:
        url: {shop}
        checks:
          home: {{path: /}}
"""


def pdf_of(message: EmailMessage) -> bytes:
    parts = [p for p in message.iter_attachments() if p.get_content_type() == "application/pdf"]
    assert len(parts) == 1
    content = parts[0].get_content()
    assert isinstance(content, bytes)
    return content


async def progress(url: str, task: str) -> float:
    """The task's last progress (Unix time) from /metrics; 0 before its first."""
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        text = await response.text()
    found = re.search(
        rf'vakt_task_last_progress_timestamp_seconds{{task="{re.escape(task)}"}} (\S+)', text
    )
    return float(found[1]) if found else 0.0


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
async def test_the_monthly_email_arrives_once_with_the_pdf_even_across_a_restart(
    tmp_path: Path,
) -> None:
    month = Month.of(datetime.now(UTC), OSLO).previous()  # due now: the calendar never closes
    url = f"sqlite:///{tmp_path / 'vakt.db'}"
    async with Store(url) as store:
        await store.upgrade()
    start, _ = month.bounds(OSLO)
    case = outage(7, start + timedelta(days=2, hours=9), 45)
    await seed(url, case, probes=False)
    private = free_port()
    async with SmtpInbox() as inbox, HostileFleet(tmp_path) as fleet:
        config = tmp_path / "checks.yaml"
        config.write_text(
            CONFIG.format(
                store=url,
                private=private,
                public=free_port(),
                smtp=inbox.port,
                shop=fleet.url("/sites/shop/"),
            )
        )
        log = tmp_path / "daemon.log"
        metrics = f"http://127.0.0.1:{private}/metrics"
        async with Daemon(config, log) as daemon:
            await until("the report email", lambda: bool(inbox.to("kari@acme.example")), log)
            await until("the team's summary", lambda: bool(inbox.to("ops@agency.example")), log)
            assert await daemon.stop(signal.SIGTERM) == 0
            restarted = datetime.now(UTC).timestamp()
            await daemon.start()
            await until(
                "the monthly job after the restart",
                lambda: _after(metrics, restarted),
                log,
            )
            assert await daemon.stop(signal.SIGTERM) == 0

    [mail] = inbox.to("kari@acme.example")
    assert inbox.to("ola@acme.example") == []  # `to: [primary]`
    [summary] = inbox.to("ops@agency.example")
    assert "Tjenesterapport for" in mail.subject
    assert "ACME AS" in mail.subject
    assert "ACME AS" in summary.text
    assert case[0].case_number not in summary.text  # met: not named as missed
    document = tmp_path / "sent.pdf"
    document.write_bytes(pdf_of(mail.message))
    text = await asyncio.to_thread(
        lambda: (
            subprocess.run(
                ["pdftotext", str(document), "-"], capture_output=True, text=True, check=True
            ).stdout
        )
    )
    assert "ACME AS" in text
    assert case[0].case_number in text
    async with Store(url) as store, store.transaction(read_only=True) as tx:
        frozen = await tx.reports.latest("acme", str(month))
    assert frozen is not None
    assert (frozen.version, frozen.pdf is not None) == (1, True)
    assert frozen.sent_at is not None


async def _after(metrics: str, moment: float) -> bool:
    try:
        return await progress(metrics, "reports.monthly") > moment
    except aiohttp.ClientError:
        return False
