"""Sites and checks with their current state: config records joined with stored state."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from monitor.config.records import Check, Config, Site
from monitor.store import CheckStatus, SiteStatus, Transaction
from monitor.web.api.deps import ApiDeps
from monitor.web.api.errors import ApiError
from monitor.web.api.operations import Call, Reply
from monitor.web.api.schemas import CheckPage, CheckQuery, SitePage, SiteQuery
from monitor.web.api.views import check_detail, check_out, combined_state, site_out


@dataclass(frozen=True, slots=True)
class _States:
    sites: Mapping[str, SiteStatus]
    checks: Mapping[str, Sequence[CheckStatus]]
    cases: Mapping[int, str]  # open incidents' case numbers by id


async def _load_states(tx: Transaction) -> _States:
    checks: defaultdict[str, list[CheckStatus]] = defaultdict(list)
    for row in await tx.checks.load():
        checks[row.check_id].append(row)
    return _States(
        sites={s.site_id: s for s in await tx.sites.load()},
        checks=checks,
        cases={i.id: i.case_number for i in await tx.incidents.unresolved()},
    )


def _next_offset(offset: int, limit: int, total: int) -> int | None:
    return offset + limit if offset + limit < total else None


def _site(config: Config, customer: str, name: str) -> Site:
    site = config.site(f"{customer}/{name}")
    if site is None:
        raise ApiError(404, f"no site {customer}/{name}")
    return site


async def list_sites(deps: ApiDeps, call: Call) -> Reply:
    q = call.query_as(SiteQuery)
    sites = [s for s in call.config.sites() if q.customer in (None, s.customer)]
    page = sites[q.offset : q.offset + q.limit]
    async with deps.store.transaction(read_only=True) as tx:
        states = await _load_states(tx)
    items = [
        site_out(
            call.config.customers[s.customer],
            s,
            states.sites.get(s.id),
            states.checks,
            states.cases,
        )
        for s in page
    ]
    return 200, SitePage(
        items=items, total=len(sites), next_offset=_next_offset(q.offset, q.limit, len(sites))
    )


async def get_site(deps: ApiDeps, call: Call) -> Reply:
    site = _site(call.config, call.path["customer"], call.path["site"])
    async with deps.store.transaction(read_only=True) as tx:
        states = await _load_states(tx)
    customer = call.config.customers[site.customer]
    return 200, site_out(customer, site, states.sites.get(site.id), states.checks, states.cases)


def _matching_checks(
    config: Config, q: CheckQuery, checks: Mapping[str, Sequence[CheckStatus]]
) -> list[tuple[Site, Check]]:
    found = []
    for site in config.sites():
        if q.customer not in (None, site.customer) or q.site not in (None, site.id):
            continue
        for check in site.checks:
            if q.state in (None, combined_state(site, checks.get(check.id, ()))):
                found.append((site, check))
    return found


async def list_checks(deps: ApiDeps, call: Call) -> Reply:
    q = call.query_as(CheckQuery)
    async with deps.store.transaction(read_only=True) as tx:
        states = await _load_states(tx)
    found = _matching_checks(call.config, q, states.checks)
    items = [
        check_out(site, check, states.checks.get(check.id, ()))
        for site, check in found[q.offset : q.offset + q.limit]
    ]
    return 200, CheckPage(
        items=items, total=len(found), next_offset=_next_offset(q.offset, q.limit, len(found))
    )


async def get_check(deps: ApiDeps, call: Call) -> Reply:
    site = _site(call.config, call.path["customer"], call.path["site"])
    check = next((c for c in site.checks if c.name == call.path["check"]), None)
    if check is None:
        raise ApiError(404, f"no check {site.id}/{call.path['check']}")
    async with deps.store.transaction(read_only=True) as tx:
        rows = [r for r in await tx.checks.load() if r.check_id == check.id]
        recent = await tx.results.recent(check.id)
    return 200, check_detail(site, check, rows, recent)
