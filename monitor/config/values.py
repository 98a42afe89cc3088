"""Parsers for the scalar values of `checks.yaml`.

YAML scalars arrive as strings; each parser returns a typed value or raises `ValueError`
whose text is the message a person reads (`expected a duration such as 30s, ..., got 'x'`).
"""

from __future__ import annotations

import itertools
import re
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from typing import Any, cast
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from monitor.config.records import (
    BusinessDuration,
    BusinessUnit,
    HostPort,
    Mailbox,
    Quorum,
    QuorumKind,
    Span,
    StatusMatcher,
    TimeRange,
)


def got(value: Any) -> str:
    """How a bad value is quoted back in a message."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing"
    return f"'{value}'"


def _text(value: Any, expected: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"expected {expected}, got {got(value)}")
    return value.strip()


# -------------------------------------------------------------------------------- numbers


def integer(value: Any, minimum: int = 0, what: str = "a whole number") -> int:
    text = _text(value, what)
    if not re.fullmatch(r"[+-]?\d+", text) or int(text) < minimum:
        bound = f" of at least {minimum}" if minimum else ""
        raise ValueError(f"expected {what}{bound}, got {got(value)}")
    return int(text)


MAX_BODY = 64 << 20  # the most of a response body a check may read (it is held in memory)
_SIZE = re.compile(r"(\d{1,15})\s*(B|KB|KiB|MB|MiB|GB|GiB)?")
_SIZE_FACTORS = {None: 1, "B": 1, "KB": 1000, "KiB": 1024, "MB": 10**6, "MiB": 1 << 20}
_SIZE_FACTORS |= {"GB": 10**9, "GiB": 1 << 30}


def size(value: Any, most: int) -> int:
    """A size in bytes (`1MiB`, `512KiB`, `65536`), more than 0 and at most `most`."""
    help_ = "a size such as 1MiB, 512KiB or 65536"
    text = _text(value, help_).strip()
    match = _SIZE.fullmatch(text)
    if not match or int(match.group(1)) == 0:
        raise ValueError(f"expected {help_}, got {got(value)}")
    result = int(match.group(1)) * _SIZE_FACTORS[match.group(2)]
    if result > most:
        raise ValueError(f"expected a size of at most {_bytes(most)}, got {got(value)}")
    return result


def _bytes(count: int) -> str:
    for unit, factor in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1024)):
        if count % factor == 0:
            return f"{count // factor}{unit}"
    return f"{count} bytes"


def number(value: Any, what: str = "a number") -> float:
    text = _text(value, what)
    try:
        result = float(text)
    except ValueError:
        raise ValueError(f"expected {what}, got {got(value)}") from None
    if result != result or result in (float("inf"), float("-inf")):
        raise ValueError(f"expected {what}, got {got(value)}")
    return result


def boolean(value: Any) -> bool:
    text = _text(value, "true or false").lower()
    if text in ("true", "yes", "on"):
        return True
    if text in ("false", "no", "off"):
        return False
    raise ValueError(f"expected true or false, got {got(value)}")


def share(value: Any) -> float:
    """`75%` or `0.75` -> 0.75, strictly between 0 and 1."""
    text = _text(value, "a percentage such as 75%")
    try:
        result = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        raise ValueError(f"expected a percentage such as 75%, got {got(value)}") from None
    if not 0 < result < 1:
        raise ValueError(f"expected a percentage between 0% and 100%, got {got(value)}")
    return result


def one_of(value: Any, choices: tuple[str, ...]) -> str:
    if value in choices:  # written exactly as the choice: the common case, kept cheap
        return cast(str, value)
    text = _text(value, "one of " + ", ".join(choices))
    if text not in choices:
        raise ValueError(f"expected one of {', '.join(choices)}, got {got(value)}")
    return text


# ------------------------------------------------------------------------------ durations

_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_BUSINESS = re.compile(r"(\d+(?:\.\d+)?)\s+business\s+(minute|hour|day)s?", re.IGNORECASE)
DURATION_HELP = "a duration such as 30s, 5m, 2h, 1d or 2w"
_MAX_SECONDS = 3650 * 86400
SPAN_HELP = (
    "a duration (30s, 5m, 2h, 1d, 2w) or a business duration (4 business hours, 1 business day)"
)


@lru_cache(maxsize=4096)
def _duration_text(text: str) -> timedelta | None:
    compact = text.replace(" ", "")
    if not _DURATION.fullmatch(compact):
        return None
    seconds = sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(compact))
    if seconds > _MAX_SECONDS:  # would overflow date arithmetic later; nobody means it
        return None
    try:
        return timedelta(seconds=seconds)
    except OverflowError:  # beyond timedelta's billion days: not a duration anyone means
        return None


def duration(value: Any, allow_zero: bool = False) -> timedelta:
    text = _text(value, DURATION_HELP)
    result = _duration_text(text)
    if result is None and allow_zero and text == "0":
        return timedelta(0)
    if result is None:
        raise ValueError(f"expected {DURATION_HELP}, got {got(value)}")
    if result <= timedelta(0) and not allow_zero:
        raise ValueError(f"expected a duration longer than zero, got {got(value)}")
    return result


def span(value: Any) -> Span:
    """A wall-clock duration or a business duration."""
    text = _text(value, SPAN_HELP)
    match = _BUSINESS.fullmatch(text)
    if match:
        amount = float(match.group(1))
        if amount <= 0:
            raise ValueError(f"expected a business duration longer than zero, got {got(value)}")
        unit = BusinessUnit(match.group(2).lower() + "s")
        return BusinessDuration(amount, unit)
    result = _duration_text(text)
    if result is None or result <= timedelta(0):
        raise ValueError(f"expected {SPAN_HELP}, got {got(value)}")
    return result


def spans(value: Any) -> tuple[Span, ...]:
    """A back-off list (`[30m, 1h, 2h]`) or one value."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError(f"expected a list of durations such as [30m, 1h, 2h], got {got(value)}")
    return tuple(span(item) for item in items)


