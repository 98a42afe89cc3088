"""`vakt user set-password PERSON`: set a team member's password for the web UI.

The password is read twice from the terminal (not echoed), or once from stdin with
`--stdin` (for scripts: `printf '%s\\n' "$PW" | vakt user set-password alice --stdin`).
It is stored as a scrypt hash; the person's open sessions end. Exit codes: 0 done,
1 refused (mismatch, too short, unknown person) or a store failure, 2 bad config.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from typing import Any

from monitor.cli._common import add_config_option, load_or_report
from monitor.clock import SystemClock
from monitor.store import Store, StoreError
from monitor.web.auth import PasswordHasher, password_problem, set_password


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "user", help="manage web UI logins", description="Manage team logins of the web UI."
    )
    actions = parser.add_subparsers(dest="user_action", metavar="ACTION", required=True)
    setpw = actions.add_parser(
        "set-password",
        help="set PERSON's web UI password (read from the terminal)",
        description="Set the web UI password of PERSON (a key of `people:` in the config).",
    )
    setpw.add_argument("person", metavar="PERSON")
    setpw.add_argument(
        "--stdin", action="store_true", help="read the password from the first line of stdin"
    )
    add_config_option(setpw)
    setpw.set_defaults(handler=run_set_password)


def read_password(from_stdin: bool) -> str | None:
    """The new password, or None (reason printed) when it could not be read or confirmed."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("New password: ")
    second = getpass.getpass("Repeat it: ")
    if first != second:
        print("vakt: the two passwords differ; nothing changed", file=sys.stderr)
        return None
    return first


def run_set_password(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return 2
    person: str = args.person
    if person not in config.people:
        known = ", ".join(sorted(config.people)) or "none"
        print(f"vakt: unknown person {person!r} (people: {known})", file=sys.stderr)
        return 1
    password = read_password(args.stdin)
    if password is None:
        return 1
    problem = password_problem(password)
    if problem is not None:
        print(f"vakt: {problem}; nothing changed", file=sys.stderr)
        return 1
    try:
        asyncio.run(_store_password(config.settings.store, person, password))
    except StoreError as exc:
        print(f"vakt: {exc}", file=sys.stderr)
        return 1
    print(f"Password set for {person}; their other sessions were signed out.")
    return 0


async def _store_password(url: str, person: str, password: str) -> None:
    async with Store(url) as store:
        await store.ensure_schema()
        await set_password(store, PasswordHasher(), person, password, SystemClock().now())
