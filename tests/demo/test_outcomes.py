"""The demo's verdict: every promise of the story is checked against incidents and mail,
and a broken promise is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.demo import cast
from monitor.demo.cast import DemoSite
from monitor.demo.mail import Mail, Role
from monitor.demo.outcomes import Evidence, expectations, rows, summary_lines
from monitor.demo.scenario import Marks
from monitor.model import IncidentStatus, Level
from monitor.store import Incident

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def incident(site: DemoSite, n: int, level: Level, *, flapping: bool = False) -> Incident:
    return Incident(
        case_number=f"VAKT-2026-{n:06d}",
        site_id=site.id,
        customer_id=site.customer.id,
        level=level,
        status=IncidentStatus.RESOLVED,
        opened_at=T0,
        updated_at=T0,
        flapping=flapping,
        id=n,
    )


class Mails:
    def __init__(self) -> None:
        self.items: list[Mail] = []

    def add(
        self,
        to: str,
        role: Role,
        subject: str,
        *,
        case: str = "",
        text: str = "",
        after: float = 0.0,
        reply: bool = False,
    ) -> None:
        self.items.append(
            Mail(
                len(self.items) + 1,
                T0 + timedelta(seconds=after),
                "vakt",
                to,
                role,
                subject,
                f"<{len(self.items)}@x>",
                "<0@x>" if reply else "",
                case,
                text,
                "",
            )
        )

    def case(self, site: DemoSite, n: int, level: Level, *, customer_mails: int = 2) -> None:
        case = f"VAKT-2026-{n:06d}"
        self.add(
            cast.ONCALL,
            Role.PAGE,
            f"[{case}] {site.title}",
            case=case,
            text=f"Level {level}: {site.title} needs a response.",
            after=2.0,
        )
        greeting = {"en": "Hello Jane,", "nb": "Hei, Kari!"}[site.customer.language]
        for i in range(customer_mails):
            self.add(
                site.customer.email,
                Role.CUSTOMER,
                f"[{case}] {site.title}",
                case=case,
                text=greeting,
                after=10.0 + i,
                reply=i > 0,
            )


def happy() -> tuple[dict[str, list[Incident]], Mails]:
    incidents = {
        cast.WWW.id: [incident(cast.WWW, 1, Level.A)],
        cast.BOOKING.id: [incident(cast.BOOKING, 2, Level.B)],
        cast.API.id: [incident(cast.API, 3, Level.B)],
        cast.CLUB.id: [incident(cast.CLUB, 4, Level.A, flapping=True)],
    }
    mails = Mails()
    mails.add(cast.TEAM, Role.TEAM, "[Vakt] portal.acme.example: certificate expires in 5 days")
    for site, n, level in (
        (cast.WWW, 1, Level.A),
        (cast.BOOKING, 2, Level.B),
        (cast.API, 3, Level.B),
        (cast.CLUB, 4, Level.A),
    ):
        mails.case(site, n, level)
    return incidents, mails


def failed(incidents: dict[str, list[Incident]], mails: Mails) -> list[str]:
    evidence = Evidence(incidents=incidents, mails=mails.items, marks=Marks())
    return [e.what for e in expectations(evidence) if not e.ok]


def test_the_story_as_told_meets_every_expectation() -> None:
    assert failed(*happy()) == []


def test_an_incident_for_the_blip_is_a_broken_promise() -> None:
    incidents, mails = happy()
    incidents[cast.DOCS.id] = [incident(cast.DOCS, 5, Level.A)]
    assert failed(incidents, mails) == [
        "docs.acme.example: a single failed probe opens no incident"
    ]


def test_a_flood_of_customer_emails_while_flapping_is_named() -> None:
    incidents, mails = happy()
    mails.case(cast.CLUB, 4, Level.A, customer_mails=3)
    assert failed(incidents, mails) == [
        "klubb.nordlys.example: no flood of customer emails (at most 3)"
    ]


def test_a_customer_email_in_the_wrong_language_is_named() -> None:
    incidents, mails = happy()
    mails.items = [
        m
        if m.to != cast.NORDLYS.email
        else Mail(
            m.id,
            m.received_at,
            m.sender,
            m.to,
            m.role,
            m.subject,
            m.message_id,
            m.in_reply_to,
            m.case,
            "Hello Kari,",
            m.html,
        )
        for m in mails.items
    ]
    assert "booking.nordlys.example: Kari Nordmann was emailed (nb)" in failed(incidents, mails)


def test_missing_team_warning_and_scenario_misses_are_named() -> None:
    incidents, mails = happy()
    mails.items = [m for m in mails.items if m.role is not Role.TEAM]
    marks = Marks(missed=["the page"])
    evidence = Evidence(incidents=incidents, mails=mails.items, marks=marks)
    names = [e.what for e in expectations(evidence) if not e.ok]
    assert names == ["portal.acme.example: the team was warned", "scenario: the page"]


def test_the_summary_measures_from_the_fault_to_the_first_page_and_email() -> None:
    incidents, mails = happy()
    marks = Marks(broke={cast.WWW.id: T0})
    evidence = Evidence(incidents=incidents, mails=mails.items, marks=marks)
    www = next(r for r in rows(evidence) if r.site == cast.WWW.title)
    assert (www.level, www.pages, www.customer_emails) == ("A", 1, 2)
    assert (www.to_page, www.to_email) == (2.0, 10.0)
    lines = summary_lines(evidence, expectations(evidence))
    assert any(line.startswith("VAKT-2026-000001") and "2.0 s" in line for line in lines)
