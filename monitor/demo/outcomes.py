"""What the demo must have shown, checked against the store and the mailbox, and the
summary it prints.

Each `Expectation` is one promise of the story (`www.acme.example: Level A, paged,
customer told, resolved in the same thread`); `vakt demo --fast` exits 0 only when every
one holds. Times in the summary are measured from the scenario's own marks (when a fault
started) to the mailbox's receive times.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.demo import cast
from monitor.demo.cast import DemoSite
from monitor.demo.mail import Mail, Role, is_page, mentions
from monitor.demo.scenario import Marks
from monitor.model import IncidentStatus, Level
from monitor.store import Incident

MAX_FLAPPING_PAGES = 2  # the first two outages page; the third marks it flapping: pages stop
# "opened" and "resolved" before it is marked flapping, then at most one per
# `update_every` (1 minute, longer than the flapping part of the story)
MAX_FLAPPING_CUSTOMER_EMAILS = 3
GREETING = {"en": "Hello", "nb": "Hei"}  # how the built-in customer emails begin


@dataclass(frozen=True, slots=True)
class Expectation:
    what: str
    ok: bool
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """Everything the demo produced: incidents by site id (oldest first) and every mail."""

    incidents: dict[str, list[Incident]]
    mails: Sequence[Mail]
    marks: Marks

    def pages(self, case: str) -> list[Mail]:
        return [m for m in self.mails if is_page(m) and mentions(m, case)]

    def customer_mails(self, case: str) -> list[Mail]:
        return [m for m in self.mails if m.role is Role.CUSTOMER and m.case == case]

    def only(self, site: DemoSite) -> Incident | None:
        found = self.incidents.get(site.id, [])
        return found[0] if len(found) == 1 else None


def _count(evidence: Evidence, site: DemoSite) -> str:
    return f"{len(evidence.incidents.get(site.id, []))} incident(s)"


def _quiet(evidence: Evidence, site: DemoSite, why: str) -> Expectation:
    found = evidence.incidents.get(site.id, [])
    return Expectation(f"{site.title}: {why}", not found, _count(evidence, site))


def _incident(evidence: Evidence, site: DemoSite, level: Level) -> list[Expectation]:
    incident = evidence.only(site)
    if incident is None:
        return [Expectation(f"{site.title}: exactly one incident", False, _count(evidence, site))]
    case = incident.case_number
    customer = evidence.customer_mails(case)
    greeting = GREETING[site.customer.language]
    return [
        Expectation(
            f"{site.title}: one Level {level} incident",
            incident.level is level,
            f"{case} is Level {incident.level}",
        ),
        Expectation(f"{site.title}: the on-call engineer was paged", bool(evidence.pages(case))),
        Expectation(
            f"{site.title}: {site.customer.contact} was emailed ({site.customer.language})",
            any(m.to == site.customer.email and m.text.startswith(greeting) for m in customer),
            f"{len(customer)} customer email(s)",
        ),
        Expectation(
            f"{site.title}: resolved",
            incident.status is IncidentStatus.RESOLVED,
            f"{case} is {incident.status}",
        ),
    ]


def _one_thread(evidence: Evidence, site: DemoSite) -> Expectation:
    incident = evidence.only(site)
    mails = evidence.customer_mails(incident.case_number) if incident else []
    first = mails[0] if mails else None
    threaded = (
        first is not None
        and len(mails) >= 2
        and all(m.subject == first.subject and m.in_reply_to for m in mails[1:])
    )
    return Expectation(
        f"{site.title}: 'resolved' email in the same thread as the first",
        threaded,
        f"{len(mails)} customer email(s)",
    )


def _flapping(evidence: Evidence) -> list[Expectation]:
    site = cast.CLUB
    incident = evidence.only(site)
    if incident is None:
        return [
            Expectation(
                f"{site.title}: one case for all its outages", False, _count(evidence, site)
            )
        ]
    pages = evidence.pages(incident.case_number)
    emails = evidence.customer_mails(incident.case_number)
    return [
        Expectation(f"{site.title}: one case for all its outages", True, incident.case_number),
        Expectation(f"{site.title}: marked flapping", incident.flapping),
        Expectation(
            f"{site.title}: no flood of pages (at most {MAX_FLAPPING_PAGES})",
            len(pages) <= MAX_FLAPPING_PAGES,
            f"{len(pages)} page(s)",
        ),
        Expectation(
            f"{site.title}: no flood of customer emails (at most {MAX_FLAPPING_CUSTOMER_EMAILS})",
            len(emails) <= MAX_FLAPPING_CUSTOMER_EMAILS,
            f"{len(emails)} customer email(s)",
        ),
    ]


def _certificate(evidence: Evidence) -> list[Expectation]:
    site = cast.PORTAL
    warnings = [
        m
        for m in evidence.mails
        if m.role is Role.TEAM and "certificate" in (m.subject + m.text).lower()
    ]
    to_customer = [
        m for m in evidence.mails if m.role is Role.CUSTOMER and "certificate" in m.text.lower()
    ]
    return [
        _quiet(evidence, site, "expiring certificate opens no incident"),
        Expectation(f"{site.title}: the team was warned", bool(warnings), f"{len(warnings)}"),
        Expectation(f"{site.title}: no customer was told", not to_customer, f"{len(to_customer)}"),
    ]


def _blip(evidence: Evidence) -> list[Expectation]:
    site = cast.DOCS
    pages = [m for m in evidence.mails if is_page(m) and site.title in m.text + m.subject]
    return [
        _quiet(evidence, site, "a single failed probe opens no incident"),
        Expectation(f"{site.title}: nobody was paged", not pages, f"{len(pages)} page(s)"),
    ]


def expectations(evidence: Evidence) -> list[Expectation]:
    """Every promise of the story, in the order it was told."""
    return [
        _quiet(evidence, cast.SHOP, "stays healthy, no incident"),
        *_certificate(evidence),
        *_blip(evidence),
        *_incident(evidence, cast.WWW, Level.A),
        _one_thread(evidence, cast.WWW),
        *_incident(evidence, cast.BOOKING, Level.B),
        *_incident(evidence, cast.API, Level.B),
        *_flapping(evidence),
        *(Expectation(f"scenario: {what}", False) for what in evidence.marks.missed),
    ]


# ------------------------------------------------------------------------------- summary


@dataclass(frozen=True, slots=True)
class Row:
    """One incident in the summary."""

    case: str
    site: str
    level: str
    status: str
    pages: int
    customer_emails: int
    to_page: float | None  # seconds from the fault to the first page
    to_email: float | None  # seconds from the fault to the first customer email


def _seconds(start: datetime | None, mails: Sequence[Mail]) -> float | None:
    if start is None or not mails:
        return None
    return (mails[0].received_at - start).total_seconds()


def rows(evidence: Evidence) -> list[Row]:
    found: list[Row] = []
    for site in cast.SITES:
        for incident in evidence.incidents.get(site.id, []):
            case = incident.case_number
            pages = evidence.pages(case)
            emails = evidence.customer_mails(case)
            start = evidence.marks.broke.get(site.id)
            flags = " flapping" if incident.flapping else ""
            found.append(
                Row(
                    case=case,
                    site=site.title,
                    level=f"{incident.level}{flags}",
                    status=str(incident.status),
                    pages=len(pages),
                    customer_emails=len(emails),
                    to_page=_seconds(start, pages),
                    to_email=_seconds(start, emails),
                )
            )
    return found


def _s(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} s"


def summary_lines(evidence: Evidence, checks: Sequence[Expectation]) -> list[str]:
    """The summary table, the mail counts and the list of expectations."""
    header = (
        f"{'case':<18} {'site':<24} {'level':<11} {'status':<9} {'pages':>5} "
        f"{'emails':>6} {'to page':>8} {'to email':>9}"
    )
    lines = [header, "-" * len(header)]
    for row in rows(evidence):
        lines.append(
            f"{row.case:<18} {row.site:<24} {row.level:<11} {row.status:<9} {row.pages:>5} "
            f"{row.customer_emails:>6} {_s(row.to_page):>8} {_s(row.to_email):>9}"
        )
    by_role = {role: sum(m.role is role for m in evidence.mails) for role in Role}
    lines.append("")
    lines.append(
        f"mailbox: {len(evidence.mails)} messages - {sum(map(is_page, evidence.mails))} pages, "
        f"{by_role[Role.CUSTOMER]} customer emails, {by_role[Role.TEAM]} team warnings, "
        f"{by_role[Role.PAGE] - sum(map(is_page, evidence.mails))} other messages to on-call"
    )
    lines.append("")
    for check in checks:
        mark = "ok  " if check.ok else "FAIL"
        detail = f"  ({check.detail})" if check.detail and not check.ok else ""
        lines.append(f"[{mark}] {check.what}{detail}")
    return lines
