"""`vakt report`: a customer's month against its agreement, as HTML, PDF, CSV and JSON.

    vakt report --month 2026-11 [--customer acme] [--format html,pdf,csv,json] [--out DIR]

The month defaults to the last whole month in `settings.timezone`; each customer's month
runs in the customer's own zone. Files are named `<customer>-<month>.<ext>` (CSV: a
`-days.csv` and a `-cases.csv`). A progress bar on stderr (only on a terminal) counts
the customers. Exit codes: 0 written, 1 the store cannot be read, 2 bad arguments or
config.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.progress import Progress

from monitor.cli._output import colour_wanted
from monitor.cli._session import add_store_options, fail, run_with_store
from monitor.clock import SystemClock
from monitor.config.records import Config, Customer
from monitor.reports.figures import Month, MonthFigures
from monitor.store import Store

FORMATS = ("html", "pdf", "csv", "json")


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "report",
        help="monthly agreement reports per customer (HTML, PDF, CSV, JSON)",
        description="Each customer's month against its agreement: availability outside "
        "maintenance, time at Level A and B, every case against its response target (wall "
        "clock and business clock), MTTA, MTTR and latency, with charts.",
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
    parser.set_defaults(handler=run)


@dataclass(frozen=True, slots=True)
class Request:
    month: Month | None
    customers: tuple[str, ...] | None
    formats: tuple[str, ...]
    out: Path


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
    return Request(month, customers, formats, Path(args.out))


def run(args: argparse.Namespace) -> int:
    request = parse(args)
    if isinstance(request, str):
        return fail("report", request, 2)
    computed: list[tuple[Customer, MonthFigures]] = []

    async def work(config: Config, store: Store) -> int:
        chosen = request.customers or tuple(config.customers)
        missing = [c for c in chosen if c not in config.customers]
        if missing:
            return fail("report", f"no customer {missing[0]!r} in the config", 2)
        from monitor.reports.gather import read_month

        now = SystemClock().now()
        month = request.month or Month.of(now, config.settings.timezone).previous()
        for customer_id in chosen:
            customer = config.customers[customer_id]
            async with store.transaction(read_only=True) as tx:
                computed.append((customer, await read_month(tx, config, customer, month, now)))
        return 0

    code = run_with_store("report", args, work)
    if code != 0:
        return code
    request.out.mkdir(parents=True, exist_ok=True)
    for path in write_all(computed, request.formats, request.out):
        print(path)
    return 0


def write_all(
    computed: Sequence[tuple[Customer, MonthFigures]], formats: Sequence[str], out: Path
) -> list[Path]:
    """Write every customer's files, with a progress bar on a terminal."""
    written: list[Path] = []
    shown = len(computed) > 1 and colour_wanted(sys.stderr, {})
    with Progress(transient=True, disable=not shown) as progress:
        task = progress.add_task("reports", total=len(computed))
        for customer, figures in computed:
            written.extend(write_files(customer, figures, formats, out))
            progress.advance(task)
    return written


def write_files(
    customer: Customer, figures: MonthFigures, formats: Sequence[str], out: Path
) -> list[Path]:
    """One customer's report in each of `formats`."""
    from monitor.reports import export, render

    stem = out / f"{customer.id}-{figures.month}"
    written: list[Path] = []
    reader = render.Reader(
        customer.name, customer.language, customer.timezone, customer.timezone_name
    )
    page = render.html(figures, reader) if {"html", "pdf"} & set(formats) else ""
    if "html" in formats:
        written.append(_write(stem.with_suffix(".html"), page.encode()))
    if "pdf" in formats:
        written.append(_write(stem.with_suffix(".pdf"), render.pdf(page)))
    if "csv" in formats:
        written.append(_write(Path(f"{stem}-days.csv"), export.days_csv(figures).encode()))
        written.append(_write(Path(f"{stem}-cases.csv"), export.cases_csv(figures).encode()))
    if "json" in formats:
        text = json.dumps(export.as_json(figures, customer.name), indent=2, ensure_ascii=False)
        written.append(_write(stem.with_suffix(".json"), text.encode()))
    return written


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path
