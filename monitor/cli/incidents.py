"""`vakt incidents list|show|ack|resolve|note|ack-link|triage`: read and act on incidents
beside the daemon (`triage`: `monitor.cli._triage`).

The store is the truth. `list` and `show` read it; `ack`, `resolve` and `note` go through
`monitor.engine.commands`: one short transaction each, compare-and-set on the incident's
version, so the daemon never overwrites what it has not seen (and neither do we).
`ack-link` prints an acknowledge link for a person, signed with the daemon's secret
(`monitor.notify.signing`), to hand to someone who was not paged.

Exit codes: 0 done, 1 the operation failed (unknown case, already resolved, the store
cannot be used), 2 usage or config error.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, tzinfo
from typing import Any

from monitor.cli import _triage as triage
from monitor.cli._output import Cell, Painter, iso, local, print_json, span, table
from monitor.cli._session import (
    add_by_option,
    add_store_options,
    fail,
    person_acting,
    person_label,
    run_with_store,
)
from monitor.clock import SystemClock
from monitor.config.records import Config
from monitor.engine import (
    CommandError,
    CommandResult,
    UnknownCase,
    acknowledge,
    add_note,
    from_record,
    resolve,
)
from monitor.engine.queue import answer_report, read_queue
from monitor.incidents.queue import QueueEntry, QueueKind
from monitor.model import IncidentStatus
from monitor.notify.planner import DEFAULT_ACK_TTL
from monitor.notify.signing import stored_signing_secret
from monitor.notify.tokens import ack_url, issue_token
from monitor.store import (
    CustomerRequest,
    EventKind,
    Incident,
    IncidentEvent,
    RequestStatus,
    Store,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "incidents",
        help="list, show, acknowledge, resolve and annotate incidents",
        description="Incidents as the store records them. Safe beside a running daemon.",
    )
    actions = parser.add_subparsers(dest="incidents_action", metavar="ACTION", required=True)
    _register_list(actions)
    _register_show(actions)
    for name, verb, who, handler in (
        ("ack", "acknowledged", "acknowledges", run_ack),
        ("resolve", "resolved", "resolves", run_resolve),
    ):
        action = actions.add_parser(
            name, help=f"mark a case {verb}", description=f"Mark CASE {verb} now."
        )
        _case_argument(action)
        add_by_option(action, who, person=True)
        action.set_defaults(handler=handler)
    _register_note(actions)
    _register_ack_link(actions)
    triage.register(actions)


def _case_argument(parser: argparse.ArgumentParser) -> None:
    add_store_options(parser)
    parser.add_argument("case", metavar="CASE", help="case number, e.g. VAKT-2026-000042")


def _register_list(actions: Any) -> None:
    action = actions.add_parser(
        "list",
        help="incidents, newest first",
        description="Incidents, newest first: case, level, status, site, opened at, "
        "respond-by and who acknowledged.",
    )
    add_store_options(action)
    action.add_argument("--open", action="store_true", help="only open and acknowledged ones")
    action.add_argument(
        "--queue",
        action="store_true",
        help="the queue: open monitoring and customer-reported cases by respond-by, then "
        "time of submission, with each contract's clock",
    )
    action.add_argument("--customer", metavar="ID", help="only this customer's incidents")
    action.add_argument(
        "--limit", type=_positive, default=50, metavar="N", help="at most N (default 50)"
    )
    action.add_argument("--json", action="store_true", help="print JSON for scripts")
    action.set_defaults(handler=run_list)


def _register_show(actions: Any) -> None:
    action = actions.add_parser(
        "show",
        help="one case with its timeline",
        description="Everything recorded on a case: contact person, opened at, case number, "
        "description, level, status, respond-by, and the timeline with actor and time "
        "(public notes marked).",
    )
    _case_argument(action)
    action.add_argument("--json", action="store_true", help="print JSON for scripts")
    action.set_defaults(handler=run_show)


def _register_note(actions: Any) -> None:
    action = actions.add_parser(
        "note",
        help="add a note to a case's timeline",
        description="Add a note to CASE. Notes are internal unless --public: public notes "
        "show on the status page and in customer emails.",
    )
    _case_argument(action)
    action.add_argument("text", nargs="+", metavar="TEXT", help="the note")
    action.add_argument("--public", action="store_true", help="show it to the customer too")
    add_by_option(action, "writes it", person=True)
    action.set_defaults(handler=run_note)


def _register_ack_link(actions: Any) -> None:
    action = actions.add_parser(
        "ack-link",
        help="print an acknowledge link for a case",
        description="Print a link that lets PERSON acknowledge CASE from a browser, signed "
        "like the links in pages and valid for as long.",
    )
    _case_argument(action)
    add_by_option(action, "may use the link", person=True)
    action.set_defaults(handler=run_ack_link)


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


# -------------------------------------------------------------------------------- reads


def contact_of(row: Incident) -> str | None:
    """The contact person recorded when the case opened (None if none was recorded)."""
    try:
        return from_record(row).contact
    except ValueError:  # unreadable data: show the rest of the case anyway
        return None


def incident_json(row: Incident) -> dict[str, object]:
    """The stable JSON shape of one incident (times ISO 8601 UTC)."""
    return {
        "case": row.case_number,
        "customer": row.customer_id or None,
        "site": row.site_id,
        "level": row.level.value,
        "status": row.status.value,
        "opened_at": iso(row.opened_at),
        "acknowledged_at": iso(row.acknowledged_at),
        "acknowledged_by": row.acknowledged_by,
        "resolved_at": iso(row.resolved_at),
        "resolved_by": row.resolved_by,
        "respond_by": iso(row.respond_by),
        "contact": contact_of(row),
        "description": row.description,
        "flapping": row.flapping,
        "version": row.version,
    }


def event_json(event: IncidentEvent) -> dict[str, object]:
    return {
        "at": iso(event.at),
        "actor": event.actor,
        "kind": event.kind.value,
        "text": event.text,
        "public": event.public,
        "level": None if event.level is None else event.level.value,
        "previous_level": None if event.previous_level is None else event.previous_level.value,
        "ref": event.ref,
        "recipient": event.recipient,
        "channel": event.channel,
    }


async def find_incidents(
    store: Store, *, open_only: bool, sites: Sequence[str] | None, limit: int
) -> list[Incident]:
    """Newest first; `sites` None means every site."""
    async with store.transaction(read_only=True) as tx:
        if open_only:
            rows = await tx.incidents.unresolved()
            if sites is not None:
                rows = [r for r in rows if r.site_id in sites]
        elif sites is None:
            rows = await tx.incidents.find(limit=limit)
        else:
            rows = [r for s in sites for r in await tx.incidents.find(site_id=s, limit=limit)]
    rows.sort(key=lambda r: (r.opened_at, r.id), reverse=True)
    return rows[:limit]


async def find_case(store: Store, case: str) -> tuple[Incident, list[IncidentEvent]] | None:
    """The incident and its timeline; case numbers match regardless of letter case."""
    async with store.transaction(read_only=True) as tx:
        row = await tx.incidents.by_case(case.strip())
        if row is None and case.strip() != case.strip().upper():
            row = await tx.incidents.by_case(case.strip().upper())
        if row is None:
            return None
        return row, await tx.incidents.events(row.id)


def queue_json(entry: QueueEntry) -> dict[str, object]:
    """The stable JSON shape of one queue entry (times ISO 8601 UTC)."""
    return {
        "case": entry.case,
        "kind": entry.kind.value,
        "customer": entry.customer_id,
        "site": entry.site_id,
        "status": entry.status,
        "submitted_at": iso(entry.submitted_at),
        "respond_by": iso(entry.respond_by),
        "clock": entry.clock,
        "who": entry.who or None,
        "summary": entry.summary,
    }


def queue_text(entries: Sequence[QueueEntry], zone: tzinfo, painter: Painter) -> list[str]:
    if not entries:
        return ["Nothing open."]
    cells: list[list[Cell]] = [
        [
            e.case,
            "customer" if e.kind is QueueKind.CUSTOMER else "monitoring",
            (e.status, e.status),
            e.site_id or e.customer_id,
            local(e.submitted_at, zone),
            local(e.respond_by, zone),
            e.clock,
        ]
        for e in entries
    ]
    headers = ("CASE", "KIND", "STATUS", "SITE", "SUBMITTED", "RESPOND BY", "CLOCK")
    return table(headers, cells, painter)


def _run_queue(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        async with store.transaction(read_only=True) as tx:
            found = await read_queue(tx, config)
        entries = found.entries[: args.limit]
        if args.json:
            print_json([queue_json(e) for e in entries])
            return 0
        for line in queue_text(entries, config.settings.timezone, Painter.for_stdout()):
            print(line)
        if found.triage:
            print(f"{len(found.triage)} report(s) wait in triage (the team UI's queue page).")
        return 0

    return run_with_store("incidents list", args, work)


def run_list(args: argparse.Namespace) -> int:
    if args.queue:
        return _run_queue(args)

    async def work(config: Config, store: Store) -> int:
        sites = None
        if args.customer is not None:
            customer = config.customers.get(args.customer)
            if customer is None:
                return fail("incidents list", f"no customer {args.customer!r} in the config", 2)
            sites = [s.id for s in customer.sites]
        rows = await find_incidents(store, open_only=args.open, sites=sites, limit=args.limit)
        if args.json:
            print_json([incident_json(r) for r in rows])
            return 0
        now, zone = SystemClock().now(), config.settings.timezone
        for line in list_text(rows, now, zone, Painter.for_stdout()):
            print(line)
        return 0

    return run_with_store("incidents list", args, work)


def run_show(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        found = await find_case(store, args.case)
        if found is None:
            return fail("incidents show", f"no incident with case number {args.case}")
        row, events = found
        if args.json:
            print_json({**incident_json(row), "timeline": [event_json(e) for e in events]})
            return 0
        now = SystemClock().now()
        for line in show_text(row, events, config, now, Painter.for_stdout()):
            print(line)
        return 0

    return run_with_store("incidents show", args, work)


# ------------------------------------------------------------------------------- writes

Command = Callable[[Store, str, str, datetime], Awaitable[CommandResult]]


def _act(name: str, args: argparse.Namespace, command: Command) -> int:
    async def work(config: Config, store: Store) -> int:
        who = person_acting(args, config, os.environ)
        if who is None:
            return fail(f"incidents {name}", _nobody(args, config), 2)
        try:
            result = await command(store, args.case, who, SystemClock().now())
        except UnknownCase as exc:
            if name in ("ack", "resolve"):  # perhaps a customer-reported case
                now = SystemClock().now()
                row = await answer_report(store, args.case, who, now, resolve=name == "resolve")
                if row is not None:
                    print(f"{row.case_number}: customer-reported, now {_report_state(row)}")
                    return 0
            return fail(f"incidents {name}", str(exc))
        except CommandError as exc:
            return fail(f"incidents {name}", str(exc))
        print(outcome(result, who, config))
        return 0

    return run_with_store(f"incidents {name}", args, work)


def _report_state(row: CustomerRequest) -> str:
    if row.status is RequestStatus.RESOLVED:
        return f"resolved by {row.resolved_by}"
    return f"acknowledged by {row.acknowledged_by}" if row.acknowledged_by else "open"


def run_ack(args: argparse.Namespace) -> int:
    return _act("ack", args, acknowledge)


def run_resolve(args: argparse.Namespace) -> int:
    return _act("resolve", args, resolve)


def run_note(args: argparse.Namespace) -> int:
    text = " ".join(args.text)
    if not text.strip():
        return fail("incidents note", "a note needs text", 2)

    async def note(store: Store, case: str, who: str, now: datetime) -> CommandResult:
        return await add_note(store, case, who, text, args.public, now)

    return _act("note", args, note)


def run_ack_link(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        who = person_acting(args, config, os.environ)
        if who is None:
            return fail("incidents ack-link", _nobody(args, config), 2)
        if await find_case(store, args.case) is None:
            return fail("incidents ack-link", f"no incident with case number {args.case}")
        secret = await stored_signing_secret(config, store)
        if secret is None:
            return fail(
                "incidents ack-link",
                "no signing secret yet: set settings.secret, or start `vakt run` once "
                "(it generates one and keeps it in the database)",
            )
        expires = SystemClock().now() + DEFAULT_ACK_TTL
        token = issue_token(secret, (args.case,), who, expires)
        print(ack_url(config.settings.public_url, token))
        return 0

    return run_with_store("incidents ack-link", args, work)


def _nobody(args: argparse.Namespace, config: Config) -> str:
    """Why the actor is unknown, and who is known: the timeline records people only."""
    named = getattr(args, "by", None) or os.environ.get("VAKT_USER")
    known = ", ".join(sorted(config.people)) or "none: add people to the config"
    if named:
        return (
            f"{named!r} is not a person in the config; say who acts with --by PERSON "
            f"(known: {known})"
        )
    return f"say who acts with --by PERSON or $VAKT_USER (known: {known})"


def outcome(result: CommandResult, who: str, config: Config) -> str:
    """One line saying what happened (or that nothing needed doing)."""
    row, zone = result.incident, config.settings.timezone
    if not result.changed and row.status is IncidentStatus.ACKNOWLEDGED:
        by, at = person_label(row.acknowledged_by, config), local(row.acknowledged_at, zone)
        return f"{row.case_number} was already acknowledged by {by} at {at}"
    if not result.changed:
        return f"{row.case_number}: nothing to do ({row.status.value})"
    kinds = ", ".join(_what(e) for e in result.events)
    return f"{row.case_number}: {kinds} by {person_label(who, config)}; now {row.status.value}"


def _what(event: IncidentEvent) -> str:
    if event.kind is EventKind.NOTE:
        return "public note" if event.public else "internal note"
    return event.kind.value


# ------------------------------------------------------------------------------- output


def _respond_cell(row: Incident, now: datetime, zone: tzinfo) -> Cell:
    if row.respond_by is None:
        return "-"
    text = local(row.respond_by, zone)
    if row.status is not IncidentStatus.OPEN:
        return text
    if row.respond_by < now:
        return (f"{text} (overdue {span(now - row.respond_by)})", "A")
    return f"{text} (in {span(row.respond_by - now)})"


def list_text(rows: Sequence[Incident], now: datetime, zone: tzinfo, painter: Painter) -> list[str]:
    if not rows:
        return ["No incidents."]
    cells: list[list[Cell]] = [
        [
            row.case_number,
            (row.level.value, row.level.value),
            (row.status.value, row.status.value),
            row.site_id,
            local(row.opened_at, zone),
            _respond_cell(row, now, zone),
            row.acknowledged_by or "-",
        ]
        for row in rows
    ]
    headers = ("CASE", "LEVEL", "STATUS", "SITE", "OPENED", "RESPOND BY", "ACK BY")
    return table(headers, cells, painter)


def show_text(
    row: Incident, events: Sequence[IncidentEvent], config: Config, now: datetime, painter: Painter
) -> list[str]:
    zone = config.settings.timezone
    customer = config.customers.get(row.customer_id)
    level = painter.state(f"Level {row.level.value}", row.level.value)
    fields = [
        ("Case", row.case_number),
        ("Level", level),
        ("Status", painter.state(row.status.value)),
        (
            "Customer",
            f"{customer.name} ({row.customer_id})" if customer else row.customer_id or "-",
        ),
        ("Site", row.site_id),
        ("Contact", contact_of(row) or "-"),
        ("Opened at", local(row.opened_at, zone)),
        ("Respond by", painter.cell(_respond_cell(row, now, zone))),
        ("Acknowledged", _when_by(row.acknowledged_at, row.acknowledged_by, zone, config)),
        ("Resolved", _when_by(row.resolved_at, row.resolved_by, zone, config)),
        ("Flapping", "yes" if row.flapping else "no"),
    ]
    lines = [f"{name + ':':<14}{value}" for name, value in fields]
    lines += ["Description:", *(f"  {line}" for line in (row.description or "-").splitlines())]
    lines += ["", f"Timeline ({config.settings.timezone_name}):"]
    lines += timeline_text(events, zone, painter) or ["  (empty)"]
    return lines


def _when_by(at: datetime | None, by: str | None, zone: tzinfo, config: Config) -> str:
    if at is None:
        return "-"
    return f"{local(at, zone)} by {person_label(by, config)}"


def timeline_text(events: Sequence[IncidentEvent], zone: tzinfo, painter: Painter) -> list[str]:
    """One line per event: time, actor, kind, [public] or [internal], text."""
    rows: list[list[Cell]] = [
        [
            local(e.at, zone),
            e.actor,
            e.kind.value,
            "[public]" if e.public else "[internal]",
            e.text,
        ]
        for e in events
    ]
    headers = ("TIME", "ACTOR", "EVENT", "SHOWN", "TEXT")
    return table(headers, rows, painter, indent=2) if rows else []
