"""Builders for the API, PagerDuty and operations tests: a small config with tokens,
people and a schedule, a real SQLite (or PostgreSQL) store, and an aiohttp test client."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from monitor.clock import FixedClock
from monitor.config.records import (
    ApiToken,
    Channel,
    ChannelType,
    Check,
    Config,
    Contact,
    Customer,
    HttpSpec,
    Language,
    Layer,
    Maintenance,
    Person,
    Quorum,
    QuorumKind,
    Recurrence,
    Rotation,
    RotationKind,
    Schedule,
    Scope,
    Settings,
    Site,
    StatusPage,
    WebSettings,
)
from monitor.health import RED, Component, Health, Status
from monitor.incidents.reports import ReportDesk
from monitor.model import CheckType, Impact, IncidentStatus, Level
from monitor.store import Incident, Store
from monitor.web.api import api_routes, token_digest
from monitor.web.api.deps import Handler, Readiness, ReportSource
from monitor.web.ops import ops_routes
from monitor.web.pagerduty import pagerduty_routes

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)  # a Monday
READ_TOKEN = "read-token-0123456789"
WRITE_TOKEN = "write-token-0123456789"
READ = {"Authorization": f"Bearer {READ_TOKEN}"}
WRITE = {"Authorization": f"Bearer {WRITE_TOKEN}"}
PD_SECRET = "pd-webhook-secret"


def check(site_id: str, name: str, impact: Impact = Impact.OUTAGE) -> Check:
    customer, _, site_name = site_id.partition("/")
    return Check(
        id=f"{site_id}/{name}",
        customer=customer,
        site=site_name,
        name=name,
        label=name.capitalize(),
        type=CheckType.HTTP,
        impact=impact,
        interval=timedelta(seconds=60),
        retry_interval=timedelta(seconds=10),
        timeout=timedelta(seconds=5),
        confirm=2,
        recover=2,
        spec=HttpSpec(url="http://127.0.0.1:9/"),
    )


def site(site_id: str, label: str, locations: tuple[str, ...] = ("oslo",)) -> Site:
    customer, _, name = site_id.partition("/")
    return Site(
        id=site_id,
        customer=customer,
        name=name,
        label=label,
        url=f"https://{label}/",
        locations=locations,
        quorum=Quorum(QuorumKind.MAJORITY),
        depends_on=(),
        slow=None,
        checks=(check(site_id, "home"), check(site_id, "checkout", Impact.FUNCTION)),
    )


def customer(cid: str, name: str, *sites: Site) -> Customer:
    return Customer(
        id=cid,
        name=name,
        language=Language.EN,
        timezone=UTC,
        timezone_name="UTC",
        policy="standard",
        escalation=None,
        contacts=(Contact("Kari", f"kari@{cid}.example", primary=True),),
        status_page=StatusPage(),
        sites=sites,
    )


def schedule() -> Schedule:
    return Schedule(
        name="primary",
        timezone=UTC,
        timezone_name="UTC",
        layers=(
            Layer(
                rotation=Rotation(RotationKind.WEEKLY, timedelta(days=7), 0, time(9, 0)),
                members=("alice", "bob"),
                start=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),  # a Monday
            ),
        ),
    )


def config(*, channels: tuple[Channel, ...] = ()) -> Config:
    settings = Settings(
        timezone=UTC,
        timezone_name="UTC",
        location="oslo",
        secret="s3cret-for-signing",
        web=WebSettings(
            api_tokens=(
                ApiToken("grafana", token_digest(READ_TOKEN), Scope.READ),
                ApiToken("bot", token_digest(WRITE_TOKEN), Scope.WRITE),
            )
        ),
    )
    acme = customer(
        "acme", "ACME <b>AS</b>", site("acme/shop", "shop.acme.example", ("oslo", "bergen"))
    )
    beta = customer("beta", "Beta", site("beta/web", "beta.example"))
    weekly = Maintenance(
        id="m1",
        sites=("acme/*",),
        timezone=UTC,
        timezone_name="UTC",
        reason="Weekly patching",
        recurrence=Recurrence(weekday=6, at=time(3, 0)),
        duration=timedelta(minutes=30),
    )
    empty: MappingProxyType[str, Any] = MappingProxyType({})
    return Config(
        path="test.yaml",
        settings=settings,
        calendars=empty,
        policies=empty,
        people=MappingProxyType(
            {
                "alice": Person("alice", "Alice Hansen", "alice@agency.example"),
                "bob": Person("bob", "Bob Berg", "bob@agency.example"),
            }
        ),
        schedules=MappingProxyType({"primary": schedule()}),
        escalations=empty,
        channels=MappingProxyType({c.name: c for c in channels}),
        customers=MappingProxyType({"acme": acme, "beta": beta}),
        maintenance=(weekly,),
    )


def pagerduty_channel(secret: str | None = None) -> Channel:
    return Channel("pd", ChannelType.PAGERDUTY, routing_key="rk", secret=secret)


def incident(
    case: str,
    site_id: str = "acme/shop",
    *,
    opened_at: datetime = T0,
    status: IncidentStatus = IncidentStatus.OPEN,
    level: Level = Level.A,
) -> Incident:
    data = {"v": 1, "kind": "site", "checks": [f"{site_id}/home"], "failed_at": opened_at}
    return Incident(
        case_number=case,
        site_id=site_id,
        customer_id=site_id.partition("/")[0],
        level=level,
        status=status,
        opened_at=opened_at,
        updated_at=opened_at,
        description="Home fails: expected status 200, got 503",
        respond_by=opened_at + timedelta(hours=2),
        resolved_at=opened_at + timedelta(hours=1) if status is IncidentStatus.RESOLVED else None,
        data=json.dumps(data, default=datetime.isoformat),
    )


async def add_incidents(store: Store, *rows: Incident) -> list[Incident]:
    async with store.transaction() as tx:
        return [await tx.incidents.insert(row) for row in rows]


class Scheduler:
    """A `Readiness` whose verdict the test sets: every component ok but the scheduler,
    which is as `running` says."""

    def __init__(self, running: bool = True) -> None:
        self.running = running

    async def health(self) -> Health:
        checks = {component: Status.OK for component in Component}
        if not self.running:
            checks[Component.SCHEDULER] = RED[Component.SCHEDULER]
        return Health(checks)


@dataclass
class Deps:
    """The fields of the web layer's `WebDeps` these routes read."""

    store: Store
    config: Callable[[], Config]
    clock: FixedClock
    readiness: Readiness | None = field(default_factory=Scheduler)
    metrics: Handler | None = None
    pagerduty_webhook_secret: str | None = None
    reports: ReportSource | None = None
    desk: ReportDesk | None = None  # files customers' reports (`POST /requests`)


def build_app(deps: Deps) -> web.Application:
    app = web.Application()
    app.router.add_routes(ops_routes(deps))
    app.router.add_routes(pagerduty_routes(deps))
    app.router.add_routes(api_routes(deps))
    return app


@asynccontextmanager
async def open_store(url: str, schema: str | None = None) -> AsyncIterator[Store]:
    store = Store(url, schema=schema)
    await store.open()
    await store.upgrade()
    try:
        yield store
    finally:
        await store.close()


@asynccontextmanager
async def serve(deps: Deps) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    async with TestClient(TestServer(build_app(deps), host="127.0.0.1")) as client:
        yield client
