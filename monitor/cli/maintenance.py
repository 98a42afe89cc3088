"""`vakt maintenance add|list|end`: maintenance windows added while the daemon runs.

During a window checks still run and are recorded, but no incident opens, nobody is paged
and the time is left out of SLA figures. Windows written in `checks.yaml` are listed too;
they are changed by editing the config. Exit codes: 0 done, 1 the operation failed (no
such window, already ended, the store cannot be used), 2 usage or config error (bad time,
unknown site).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any

from monitor.cli._output import Cell, Painter, iso, local, print_json, span, table
from monitor.cli._session import (
    actor,
    add_by_option,
    add_store_options,
    duration_arg,
    fail,
    run_with_store,
)
from monitor.clock import SystemClock
from monitor.config.records import Config, Maintenance
from monitor.config.values import WEEKDAYS, moment
from monitor.evaluate.maintenance import occurrences_between
from monitor.policy.periods import MAX_LENGTH, period_end, period_problem
from monitor.store import MaintenanceWindow, Store

_WEEK = timedelta(days=8)  # a weekly window, however late today's already went


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "maintenance",
        help="add, list and end maintenance windows",
        description="Maintenance windows: checks run and are recorded, but no incident "
        "opens, nobody is paged, and the time is left out of SLA figures.",
    )
    actions = parser.add_subparsers(dest="maintenance_action", metavar="ACTION", required=True)
    _register_add(actions)
    listing = actions.add_parser(
        "list",
        help="active and upcoming windows (config and added)",
        description="Windows in effect now or still to come: from checks.yaml (recurring "
        "ones at their next occurrence) and added with `vakt maintenance add`.",
    )
    add_store_options(listing)
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    listing.set_defaults(handler=run_list)
    end = actions.add_parser(
        "end", help="end a window now", description="End (or cancel) an added window now."
    )
    add_store_options(end)
    end.add_argument("id", metavar="ID", help="the window's id from `vakt maintenance list`")
    end.set_defaults(handler=run_end)


def _register_add(actions: Any) -> None:
    add = actions.add_parser(
        "add",
        help="add a maintenance window",
        description="Add a window for one or more sites. Patterns: `customer/site`, "
        "`customer/*` (all the customer's sites) or `*`. Times without an offset are in "
        "settings.timezone.",
    )
    add_store_options(add)
    add.add_argument("sites", nargs="+", metavar="SITE_PATTERN", help="e.g. acme/shop, acme/*")
    add.add_argument("--from", dest="start", metavar="TIME", help="e.g. 2026-12-01T22:00 (now)")
    until = add.add_mutually_exclusive_group(required=True)
    until.add_argument("--to", dest="end", metavar="TIME", help="e.g. 2026-12-01T23:00")
    until.add_argument(
        "--for", dest="length", type=duration_arg, metavar="DURATION", help="e.g. 1h"
    )
    add.add_argument("--reason", default="", metavar="TEXT", help="shown to customers")
    add_by_option(add, "adds it")
    add.set_defaults(handler=run_add)


# ---------------------------------------------------------------------------------- add


def unknown_patterns(patterns: Sequence[str], config: Config) -> list[str]:
    """The patterns that name no configured site or customer."""
    bad: list[str] = []
    for pattern in patterns:
        customer, slash, site = pattern.partition("/")
        if pattern == "*" or (slash and site == "*" and customer in config.customers):
            continue
        if not slash or config.site(pattern) is None:
            bad.append(pattern)
    return bad


def window_times(
    args: argparse.Namespace, zone: tzinfo, now: datetime
) -> tuple[datetime, datetime]:
    """(start, end) from --from and --to or --for; raises ValueError saying what is wrong."""
    start = now if args.start is None else moment(args.start, zone)
    end = period_end(start, args.length) if args.end is None else moment(args.end, zone)
    if end is None:
        raise ValueError(f"it lasts more than {MAX_LENGTH.days} days")
    problem = period_problem(start, end, now)
    if problem is not None:
        raise ValueError(problem)
    return start, end


def run_add(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        bad = unknown_patterns(args.sites, config)
        if bad:
            hint = "use customer/site, customer/* or *"
            return fail("maintenance add", f"no such site: {', '.join(bad)} ({hint})", 2)
        now, zone = SystemClock().now().replace(microsecond=0), config.settings.timezone
        try:
            start, end = window_times(args, zone, now)
        except ValueError as exc:
            return fail("maintenance add", str(exc), 2)
        window = MaintenanceWindow(
            sites=tuple(args.sites),
            start=start,
            end=end,
            reason=args.reason,
            created_by=actor(args, config, os.environ),
            created_at=now,
        )
        async with store.transaction() as tx:
            window = await tx.maintenance.add(window)
        sites = ", ".join(window.sites)
        print(
            f"Maintenance window {window.id} for {sites}: {local(start, zone)} to "
            f"{local(end, zone)} ({span(end - start)})"
        )
        return 0

    return run_with_store("maintenance add", args, work)


# --------------------------------------------------------------------------------- list


@dataclass(frozen=True, slots=True)
class Listed:
    """One window occurrence as listed: from the config or the store."""

    id: str
    source: str  # "config" or "store"
    sites: tuple[str, ...]
    start: datetime
    end: datetime
    reason: str
    every: str | None = None  # a recurring config window: "sun 03:00", "daily 03:00"
    created_by: str | None = None

    def active(self, now: datetime) -> bool:
        return self.start <= now < self.end


def next_occurrence(window: Maintenance, now: datetime) -> tuple[datetime, datetime] | None:
    """The occurrence of a config window in effect at `now` or the next one (a recurring
    window's within a week); None if over."""
    horizon = now + _WEEK if window.recurrence is not None else max(now, window.end or now)
    for occurrence in occurrences_between(window, now, horizon):
        if occurrence.end > now:
            return occurrence.start, occurrence.end
    return None


def _every(window: Maintenance) -> str | None:
    if window.recurrence is None:
        return None
    day = "daily" if window.recurrence.weekday is None else WEEKDAYS[window.recurrence.weekday]
    return f"{day} {window.recurrence.at:%H:%M} {window.timezone_name}"


def config_windows(config: Config, now: datetime) -> list[Listed]:
    listed: list[Listed] = []
    for window in config.maintenance:
        times = next_occurrence(window, now)
        if times is not None:
            every = _every(window)
            listed.append(Listed(window.id, "config", window.sites, *times, window.reason, every))
    return listed


def store_windows(windows: Sequence[MaintenanceWindow]) -> list[Listed]:
    return [
        Listed(
            str(w.id),
            "store",
            w.sites,
            w.start,
            w.end if w.ended_at is None else min(w.end, w.ended_at),
            w.reason,
            created_by=w.created_by,
        )
        for w in windows
    ]


def run_list(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        now = SystemClock().now()
        async with store.transaction(read_only=True) as tx:
            added = await tx.maintenance.upcoming(now)
        windows = sorted(config_windows(config, now) + store_windows(added), key=lambda w: w.start)
        if args.json:
            print_json([listed_json(w, now) for w in windows])
            return 0
        for line in list_text(windows, now, config.settings.timezone, Painter.for_stdout()):
            print(line)
        return 0

    return run_with_store("maintenance list", args, work)


def listed_json(window: Listed, now: datetime) -> dict[str, object]:
    return {
        "id": window.id,
        "source": window.source,
        "sites": list(window.sites),
        "start": iso(window.start),
        "end": iso(window.end),
        "active": window.active(now),
        "every": window.every,
        "reason": window.reason,
        "created_by": window.created_by,
    }


def list_text(
    windows: Sequence[Listed], now: datetime, zone: tzinfo, painter: Painter
) -> list[str]:
    if not windows:
        return ["No active or upcoming maintenance."]
    rows: list[list[Cell]] = [
        [
            w.id,
            ("active", "degraded") if w.active(now) else f"in {span(w.start - now)}",
            ", ".join(w.sites),
            local(w.start, zone),
            local(w.end, zone),
            w.every or w.source,
            w.reason or "-",
        ]
        for w in windows
    ]
    return table(("ID", "STATE", "SITES", "FROM", "TO", "SOURCE", "REASON"), rows, painter)


# ---------------------------------------------------------------------------------- end


def run_end(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        if any(w.id == args.id for w in config.maintenance):
            message = f"window {args.id} is in {config.path}: remove it there and reload"
            return fail("maintenance end", message)
        if not args.id.isdigit():
            return fail("maintenance end", f"no maintenance window {args.id}")
        now = SystemClock().now()
        async with store.transaction() as tx:
            window = await tx.maintenance.get(int(args.id))
            over = window is not None and window.end <= now
            ended = not over and await tx.maintenance.end(int(args.id), now)
        if window is None:
            return fail("maintenance end", f"no maintenance window {args.id}")
        if not ended:
            return fail("maintenance end", f"window {args.id} already ended")
        verb = "cancelled" if window.start > now else "ended"
        print(f"Maintenance window {args.id} for {', '.join(window.sites)} {verb}.")
        return 0

    return run_with_store("maintenance end", args, work)
