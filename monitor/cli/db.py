"""`vakt db upgrade|status`: migrate the database schema, or show where it stands.

The database is `--store URL` if given, else `settings.store` of the config. SQLite is also
migrated by `vakt run` on start; a shared PostgreSQL database is migrated with this command.
Exit codes: 0 done (status: at the newest schema), 1 failed (status: behind), 2 bad config.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from monitor.cli._common import add_config_option, load_or_report
from monitor.cli._output import working
from monitor.cli._session import fail, missing_database, moved_database
from monitor.store import Store, StoreError
from monitor.store.migrate import head_revision


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "db",
        help="migrate the database schema",
        description="Manage Vakt's database (settings.store, or --store URL).",
    )
    actions = parser.add_subparsers(dest="db_action", metavar="ACTION", required=True)
    upgrade = actions.add_parser(
        "upgrade",
        help="migrate the database to this version's schema (safe to repeat)",
        description="Create or migrate the database schema to the newest revision. Safe to "
        "run again, and beside a running daemon.",
    )
    status = actions.add_parser(
        "status", help="show the database's schema revision and the newest one"
    )
    for action, handler in ((upgrade, run_upgrade), (status, run_status)):
        add_config_option(action)
        action.add_argument(
            "--store", metavar="URL", help="database URL (default: settings.store of the config)"
        )
        action.set_defaults(handler=handler)


def store_url(args: argparse.Namespace) -> str | None:
    """`--store`, else the config's `settings.store`; None (errors printed) if neither works."""
    explicit: str | None = args.store
    if explicit:
        return explicit
    config = load_or_report(args)
    return None if config is None else config.settings.store


def upgrade_url(args: argparse.Namespace) -> str | int:
    """The store to migrate, or the exit code: 2 for a broken config, or when the database
    is at the old working-directory path of a relative `settings.store` (`moved_database`)."""
    if args.store:
        return str(args.store)
    config = load_or_report(args)
    if config is None:
        return 2
    moved = moved_database(config.settings, Path.cwd())
    return config.settings.store if moved is None else fail("db upgrade", moved, 2)


def run_upgrade(args: argparse.Namespace) -> int:
    url = upgrade_url(args)
    if isinstance(url, int):
        return url
    try:
        store = Store(url)
        with working(f"Migrating {store.display_url}"):
            before, after = asyncio.run(_upgrade(store))
    except StoreError as exc:
        print(f"vakt db upgrade: {exc}", file=sys.stderr)
        return 1
    if before == after:
        print(f"{store.display_url}: already at schema {after}")
    else:
        print(f"{store.display_url}: upgraded schema {before or '(empty)'} -> {after}")
    return 0


def run_status(args: argparse.Namespace) -> int:
    url = store_url(args)
    if url is None:
        return 2
    try:
        missing = missing_database(url)
    except StoreError as exc:
        return fail("db status", str(exc))
    if missing is not None:
        return fail("db status", missing)
    try:
        store = Store(url)
        current = asyncio.run(_revision(store))
    except StoreError as exc:
        print(f"vakt db status: {exc}", file=sys.stderr)
        return 1
    head = head_revision()
    state = "up to date" if current == head else "behind: run `vakt db upgrade`"
    print(f"{store.display_url}: schema {current or '(empty)'}, newest {head} ({state})")
    return 0 if current == head else 1


async def _upgrade(store: Store) -> tuple[str | None, str | None]:
    async with store:
        before = await store.revision()
        return before, await store.upgrade()


async def _revision(store: Store) -> str | None:
    async with store:
        return await store.revision()
