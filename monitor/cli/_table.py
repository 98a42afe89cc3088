"""Output helpers shared by the operator commands (`status`, `incidents`, `maintenance`,
`silence`): aligned tables, ANSI colour, times for people and for scripts, and the
short-lived store session each command opens.

Colour is used only when stdout is a terminal and `NO_COLOR` is unset (https://no-color.org).
JSON times are ISO 8601 in UTC; human times are in the configured time zone.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import os
import sys
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from typing import TextIO, TypeVar

from monitor.cli._common import add_config_option, load_or_report
from monitor.config.records import Config
from monitor.config.values import duration
from monitor.store import SchemaOutdated, Store, StoreError

T = TypeVar("T")

# ------------------------------------------------------------------------------ colour


class Colour(StrEnum):
    RED = "31"
    GREEN = "32"
    YELLOW = "33"
    DIM = "2"
    BOLD = "1"


# What a state or level looks like: Level A red, Level B yellow, ok green.
_STATE_COLOURS: Mapping[str, Colour] = {
    "A": Colour.RED,
    "failing": Colour.RED,
    "open": Colour.RED,
    "B": Colour.YELLOW,
    "degraded": Colour.YELLOW,
    "acknowledged": Colour.YELLOW,
    "ok": Colour.GREEN,
    "up": Colour.GREEN,
    "resolved": Colour.GREEN,
    "unknown": Colour.DIM,
}


def colour_wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when `stream` is a terminal and `NO_COLOR` is unset or empty."""
    if environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


@dataclass(frozen=True, slots=True)
class Painter:
    """Wraps text in ANSI colour codes, or leaves it alone when colour is off."""

    enabled: bool

    @classmethod
    def for_stdout(cls) -> Painter:
        return cls(colour_wanted(sys.stdout, os.environ))

    def paint(self, text: str, colour: Colour | None) -> str:
        if not self.enabled or colour is None or not text:
            return text
        return f"\x1b[{colour.value}m{text}\x1b[0m"

    def state(self, text: str, key: str | None = None) -> str:
        """`text` in the colour of the state or level `key` (default: `text` itself)."""
        return self.paint(text, _STATE_COLOURS.get(key if key is not None else text))

    def cell(self, cell: Cell) -> str:
        """A table cell as it is printed: plain text, or coloured like its state key."""
        return cell if isinstance(cell, str) else self.state(cell[0], cell[1])


# ------------------------------------------------------------------------------ tables

Cell = str | tuple[str, str]
"""Plain text, or (text, state key) to colour the text like that state."""


def table(headers: Sequence[str], rows: Sequence[Sequence[Cell]], painter: Painter) -> list[str]:
    """Left-aligned columns two spaces apart, widths from the plain text (colour codes are
    added after padding, so they never shift a column). The last column is not padded."""
    plain = [[_text(c) for c in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in plain:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    lines = [_join([painter.paint(h, Colour.BOLD) for h in headers], list(headers), widths)]
    for cells, texts in zip(rows, plain, strict=True):
        lines.append(_join([painter.cell(c) for c in cells], texts, widths))
    return lines


def _text(cell: Cell) -> str:
    return cell if isinstance(cell, str) else cell[0]


def _join(painted: Sequence[str], plain: Sequence[str], widths: Sequence[int]) -> str:
    last = len(painted) - 1
    parts = [
        p if i == last else p + " " * (widths[i] - len(plain[i])) for i, p in enumerate(painted)
    ]
    return "  ".join(parts).rstrip()


# ------------------------------------------------------------------------------- times


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC (`2026-12-01T21:00:00+00:00`) for JSON; None stays None."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def local(moment: datetime | None, zone: tzinfo) -> str:
    """`2026-12-01 22:00 CET` in `zone`; `-` for None."""
    if moment is None:
        return "-"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def span(delta: timedelta) -> str:
    """A duration in at most two units: `45s`, `12m`, `2h 5m`, `3d 4h`."""
    seconds = int(abs(delta).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{u}" for n, u in units if n][:2]
    return " ".join(shown) or "0s"


def latency(seconds: float | None) -> str:
    """`120 ms`, `2.4 s`; `-` when there is no measurement."""
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))


# ------------------------------------------------------------------------------ store

NO_DATABASE = "no database yet: run `vakt db upgrade` or `vakt run`"


class Unavailable(Exception):
    """The store cannot be used: unreachable, or its schema is missing or behind."""


async def _prepared(store: Store) -> None:
    """SQLite is created and migrated in place, as `vakt run` does; a shared PostgreSQL
    database is migrated deliberately, so a missing or old schema is reported instead."""
    try:
        await store.ensure_schema()
    except SchemaOutdated as exc:
        raise Unavailable(NO_DATABASE if await store.revision() is None else str(exc)) from exc


def with_store(url: str, work: Callable[[Store], Awaitable[T]]) -> T:
    """Open the store at `url`, make sure its schema is usable, run `work`, close it.

    Raises `Unavailable` (with a message for the operator) when the database cannot be
    reached or has no usable schema; `work`'s own exceptions pass through.
    """

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
    explicit: str | None = getattr(args, "store", None)
    return explicit or config.settings.store


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