# ----------------------------------------------------------------------- zones and times

_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])(\d{1,2})(?::?(\d{2}))?", re.IGNORECASE)


@lru_cache(maxsize=256)
def _zone(text: str) -> tzinfo | None:
    if text.upper() in ("UTC", "GMT", "Z"):
        return UTC
    match = _OFFSET.fullmatch(text)
    if match:
        sign, hours, minutes = match.group(1), int(match.group(2)), int(match.group(3) or 0)
        if hours > 14 or minutes > 59:
            return None
        offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
        return timezone(offset, f"UTC{sign}{hours:02d}:{minutes:02d}")
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+)*", text):
        return None
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def zone(value: Any) -> tuple[tzinfo, str]:
    help_ = "an IANA time zone such as Europe/Oslo, or a fixed offset such as UTC+02:00"
    text = _text(value, help_)
    result = _zone(text)
    if result is None:
        raise ValueError(f"expected {help_}, got {got(value)}")
    return result, text


def time_of_day(value: Any) -> time:
    text = _text(value, "a time of day such as 09:00")
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", text)
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ValueError(f"expected a time of day such as 09:00, got {got(value)}")
    return time(int(match.group(1)), int(match.group(2)))


def time_range(value: Any) -> TimeRange:
    """`09:00-16:00`; `24:00` as an end means midnight and is stored as 00:00."""
    help_ = "hours such as 09:00-16:00"
    text = _text(value, help_)
    match = re.fullmatch(r"(\d{1,2}:\d{2})\s*-\s*(\d{1,2}:\d{2})", text)
    if not match:
        raise ValueError(f"expected {help_}, got {got(value)}")
    start = time_of_day(match.group(1))
    end = time(0, 0) if match.group(2) in ("24:00",) else time_of_day(match.group(2))
    if end != time(0, 0) and end <= start:
        raise ValueError(f"the end of {got(value)} must be after its start")
    return start, end


def calendar_date(value: Any) -> date:
    text = _text(value, "a date such as 2026-12-24")
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected a date such as 2026-12-24, got {got(value)}") from None


def moment(value: Any, tz: tzinfo) -> datetime:
    """`2026-12-01T22:00` in `tz` (naive times belong to the owning object's zone)."""
    help_ = "a date and time such as 2026-12-01T22:00"
    text = _text(value, help_)
    try:
        result = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(f"expected {help_}, got {got(value)}") from None
    if result.tzinfo is None:
        result = result.replace(tzinfo=tz)
    return result


WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


def weekday(text: str) -> int:
    key = text.strip().lower()[:3]
    if key not in WEEKDAYS or not text.strip().lower().startswith(key):
        raise ValueError(f"expected a weekday (mon, tue, ... sun), got {got(text)}")
    return WEEKDAYS.index(key)


