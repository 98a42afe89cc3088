"""Business clocks: when a calendar is open, and how business time adds up.

Rules (also in docs/contracts.md):

- Opening ranges are wall-clock times in the calendar's zone, so 09:00-16:00 stays
  09:00-16:00 across a DST change. A range is half-open: open at 09:00, closed at 16:00.
  An end of `time(0, 0)` means midnight at the end of the day (24:00).
- A wall time that does not exist (inside a spring-forward gap) means the first real
  instant after the gap; an ambiguous one (fall-back) opens at its first occurrence and
  closes at its second, so a range always covers all of its wall-clock time.
- Per date: an extra closed date is closed; else an extra open date is open with that
  weekday's hours (Monday's when that weekday has none); else a public holiday is closed;
  else the weekday's hours apply.
- `1 business day` is `business_day_length`: the most common length of an open weekday
  (the longer one on a tie), e.g. 7 h for 09:00-16:00.
- Every datetime passed in must be aware; every datetime returned is aware UTC.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import UTC, date, datetime, time, timedelta
from typing import Final

import holidays

from monitor.config.records import BusinessDuration, BusinessUnit, Calendar, Span, TimeRange

_DAY: Final = timedelta(days=1)
# A calendar with some open weekday opens within days; this bound only stops a scan
# through a calendar whose every date in reach is closed (a misconfiguration).
_MAX_SCAN_DAYS: Final = 3 * 366
# A continuous opening (24/7) is handed out in pieces of about this length.
_MAX_PIECE: Final = timedelta(days=7)

Interval = tuple[datetime, datetime]
"""A half-open UTC interval [start, end)."""


class NeverOpenError(ValueError):
    """The calendar has no opening within reach, so business time cannot advance."""


def require_aware(t: datetime, what: str = "time") -> datetime:
    """Return `t` in UTC; raise ValueError for a naive datetime (its zone would be a guess)."""
    if t.tzinfo is None or t.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {t.isoformat()}")
    return t.astimezone(UTC)


def range_length(r: TimeRange) -> timedelta:
    """The wall-clock length of one opening range; an end of 00:00 means 24:00."""
    start = timedelta(hours=r[0].hour, minutes=r[0].minute, seconds=r[0].second)
    end_time = r[1]
    end = (
        _DAY
        if end_time == time(0, 0)
        else timedelta(hours=end_time.hour, minutes=end_time.minute, seconds=end_time.second)
    )
    return end - start


def _day_length(ranges: tuple[TimeRange, ...]) -> timedelta:
    return sum((range_length(r) for r in ranges), timedelta())


def _business_day_length(calendar: Calendar) -> timedelta:
    lengths = [_day_length(day) for day in calendar.hours]
    counts = Counter(n for n in lengths if n > timedelta())
    if not counts:
        raise NeverOpenError(f"calendar {calendar.name!r} has no business hours on any weekday")
    return max(counts, key=lambda n: (counts[n], n))


class BusinessClock:
    """A calendar's business clock. Pure: the only state is a per-year holiday cache.

    Build one per calendar and keep it (the holiday cache makes repeated questions cheap).
    """

    __slots__ = ("_business_day", "_holidays", "calendar")

    def __init__(self, calendar: Calendar) -> None:
        if len(calendar.hours) != 7:
            raise ValueError(f"calendar {calendar.name!r}: hours needs 7 weekdays, Monday first")
        self.calendar = calendar
        self._business_day = _business_day_length(calendar)
        self._holidays: dict[int, frozenset[date]] = {}

    # ------------------------------------------------------------------------ per date

    @property
    def business_day_length(self) -> timedelta:
        """The length of `1 business day` on this calendar."""
        return self._business_day

    def is_holiday(self, day: date) -> bool:
        """Whether `day` is a public holiday of the calendar's country and subdivision."""
        source = self.calendar.holidays
        if source is None:
            return False
        year = self._holidays.get(day.year)
        if year is None:
            found = holidays.country_holidays(
                source.country, subdiv=source.subdivision, years=day.year
            )
            year = frozenset(found.keys())
            self._holidays[day.year] = year
        return day in year

    def hours_on(self, day: date) -> tuple[TimeRange, ...]:
        """The opening ranges on a local date, after closed, open and holiday dates."""
        cal = self.calendar
        if day in cal.closed:
            return ()
        weekday = cal.hours[day.weekday()]
        if day in cal.open:
            return weekday or cal.hours[0]
        if self.is_holiday(day):
            return ()
        return weekday

    def intervals_on(self, day: date) -> list[Interval]:
        """The opening ranges of a local date as UTC intervals (DST applied)."""
        out: list[Interval] = []
        for start_time, end_time in self.hours_on(day):
            start = self._wall(day, start_time, closing=False)
            end_day = day + _DAY if end_time == time(0, 0) else day
            end = self._wall(end_day, end_time, closing=True)
            if end > start:
                out.append((start, end))
        return out

    def _wall(self, day: date, at: time, *, closing: bool) -> datetime:
        tz = self.calendar.timezone
        first = datetime.combine(day, at, tzinfo=tz).astimezone(UTC)
        if not closing:
            return first
        second = datetime.combine(day, at, tzinfo=tz).replace(fold=1).astimezone(UTC)
        return max(first, second)

    # ----------------------------------------------------------------------- intervals

    def _pieces(self, t: datetime) -> Iterator[tuple[datetime, datetime, bool]]:
        """Open periods ending after `t` as (start, end, joined); `joined` marks a piece
        that starts exactly where the previous one ended (a split continuous period)."""
        local_day = t.astimezone(self.calendar.timezone).date() - _DAY
        pending: Interval | None = None
        joined = False
        closed_days = 0
        while closed_days <= _MAX_SCAN_DAYS:
            day_intervals = self.intervals_on(local_day)
            closed_days = closed_days + 1 if not day_intervals else 0
            for start, end in day_intervals:
                touching = pending is not None and start <= pending[1]
                if pending is not None and touching and pending[1] - pending[0] < _MAX_PIECE:
                    pending = (pending[0], max(pending[1], end))
                    continue
                if pending is not None and pending[1] > t:
                    yield pending[0], pending[1], joined
                joined = touching
                pending = (max(start, pending[1]) if pending and touching else start, end)
            local_day += _DAY
        raise NeverOpenError(f"calendar {self.calendar.name!r} is never open after {t}")

    def periods_from(self, t: datetime) -> Iterator[Interval]:
        """Open periods that end after `t`, in order (UTC); touching ranges are merged.

        The first period may have started before `t`. An opening that lasts longer than a
        week (a 24/7 calendar) comes in touching pieces of about a week. Raises
        NeverOpenError when no date within about three years is open.
        """
        for start, end, _ in self._pieces(require_aware(t)):
            yield start, end

    # ---------------------------------------------------------------------- operations

    def is_open(self, t: datetime) -> bool:
        """Whether the calendar is open at `t` (open at the opening time, closed at closing)."""
        t = require_aware(t)
        start, _ = next(self.periods_from(t))
        return start <= t

    def next_opening(self, t: datetime) -> datetime:
        """The next moment at or after `t` when a closed calendar opens (UTC).

        When `t` is inside an open period this is the start of the following period;
        use `roll_forward` for "now if open, else the next opening". Raises
        NeverOpenError for a calendar that never closes.
        """
        t = require_aware(t)
        for start, _, joined in self._pieces(t):
            if start >= t and not joined:
                return start
            if start - t > timedelta(days=_MAX_SCAN_DAYS):
                break
        raise NeverOpenError(f"calendar {self.calendar.name!r} never closes, so never opens")

    def roll_forward(self, t: datetime) -> datetime:
        """`t` if the calendar is open at `t`, else the next opening (UTC)."""
        t = require_aware(t)
        start, _ = next(self.periods_from(t))
        return max(start, t)

    def next_closing(self, t: datetime) -> datetime:
        """When the open period containing `t`, or else the next one, ends (UTC).

        Raises NeverOpenError for a calendar that never closes.
        """
        t = require_aware(t)
        closing: datetime | None = None
        for start, end, joined in self._pieces(t):
            if closing is not None and not joined:
                return closing
            if start - t > timedelta(days=_MAX_SCAN_DAYS):
                break
            closing = end
        raise NeverOpenError(f"calendar {self.calendar.name!r} never closes")

    def to_timedelta(self, span: Span) -> timedelta:
        """Business time of a span: business days count `business_day_length` each."""
        if isinstance(span, timedelta):
            return span
        if span.unit is BusinessUnit.DAYS:
            return span.amount * self._business_day
        if span.unit is BusinessUnit.HOURS:
            return timedelta(hours=span.amount)
        return timedelta(minutes=span.amount)

    def add(self, t: datetime, span: Span) -> datetime:
        """The moment when `span` of business time has passed since `t` (UTC).

        Counting starts at `t` if open, else at the next opening. The result may be a
        closing time exactly (a deadline that uses the last minute of a day stays on that
        day). Adding zero returns `t` unchanged; a negative span is a ValueError.
        """
        t = require_aware(t)
        remaining = self.to_timedelta(span)
        if remaining < timedelta():
            raise ValueError(f"cannot add a negative business duration: {span}")
        if remaining == timedelta():
            return t
        for start, end in self.periods_from(t):
            begin = max(start, t)
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise NeverOpenError(self.calendar.name)  # pragma: no cover - periods_from raises

    def elapsed(self, t1: datetime, t2: datetime) -> timedelta:
        """Business time between `t1` and `t2`; negative when `t2` is before `t1`."""
        t1, t2 = require_aware(t1, "t1"), require_aware(t2, "t2")
        if t2 < t1:
            return -self.elapsed(t2, t1)
        total = timedelta()
        for start, end in self.periods_from(t1):
            if start >= t2:
                break
            total += min(end, t2) - max(start, t1)
        return total


def is_business_span(span: Span) -> bool:
    """Whether a span is written in business units (`4 business hours`)."""
    return isinstance(span, BusinessDuration)


class BusinessClocks:
    """One `BusinessClock` per calendar of a config, built once and shared.

    `app` builds it from `config.calendars`; a reload builds a new one.
    """

    __slots__ = ("_clocks",)

    def __init__(self, calendars: Mapping[str, Calendar]) -> None:
        self._clocks = {name: BusinessClock(cal) for name, cal in calendars.items()}

    def __getitem__(self, calendar_name: str) -> BusinessClock:
        return self._clocks[calendar_name]

    def __contains__(self, calendar_name: object) -> bool:
        return calendar_name in self._clocks

    def names(self) -> list[str]:
        return list(self._clocks)
