"""`vakt status`: every configured site, one line each: state, level, latency, since.

Sites come from the config, so a site that was never probed shows `unknown`; states come
from the store the daemon writes. Failing and degraded checks are named. The first line
names the store it read (`--json`: the `store` key). `--json` prints the same for scripts.
Exit codes: 0 shown, 1 the store cannot be read (or does not exist yet), 2 bad config.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from typing import Any

from monitor.cli._output import Cell, Painter, iso, latency, print_json, span, table
from monitor.cli._session import add_store_options, fail, run_with_store
from monitor.clock import SystemClock
from monitor.config.records import Check, Config, Site, covers
from monitor.engine.context import silenced
from monitor.evaluate.maintenance import in_maintenance
from monitor.model import CheckState, ErrorCode, Level
from monitor.store import (
    CheckStatus,
    MaintenanceWindow,
    RecentResult,
    Silence,
    SiteStatus,
    Store,
)

# Where the engine keeps the quorum-combined state of a check (store.records.CheckStatus).
COMBINED_LOCATION = "*"
_WORST_FIRST = (CheckState.FAILING, CheckState.DEGRADED, CheckState.OK, CheckState.UNKNOWN)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="every site with its state, level, latency and since when",
        description="One line per configured site: its state (ok, Level A, Level B or "
        "unknown), the slowest latency of its last probes, since when, its open case, and "
        "which checks fail. A site is ok from its first probe; sites never probed show "
        "`unknown`.",
    )
    add_store_options(parser)
    parser.add_argument("--customer", metavar="ID", help="only this customer's sites")
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")
    parser.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class CheckLine:
    check: Check
    state: CheckState
    since: datetime | None
    latency: float | None
    error: ErrorCode | None
    last_probe_at: datetime | None


@dataclass(frozen=True, slots=True)
class SiteLine:
    site: Site
    state: str  # "A", "B", "ok" or "unknown"
    since: datetime | None
    case: str | None
    maintenance: bool
    silenced: bool
    checks: tuple[CheckLine, ...]

    @property
    def latency(self) -> float | None:
        """The slowest of the checks' last probes: the number to worry about."""
        measured = [c.latency for c in self.checks if c.latency is not None]
        return max(measured) if measured else None


@dataclass(frozen=True, slots=True)
class Snapshot:
    """What the store knows at `at`, read in one transaction."""

    at: datetime
    sites: Mapping[str, SiteStatus]
    checks: Mapping[str, Sequence[CheckStatus]]
    cases: Mapping[str, str]  # site id -> its open case
    windows: Sequence[MaintenanceWindow]
    silences: Sequence[Silence]
    newest: Mapping[str, RecentResult] = field(default_factory=dict)  # check id -> last probe


