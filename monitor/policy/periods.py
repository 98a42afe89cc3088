"""The bounds of a period a person gives: a maintenance window or a silence.

Every door that takes one (the CLI, the team UI, the API) asks `period_problem`, so a
silence "until 9999-12-31" is refused with a reason at the door instead of being stored
and then breaking every page and command that shows it (a time that far away cannot be
moved into another zone or have a duration added to it).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Final

MAX_AHEAD: Final = timedelta(days=366)
"""A period starts at most this far ahead of now."""

MAX_LENGTH: Final = timedelta(days=366)
"""A period lasts at most this long; longer needs a config change, not a silence."""


def period_problem(start: datetime, end: datetime, now: datetime) -> str | None:
    """Why (`start`, `end`) is not a period a person may set at `now`, in words; None if
    it is one. All three are aware."""
    if end <= start:
        return "the end must be after the start"
    if end <= now:
        return "the end is in the past"
    if start - now > MAX_AHEAD:
        return f"the start is more than {MAX_AHEAD.days} days ahead"
    if end - start > MAX_LENGTH:
        return f"it lasts more than {MAX_LENGTH.days} days"
    return None


def period_end(start: datetime, length: timedelta) -> datetime | None:
    """`start` + `length`, or None past the calendar's end (`--for 9999999w`)."""
    try:
        return start + length
    except OverflowError:
        return None
