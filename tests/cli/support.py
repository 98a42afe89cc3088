"""Builders for the operator CLI's tests: a config on disk, a store URL, seeded rows.

Everything is seeded through the store API and `monitor.notify.stored`, the same way the
daemon writes it; the commands under test then read and write the real database.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from monitor.cli import main
from monitor.engine import event_records, to_record
from monitor.incidents import Event, EventKind, Incident, IncidentKind
from monitor.model import CheckState, ErrorCode, IncidentStatus, Level, Verdict
from monitor.store import CheckStatus, SiteStatus, Store
from monitor.store import Incident as StoredIncident

CONFIG = """\
vakt: 1
settings:
  timezone: Europe/Oslo
  store: {store}
  case_prefix: VAKT
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
  bob: {{name: Bob Berg, email: bob.berg@agency.example}}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {{path: /}}
          checkout: {{path: /checkout, impact: function}}
      blog:
        url: https://blog.acme.example
        checks:
          home: {{path: /}}
  globex:
    name: Globex
    contacts: [{{name: Hank Scorpio, email: hank@globex.example}}]
    sites:
      web:
        url: https://globex.example
        checks:
          home: {{path: /}}
maintenance:
  - {{sites: [acme/shop], from: 2099-12-01T22:00, to: 2099-12-01T23:00, reason: Server upgrade}}
  - {{sites: [acme/*], every: "sun 03:00", duration: 30m, reason: Weekly patching}}
"""

KARI = "Kari Nordmann <kari@acme.example>"
INCIDENT_KEYS = {
    "case",
    "customer",
    "site",
    "level",
    "status",
    "opened_at",
    "acknowledged_at",
    "resolved_at",
    "respond_by",
    "contact",
    "description",
}


@dataclass(frozen=True, slots=True)
class Env:
    """A config file whose `settings.store` is `url`, and the capture of the last run."""

    config: Path
    url: str
    capsys: pytest.CaptureFixture[str]

    def vakt(self, *argv: str) -> tuple[int, str, str]:
        """Run `vakt ARGV -c CONFIG`; returns (exit code, stdout, stderr)."""
        self.capsys.readouterr()
        code = main([*argv, "-c", str(self.config)])
        out, err = self.capsys.readouterr()
        return code, out, err

    def json(self, *argv: str) -> Any:
        code, out, err = self.vakt(*argv, "--json")
        assert code == 0, err
        return json.loads(out)

    def run(self, work: Any) -> Any:
        """Run `await work(store)` against this environment's database."""

        async def session() -> Any:
            async with Store(self.url) as store:
                await store.ensure_schema()
                return await work(store)

        return asyncio.run(session())


def write_config(path: Path, url: str) -> Path:
    path.write_text(CONFIG.format(store=url))
    return path


def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


async def seed_incident(
    store: Store,
    *,
    site: str = "acme/shop",
    level: Level = Level.A,
    opened_at: datetime | None = None,
    status: IncidentStatus = IncidentStatus.OPEN,
    description: str = "Home (https://shop.acme.example/) fails: timeout after 10 s.",
    respond_in: timedelta = timedelta(hours=2),
) -> StoredIncident:
    """An incident as the daemon would have opened it, with its OPENED event."""
    opened = opened_at or now() - timedelta(minutes=10)
    async with store.transaction() as tx:
        case = await tx.incidents.next_case_number("VAKT", opened.year)
        value = Incident(
            site_id=site,
            customer_id=site.partition("/")[0],
            kind=IncidentKind.SITE,
            case=case,
            level=level,
            status=status,
            opened_at=opened,
            contact=KARI if site.startswith("acme/") else None,
            description=description,
            policy="default",
            respond_by=opened + respond_in,
            resolved_at=opened + timedelta(minutes=5)
            if status is IncidentStatus.RESOLVED
            else None,
            resolved_by="vakt" if status is IncidentStatus.RESOLVED else None,
            timeline=(Event(EventKind.OPENED, opened),),
        )
        row = await tx.incidents.insert(to_record(value, opened))
        await tx.incidents.add_events(event_records(row.id, value.timeline))
    return row


async def seed_states(
    store: Store, sites: Sequence[SiteStatus], checks: Sequence[CheckStatus]
) -> None:
    async with store.transaction() as tx:
        await tx.sites.save(sites)
        await tx.checks.save(checks)


def check_status(
    check_id: str,
    state: CheckState,
    *,
    location: str = "default",
    since: datetime | None = None,
    latency: float | None = 0.2,
    error: ErrorCode | None = None,
) -> CheckStatus:
    at = since or now() - timedelta(minutes=30)
    verdict = {CheckState.FAILING: Verdict.FAILED, CheckState.DEGRADED: Verdict.DEGRADED}
    return CheckStatus(
        check_id=check_id,
        location=location,
        state=state,
        since=at,
        updated_at=now(),
        last_verdict=verdict.get(state, Verdict.OK),
        last_error=error,
        last_probe_at=now() - timedelta(seconds=5),
        last_total=latency,
    )


def site_status(site_id: str, level: Level | None, *, since: datetime | None = None) -> SiteStatus:
    return SiteStatus(site_id, level, since or now() - timedelta(minutes=30), now())
