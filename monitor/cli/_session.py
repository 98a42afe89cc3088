"""What the operator commands (`status`, `incidents`, `maintenance`, `silence`) share
besides their output: the short-lived store session each opens, the common options, who is
acting (`--by`, `$VAKT_USER`), and how a command reports a failure.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta
from pathlib import Path
from typing import TypeVar

from monitor.cli._common import add_config_option, load_or_report
from monitor.config.records import Config, Settings
from monitor.config.storepath import anchored_store, sqlite_file
from monitor.config.values import duration
from monitor.store import Store, StoreError
from monitor.store.migrate import head_revision
from monitor.store.url import normalise_url, sqlite_path

T = TypeVar("T")

# ------------------------------------------------------------------------------ store

NO_DATABASE = "no database yet: run `vakt db upgrade` or `vakt run`"


class Unavailable(Exception):
    """The store cannot be used: unreachable, missing, or its schema is missing or behind."""


def missing_database(url: str) -> str | None:
    """The operator's message when `url` names a SQLite file that does not exist (opening
    it would create an empty database), else None."""
    path = sqlite_path(normalise_url(url))
    if path is None or path.exists():
        return None
    return f"no database at {path.resolve()}: {NO_DATABASE.removeprefix('no database yet: ')}"


async def _prepared(store: Store) -> None:
    """The schema must be there and current: an operator command never creates or migrates
    a database (only `vakt run` and `vakt db upgrade` do)."""
    current, head = await store.revision(), head_revision()
    if current is None:
        raise Unavailable(f"{store.display_url}: {NO_DATABASE}")
    if current != head:
        raise Unavailable(
            f"{store.display_url} is at schema {current}, this Vakt needs {head}: "
            "run `vakt db upgrade`"
        )


def with_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the existing store at `url`, check its schema is current, run `work`, close it.

    Raises `Unavailable` (with a message for the operator) when the database does not
    exist, cannot be reached or has no current schema; `work`'s own exceptions pass through.
    Nothing is created: a missing SQLite file is reported, not made.
    """
    try:
        missing = missing_database(url)
    except StoreError as exc:
        raise Unavailable(str(exc)) from exc
    if missing is not None:
        raise Unavailable(missing)

    async def session() -> T:
        store = Store(url)
        async with store:
            try:
                await _prepared(store)
            except StoreError as exc:
                raise Unavailable(str(exc)) from exc
            return await work(store)

    try:
        return asyncio.run(session())
    except StoreError as exc:
        raise Unavailable(str(exc)) from exc


# ------------------------------------------------------------------- command plumbing


def add_store_options(parser: argparse.ArgumentParser) -> None:
    """`-c/--config` and `--store URL` (default: settings.store of the config)."""
    add_config_option(parser)
    parser.add_argument(
        "--store", metavar="URL", help="database URL (default: settings.store of the config)"
    )


Work = Callable[[Config, Store], Awaitable[int]]
"""A command's body: given the config and an open store, do the work, return the exit code."""


def duration_arg(text: str) -> timedelta:
    """argparse `type=` for durations such as `30m`, `2h`, `1d`."""
    try:
        return duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_by_option(parser: argparse.ArgumentParser, what: str, *, person: bool = False) -> None:
    """`--by`; with `person`, it must name a configured person (no login-name fallback)."""
    if person:
        help_text = f"who {what}: a person from the config (default: $VAKT_USER)"
    else:
        help_text = (
            f"who {what}: a person id from the config, or any name "
            "(default: $VAKT_USER, else your login name)"
        )
    parser.add_argument("--by", metavar="PERSON" if person else "NAME", help=help_text)


def store_url(args: argparse.Namespace, config: Config) -> str:
    """`--store` (as given: relative to the working directory), else `settings.store`
    (a relative SQLite path there is relative to the config's directory)."""
    explicit: str | None = getattr(args, "store", None)
    return explicit or config.settings.store


def moved_database(settings: Settings, cwd: Path) -> str | None:
    """Why `vakt run`/`vakt db upgrade` must not start: a database exists where a relative
    `settings.store` used to point (the working directory) and none where it points now
    (the config's directory). None when there is nothing to refuse."""
    old_url = anchored_store(settings.store_written, cwd)
    old, new = sqlite_file(old_url), sqlite_file(settings.store)
    if old is None or new is None or old == new or not old.is_file() or new.exists():
        return None
    return (
        f"a database exists at {old} (the working directory) but none at {new}, where "
        "settings.store points: a relative SQLite path is relative to the config file's "
        f"directory. Move {old} to {new}, or set an absolute `store: sqlite:///{old}`"
    )


def actor(args: argparse.Namespace, config: Config, environ: Mapping[str, str]) -> str:
    """Who is acting: `--by`, else `$VAKT_USER`, else the login name.

    A name that matches a configured person (by id, or case-insensitively by id, email or
    the email's local part) becomes that person's id, so the timeline names people the
    same way the pages do; any other name is kept as free text.
    """
    given: str | None = getattr(args, "by", None)
    name = (given or environ.get("VAKT_USER") or getpass.getuser()).strip()
    return _person_id(name, config) or name


def person_acting(
    args: argparse.Namespace, config: Config, environ: Mapping[str, str]
) -> str | None:
    """The configured person named by `--by`, else by `$VAKT_USER`; None when neither is
    given or the name is nobody in `people` (matched as `actor` matches)."""
    given: str | None = getattr(args, "by", None)
    name = (given or environ.get("VAKT_USER") or "").strip()
    return _person_id(name, config) if name else None


def _person_id(name: str, config: Config) -> str | None:
    if name in config.people:
        return name
    folded = name.casefold()
    for person in config.people.values():
        email = (person.email or "").casefold()
        if folded in (person.id.casefold(), email, email.partition("@")[0]):
            return person.id
    return None


def person_label(who: str | None, config: Config) -> str:
    """`Alice Hansen (alice)` for a configured person, else the name as recorded."""
    if who is None:
        return "-"
    person = config.people.get(who)
    return f"{person.name} ({who})" if person is not None else who


def fail(command: str, message: str, code: int = 1) -> int:
    """Print `vakt COMMAND: message` to stderr and return `code`."""
    print(f"vakt {command}: {message}", file=sys.stderr)
    return code


def run_with_store(
    command: str,
    args: argparse.Namespace,
    work: Work,
) -> int:
    """Load the config (exit 2 when it is broken), open the store, run `work`.

    `work` returns the exit code; an unusable store is exit 1 with its message.
    """
    config = load_or_report(args)
    if config is None:
        return 2

    async def bound(store: Store) -> int:
        return await work(config, store)

    try:
        return with_store(store_url(args, config), bound)
    except Unavailable as exc:
        return fail(command, str(exc))
