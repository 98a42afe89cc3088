"""`vakt notifications list [--failed | --cancelled] [--json]` and `vakt notifications retry ID`.

`list` shows the newest notifications of the outbox with their status, attempts and last
error, or, for a cancelled one, why it was no longer wanted ("case VAKT-2026-000042 was
acknowledged by alice"; `--json`: one object per row, with every attempt and the
`cancel_reason`). `retry` makes a failed notification due again now. Exit codes: 0 done,
1 nothing to retry / store error, 2 bad config.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from monitor.cli._common import add_config_option, load_or_report
from monitor.cli._output import Cell, Painter, table
from monitor.cli._session import Unavailable, with_store
from monitor.clock import SystemClock
from monitor.store import Attempt, OutboxItem, OutboxStatus, Store

_COLUMNS = (
    "ID", "STATUS", "DUE", "TRIES", "CHANNEL", "RECIPIENT", "KIND", "CASE", "LAST ERROR / REASON"
)  # fmt: skip


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "notifications",
        help="list notifications and retry failed ones",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="notifications_action", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="show notifications, newest first")
    only = listing.add_mutually_exclusive_group()
    only.add_argument("--failed", action="store_true", help="only permanently failed ones")
    only.add_argument(
        "--cancelled", action="store_true", help="only cancelled ones (with the reason)"
    )
    listing.add_argument("--json", action="store_true", help="JSON for scripts")
    listing.add_argument("--limit", type=int, default=50, metavar="N", help="rows (default 50)")
    listing.set_defaults(handler=run_list)
    retry = actions.add_parser("retry", help="make a failed notification due again now")
    retry.add_argument("id", type=int, metavar="ID")
    retry.set_defaults(handler=run_retry)
    for action in (listing, retry):
        add_config_option(action)
        action.add_argument(
            "--store", metavar="URL", help="database URL (default: settings.store of the config)"
        )


def _store_url(args: argparse.Namespace) -> str | None:
    if args.store:
        return str(args.store)
    config = load_or_report(args)
    return None if config is None else config.settings.store


def _list(
    url: str, status: OutboxStatus | None, limit: int
) -> list[tuple[OutboxItem, list[Attempt]]]:
    async def work(store: Store) -> list[tuple[OutboxItem, list[Attempt]]]:
        async with store.transaction(read_only=True) as tx:
            items = await tx.outbox.find(status=status, limit=limit)
            return [(item, await tx.outbox.attempts(item.id)) for item in items]

    return with_store(url, work)


def _iso(value: Any) -> str | None:
    return None if value is None else value.isoformat()


def as_json(item: OutboxItem, attempts: list[Attempt]) -> dict[str, Any]:
    return {
        "id": item.id,
        "key": str(item.key),
        "status": item.status.value,
        "channel": item.key.channel,
        "recipient": item.key.recipient,
        "kind": item.key.kind,
        "subject": item.key.subject,
        "incident_id": item.incident_id,
        "created_at": _iso(item.created_at),
        "due_at": _iso(item.due_at),
        "sent_at": _iso(item.sent_at),
        "attempts": [
            {
                "at": _iso(a.at),
                "duration_s": round(a.duration.total_seconds(), 3),
                "outcome": a.outcome.value,
                "worker": a.worker,
                "error": a.error,
            }
            for a in attempts
        ],
        "last_error": item.last_error,
        "cancel_reason": item.cancel_reason,
    }


def _row(item: OutboxItem) -> list[Cell]:
    cancelled = item.status is OutboxStatus.CANCELLED
    error = " ".join((item.cancel_reason if cancelled else item.last_error).split())
    return [
        str(item.id),
        (item.status.value, item.status.value),
        item.due_at.strftime("%Y-%m-%d %H:%M:%SZ"),
        str(item.attempts),
        item.key.channel,
        item.key.recipient,
        item.key.kind,
        item.key.subject,
        error[:60] + ("…" if len(error) > 60 else ""),
    ]


def print_table(rows: list[list[Cell]]) -> None:
    for line in table(_COLUMNS, rows, Painter.for_stdout()):
        print(line)


def run_list(args: argparse.Namespace) -> int:
    url = _store_url(args)
    if url is None:
        return 2
    status = (
        OutboxStatus.FAILED if args.failed else OutboxStatus.CANCELLED if args.cancelled else None
    )
    try:
        rows = _list(url, status, args.limit)
    except Unavailable as exc:
        print(f"vakt notifications list: {exc}", file=sys.stderr)
        return 1
    if args.json:
        json.dump([as_json(item, attempts) for item, attempts in rows], sys.stdout, indent=2)
        print()
    elif not rows:
        print(f"no {status.value} notifications" if status else "no notifications")
    else:
        print_table([_row(item) for item, _ in rows])
    return 0


def _retry(url: str, item_id: int) -> bool:
    async def work(store: Store) -> bool:
        async with store.transaction() as tx:
            return await tx.outbox.requeue(item_id, SystemClock().now())

    return with_store(url, work)


def run_retry(args: argparse.Namespace) -> int:
    url = _store_url(args)
    if url is None:
        return 2
    try:
        requeued = _retry(url, args.id)
    except Unavailable as exc:
        print(f"vakt notifications retry: {exc}", file=sys.stderr)
        return 1
    if not requeued:
        print(f"vakt notifications retry: no failed notification {args.id}", file=sys.stderr)
        return 1
    print(f"notification {args.id} is due again now")
    return 0
