"""`vakt silence TARGET --for 2h`, `vakt silence --list`, `vakt silence --end ID`.

A silence stops pages and customer emails for a customer (`acme`), a site (`acme/shop`) or
a check (`acme/shop/home`) until it ends. Incidents still open, are recorded and count in
SLA figures. Exit codes: 0 done, 1 the operation failed (no such silence, already ended,
the store cannot be used), 2 usage or config error (unknown target, bad duration).
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from datetime import datetime, tzinfo
from typing import Any

from monitor.cli._output import Cell, Painter, iso, local, print_json, span, table
from monitor.cli._session import (
    Work,
    actor,
    add_by_option,
    add_store_options,
    duration_arg,
    fail,
    run_with_store,
)
from monitor.clock import SystemClock
from monitor.config.records import Config
from monitor.policy.periods import MAX_LENGTH, period_end, period_problem
from monitor.store import Silence, SilenceScope, Store

_SCOPES = {0: SilenceScope.CUSTOMER, 1: SilenceScope.SITE, 2: SilenceScope.CHECK}


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "silence",
        help="stop pages and customer emails for a while",
        description="Silence a customer (acme), a site (acme/shop) or a check "
        "(acme/shop/home) for a while: incidents still open and count in SLA figures, "
        "but nobody is paged and no customer email goes out until the silence ends.",
    )
    add_store_options(parser)
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("target", nargs="?", metavar="TARGET", help="customer, site or check id")
    what.add_argument("--list", action="store_true", help="list active and upcoming silences")
    what.add_argument("--end", type=int, metavar="ID", help="end silence ID now")
    parser.add_argument(
        "--for", dest="length", type=duration_arg, metavar="DURATION", help="e.g. 2h"
    )
    parser.add_argument("--reason", default="", metavar="TEXT", help="why (for the timeline)")
    parser.add_argument("--json", action="store_true", help="with --list: print JSON")
    add_by_option(parser, "silences it")
    parser.set_defaults(handler=run)


def scope_of(target: str, config: Config) -> SilenceScope | None:
    """The scope `target` names by its shape, if the config has such a customer, site or
    check; None otherwise."""
    scope = _SCOPES.get(target.count("/"))
    exists = {
        SilenceScope.CUSTOMER: lambda: target in config.customers,
        SilenceScope.SITE: lambda: config.site(target) is not None,
        SilenceScope.CHECK: lambda: config.check(target) is not None,
    }
    return scope if scope is not None and exists[scope]() else None


def run(args: argparse.Namespace) -> int:
    if args.target is not None and args.length is None:
        return fail("silence", "say for how long: --for 2h", 2)
    if args.target is None and args.length is not None:
        return fail("silence", "--for goes with a TARGET", 2)
    if args.list:
        return run_with_store("silence", args, _list_work(args))
    if args.end is not None:
        return run_with_store("silence", args, _end_work(args.end))
    return run_with_store("silence", args, _add_work(args))


def _add_work(args: argparse.Namespace) -> Work:
    async def work(config: Config, store: Store) -> int:
        target: str = args.target.strip()
        scope = scope_of(target, config)
        if scope is None:
            message = f"no customer, site or check {target!r} in the config"
            return fail("silence", f"{message} (use acme, acme/shop or acme/shop/home)", 2)
        now = SystemClock().now().replace(microsecond=0)
        end = period_end(now, args.length)
        problem = f"lasts more than {MAX_LENGTH.days} days" if end is None else None
        problem = problem or period_problem(now, end or now, now)
        if problem is not None or end is None:
            return fail("silence", f"not silenced: {problem}", 2)
        silence = Silence(
            scope=scope,
            target=target,
            start=now,
            end=end,
            reason=args.reason,
            created_by=actor(args, config, os.environ),
            created_at=now,
        )
        async with store.transaction() as tx:
            silence = await tx.silences.add(silence)
        until = local(silence.end, config.settings.timezone)
        print(
            f"Silence {silence.id}: {scope.value} {target} until {until}. Incidents still "
            "open and count in SLA figures; nobody is paged and no customer email goes out."
        )
        return 0

    return work


def _end_work(silence_id: int) -> Work:
    async def work(config: Config, store: Store) -> int:
        async with store.transaction() as tx:
            silence = await tx.silences.get(silence_id)
            ended = silence is not None and await tx.silences.end(silence_id, SystemClock().now())
        if silence is None:
            return fail("silence", f"no silence {silence_id}")
        if not ended:
            return fail("silence", f"silence {silence_id} already ended")
        print(f"Silence {silence_id} on {silence.scope.value} {silence.target} ended.")
        return 0

    return work


def _list_work(args: argparse.Namespace) -> Work:
    async def work(config: Config, store: Store) -> int:
        now = SystemClock().now()
        async with store.transaction(read_only=True) as tx:
            silences = await tx.silences.upcoming(now)
        if args.json:
            print_json([silence_json(s, now) for s in silences])
            return 0
        for line in list_text(silences, now, config.settings.timezone, Painter.for_stdout()):
            print(line)
        return 0

    return work


def silence_json(silence: Silence, now: datetime) -> dict[str, object]:
    return {
        "id": silence.id,
        "scope": silence.scope.value,
        "target": silence.target,
        "start": iso(silence.start),
        "end": iso(silence.end),
        "active": silence.start <= now < silence.end,
        "reason": silence.reason,
        "created_by": silence.created_by,
    }


def list_text(
    silences: Sequence[Silence], now: datetime, zone: tzinfo, painter: Painter
) -> list[str]:
    if not silences:
        return ["No active or upcoming silences."]
    rows: list[list[Cell]] = [
        [
            str(s.id),
            s.scope.value,
            s.target,
            local(s.end, zone),
            f"{span(s.end - now)} left" if s.start <= now else f"from {local(s.start, zone)}",
            s.created_by,
            s.reason or "-",
        ]
        for s in silences
    ]
    return table(("ID", "SCOPE", "TARGET", "UNTIL", "LEFT", "BY", "REASON"), rows, painter)
