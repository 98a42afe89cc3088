"""`vakt incidents triage list|accept|dismiss`: the reports waiting in triage (strangers'
reports, mail that did not authenticate), as on the team UI's queue page.

`accept ID --customer C [--site S]` assigns the report to customer C (and its site S) and
takes it as a contact's report would take effect (`monitor.intake.Desk.accept`): it joins
the site's open monitoring case or opens a customer-reported case, with a receipt to the
reporter in the customer's language. Without `--customer`, the customer the report named.
`dismiss ID` drops it.

Exit codes: 0 done, 1 no such report in triage (or the store cannot be used), 2 usage or
config error (an unknown customer, a site that is not the customer's, no person).
"""

from __future__ import annotations

import argparse
import os
from typing import Any

from monitor.cli._output import iso, print_json
from monitor.cli._session import (
    add_by_option,
    add_store_options,
    fail,
    person_acting,
    run_with_store,
)
from monitor.clock import SystemClock
from monitor.config.records import Config
from monitor.incidents.reports import Assignment, InvalidReport
from monitor.intake import Desk
from monitor.store import CustomerRequest, RequestStatus, Store

COMMAND = "incidents triage"


def register(actions: Any) -> None:
    parser = actions.add_parser(
        "triage",
        help="reports waiting in triage: list, accept as a customer's, dismiss",
        description="Reports from people who are not a customer's contacts, or mail that "
        "did not authenticate: nothing happens until someone accepts or dismisses them.",
    )
    verbs = parser.add_subparsers(dest="triage_action", metavar="ACTION", required=True)
    listing = verbs.add_parser("list", help="the reports in triage, oldest first")
    add_store_options(listing)
    listing.add_argument("--json", action="store_true", help="print JSON for scripts")
    listing.set_defaults(handler=run_list)
    accept = verbs.add_parser(
        "accept",
        help="take a report as the customer's (a case, with a receipt)",
        description="Assign report ID to a customer (and site) and take it as that "
        "customer's contact's report: it joins the site's open monitoring case or opens a "
        "customer-reported case, and the reporter gets a receipt.",
    )
    _id_argument(accept)
    accept.add_argument("--customer", metavar="ID", help="whose report it is (a customer id)")
    accept.add_argument("--site", metavar="SITE", help="which of the customer's sites")
    add_by_option(accept, "accepts it", person=True)
    accept.set_defaults(handler=run_accept)
    dismiss = verbs.add_parser("dismiss", help="drop a report (spam, a wrong address)")
    _id_argument(dismiss)
    add_by_option(dismiss, "dismisses it", person=True)
    dismiss.set_defaults(handler=run_dismiss)


def _id_argument(parser: argparse.ArgumentParser) -> None:
    add_store_options(parser)
    parser.add_argument("id", type=int, metavar="ID", help="the report's id (from `list`)")


def _json(row: CustomerRequest) -> dict[str, object]:
    return {
        "id": row.id,
        "submitted_at": iso(row.submitted_at),
        "source": row.source,
        "customer": row.customer_id or None,
        "site": row.site_id,
        "name": row.name,
        "email": row.email,
        "urgent": row.urgent,
        "description": row.description,
    }


def run_list(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        async with store.transaction(read_only=True) as tx:
            rows = await tx.intake.with_status(RequestStatus.TRIAGE)
        if args.json:
            print_json([_json(r) for r in rows])
            return 0
        for row in rows:
            customer = row.customer_id or "unknown customer"
            where = f"{customer} {row.site_id}" if row.site_id else customer
            first = row.description.splitlines()[0] if row.description else ""
            print(f"{row.id}  {iso(row.submitted_at)}  {row.source}  {row.name} <{row.email}>")
            print(f"    {where}: {first[:100]}")
        if not rows:
            print("Nothing waits in triage.")
        return 0

    return run_with_store(COMMAND + " list", args, work)


def run_accept(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        who = person_acting(args, config, os.environ)
        if who is None:
            return fail(COMMAND + " accept", "name who accepts it: --by PERSON", 2)
        if args.site is not None and args.customer is None:
            return fail(COMMAND + " accept", "--site needs --customer", 2)
        if args.customer is not None and args.customer not in config.customers:
            return fail(COMMAND + " accept", f"no customer {args.customer!r} in the config", 2)
        assign = None if args.customer is None else Assignment(args.customer, args.site)
        desk = Desk(store, lambda: config, SystemClock())
        try:
            receipt = await desk.accept(args.id, who, assign)
        except InvalidReport:
            return fail(COMMAND + " accept", f"{args.site!r} is not a site of {args.customer}", 2)
        if receipt is None:
            return fail(COMMAND + " accept", f"no report {args.id} in triage with a known customer")
        print(f"{args.id}: {receipt.filed.value} {receipt.case}; the reporter gets a receipt")
        return 0

    return run_with_store(COMMAND + " accept", args, work)


def run_dismiss(args: argparse.Namespace) -> int:
    async def work(config: Config, store: Store) -> int:
        who = person_acting(args, config, os.environ)
        if who is None:
            return fail(COMMAND + " dismiss", "name who dismisses it: --by PERSON", 2)
        desk = Desk(store, lambda: config, SystemClock())
        if not await desk.dismiss(args.id, who):
            return fail(COMMAND + " dismiss", f"no report {args.id} in triage")
        print(f"{args.id}: dismissed")
        return 0

    return run_with_store(COMMAND + " dismiss", args, work)
