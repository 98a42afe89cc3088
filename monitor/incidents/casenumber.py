"""Case numbers: `<prefix>-<year>-<6 digits>`, e.g. `VAKT-2026-000123`.

Uniqueness across restarts and processes comes from the store's sequence, which the
engine asks for when a decision `needs_case_number`; this module only formats and
parses, and its format is injective: distinct (prefix, year, number) give distinct text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, tzinfo

_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9]*")
_CASE = re.compile(r"([A-Za-z][A-Za-z0-9]*)-(\d{4})-(\d{6})")
MAX_NUMBER = 999_999


@dataclass(frozen=True, slots=True, order=True)
class CaseNumber:
    prefix: str
    year: int
    number: int

    def __str__(self) -> str:
        return format_case_number(self.prefix, self.year, self.number)


def format_case_number(prefix: str, year: int, number: int) -> str:
    """`VAKT-2026-000123`. Raises ValueError for a prefix with anything but letters and
    digits (a dash would make parsing ambiguous), a year outside 1000-9999, or a number
    outside 1-999999."""
    if not _PREFIX.fullmatch(prefix):
        raise ValueError(f"case prefix must be letters and digits, got {prefix!r}")
    if not 1000 <= year <= 9999:
        raise ValueError(f"case year must have four digits, got {year}")
    if not 1 <= number <= MAX_NUMBER:
        raise ValueError(f"case number must be 1-{MAX_NUMBER}, got {number}")
    return f"{prefix}-{year:04d}-{number:06d}"


def parse_case_number(text: str) -> CaseNumber:
    """The parts of a case number; raises ValueError when `text` is not one."""
    match = _CASE.fullmatch(text.strip())
    if match is None or int(match.group(3)) == 0:
        raise ValueError(f"not a case number: {text!r} (expected e.g. VAKT-2026-000123)")
    return CaseNumber(match.group(1), int(match.group(2)), int(match.group(3)))


def case_year(opened_at: datetime, timezone: tzinfo) -> int:
    """The year a case belongs to: the opening's year in the instance's time zone."""
    return opened_at.astimezone(timezone).year
