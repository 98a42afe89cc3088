"""A demo world for the browser test and `make screenshots`: config, seeded store, servers.

Two customers with a few sites, 90 days of aggregates (one bad day), an open Level A
incident with evidence, a timeline and a public note, and upcoming maintenance.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from aiohttp import web

from monitor.clock import FixedClock
from monitor.config import Config, load_config
from monitor.model import (
    CheckState,
    ErrorCode,
    IncidentStatus,
    Level,
    ProbeResult,
    Timings,
    Verdict,
)
from monitor.store import (
    Aggregate,
    CheckStatus,
    EventKind,
    Evidence,
    Incident,
    IncidentEvent,
    MaintenanceWindow,
    SiteStatus,
    Store,
    Transaction,
    fold,
)
from monitor.store.aggregates import BUCKET, BUCKET_COUNT, bucket_start, latency_bucket
from monitor.web import WebDeps, create_private_app, create_public_app
from monitor.web.auth import PasswordHasher, set_password

NOW = datetime(2026, 11, 24, 9, 40, tzinfo=UTC)
PASSWORD = "demo password 1234"
STATUS_TOKEN = "demo-status-token-9f2c1a"
CASE = "VAKT-2026-000042"
SECRET = "demo-secret-4b1f0e9d2c"
HASHER = PasswordHasher(log2_n=12)  # demo only: quick to set up

CONFIG = f"""
vakt: 1
settings:
  timezone: Europe/Oslo
  public_url: http://127.0.0.1:8081
  secret: {SECRET}
  location: oslo
people:
  alice: {{name: Alice Hansen, email: alice@agency.example}}
  bob: {{name: Bob Berg, email: bob@agency.example}}
oncall:
  schedules:
    primary:
      timezone: Europe/Oslo
      layers: [{{rotation: weekly, handoff: "mon 09:00", members: [alice, bob]}}]
      overrides: [{{person: bob, from: 2026-12-24T00:00, to: 2026-12-27T00:00}}]
  escalation:
    default:
      steps:
        - {{notify: [schedule:primary], via: [email]}}
        - {{after: 15m, notify: [person:bob], via: [email]}}
customers:
  acme:
    name: ACME AS
    language: nb
    timezone: Europe/Oslo
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    status_page: {{token: {STATUS_TOKEN}}}
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
  fjord:
    name: Fjord Media
    language: en
    timezone: Europe/Oslo
    contacts: [{{name: Ola, email: ola@fjord.example}}]
    status_page: {{public: true}}
    sites:
      www:
        url: https://www.fjord.example
        checks:
          home: {{path: /}}
