"""Builders for the engine's tests: a small config, results, stored incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import MappingProxyType

from monitor.config.records import (
    Check,
    CheckDefaults,
    Config,
    Contact,
    Customer,
    FlappingSettings,
    HttpSpec,
    Language,
    Quorum,
    QuorumKind,
    Settings,
    Site,
    SlowRule,
    StatusPage,
)
from monitor.engine.planner import NullPlanner
from monitor.incidents import RespondBy, no_deadline
from monitor.model import (
    CheckType,
    ErrorCode,
    Impact,
    IncidentStatus,
    Level,
    ProbeResult,
    Timings,
    Verdict,
)
from monitor.store import Incident as StoredIncident

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
QUIET_PLANNER = NullPlanner()
"""For tests of the engine's own writes: it plans no notifications (say so explicitly)."""


def no_deadlines(config: Config) -> RespondBy:
    """For tests that need no respond-by times."""
    return no_deadline


LOCATION = "oslo"


def check(site: str, name: str, impact: Impact = Impact.OUTAGE, path: str = "/") -> Check:
    customer, _, site_name = site.partition("/")
    return Check(
        id=f"{site}/{name}",
        customer=customer,
        site=site_name,
        name=name,
        label=name.capitalize(),
        type=CheckType.HTTP,
        impact=impact,
        interval=timedelta(seconds=10),
        retry_interval=timedelta(seconds=5),
        timeout=timedelta(seconds=5),
        confirm=2,
        recover=2,
        spec=HttpSpec(url=f"http://127.0.0.1:9{path}"),
    )


def site(
    site_id: str = "acme/shop",
    *,
    depends_on: tuple[str, ...] = (),
    slow: SlowRule | None = None,
) -> Site:
    customer, _, name = site_id.partition("/")
    checks = (
        check(site_id, "home"),
        check(site_id, "checkout", Impact.FUNCTION, "/checkout"),
    )
    return Site(
        id=site_id,
        customer=customer,
        name=name,
        label=f"{name}.example",
        url="http://127.0.0.1:9/",
        locations=(LOCATION,),
        quorum=Quorum(QuorumKind.MAJORITY),
        depends_on=depends_on,
        slow=slow,
        checks=checks,
    )


def config(*sites: Site, flapping: FlappingSettings | None = None) -> Config:
    sites = sites or (site(),)
    by_customer: dict[str, list[Site]] = {}
    for s in sites:
        by_customer.setdefault(s.customer, []).append(s)
    customers = {
        cid: Customer(
            id=cid,
            name=cid.upper(),
            language=Language.EN,
            timezone=UTC,
            timezone_name="UTC",
            policy="standard",
            escalation=None,
            contacts=(Contact("Kari", f"kari@{cid}.example", primary=True),),
            status_page=StatusPage(),
            sites=tuple(group),
        )
        for cid, group in by_customer.items()
    }
    settings = Settings(
        timezone=UTC,
        timezone_name="UTC",
        location=LOCATION,
        flapping=flapping or FlappingSettings(),
        defaults=CheckDefaults(confirm=2, recover=2),
    )
    empty: MappingProxyType[str, object] = MappingProxyType({})
    return Config(
        path="test.yaml",
        settings=settings,
        calendars=empty,  # type: ignore[arg-type]
        policies=empty,  # type: ignore[arg-type]
        people=empty,  # type: ignore[arg-type]
        schedules=empty,  # type: ignore[arg-type]
        escalations=empty,  # type: ignore[arg-type]
        channels=empty,  # type: ignore[arg-type]
        customers=MappingProxyType(customers),
        maintenance=(),
    )


def result(
    check_id: str,
    at: datetime,
    verdict: Verdict = Verdict.OK,
    *,
    total: float = 0.05,
    location: str = LOCATION,
) -> ProbeResult:
    failed = verdict is Verdict.FAILED
    return ProbeResult(
        check_id=check_id,
        verdict=verdict,
        started_at=at,
        timings=Timings(total=total),
        location=location,
        error=ErrorCode.HTTP_STATUS if failed else None,
        detail="expected status 200, got 500" if failed else "",
        status_code=500 if failed else 200,
    )


def stored_incident(
    case: str = "VAKT-2026-000001",
    site_id: str = "acme/shop",
    status: IncidentStatus = IncidentStatus.OPEN,
    level: Level = Level.A,
) -> StoredIncident:
    return StoredIncident(
        case_number=case,
        site_id=site_id,
        customer_id=site_id.partition("/")[0],
        level=level,
        status=status,
        opened_at=T0,
        updated_at=T0,
        description="Home fails",
        data='{"v":1,"kind":"site","checks":["acme/shop/home"],"failed_at":"'
        + T0.isoformat()
        + '"}',
    )
