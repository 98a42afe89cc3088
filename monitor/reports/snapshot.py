"""A report as a customer receives it, and frozen once sent.

A `Report` is the figures' JSON with the rendered HTML and PDF and the version of the
config it was computed with. Once frozen (`ReportQueries.freeze`), showing that month
again shows the stored version; recomputing makes a new numbered version, and `changes`
says what differs from the one before.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from monitor.config.records import Config, Customer
from monitor.reports.export import as_json
from monitor.reports.figures import MonthFigures
from monitor.store.queries.reports import ReportSnapshot

# The figures compared between versions, in the order a person reads them.
_COMPARED = (
    "uptime",
    "down_s",
    "degraded_s",
    "maintenance_s",
    "cases_met",
    "cases_missed",
    "unacknowledged",
    "mtta_s",
    "mttr_s",
)


@dataclass(frozen=True, slots=True)
class Report:
    customer_id: str
    month: str
    figures: Mapping[str, Any]  # the JSON of `export.as_json`
    html: str
    pdf: bytes | None
    config_version: str
    version: int | None = None  # None: computed now, not frozen
    created_at: datetime | None = None
    sent_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Change:
    """One figure that differs between two versions (`key`: a figure, or a case number)."""

    key: str
    old: object
    new: object


def config_version(config: Config, customer: Customer) -> str:
    """A short digest of what a customer's report depends on in the config: the customer
    (sites, checks, zone, language), its policy and the policy's calendar."""
    policy = config.policies.get(customer.policy)
    calendar = None if policy is None else config.calendars.get(policy.calendar)
    windows = [w for w in config.maintenance if any(w.covers(s.id) for s in customer.sites)]
    text = repr((customer, policy, calendar, windows))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def live(
    figures: MonthFigures, customer: Customer, config: Config, html: str, pdf: bytes | None
) -> Report:
    """A report computed now (not frozen)."""
    return Report(
        customer_id=customer.id,
        month=str(figures.month),
        figures=as_json(figures, customer.name),
        html=html,
        pdf=pdf,
        config_version=config_version(config, customer),
    )


def build(figures: MonthFigures, customer: Customer, config: Config, pdf: bool) -> Report:
    """Render a report computed now: HTML always (a frozen report keeps it), PDF if asked.
    CPU-bound (matplotlib, WeasyPrint): async callers run it in a thread."""
    from monitor.reports import render

    reader = render.Reader(
        customer.name, customer.language, customer.timezone, customer.timezone_name
    )
    page = render.html(figures, reader)
    return live(figures, customer, config, page, render.pdf(page) if pdf else None)


def stored(snapshot: ReportSnapshot) -> Report:
    """A frozen version as a report."""
    return Report(
        customer_id=snapshot.customer_id,
        month=snapshot.month,
        figures=json.loads(snapshot.figures),
        html=snapshot.html,
        pdf=snapshot.pdf,
        config_version=snapshot.config_version,
        version=snapshot.version,
        created_at=snapshot.created_at,
        sent_at=snapshot.sent_at,
    )


def to_snapshot(
    report: Report, by: str, at: datetime, sent_at: datetime | None = None
) -> ReportSnapshot:
    """The row that freezes `report` (its version is given by the store)."""
    return ReportSnapshot(
        customer_id=report.customer_id,
        month=report.month,
        figures=json.dumps(report.figures, ensure_ascii=False, sort_keys=True),
        html=report.html,
        pdf=report.pdf,
        config_version=report.config_version,
        created_by=by,
        created_at=at,
        sent_at=sent_at,
    )


def changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """What differs between two versions' figures: the summary figures, then each case
    added, removed or with another outcome."""
    found = [Change(k, old.get(k), new.get(k)) for k in _COMPARED if old.get(k) != new.get(k)]
    before = {c["case"]: c for c in old.get("cases", [])}
    after = {c["case"]: c for c in new.get("cases", [])}
    for case in sorted(before.keys() | after.keys()):
        was, now = before.get(case), after.get(case)
        if was is None or now is None:
            found.append(Change(case, was and was["status"], now and now["status"]))
        elif (was["status"], was["respond_s"], was["resolve_s"]) != (
            now["status"],
            now["respond_s"],
            now["resolve_s"],
        ):
            found.append(Change(case, was["status"], now["status"]))
    return found
