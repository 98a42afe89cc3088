"""`vakt status`: every configured site, one line each: state, level, latency, since.

Sites come from the config, so a site that was never probed shows `unknown`; states come
from the store the daemon writes. Failing and degraded checks are named. The first line
names the store it read (`--json`: the `store` key). `--json` prints the same for scripts.
Exit codes: 0 shown, 1 the store cannot be read (or does not exist yet), 2 bad config.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Any

from monitor.cli._output import Cell, Painter, iso, latency, print_json, span, table
from monitor.cli._session import add_store_options, fail, run_with_store
from monitor.clock import SystemClock
from monitor.config.records import Check, Config, Site, covers
from monitor.engine.context import silenced
from monitor.evaluate.maintenance import in_maintenance
from monitor.model import CheckState, ErrorCode, Level
from monitor.store import CheckStatus, MaintenanceWindow, Silence, SiteStatus, Store

# Where the engine keeps the quorum-combined state of a check (store.records.CheckStatus).
COMBINED_LOCATION = "*"
_WORST_FIRST = (CheckState.FAILING, CheckState.DEGRADED, CheckState.OK, CheckState.UNKNOWN)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "status",
        help="every site with its state, level, latency and since when",
        description="One line per configured site: its state (ok, Level A, Level B or "
        "unknown), the slowest latency of its last probes, since when, its open case, and "
        "which checks fail. Sites never probed show `unknown`.",
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
    return Snapshot(now, sites, checks, cases, windows, silences)


def site_lines(config: Config, snapshot: Snapshot, customer: str | None) -> list[SiteLine]:
    return [
        _site_line(site, config, snapshot)
        for site in config.sites()
        if customer in (None, site.customer)
    ]


def _site_line(site: Site, config: Config, snapshot: Snapshot) -> SiteLine:
    status = snapshot.sites.get(site.id)
    state = "unknown" if status is None else (status.level.value if status.level else "ok")
    at = snapshot.at
    return SiteLine(
        site=site,
        state=state,
        since=None if status is None else status.since,
        case=snapshot.cases.get(site.id),
        maintenance=in_maintenance(config.maintenance, site.id, at)
        or any(covers(w.sites, site.id) for w in snapshot.windows),
        silenced=silenced(snapshot.silences, site),
        checks=tuple(check_line(c, snapshot.checks.get(c.id, ())) for c in site.checks),
    )


def check_line(check: Check, statuses: Sequence[CheckStatus]) -> CheckLine:
    """The check's state: the combined one when the engine stored it, else the worst of
    its locations; latency from its most recent probe anywhere."""
    combined = [s for s in statuses if s.location == COMBINED_LOCATION]
    candidates = combined or list(statuses)
    if not candidates:
        return CheckLine(check, CheckState.UNKNOWN, None, None, None, None)
    chosen = min(candidates, key=lambda s: _WORST_FIRST.index(s.state))
    probed = [s for s in statuses if s.last_probe_at is not None]
    latest = max(probed, key=lambda s: s.last_probe_at or s.since) if probed else None
    return CheckLine(
        check=check,
        state=chosen.state,
        since=chosen.since,
        latency=None if latest is None else latest.last_total,
        error=chosen.last_error if chosen.state is not CheckState.OK else None,
        last_probe_at=None if latest is None else latest.last_probe_at,
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