def weekdays(value: Any) -> tuple[int, ...]:
    """`mon-fri`, `sat`, `mon,wed,fri`, `daily`, `weekends` -> weekday numbers (Monday 0)."""
    text = _text(value, "weekdays such as mon-fri").lower()
    if text in ("daily", "every day", "all"):
        return tuple(range(7))
    if text in ("weekdays",):
        return tuple(range(5))
    if text in ("weekends", "weekend"):
        return (5, 6)
    days: list[int] = []
    for part in text.split(","):
        first, dash, last = part.partition("-")
        try:
            start = weekday(first)
            end = weekday(last) if dash else start
        except ValueError:
            raise ValueError(
                f"expected weekdays such as mon-fri or sat, got {got(value)}"
            ) from None
        if end < start:
            raise ValueError(f"the weekday range {got(value)} runs backwards")
        days.extend(range(start, end + 1))
    return tuple(sorted(set(days)))


def week_hours(value: Any) -> tuple[tuple[TimeRange, ...], ...]:
    """`{mon-fri: ["09:00-16:00"], sat: ["10:00-14:00"]}` -> 7 tuples of ranges, Monday first."""
    if not isinstance(value, dict):
        raise ValueError(f'expected hours such as {{mon-fri: ["09:00-16:00"]}}, got {got(value)}')
    week: list[list[TimeRange]] = [[] for _ in range(7)]
    for days_text, ranges in value.items():
        days = weekdays(days_text)
        items = ranges if isinstance(ranges, list) else [ranges]
        parsed = [time_range(item) for item in items]
        for day in days:
            week[day].extend(parsed)
    return tuple(_merge_day(day, ranges) for day, ranges in enumerate(week))


def _merge_day(day: int, ranges: list[TimeRange]) -> tuple[TimeRange, ...]:
    def end_minutes(r: TimeRange) -> int:
        return 1440 if r[1] == time(0, 0) else r[1].hour * 60 + r[1].minute

    ordered = sorted(ranges)
    for before, after in itertools.pairwise(ordered):
        if after[0].hour * 60 + after[0].minute < end_minutes(before):
            raise ValueError(
                f"the hours on {WEEKDAYS[day]} overlap: "
                f"{before[0]:%H:%M}-{before[1]:%H:%M} and {after[0]:%H:%M}-{after[1]:%H:%M}"
            )
    return tuple(ordered)


# --------------------------------------------------------------------------- net and http


_HOST_PORT = re.compile(r"\[([0-9A-Fa-f:.]+)\](?::(\d+))?|([^:\[\]\s]+)(?::(\d+))?")


def host_port(value: Any, default_port: int | None = None) -> HostPort:
    help_ = "host:port such as db.example:5432 or [::1]:53"
    text = _text(value, help_)
    match = _HOST_PORT.fullmatch(text)
    if not match:
        raise ValueError(f"expected {help_}, got {got(value)}")
    host = match.group(1) or match.group(3)
    port_text = match.group(2) or match.group(4)
    if port_text is None and default_port is None:
        raise ValueError(f"expected {help_}, got {got(value)}")
    port = int(port_text) if port_text is not None else default_port
    assert port is not None
    if not 0 < port < 65536:
        raise ValueError(f"expected a port 1-65535, got {got(value)}")
    return HostPort(host, port)


def url(value: Any, schemes: tuple[str, ...] = ("http", "https")) -> str:
    help_ = f"a URL starting with {' or '.join(s + '://' for s in schemes)}"
    text = _text(value, help_)
    scheme, sep, rest = text.partition("://")
    if not sep or scheme.lower() not in schemes or not rest or rest.startswith("/"):
        raise ValueError(f"expected {help_}, got {got(value)}")
    return text


def store_url(value: Any) -> str:
    text = _text(value, "a store URL such as sqlite:///vakt.db or postgresql://vakt@db/vakt")
    if not re.match(r"(sqlite|postgresql|postgres)(\+\w+)?://", text):
        raise ValueError(
            f"expected a store URL such as sqlite:///vakt.db or postgresql://vakt@db/vakt, "
            f"got {got(value)}"
        )
    return text


_STATUS_HELP = "an HTTP status 100-599 or a list of them"