def run(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        if args.customer is not None and args.customer not in config.customers:
            return fail("status", f"no customer {args.customer!r} in the config", 2)
        snapshot = await read_snapshot(store, SystemClock().now())
        lines = site_lines(config, snapshot, args.customer)
        if args.json:
            print_json({"store": store.display_url, **as_json(lines, snapshot.at)})
        else:
            print(f"Store: {store.display_url}")
            zone = config.settings.timezone
            for line in as_text(lines, snapshot.at, zone, Painter.for_stdout()):
                print(line)
            print(f"Times in {config.settings.timezone_name}.")
        return 0

    return run_with_store("status", args, work)


async def read_snapshot(store: Store, now: datetime) -> Snapshot:
    async with store.transaction(read_only=True) as tx:
        sites = {s.site_id: s for s in await tx.sites.load()}
        checks: dict[str, list[CheckStatus]] = {}
        for status in await tx.checks.load():
            checks.setdefault(status.check_id, []).append(status)
        cases = {i.site_id: i.case_number for i in await tx.incidents.unresolved()}
        windows = await tx.maintenance.active(now)
        silences = await tx.silences.active(now)
        newest = {r.check_id: r for r in await tx.results.newest()}
    return Snapshot(now, sites, checks, cases, windows, silences, newest)


def site_lines(config: Config, snapshot: Snapshot, customer: str | None) -> list[SiteLine]:
    return [
        _site_line(site, config, snapshot)
        for site in config.sites()
        if customer in (None, site.customer)
    ]


def _site_line(site: Site, config: Config, snapshot: Snapshot) -> SiteLine:
    checks = tuple(
        check_line(c, snapshot.checks.get(c.id, ()), snapshot.newest.get(c.id)) for c in site.checks
    )
    at = snapshot.at
    return SiteLine(
        site=site,
        state=site_state(snapshot.sites.get(site.id), checks),
        since=_site_since(snapshot.sites.get(site.id), checks),
        case=snapshot.cases.get(site.id),
        maintenance=in_maintenance(config.maintenance, site.id, at)
        or any(covers(w.sites, site.id) for w in snapshot.windows),
        silenced=silenced(snapshot.silences, site),
        checks=checks,
    )


def site_state(status: SiteStatus | None, checks: Sequence[CheckLine]) -> str:
    """The site's level ("A", "B"), else "ok" once any check was probed, else "unknown".
    The engine stores a site's row only when its level changes, so a site probed healthy
    from the start has none: it is ok, not unknown."""
    if status is not None:
        return status.level.value if status.level else "ok"
    probed = any(c.state is not CheckState.UNKNOWN or c.last_probe_at for c in checks)
    return "ok" if probed else "unknown"


def _site_since(status: SiteStatus | None, checks: Sequence[CheckLine]) -> datetime | None:
    if status is not None:
        return status.since
    known = [c.since for c in checks if c.since is not None]
    return min(known) if known else None


def check_line(
    check: Check, statuses: Sequence[CheckStatus], newest: RecentResult | None = None
) -> CheckLine:
    """The check's state: the combined one when the engine stored it, else the worst of
    its locations; latency from its most recent probe anywhere: the newest entry of the
    recent-results ring (the engine rewrites a status only when it changes or fails)."""
    combined = [s for s in statuses if s.location == COMBINED_LOCATION]
    candidates = combined or list(statuses)
    probes = [(s.last_probe_at, s.last_total) for s in statuses if s.last_probe_at is not None]
    if newest is not None:
        probes.append((newest.started_at, newest.total))
    last_at, last_total = max(probes, key=lambda p: p[0]) if probes else (None, None)
    if not candidates:
        return CheckLine(check, CheckState.UNKNOWN, None, last_total, None, last_at)
    chosen = min(candidates, key=lambda s: _WORST_FIRST.index(s.state))
    return CheckLine(
        check=check,
        state=chosen.state,
        since=chosen.since,
        latency=last_total,
        error=chosen.last_error if chosen.state is not CheckState.OK else None,
        last_probe_at=last_at,
    )


# ------------------------------------------------------------------------------ output


def state_label(state: str) -> str:
    return f"Level {state}" if state in (Level.A, Level.B) else state


def _problems(line: SiteLine) -> str:
    parts: list[str] = []
    for state in (CheckState.FAILING, CheckState.DEGRADED):
        named = [
            c.check.name + (f" ({c.error.value})" if c.error else "")
            for c in line.checks
            if c.state is state
        ]
        if named:
            parts.append(f"{state.value}: {', '.join(named)}")
    unknown = sum(1 for c in line.checks if c.state is CheckState.UNKNOWN)
    if not parts:
        ok = sum(1 for c in line.checks if c.state is CheckState.OK)
        parts.append(f"{ok} ok" if ok else "")
    if unknown:
        parts.append(f"{unknown} unknown")
    flags = [f for f, on in (("maintenance", line.maintenance), ("silenced", line.silenced)) if on]
    return "; ".join(p for p in parts if p) + "".join(f" [{f}]" for f in flags)


def _since(moment: datetime | None, now: datetime, zone: tzinfo) -> str:
    if moment is None:
        return "-"
    return f"{moment.astimezone(zone):%Y-%m-%d %H:%M} ({span(now - moment)})"


def as_text(lines: Sequence[SiteLine], now: datetime, zone: tzinfo, painter: Painter) -> list[str]:
    if not lines:
        return ["No sites are configured."]
    rows: list[list[Cell]] = [
        [
            line.site.id,
            (state_label(line.state), line.state),
            latency(line.latency),
            _since(line.since, now, zone),
            line.case or "-",
            _problems(line),
        ]
        for line in lines
    ]
    return table(("SITE", "STATE", "LATENCY", "SINCE", "CASE", "CHECKS"), rows, painter)


def _check_json(line: CheckLine) -> dict[str, object]:
    return {
        "check": line.check.id,
        "name": line.check.name,
        "type": line.check.type.value,
        "impact": line.check.impact.value,
        "state": line.state.value,
        "since": iso(line.since),
        "latency": line.latency,
        "error": None if line.error is None else line.error.value,
        "last_probe_at": iso(line.last_probe_at),
    }


def as_json(lines: Sequence[SiteLine], now: datetime) -> dict[str, object]:
    """`{"at": ..., "sites": [...]}`; latencies in seconds, times ISO 8601 UTC."""
    return {
        "at": iso(now),
        "sites": [
            {
                "site": line.site.id,
                "customer": line.site.customer,
                "label": line.site.label,
                "url": line.site.url,
                "state": line.state,
                "level": line.state if line.state in (Level.A, Level.B) else None,
                "since": iso(line.since),
                "latency": line.latency,
                "case": line.case,
                "maintenance": line.maintenance,
                "silenced": line.silenced,
                "checks": [_check_json(c) for c in line.checks],
            }
            for line in lines
        ],
    }
