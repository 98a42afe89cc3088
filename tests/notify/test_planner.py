"""The notification planner as a specification: pure, `now` injected, records built here."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from monitor.config.records import (
    BusinessDuration,
    BusinessUnit,
    Calendar,
    ClockKind,
    Config,
    Contact,
    Customer,
    CustomerEmails,
    EmailSettings,
    Escalation,
    EscalationStep,
    Language,
    Layer,
    LevelPolicy,
    Mailbox,
    MassOutage,
    PageWhen,
    PagingSettings,
    Person,
    Policy,
    Quorum,
    QuorumKind,
    Rotation,
    RotationKind,
    Schedule,
    Settings,
    Site,
    StatusPage,
    Target,
    TargetKind,
)
from monitor.incidents import Event, EventKind, Incident, IncidentKind
from monitor.model import IncidentStatus, Level
from monitor.notify.message import MessageKind
from monitor.notify.planner import CaseView, Planned, Planner, WindowView
from monitor.notify.tokens import TokenClaims, verify_token

OSLO = ZoneInfo("Europe/Oslo")
SECRET = "test-secret"
T0 = datetime(2026, 3, 3, 10, 0, tzinfo=OSLO).astimezone(UTC)  # a Tuesday, office open
MIN = timedelta(minutes=1)

OFFICE = ((time(9), time(16)),)
A = LevelPolicy(
    respond=timedelta(hours=2),
    clock=ClockKind.ALWAYS,
    page=PageWhen.ALWAYS,
    customer_email_after=timedelta(minutes=5),
    update_every=(
        timedelta(minutes=30),
        timedelta(hours=1),
        timedelta(hours=2),
        timedelta(hours=4),
    ),
)
B = LevelPolicy(
    respond=BusinessDuration(1, BusinessUnit.DAYS),
    clock=ClockKind.BUSINESS,
    page=PageWhen.BUSINESS_HOURS,
    customer_email_after=timedelta(minutes=15),
    update_every=(BusinessDuration(1, BusinessUnit.DAYS),),
)
DEFAULT = Escalation(
    name="default",
    steps=(
        EscalationStep(timedelta(), (Target(TargetKind.SCHEDULE, "primary"),), ("email",)),
        EscalationStep(timedelta(minutes=15), (Target(TargetKind.PERSON, "carol"),), ("email",)),
    ),
    repeat_every=timedelta(minutes=10),
    max_repeats=3,
)


def customer(n: int, emails: CustomerEmails = CustomerEmails.AUTO) -> Customer:
    cid = f"c{n:02d}"
    site = Site(
        id=f"{cid}/shop",
        customer=cid,
        name="shop",
        label=f"shop{n}.example",
        url=f"https://shop{n}.example",
        locations=("oslo",),
        quorum=Quorum(QuorumKind.MAJORITY),
        depends_on=(),
        slow=None,
        checks=(),
    )
    return Customer(
        id=cid,
        name=f"Customer {n}",
        language=Language.NB,
        timezone=OSLO,
        timezone_name="Europe/Oslo",
        policy="approve" if emails is CustomerEmails.APPROVE else "standard",
        escalation="default",
        contacts=(Contact(f"Kari {n}", f"kari@c{n}.example", primary=True),),
        status_page=StatusPage(),
        sites=(site,),
    )


def config(customers: int = 1, mass_sites: int | None = None) -> Config:
    mass = None if mass_sites is None else MassOutage(mass_sites, timedelta(minutes=2), "default")
    settings = Settings(
        timezone=OSLO,
        timezone_name="Europe/Oslo",
        public_url="https://status.example",
        secret=SECRET,
        email=EmailSettings(team=Mailbox("ops@agency.example")),
        paging=PagingSettings(group_window=timedelta(seconds=30), mass_outage=mass),
    )
    calendar = Calendar("office", OSLO, "Europe/Oslo", (OFFICE,) * 5 + ((), ()))
    standard = Policy(
        "standard", "office", 0.75, MappingProxyType({Level.A: A, Level.B: B}), MappingProxyType({})
    )
    approve_a = replace(A, customer_emails=CustomerEmails.APPROVE)
    approve = replace(
        standard, name="approve", levels=MappingProxyType({Level.A: approve_a, Level.B: B})
    )
    start = datetime(2026, 1, 5, 9, 0, tzinfo=OSLO)
    schedule = Schedule(
        "primary",
        OSLO,
        "Europe/Oslo",
        (Layer(Rotation(RotationKind.WEEKLY, timedelta(days=7), 0, time(9)), ("alice",), start),),
    )
    customer_list = [customer(n) for n in range(customers)] + [customer(99, CustomerEmails.APPROVE)]
    return Config(
        path="test",
        settings=settings,
        calendars=MappingProxyType({"office": calendar}),
        policies=MappingProxyType({"standard": standard, "approve": approve}),
        people=MappingProxyType(
            {p: Person(p, p.title(), f"{p}@agency.example") for p in ("alice", "bob", "carol")}
        ),
        schedules=MappingProxyType({"primary": schedule}),
        escalations=MappingProxyType({"default": DEFAULT}),
        channels=MappingProxyType({}),
        customers=MappingProxyType({c.id: c for c in customer_list}),
        maintenance=(),
    )


def incident(
    n: int = 0,
    *,
    at: datetime = T0,
    level: Level = Level.A,
    events: tuple[Event, ...] = (),
    policy: str = "standard",
    **changes: object,
) -> Incident:
    case = f"VAKT-2026-{n + 1:06d}"
    opened = Event(EventKind.OPENED, at, level=level)
    value = Incident(
        site_id=f"c{n:02d}/shop",
        customer_id=f"c{n:02d}",
        kind=IncidentKind.SITE,
        case=case,
        level=level,
        status=IncidentStatus.OPEN,
        opened_at=at,
        contact=None,
        description="Home fails: HTTP 500",
        policy=policy,
        respond_by=at + timedelta(hours=2),
        timeline=(opened, *events),
    )
    return replace(value, **changes)  # type: ignore[arg-type]


def plan(
    cases: list[Incident], now: datetime, cfg: Config | None = None, **view: object
) -> list[Planned]:
    planner = Planner(cfg or config(max(1, len(cases))))
    return planner.plan([CaseView(i, **view) for i in cases], now)  # type: ignore[arg-type]


def of(planned: list[Planned], kind: MessageKind) -> list[Planned]:
    return [p for p in planned if p.kind is kind]


def slots(planned: list[Planned]) -> list[tuple[str, str]]:
    return sorted((p.key.slot, p.key.recipient) for p in of(planned, MessageKind.PAGE))


# ------------------------------------------------------------------------------ pages


def test_a_level_a_pages_the_on_call_person_at_once() -> None:
    pages = of(plan([incident()], T0), MessageKind.PAGE)
    assert [(str(p.key), p.due_at) for p in pages] == [
        ("VAKT-2026-000001/page/0:0:0/person:alice/email", T0)
    ]
    payload = pages[0].payload
    assert (payload.case, payload.level, payload.to) == (
        "VAKT-2026-000001",
        Level.A,
        Mailbox("alice@agency.example", "Alice"),
    )
    assert payload.ack_url is not None
    assert payload.ack_url.startswith("https://status.example/ack/")


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (0, [("0:0:0", "person:alice")]),
        (9, [("0:0:0", "person:alice")]),
        (10, [("0:0:0", "person:alice"), ("0:0:1", "person:alice")]),
        # step 1 (carol) starts at 15 min; alice's third page (20 min) is not sent
        (20, [("0:0:0", "person:alice"), ("0:0:1", "person:alice"), ("0:1:0", "person:carol")]),
        (
            60,
            [
                ("0:0:0", "person:alice"),
                ("0:0:1", "person:alice"),
                ("0:1:0", "person:carol"),
                ("0:1:1", "person:carol"),
                ("0:1:2", "person:carol"),
                ("0:1:3", "person:carol"),
            ],
        ),
    ],
)
def test_escalation_steps_and_repeats_until_acknowledged(
    minutes: int, expected: list[tuple[str, str]]
) -> None:
    assert slots(plan([incident()], T0 + minutes * MIN)) == expected


def test_the_team_is_warned_after_the_last_step() -> None:
    warnings = of(plan([incident()], T0 + 56 * MIN), MessageKind.TEAM_WARNING)
    exhausted = [w for w in warnings if w.payload.warning == "escalation_exhausted"]
    assert [(w.key.slot, w.due_at) for w in exhausted] == [
        ("escalation_exhausted:0", T0 + 55 * MIN)
    ]


def test_an_acknowledgement_stops_the_pages() -> None:
    ack = Event(EventKind.ACKNOWLEDGED, T0 + 12 * MIN, actor="alice")
    acked = incident(
        events=(ack,), status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=T0 + 12 * MIN
    )
    assert slots(plan([acked], T0 + 60 * MIN)) == [
        ("0:0:0", "person:alice"),
        ("0:0:1", "person:alice"),
    ]


def test_an_upgrade_to_level_a_re_pages_in_a_new_slot_namespace() -> None:
    events = (
        Event(EventKind.ACKNOWLEDGED, T0 + 5 * MIN, actor="alice"),
        Event(EventKind.LEVEL_CHANGED, T0 + 30 * MIN, level=Level.A, previous_level=Level.B),
    )
    upgraded = incident(level=Level.B, events=events)
    upgraded = replace(
        upgraded, level=Level.A, timeline=(replace(upgraded.timeline[0], level=Level.B), *events)
    )
    assert slots(plan([upgraded], T0 + 31 * MIN)) == [
        ("0:0:0", "person:alice"),
        ("1:0:0", "person:alice"),
    ]


def test_level_b_at_night_with_business_hours_pages_at_the_next_opening() -> None:
    night = datetime(2026, 3, 3, 22, 0, tzinfo=OSLO).astimezone(UTC)
    opening = datetime(2026, 3, 4, 9, 0, tzinfo=OSLO).astimezone(UTC)
    case = incident(at=night, level=Level.B, respond_by=None)
    assert of(plan([case], opening - timedelta(seconds=1)), MessageKind.PAGE) == []
    pages = of(plan([case], opening), MessageKind.PAGE)
    assert [(p.key.slot, p.due_at) for p in pages] == [("0:0:0", opening)]
    # its customer email waits for the opening too, then the usual delay
    assert of(plan([case], opening - timedelta(seconds=1)), MessageKind.CUSTOMER_OPENED) == []
    emails = of(plan([case], opening + 15 * MIN), MessageKind.CUSTOMER_OPENED)
    assert [e.due_at for e in emails] == [opening]


def test_twenty_sites_within_the_group_window_give_one_page_and_one_digest() -> None:
    cases = [incident(n, at=T0 + n * timedelta(seconds=1)) for n in range(20)]
    cfg = config(20, mass_sites=50)
    before = plan(cases, T0 + timedelta(seconds=29), cfg)
    assert [str(p.key) for p in before if p.kind in (MessageKind.PAGE, MessageKind.DIGEST)] == [
        "VAKT-2026-000001/page/0:0:0/person:alice/email"
    ]
    after = plan(cases, T0 + timedelta(seconds=30), cfg)
    sent = [p for p in after if p.kind in (MessageKind.PAGE, MessageKind.DIGEST)]
    assert [p.kind for p in sent] == [MessageKind.PAGE, MessageKind.DIGEST]
    digest = sent[1]
    assert digest.due_at == T0 + timedelta(seconds=30)
    assert [e.case for e in digest.payload.incidents] == [
        f"VAKT-2026-{n + 1:06d}" for n in range(1, 20)
    ]
    claims = verify_token(SECRET, digest.payload.ack_url.rsplit("/", 1)[1], T0)  # type: ignore[union-attr]
    assert isinstance(claims, TokenClaims)
    assert (len(claims.incidents), claims.person) == (19, "alice")


def test_a_mass_outage_pages_once_and_every_customer_is_still_emailed() -> None:
    mass_case = "VAKT-2026-000100"
    linked = Event(EventKind.LINKED, T0 + timedelta(seconds=30), ref=mass_case)
    sites = [
        incident(n, at=T0 + n * timedelta(seconds=1), events=(linked,), linked_to=mass_case)
        for n in range(20)
    ]
    sites = [replace(s, timeline=(*s.timeline[:1], replace(linked, at=s.opened_at))) for s in sites]
    mass = Incident(
        site_id="*",
        customer_id=None,
        kind=IncidentKind.MASS_OUTAGE,
        case=mass_case,
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=T0 + 10 * timedelta(seconds=1),
        contact=None,
        description="20 sites failed within 2 minutes",
        policy=None,
        respond_by=None,
        timeline=(Event(EventKind.OPENED, T0 + 10 * timedelta(seconds=1), level=Level.A),),
    )
    planned = plan([mass, *sites], T0 + 6 * MIN, config(20, mass_sites=10))
    pages = [p for p in planned if p.kind in (MessageKind.PAGE, MessageKind.DIGEST)]
    assert [p.key.subject for p in pages] == [mass_case]
    opened = of(planned, MessageKind.CUSTOMER_OPENED)
    assert sorted(p.key.recipient for p in opened) == sorted(
        f"contact:kari@c{n}.example" for n in range(20)
    )
    assert [w.payload.warning for w in of(planned, MessageKind.TEAM_WARNING)] == ["mass_outage"]


# --------------------------------------------------------------------- customer emails


def test_a_short_blip_emails_no_customer() -> None:
    blip = incident(
        events=(Event(EventKind.RESOLVED, T0 + 2 * MIN),),
        status=IncidentStatus.RESOLVED,
        resolved_at=T0 + 2 * MIN,
    )
    planned = plan([blip], T0 + 60 * MIN)
    assert [p for p in planned if p.kind.for_customer] == []


def test_the_customer_is_emailed_after_customer_email_after() -> None:
    assert (
        of(plan([incident()], T0 + 5 * MIN - timedelta(seconds=1)), MessageKind.CUSTOMER_OPENED)
        == []
    )
    emails = of(plan([incident()], T0 + 5 * MIN), MessageKind.CUSTOMER_OPENED)
    assert [(str(e.key), e.due_at) for e in emails] == [
        ("VAKT-2026-000001/customer_opened/0/contact:kari@c0.example/email", T0 + 5 * MIN)
    ]
    payload = emails[0].payload
    assert (payload.language, payload.timezone, payload.next_update_at) == (
        Language.NB,
        "Europe/Oslo",
        T0 + 35 * MIN,
    )


def test_customer_emails_approve_holds_the_email_until_approved() -> None:
    held = incident(99, policy="approve")
    cfg = config(1)
    assert of(plan([held], T0 + 60 * MIN, cfg), MessageKind.CUSTOMER_OPENED) == []
    approved = plan([held], T0 + 60 * MIN, cfg, approved_at=T0 + 20 * MIN)
    assert [e.due_at for e in of(approved, MessageKind.CUSTOMER_OPENED)] == [T0 + 20 * MIN]


@pytest.mark.parametrize(
    ("minutes", "slot", "due_minutes"),
    [
        (34, None, None),
        (35, "0", 35),  # 5 + 30 min
        (94, "0", 35),
        (95, "1", 95),  # + 1 h
        (215, "2", 215),  # + 2 h
        (455, "3", 455),  # + 4 h
        (695, "4", 695),  # the last span repeats
    ],
)
def test_updates_follow_the_back_off_list(
    minutes: int, slot: str | None, due_minutes: int | None
) -> None:
    updates = of(plan([incident()], T0 + minutes * MIN), MessageKind.CUSTOMER_UPDATE)
    expected = [] if slot is None else [(slot, T0 + due_minutes * MIN)]  # type: ignore[operator]
    assert [(u.key.slot, u.due_at) for u in updates] == expected


def test_the_resolved_email_is_in_the_same_thread() -> None:
    done = incident(
        events=(Event(EventKind.RESOLVED, T0 + 50 * MIN),),
        status=IncidentStatus.RESOLVED,
        resolved_at=T0 + 50 * MIN,
    )
    planned = plan([done], T0 + 51 * MIN, public_note="The disk was full.")
    opened = of(planned, MessageKind.CUSTOMER_OPENED)[0]
    resolved = of(planned, MessageKind.CUSTOMER_RESOLVED)
    assert [(r.key.subject, r.due_at) for r in resolved] == [(opened.key.subject, T0 + 50 * MIN)]
    assert resolved[0].payload.thread == str(opened.key)
    assert resolved[0].payload.resolved_at == T0 + 50 * MIN
    assert resolved[0].payload.note == "The disk was full."


def test_flapping_stops_pages_and_level_emails_and_warns_the_team_once() -> None:
    changes = tuple(
        Event(
            EventKind.LEVEL_CHANGED,
            T0 + (10 + i) * MIN,
            level=Level.B if i % 2 == 0 else Level.A,
            previous_level=Level.A if i % 2 == 0 else Level.B,
        )
        for i in range(8)
    )
    flapping = Event(EventKind.FLAPPING, T0 + 13 * MIN)
    case = incident(events=(*changes[:4], flapping, *changes[4:]), flapping=True)
    planned = plan([case], T0 + 40 * MIN)
    assert max(p.due_at for p in of(planned, MessageKind.PAGE)) < T0 + 13 * MIN
    level_emails = of(planned, MessageKind.CUSTOMER_LEVEL_CHANGED)
    assert [e.due_at for e in level_emails] == [T0 + 10 * MIN, T0 + 11 * MIN, T0 + 12 * MIN]
    warnings = [p.payload.warning for p in of(planned, MessageKind.TEAM_WARNING)]
    assert warnings == ["flapping"]


def test_a_silenced_case_pages_nobody_and_emails_no_customer() -> None:
    case = incident(events=(Event(EventKind.SILENCED, T0),), silenced=True)
    assert plan([case], T0 + 60 * MIN) == []


def test_pages_resume_after_the_silence_without_a_burst() -> None:
    events = (Event(EventKind.SILENCED, T0), Event(EventKind.UNSILENCED, T0 + 30 * MIN))
    planned = plan([incident(events=events)], T0 + 36 * MIN)
    assert slots(planned) == [("0:1:2", "person:carol")]  # 15, 25 fell in the silence
    assert [e.due_at for e in of(planned, MessageKind.CUSTOMER_OPENED)] == [T0 + 30 * MIN]


# ------------------------------------------------------------------------- maintenance


def test_maintenance_is_announced_before_then_started_and_finished() -> None:
    start = T0 + timedelta(days=3)
    window = WindowView(
        "mw-1",
        ("c00/shop",),
        start,
        start + timedelta(hours=1),
        "Upgrade",
        start - timedelta(hours=48),
    )
    planner = Planner(config(1))

    def kinds(now: datetime) -> list[str]:
        return [str(p.key) for p in planner.plan_maintenance([window], now)]

    assert kinds(start - timedelta(hours=49)) == []
    assert kinds(start - timedelta(hours=47)) == [
        "mw-1/maintenance_announced/0/contact:kari@c0.example/email"
    ]
    assert kinds(start + MIN) == ["mw-1/maintenance_started/0/contact:kari@c0.example/email"]
    assert kinds(start + 61 * MIN) == ["mw-1/maintenance_finished/0/contact:kari@c0.example/email"]