def _one_status(item: Any, original: Any) -> tuple[int, int]:
    text = _text(item, _STATUS_HELP).lower()
    if re.fullmatch(r"[1-5]xx", text):
        first = int(text[0]) * 100
        return first, first + 99
    match = re.fullmatch(r"(\d{3})(?:\s*-\s*(\d{3}))?", text)
    if match:
        low, high = int(match.group(1)), int(match.group(2) or match.group(1))
        if 100 <= low <= high <= 599:
            return low, high
    raise ValueError(
        f"expected {_STATUS_HELP}, got {got(original if original is not None else item)}"
    )


def statuses(value: Any) -> StatusMatcher:
    """`200`, `2xx`, `200-299`, or a list of them."""
    items = value if isinstance(value, list) else [value]
    if not items:
        raise ValueError(f"expected {_STATUS_HELP}, got {got(value)}")
    return tuple(_one_status(item, item) for item in items)


def quorum(value: Any) -> Quorum:
    text = _text(value, "majority, all, any or a number of locations")
    if text in ("majority", "all", "any"):
        return Quorum(QuorumKind(text))
    if re.fullmatch(r"\d+", text) and int(text) >= 1:
        return Quorum(QuorumKind.COUNT, int(text))
    raise ValueError(f"expected majority, all, any or a number of locations, got {got(value)}")


# ------------------------------------------------------------------------------- email

_ADDRESS_HELP = "an email address such as kari@acme.example"
# RFC 5322 dot-atom (RFC 6531: UTF-8 allowed); whitespace and controls are refused before.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-\u0080-\U0010ffff]+"
_LOCAL_PART = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*")
_LABEL = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")
# Control characters (Unicode category Cc), the line and paragraph separators (Zl, Zp).
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def _control(text: str) -> str | None:
    """The first control character (or line/paragraph separator) in `text`, as U+XXXX."""
    found = _CONTROL.search(text)
    return None if found is None else f"U+{ord(found.group()):04X}"


def _domain_ok(domain: str) -> bool:
    if not domain.isascii():
        try:
            domain = domain.encode("idna").decode("ascii")  # IDNA: U-labels to A-labels
        except UnicodeError:
            return False
    labels = domain.split(".")
    return len(domain) <= 253 and all(_LABEL.fullmatch(label) for label in labels)


def addr_spec(value: Any) -> str:
    """An email address (addr-spec): `local@domain`, kept as written. The local part is a
    dot-atom (UTF-8 allowed, at most 64 octets), the domain valid IDNA labels (`blåbær.no`
    is fine). No display name here: the name has its own key."""
    text = _text(value, _ADDRESS_HELP)
    local, at, domain = text.rpartition("@")
    if (
        not at
        or _control(text) is not None
        or any(c.isspace() for c in text)
        or not _LOCAL_PART.fullmatch(local)
        or len(local.encode()) > 64
        or not _domain_ok(domain)
    ):
        raise ValueError(f"expected {_ADDRESS_HELP}, got {got(value)}")
    return text


def display_name(value: Any, *, required: bool = True) -> str:
    """A display name: any text (commas, quotes, `<`, `@`, any script) except control
    characters and line breaks; runs of spaces become one."""
    text = _text(value, "a name")
    bad = _control(text)
    if bad is not None:
        raise ValueError(f"a name cannot contain control characters or line breaks ({bad})")
    name = " ".join(part for part in text.split(" ") if part)
    if required and not name:
        raise ValueError(f"expected a name, got {got(value)}")
    return name


def mailbox(value: Any) -> Mailbox:
    """`addr` or `Name <addr>` (the name may be quoted: `"Hansen, Kari" <kari@acme.example>`),
    parsed once here into a `Mailbox`."""
    text = _text(value, _ADDRESS_HELP)
    if not (text.endswith(">") and "<" in text):
        return Mailbox(addr_spec(text))
    name, _, address = text[:-1].rpartition("<")
    name = name.strip()
    if len(name) >= 2 and name[0] == name[-1] == '"':
        name = re.sub(r"\\(.)", r"\1", name[1:-1])
    return Mailbox(addr_spec(address), display_name(name, required=False))


def network(value: Any) -> IPv4Network | IPv6Network:
    """`10.0.0.0/8`, `fd00::/8`, or one address (`127.0.0.2` is `127.0.0.2/32`)."""
    text = _text(value, "a network such as 10.0.0.0/8").strip()
    try:
        return ip_network(text, strict=True)
    except ValueError:
        raise ValueError(
            f"expected a network such as 10.0.0.0/8 or an address, with no host bits "
            f"after the prefix, got {got(value)}"
        ) from None
