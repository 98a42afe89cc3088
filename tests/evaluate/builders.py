"""Small builders for config records and probe results used by the evaluate and
incidents tests (records are constructed directly: no YAML involved)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from monitor.config.records import (
    Check,
    Contact,
    Customer,
    HeartbeatSpec,
    HttpSpec,
    Language,
    Quorum,
    QuorumKind,
    Site,
    SlowRule,
    StatusPage,
    TlsSpec,
)
from monitor.model import CheckType, ErrorCode, Impact, ProbeResult, Timings, Verdict

T0 = datetime(2026, 3, 2, 14, 2, tzinfo=UTC)  # a Monday
URL = "https://shop.acme.example"
MAJORITY = Quorum(QuorumKind.MAJORITY)


def check(
    name: str,
    impact: Impact = Impact.OUTAGE,
    *,
    type: CheckType = CheckType.HTTP,
    site: str = "acme/shop",
    confirm: int = 3,
    recover: int = 2,
    interval: timedelta = timedelta(seconds=60),
) -> Check:
    customer, _, site_name = site.partition("/")
    spec: HttpSpec | TlsSpec | HeartbeatSpec
    if type is CheckType.TLS:
        spec = TlsSpec(host="shop.acme.example")
    elif type is CheckType.HEARTBEAT:
        spec = HeartbeatSpec(every=timedelta(days=1), grace=timedelta(hours=1))
    else:
        spec = HttpSpec(url=f"{URL}/{'' if name == 'home' else name}")
    return Check(
        id=f"{site}/{name}",
        customer=customer,
        site=site_name,
        name=name,
        label=name.capitalize(),
        type=type,
        impact=impact,
        interval=interval,
        retry_interval=timedelta(seconds=10),
        timeout=timedelta(seconds=10),
        confirm=confirm,
        recover=recover,
        spec=spec,
    )


def site(
    checks: Iterable[Check],
    *,
    site_id: str = "acme/shop",
    locations: tuple[str, ...] = ("oslo",),
    quorum: Quorum = MAJORITY,
    depends_on: tuple[str, ...] = (),
    slow: SlowRule | None = None,
) -> Site:
    customer, _, name = site_id.partition("/")
    return Site(
        id=site_id,
        customer=customer,
        name=name,
        label=f"{name}.{customer}.example",
        url=URL,
        locations=locations,
        quorum=quorum,
        depends_on=depends_on,
        slow=slow or SlowRule(),
        checks=tuple(checks),
    )


def shop() -> Site:
    """The DESIGN.md example shop: home (outage), checkout/search/api (function), tls."""
    return site(
        [
            check("home"),
            check("checkout", Impact.FUNCTION),
            check("search", Impact.FUNCTION),
            check("api", Impact.FUNCTION),
            check("tls", Impact.WARNING, type=CheckType.TLS),
        ]
    )


def customer(*sites: Site, customer_id: str = "acme") -> Customer:
    return Customer(
        id=customer_id,
        name="ACME AS",
        language=Language.NB,
        timezone=UTC,
        timezone_name="UTC",
        policy="standard",
        escalation="default",
        contacts=(Contact("Kari Nordmann", "kari@acme.example", primary=True),),
        status_page=StatusPage(),
        sites=sites,
    )


def result(
    check_id: str,
    verdict: Verdict,
    at: datetime = T0,
    *,
    location: str = "oslo",
    total: float = 0.1,
    error: ErrorCode | None = None,
    detail: str = "",
    status_code: int | None = None,
) -> ProbeResult:
    if error is None and verdict is Verdict.FAILED:
        error = ErrorCode.HTTP_STATUS
    if error is None and verdict is Verdict.DEGRADED:
        error = ErrorCode.SLOW
    return ProbeResult(
        check_id=check_id,
        verdict=verdict,
        started_at=at,
        timings=Timings(total=total),
        location=location,
        error=error,
        detail=detail,
        status_code=status_code,
    )


VERDICTS = {"O": Verdict.OK, "D": Verdict.DEGRADED, "F": Verdict.FAILED}
