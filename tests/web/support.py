"""Builders for the web tests: a config with hostile names, a seeded SQLite store."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.clock import FixedClock
from monitor.config import Config, load_config
from monitor.model import ErrorCode, IncidentStatus, Level, ProbeResult, Timings, Verdict
from monitor.store import EventKind, Evidence, Incident, IncidentEvent, Store, fold
from monitor.web.auth import PasswordHasher, set_password

if TYPE_CHECKING:
    from tests.web.conftest import Client

T0 = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
SECRET = "test-secret-0123456789abcdef"
STATUS_TOKEN = "acme-status-token-0123456789"
HEARTBEAT_TOKEN = "backup-token-0123456789"
PASSWORD = "correct horse battery"
XSS = "<script>alert(1)</script>"
FAST = PasswordHasher(log2_n=4)  # cheap hashes: tests are about behaviour, not cost

CONFIG = f"""
vakt: 1
settings:
  timezone: Europe/Oslo
  public_url: http://127.0.0.1:8081
  secret: {SECRET}
  location: oslo
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
  bob: {{name: "Bob {XSS}", email: bob@agency.example}}
policies:
  approving:
    calendar: office
    levels:
      A: {{respond: 2h, clock: always, customer_emails: approve}}
      B: {{respond: 8h, clock: always}}
calendars:
  office: {{timezone: Europe/Oslo, hours: {{mon-fri: ["09:00-16:00"]}}}}
customers:
  acme:
    name: "ACME {XSS}"
    language: nb
    timezone: Europe/Oslo
    policy: approving
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    status_page: {{token: {STATUS_TOKEN}}}
    sites:
      shop:
        url: https://shop.acme.example
        title: "Shop {XSS}"
        checks:
          home: {{path: /}}
          backup: {{type: heartbeat, every: 1d, grace: 1h, token: {HEARTBEAT_TOKEN}}}
  open:
    name: Open Company
    language: nl
    timezone: Europe/Amsterdam
    contacts: [{{name: Jan, email: jan@open.example}}]
    status_page: {{public: true}}
    sites:
      web:
        url: https://www.open.example
        checks:
          home: {{path: /}}
  secret:
    name: Secret Company
    language: en
    timezone: Europe/Oslo
    contacts: [{{name: Sam, email: sam@secret.example}}]
    sites:
      app:
        url: https://app.secret.example
        checks:
          home: {{path: /}}
"""


def write_config(tmp_path: Path, text: str = CONFIG) -> Config:
    path = tmp_path / "checks.yaml"
    path.write_text(text)
    return load_config(str(path))


async def add_password(store: Store, person: str = "alice", password: str = PASSWORD) -> None:
    await set_password(store, FAST, person, password, T0)


async def add_incident(
    store: Store,
    *,
    case: str = "VAKT-2026-000001",
    site_id: str = "acme/shop",
    level: Level = Level.A,
    status: IncidentStatus = IncidentStatus.OPEN,
    respond_by: datetime | None = T0 + timedelta(hours=2),
    description: str = "Home fails",
    opened_at: datetime = T0,
) -> Incident:
    row = Incident(
        case_number=case,
        site_id=site_id,
        customer_id=site_id.split("/")[0],
        level=level,
        status=status,
        opened_at=opened_at,
        updated_at=opened_at,
        description=description,
        respond_by=respond_by,
    )
    async with store.transaction() as tx:
        stored = await tx.incidents.insert(row)
        await tx.incidents.add_events(
            [IncidentEvent(stored.id, opened_at, "vakt", EventKind.OPENED)]
        )
    return stored


def failed_result(
    check_id: str, at: datetime, detail: str, address: str = "10.1.2.3"
) -> ProbeResult:
    return ProbeResult(
        check_id=check_id,
        verdict=Verdict.FAILED,
        started_at=at,
        timings=Timings(total=0.5),
        location="oslo",
        error=ErrorCode.HTTP_STATUS,
        detail=detail,
        status_code=500,
        address=address,
    )


async def add_results(store: Store, results: list[ProbeResult]) -> None:
    async with store.transaction() as tx:
        await tx.results.push_recent(results)
        await tx.results.add_aggregates(fold(results))
        await tx.results.add_evidence([Evidence(r, r.detail) for r in results if not r.ok])


def ok_result(check_id: str, at: datetime, total: float = 0.2) -> ProbeResult:
    return ProbeResult(check_id, Verdict.OK, at, Timings(total=total), "oslo", status_code=200)


CSRF_RE = re.compile(r'name="csrf" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = CSRF_RE.search(html)
    assert found is not None, "the page has no CSRF field"
    return found.group(1)


async def login(client: Client, person: str = "alice", password: str = PASSWORD) -> str:
    """Sign in through the form; returns the session's CSRF token (from the overview)."""
    page = await client.get("/login")
    token = csrf_of(await page.text())
    response = await client.post(
        "/login", data={"csrf": token, "person": person, "password": password, "next": "/"}
    )
    assert response.status == 200, await response.text()
    assert str(response.url).endswith("/")
    return csrf_of(await response.text())


@dataclass
class Env:
    store: Store
    clock: FixedClock
    config: Config
