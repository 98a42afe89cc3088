"""Facts about a site at `now` that are not its checks: maintenance, silences,
dependencies; and the respond-by seam from the policy package."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from monitor.config.records import Config, Customer, Site, covers
from monitor.engine.state import SiteMemory
from monitor.evaluate import in_maintenance
from monitor.incidents import DependencyStatus, RespondBy, SiteContext
from monitor.model import Level
from monitor.notify.recheck import silence_covers
from monitor.policy import BusinessClocks, open_sla
from monitor.store import MaintenanceWindow, Silence


def silenced(silences: Sequence[Silence], site: Site) -> bool:
    """A silence in effect covers the site, its customer, or one of its checks."""
    checks = frozenset(c.id for c in site.checks)
    return any(silence_covers(s, site.id, site.customer, checks) for s in silences)


def site_context(
    config: Config,
    site: Site,
    customer: Customer,
    windows: Sequence[MaintenanceWindow],
    silences: Sequence[Silence],
    sites: Mapping[str, SiteMemory],
    now: datetime,
    *,
    connectivity_lost: bool = False,
) -> SiteContext:
    """`windows` and `silences` are the store's ones in effect at `now`;
    `connectivity_lost`: none of the site's locations votes (their canaries say their own
    network is down, `evaluate.vote`): no incident opens, an open one does not resolve."""
    maintenance = in_maintenance(config.maintenance, site.id, now) or any(
        covers(w.sites, site.id) for w in windows
    )
    return SiteContext(
        site=site,
        customer=customer,
        in_maintenance=maintenance,
        silenced=silenced(silences, site),
        connectivity_lost=connectivity_lost,
        dependencies=tuple(_dependency(config, dep, sites) for dep in site.depends_on),
    )


def _dependency(config: Config, site_id: str, sites: Mapping[str, SiteMemory]) -> DependencyStatus:
    site = config.site(site_id)
    interval = max((c.interval for c in site.checks), default=None) if site else None
    memory = sites.get(site_id)
    return DependencyStatus(
        site_id=site_id,
        case=None if memory is None else memory.case,
        interval=interval or config.settings.defaults.interval,
    )


def policy_respond_by(config: Config) -> RespondBy:
    """The respond-by deadline from the customer's policy on its calendar's clock
    (`monitor.policy`); None for a policy or calendar the config does not have."""
    clocks = BusinessClocks(config.calendars)

    def respond_by(policy_name: str, level: Level, at: datetime) -> datetime | None:
        policy = config.policies.get(policy_name)
        if policy is None or level not in policy.levels or policy.calendar not in clocks:
            return None
        return open_sla(policy, level, at, clocks[policy.calendar]).respond_by

    return respond_by
