"""`vakt report`: a customer's month against its agreement, as HTML, PDF, CSV and JSON.

    vakt report --month 2026-11 [--customer acme] [--format html,pdf,csv,json] [--out DIR]
    vakt report approve|hold --customer acme [--month 2026-11] [--by PERSON]

The month defaults to the last whole month in `settings.timezone`; each customer's month
runs in the customer's own zone. A month already frozen (sent to the customer) is shown as
stored; `--recompute` computes it again, stores a new numbered version and says what
changed. Files are named `<customer>-<month>.<ext>` (CSV: a
`-days.csv` and a `-cases.csv`). A progress bar on stderr (only on a terminal) counts
the customers. Exit codes: 0 written, 1 the store cannot be read, 2 bad arguments or
config.

`approve` freezes a month and sends it to its recipients exactly as the monthly email does
(`reports: {approve: true}` waits for it); approving a month sent before sends nothing.
`hold` records who held it and sends nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.progress import Progress

from monitor.cli._output import colour_wanted
from monitor.cli._session import actor, add_by_option, add_store_options, fail, run_with_store
from monitor.clock import SystemClock
from monitor.config.records import Config, Customer
from monitor.reports.figures import Month
from monitor.store import Store

if TYPE_CHECKING:
    from monitor.reports.snapshot import Report

FORMATS = ("html", "pdf", "csv", "json")
DECISIONS = ("approve", "hold")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="monthly agreement reports per customer (HTML, PDF, CSV, JSON)",
        description="Each customer's month against its agreement: availability outside "
        "maintenance, time at Level A and B, every case against its response target (wall "
        "clock and business clock), MTTA, MTTR and latency, with charts.",
    )
    parser.add_argument(
        "decision",
        nargs="?",
        choices=DECISIONS,
        help="with `reports: {approve: true}`: approve (freeze and send it to the customer, "
        "as the monthly email does) or hold (record it, send nothing) one customer's month",
    )
    add_store_options(parser)
    parser.add_argument("--month", metavar="YYYY-MM", help="the month (default: the last one)")
    parser.add_argument("--customer", metavar="ID", help="only this customer")
    parser.add_argument(
        "--format",
        default="html",
        metavar="LIST",
        help="comma-separated: html, pdf, csv, json (default: html)",
    )
    parser.add_argument("--out", metavar="DIR", default=".", help="where to write (default: .)")
    parser.add_argument(
        "--recompute",
        action="store_true",
        help="for a month already frozen (sent): compute again, store it as a new version "
        "and say what changed",
    )
    add_by_option(parser, "freezes a recomputed report")
    parser.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class Request:
    month: Month | None
    customers: tuple[str, ...] | None
    formats: tuple[str, ...]
    out: Path
    recompute: bool = False
    by: str = "cli"


def parse(args: argparse.Namespace) -> Request | str:
    """The arguments as a request, or what is wrong with them."""
    formats = tuple(f.strip() for f in args.format.split(",") if f.strip())
    unknown = [f for f in formats if f not in FORMATS]
    if unknown or not formats:
        return f"unknown format {', '.join(unknown) or '(none)'} (known: {', '.join(FORMATS)})"
    try:
        month = None if args.month is None else Month.parse(args.month)
    except ValueError as exc:
        return str(exc)
    customers = None if args.customer is None else (args.customer,)
    return Request(month, customers, formats, Path(args.out), args.recompute)


def run(args: argparse.Namespace) -> int:
    if getattr(args, "decision", None):
        return decide(args)
    request = parse(args)
    if isinstance(request, str):
        return fail("report", request, 2)
    reports: list[Report] = []

    async def work(config: Config, store: Store) -> int:
        chosen = request.customers or tuple(config.customers)
        missing = [c for c in chosen if c not in config.customers]
        if missing:
            return fail("report", f"no customer {missing[0]!r} in the config", 2)
        now = SystemClock().now()
        month = request.month or Month.of(now, config.settings.timezone).previous()
        asked = dataclasses.replace(request, by=actor(args, config, os.environ))
        shown = len(chosen) > 1 and colour_wanted(sys.stderr, {})
        with Progress(transient=True, disable=not shown) as progress:
            task = progress.add_task("reports", total=len(chosen))
            for customer_id in chosen:
                customer = config.customers[customer_id]
                reports.append(await one(store, config, customer, month, now, asked))
                progress.advance(task)
        return 0

    code = run_with_store("report", args, work)
    if code != 0:
        return code
    request.out.mkdir(parents=True, exist_ok=True)
    for report in reports:
        for path in write_files(report, request.formats, request.out):
            print(path)
    return 0


def decide(args: argparse.Namespace) -> int:
    """`vakt report approve|hold --customer X [--month M] [--by P]`: exit 0 done (or
    decided before: said so), 1 the store, 2 bad arguments or config."""
    from monitor.reports.monthly import approve, hold

    if args.customer is None:
        return fail("report", f"{args.decision} needs --customer", 2)

    async def work(config: Config, store: Store) -> int:
        if args.customer not in config.customers:
            return fail("report", f"no customer {args.customer!r} in the config", 2)
        now = SystemClock().now()
        try:
            month = (
                Month.parse(args.month)
                if args.month
                else Month.of(now, config.settings.timezone).previous()
            )
        except ValueError as exc:
            return fail("report", str(exc), 2)
        by = actor(args, config, os.environ)
        if args.decision == "approve":
            try:
                changed = await approve(store, config, args.customer, month, by, now)
            except ValueError as exc:  # the month is not over
                return fail("report", str(exc), 2)
            print(
                f"{args.customer} {month}: " + ("approved and sent" if changed else "sent before")
            )
        else:
            changed = await hold(store, args.customer, month, by, now)
            print(f"{args.customer} {month}: " + ("held" if changed else "held or sent before"))
        return 0

    return run_with_store("report", args, work)


async def one(
    store: Store, config: Config, customer: Customer, month: Month, now: datetime, request: Request
) -> Report:
    """The customer's report: the frozen one, unless asked to recompute (a new version)."""
    from monitor.reports import gather, snapshot

    async with store.transaction(read_only=True) as tx:
        frozen = await tx.reports.latest(customer.id, str(month))
        if frozen is not None and not request.recompute:
            report = snapshot.stored(frozen)
            when = report.created_at.isoformat() if report.created_at else "?"
            _say(
                f"{customer.id} {month}: frozen version {report.version} of {when}; "
                "--recompute makes a new one"
            )
            return report
        figures = await gather.read_month(tx, config, customer, month, now)
    pdf = "pdf" in request.formats or frozen is not None
    report = await asyncio.to_thread(snapshot.build, figures, customer, config, pdf)
    if frozen is None:
        return report
    async with store.transaction() as tx:
        row = await tx.reports.freeze(snapshot.to_snapshot(report, request.by, now))
    found = snapshot.changes(snapshot.stored(frozen).figures, report.figures)
    said = "; ".join(f"{c.key}: {c.old} -> {c.new}" for c in found) or "nothing changed"
    _say(f"{customer.id} {month}: version {row.version} frozen ({said})")
    return dataclasses.replace(report, version=row.version, created_at=row.created_at)


def _say(message: str) -> None:
    print(message, file=sys.stderr)


def write_files(report: Report, formats: Sequence[str], out: Path) -> list[Path]:
    """One customer's report in each of `formats`."""
    from monitor.reports import export, render

    stem = out / f"{report.customer_id}-{report.month}"
    written: list[Path] = []
    if "html" in formats:
        written.append(_write(stem.with_suffix(".html"), report.html.encode()))
    if "pdf" in formats:
        document = report.pdf if report.pdf is not None else render.pdf(report.html)
        written.append(_write(stem.with_suffix(".pdf"), document))
    if "csv" in formats:
        written.append(_write(Path(f"{stem}-days.csv"), export.days_csv(report.figures).encode()))
        written.append(_write(Path(f"{stem}-cases.csv"), export.cases_csv(report.figures).encode()))
    if "json" in formats:
        text = json.dumps(report.figures, indent=2, ensure_ascii=False)
        written.append(_write(stem.with_suffix(".json"), text.encode()))
    return written


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
