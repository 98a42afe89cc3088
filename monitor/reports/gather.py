"""Read what a customer's month is computed from, out of the config and the store.

The facts only: which 5-minute buckets hold probes, the maintenance windows (config and
run-time) with when each was announced, the site's level changes, the latency aggregates,
and every case of the customer's sites with its acknowledgements and level changes.
`monitor.reports.figures` turns them into the month's figures.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.config.records import Config, Customer, Site
from monitor.engine.history import counted_checks, covered, level_history, maintenance_of
from monitor.policy.contracts import Contracts
from monitor.policy.uptime import Interval
from monitor.reports.figures import (
    CaseFacts,
    Contract,
    Month,
    MonthFigures,
    SiteFacts,
    Window,
    month_figures,
)
from monitor.store import EventKind, Incident, MaintenanceWindow, SiteStatus, Transaction
from monitor.store.aggregates import Aggregate

# Cases opened this long before the month still count for its availability (through the
# site's level changes) but are not listed; level history is read from this far back.
_LOOKBACK = timedelta(days=1)
_MAX_CASES_PER_SITE = 10_000


def contract_of(config: Config, customer: Customer) -> Contract:
    contracts = Contracts.from_config(config)
    return Contract(contracts.policy(customer.policy), contracts.clock(customer.policy))


async def read_month(
    tx: Transaction, config: Config, customer: Customer, month: Month, now: datetime
) -> MonthFigures:
    """The customer's figures for `month` at `now`, read in one transaction."""
    start, end = month.bounds(customer.timezone)
    stored = await tx.maintenance.upcoming(start)
    statuses = {s.site_id: s for s in await tx.sites.load()}
    sites = [
        await site_facts(tx, config, stored, site, statuses.get(site.id), (start, end))
        for site in customer.sites
    ]
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
    status: SiteStatus | None,
    period: Interval,
) -> SiteFacts:
    """A site's facts over `period`, read as the status pages read them
    (`monitor.engine.history`), plus its latency aggregates."""
    start, end = period
    checks = counted_checks(site)
    latency: list[Aggregate] = []
    for check in checks:
        latency.extend(await tx.results.aggregates(check, start, end))
    levels = await level_history(tx, site.id, start - _LOOKBACK, end, status)
    held = maintenance_of(config, stored, site.id, start, end)
    return SiteFacts(
        site_id=site.id,
        label=site.label,
        covered=tuple(await covered(tx, checks, start, end)),
        windows=tuple(Window(w.start, w.end, w.reason, w.announced) for w in held),
        levels=levels.changes,
        level_before=levels.before,
        latency=tuple(latency),
    )


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
