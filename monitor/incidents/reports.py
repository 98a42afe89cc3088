"""Problems customers report themselves: the report as a value, its checks and its route.

Pure: no clock, no I/O. The web (status-page form, `POST /api/v1/requests`) and the
support mailbox build a `Report` with `make_report`; the intake desk (`monitor.intake`)
decides with `route` whether it takes effect at once or waits in triage, and files it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from monitor.config.records import Customer
from monitor.config.values import addr_spec, display_name
from monitor.model import Level

MAX_NAME = 200
MAX_EMAIL = 254
MAX_DESCRIPTION = 10_000


class ReportSource(StrEnum):
    FORM = "form"  # the status page's "Report a problem"
    API = "api"  # `POST /api/v1/requests` (helpdesk integrations)
    EMAIL = "email"  # the support mailbox


class ReportProblem(StrEnum):
    """Why a report cannot be filed (a field to fix); the web words it."""

    NAME = "name"
    EMAIL = "email"
    SITE = "site"
    DESCRIPTION = "description"
    TOO_LONG = "too_long"


class Route(StrEnum):
    ACCEPTED = "accepted"  # a customer's contact (or an allowed domain): takes effect at once
    TRIAGE = "triage"  # anyone else: the team decides


class Filed(StrEnum):
    """What the desk did with a report."""

    OPENED = "opened"  # a customer-reported case of its own
    JOINED = "joined"  # the monitoring case of a site that is down
    TRIAGE = "triage"
    LIMITED = "limited"  # too many reports from this address or email: nothing filed


@dataclass(frozen=True, slots=True)
class Report:
    """One report, checked. `site_id` is a site of the customer, or None ("not sure")."""

    customer_id: str
    site_id: str | None
    name: str
    email: str
    description: str
    urgent: bool
    submitted_at: datetime
    source: ReportSource
    client: str | None = None  # the client address (form, API), for rate limits
    message_id: str | None = None  # the email's Message-ID (support mailbox)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What the desk tells the reporter at once: the outcome and, with a case, its number
    and when the team responds by."""

    filed: Filed
    case: str | None = None
    respond_by: datetime | None = None


class ReportDesk(Protocol):
    """Files reports (`monitor.intake.Desk`, injected by `monitor.app`); the team
    accepts or dismisses the ones in triage."""

    async def file(self, report: Report) -> Receipt: ...

    async def accept(
        self, request_id: int, person: str, assign: Assignment | None = None
    ) -> Receipt | None: ...

    async def dismiss(self, request_id: int, person: str) -> bool: ...


@dataclass(frozen=True, slots=True)
class Assignment:
    """Whose report a triage report is, as a person decides it: the customer's id and
    one of its sites (its key `shop` or its id `acme/shop`; None: not sure which)."""

    customer_id: str
    site: str | None = None

    @classmethod
    def parse(cls, target: str) -> Assignment:
        """`acme` or `acme/shop` (the queue page's choice)."""
        customer, _, site = target.strip().partition("/")
        return cls(customer, site or None)


class InvalidReport(ValueError):
    def __init__(self, problem: ReportProblem) -> None:
        super().__init__(f"the report's {problem.value} is not valid")
        self.problem = problem


def make_report(
    customer: Customer,
    *,
    site: str | None,
    name: str,
    email: str,
    description: str,
    urgent: bool,
    submitted_at: datetime,
    source: ReportSource,
    client: str | None = None,
    message_id: str | None = None,
) -> Report:
    """A checked report; raises `InvalidReport` naming the first field to fix.

    `site` is the site's key within the customer (`shop`) or its id (`acme/shop`); empty
    means the reporter does not know which site.
    """
    if len(name) > MAX_NAME or len(email) > MAX_EMAIL or len(description) > MAX_DESCRIPTION:
        raise InvalidReport(ReportProblem.TOO_LONG)
    try:
        clean_name = display_name(name.strip())
    except ValueError:
        raise InvalidReport(ReportProblem.NAME) from None
    try:
        address = addr_spec(email.strip())
    except ValueError:
        raise InvalidReport(ReportProblem.EMAIL) from None
    if not description.strip():
        raise InvalidReport(ReportProblem.DESCRIPTION)
    return Report(
        customer_id=customer.id,
        site_id=_site_id(customer, site),
        name=clean_name,
        email=address,
        description=description.strip(),
        urgent=urgent,
        submitted_at=submitted_at,
        source=source,
        client=client,
        message_id=message_id,
    )


def site_of(customer: Customer, site: str | None) -> str | None:
    """The id of the customer's site named `site` (its key or id); None for none; raises
    `InvalidReport` (SITE) for a site that is not the customer's."""
    return _site_id(customer, site)


def _site_id(customer: Customer, site: str | None) -> str | None:
    if not site:
        return None
    for s in customer.sites:
        if site in (s.id, s.name):
            return s.id
    raise InvalidReport(ReportProblem.SITE)


def report_level(urgent: bool) -> Level:
    """The level whose paging rules a customer-reported case follows: an urgent report
    (always from a contact or an allowed domain) pages like Level A, any other like B."""
    return Level.A if urgent else Level.B


def route(report: Report, customer: Customer, allowed_domains: Iterable[str] = ()) -> Route:
    """ACCEPTED for one of the customer's contacts or an address at an allowed domain
    (compared without case); TRIAGE for anyone else."""
    address = report.email.casefold()
    if any(c.email.casefold() == address for c in customer.contacts):
        return Route.ACCEPTED
    domain = address.rpartition("@")[2]
    if any(domain == d.casefold() for d in allowed_domains):
        return Route.ACCEPTED
    return Route.TRIAGE
