"""Read what a customer's month is computed from, out of the config and the store.

The facts only: which 5-minute buckets hold probes, the maintenance windows (config and
run-time) with when each was announced, the site's level changes, the latency aggregates,
and every case of the customer's sites with its acknowledgements and level changes.
`monitor.reports.figures` turns them into the month's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.config.records import Config, Customer, Site, covers
from monitor.evaluate.maintenance import occurrences_between
from monitor.model import Impact
from monitor.policy.contracts import Contracts
from monitor.policy.uptime import Interval, LevelChange
from monitor.reports.figures import (
    CaseFacts,
    Contract,
    Month,
    MonthFigures,
    SiteFacts,
    Window,
    month_figures,
)
from monitor.store import EventKind, Incident, MaintenanceWindow, Transaction
from monitor.store.aggregates import BUCKET, Aggregate

# Cases opened this long before the month still count for its availability (through the
# site's level changes) but are not listed; level history is read from this far back.
_LOOKBACK = timedelta(days=1)
_MAX_CASES_PER_SITE = 10_000


def counted(site: Site) -> list[str]:
    """The checks whose results count for availability and latency (never warnings)."""
    return [c.id for c in site.checks if c.impact is not Impact.WARNING]


def contract_of(config: Config, customer: Customer) -> Contract:
    contracts = Contracts.from_config(config)
    return Contract(contracts.policy(customer.policy), contracts.clock(customer.policy))


async def read_month(
    tx: Transaction, config: Config, customer: Customer, month: Month, now: datetime
) -> MonthFigures:
    """The customer's figures for `month` at `now`, read in one transaction."""
    start, end = month.bounds(customer.timezone)
    stored = await tx.maintenance.upcoming(start)
    sites = [await site_facts(tx, config, stored, site, (start, end)) for site in customer.sites]
    cases: list[CaseFacts] = []
    for site in customer.sites:
        for row in await tx.incidents.find(site_id=site.id, limit=_MAX_CASES_PER_SITE):
            if start <= row.opened_at < end:
                cases.append(await case_facts(tx, row))
    return month_figures(
        customer.id,
        month,
        customer.timezone,
        sites,
        cases,
        contract_of(config, customer),
        now,
    )


async def site_facts(
    tx: Transaction,
    config: Config,
    stored: Sequence[MaintenanceWindow],
    site: Site,
    period: Interval,
) -> SiteFacts:
    start, end = period
    checks = counted(site)
    buckets = await tx.web.series(checks, start, end)
    latency: list[Aggregate] = []
    for check in checks:
        latency.extend(await tx.results.aggregates(check, start, end))
    found = await tx.sites.changes(site.id, since=start - _LOOKBACK, limit=100_000)
    before = found[-1].old if found else None  # newest first: the last is the oldest
    found_levels: tuple[LevelChange, ...] = tuple(LevelChange(c.at, c.new) for c in found)
    if not found:  # no change since: the current level holds since the site's row says
        status = {s.site_id: s for s in await tx.sites.load()}.get(site.id)
        if status is not None and status.since < end:
            found_levels = (LevelChange(status.since, status.level),)
    return SiteFacts(
        site_id=site.id,
        label=site.label,
        covered=tuple((p.start, p.start + BUCKET) for p in buckets if p.total),
        windows=tuple(windows_of(config, stored, site.id, start, end)),
        levels=found_levels,
        level_before=before,
        latency=tuple(latency),
    )


def windows_of(
    config: Config,
    stored: Sequence[MaintenanceWindow],
    site_id: str,
    start: datetime,
    end: datetime,
) -> list[Window]:
    """A site's maintenance overlapping [start, end): config windows announced `announce`
    before they begin (never, without it); run-time windows announced when added."""
    found: list[Window] = []
    for window in config.maintenance:
        if not window.covers(site_id):
            continue
        for occurrence in occurrences_between(window, start, end):
            if occurrence.start < end and occurrence.end > start:
                ahead = None if window.announce is None else occurrence.start - window.announce
                found.append(Window(occurrence.start, occurrence.end, window.reason, ahead))
    for row in stored:
        finish = row.end if row.ended_at is None else min(row.end, row.ended_at)
        if covers(row.sites, site_id) and row.start < end and finish > start:
            found.append(Window(row.start, finish, row.reason, row.created_at))
    return sorted(found, key=lambda w: w.start)


async def case_facts(tx: Transaction, row: Incident) -> CaseFacts:
    """A stored case's facts from its row and timeline."""
    events = await tx.incidents.events(row.id)
    acks = [e.at for e in events if e.kind is EventKind.ACKNOWLEDGED]
    if row.acknowledged_at is not None and row.acknowledged_at not in acks:
        acks.append(row.acknowledged_at)
    changes = [
        (e.at, e.level, e.previous_level)
        for e in sorted(events, key=lambda e: e.at)
        if e.kind is EventKind.LEVEL_CHANGED and e.level is not None
    ]
    opened = changes[0][2] if changes and changes[0][2] is not None else row.level
    return CaseFacts(
        case_number=row.case_number,
        site_id=row.site_id,
        level=opened,
        opened_at=row.opened_at,
        resolved_at=row.resolved_at,
        acknowledgements=tuple(sorted(acks)),
        level_changes=tuple((at, level) for at, level, _ in changes if level is not None),
    )