"""


def write_config(folder: Path) -> Config:
    path = folder / "checks.yaml"
    path.write_text(CONFIG)
    return load_config(str(path))


def _aggregates(config: Config, days: int) -> list[Aggregate]:
    rng = random.Random(7)
    start = bucket_start(NOW - timedelta(days=days))
    out: list[Aggregate] = []
    for check in config.checks():
        base = rng.uniform(0.12, 0.45)
        at = start
        while at < NOW:
            latency = base * rng.uniform(0.8, 1.3)
            bad_day = check.site_id == "acme/blog" and (NOW - at).days == 17
            failed = 5 if bad_day else 0
            buckets = [0] * BUCKET_COUNT
            buckets[latency_bucket(latency)] = 5 - failed
            out.append(
                Aggregate(
                    check.id,
                    "oslo",
                    at,
                    ok=5 - failed,
                    failed=failed,
                    latency_sum=latency * (5 - failed),
                    buckets=tuple(buckets),
                )
            )
            at += BUCKET
    return out


def _failure(check_id: str, at: datetime) -> ProbeResult:
    return ProbeResult(
        check_id,
        Verdict.FAILED,
        at,
        Timings(dns=0.004, connect=0.02, total=0.61),
        "oslo",
        error=ErrorCode.HTTP_STATUS,
        detail="HTTP 503 Service Unavailable (expected 200)",
        status_code=503,
        address="203.0.113.10",
    )


async def seed(store: Store, config: Config) -> None:
    """Fill the store with the demo world (on a freshly migrated store)."""
    opened = NOW - timedelta(minutes=25)
    failures = [_failure("acme/shop/home", opened + timedelta(minutes=m)) for m in range(-2, 25, 3)]
    async with store.transaction() as tx:
        await tx.results.add_aggregates(_aggregates(config, 90))
        await tx.results.push_recent(failures)
        await tx.results.add_aggregates(fold(failures))
        await tx.results.add_evidence(
            [Evidence(r, "<h1>503 Service Unavailable</h1>") for r in failures]
        )
        await tx.checks.save(_statuses(config, opened))
        incident = await tx.incidents.insert(
            Incident(
                CASE,
                "acme/shop",
                "acme",
                Level.A,
                IncidentStatus.OPEN,
                opened,
                opened,
                description="Home (https://shop.acme.example/) has failed since 09:13: "
                "HTTP 503 Service Unavailable, from oslo.",
                respond_by=opened + timedelta(hours=2),
                paging_started_at=opened,
            )
        )
        await tx.sites.save([SiteStatus("acme/shop", Level.A, opened, NOW, incident.id)])
        await tx.incidents.add_events(
            [
                IncidentEvent(incident.id, opened, "vakt", EventKind.OPENED, "Level A: Home fails"),
                IncidentEvent(
                    incident.id, opened, "vakt", EventKind.PAGED, "paged Alice Hansen by email"
                ),
                IncidentEvent(
                    incident.id,
                    opened + timedelta(minutes=5),
                    "vakt",
                    EventKind.CUSTOMER_EMAILED,
                    "first customer email",
                ),
                IncidentEvent(
                    incident.id,
                    opened + timedelta(minutes=12),
                    "bob",
                    EventKind.NOTE,
                    "The web shop is unavailable. We are looking into it.",
                    True,
                ),
            ]
        )
        await _past_incident(tx)
        await tx.maintenance.add(
            MaintenanceWindow(
                ("acme/*",),
                NOW + timedelta(days=2),
                NOW + timedelta(days=2, hours=1),
                "Server upgrade",
                "alice",
                NOW,
            )
        )
    await set_password(store, HASHER, "alice", PASSWORD, NOW)


async def _past_incident(tx: Transaction) -> None:
    """A Level B case resolved ten days ago, with a public update (the history and the
    status page's past incidents show it)."""
    opened = NOW - timedelta(days=10, hours=3)
    row = await tx.incidents.insert(
        Incident(
            "VAKT-2026-000031",
            "fjord/www",
            "fjord",
            Level.B,
            IncidentStatus.RESOLVED,
            opened,
            opened + timedelta(minutes=40),
            description="Home is 5x slower than its baseline.",
            resolved_at=opened + timedelta(minutes=40),
            resolved_by="vakt",
        )
    )
    await tx.incidents.add_events(
        [
            IncidentEvent(row.id, opened, "vakt", EventKind.OPENED, "Level B: slow"),
            IncidentEvent(
                row.id,
                opened + timedelta(minutes=20),
                "alice",
                EventKind.NOTE,
                "A cache node failed; pages were slow. It has been replaced.",
                True,
            ),
            IncidentEvent(row.id, opened + timedelta(minutes=40), "vakt", EventKind.RESOLVED),
        ]
    )


def _statuses(config: Config, opened: datetime) -> list[CheckStatus]:
    out = []
    for check in config.checks():
        failing = check.id == "acme/shop/home"
        out.append(
            CheckStatus(
                check.id,
                "oslo",
                CheckState.FAILING if failing else CheckState.OK,
                opened if failing else NOW - timedelta(days=3),
                NOW,
                last_verdict=Verdict.FAILED if failing else Verdict.OK,
                last_probe_at=NOW,
                last_total=0.61 if failing else 0.21,
            )
        )
    return out


@dataclass(frozen=True, slots=True)
class Served:
    private_url: str
    public_url: str
    store: Store
    clock: FixedClock


@asynccontextmanager
async def serve(folder: Path, clock: FixedClock | None = None) -> AsyncIterator[Served]:
    """Seed a store in `folder` and serve both apps on loopback (ephemeral ports)."""
    config = write_config(folder)
    store = Store(f"sqlite:///{folder / 'demo.db'}")
    await store.open()
    await store.upgrade()
    await seed(store, config)
    clock = clock or FixedClock(NOW)
    deps = WebDeps(store=store, config=lambda: config, clock=clock, hasher=HASHER)
    runners = [web.AppRunner(create_private_app(deps)), web.AppRunner(create_public_app(deps))]
    urls = []
    try:
        for runner in runners:
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            urls.append(f"http://127.0.0.1:{port}")
        yield Served(urls[0], urls[1], store, clock)
    finally:
        for runner in runners:
            await runner.cleanup()
        await store.close()
