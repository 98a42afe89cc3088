"""A customer's month against its agreement: pure functions of stored facts and `now`.

Everything here is computed from typed values the caller read from the store (see
`monitor.reports.gather`) and `now`; nothing reads the clock or does I/O, so the tests
are tables of hand-built months.

- The month is the customer's calendar month in the customer's zone (DST included: a
  month with the spring change is an hour short).
- Availability comes from `monitor.policy.uptime.availability`, the status pages' rule;
  a customer's figure is the same rule over the sum of its sites' durations.
- Maintenance windows are left out of the figures when the policy's `maintenance_notice`
  is unset, or when they were announced at least that long before they began.
- A case counts for availability in every month its time touches (the site's level
  changes are clipped to the month) and is listed, with its full response figures, in
  the month it opened.
- respond-by, met or missed: `monitor.policy.sla` (`open_sla`, `on_level_change`,
  `response_status`), the live SLA clock's rules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from monitor.config.records import Policy
from monitor.model import Level
from monitor.policy.calendar import BusinessClock
from monitor.policy.sla import SlaStatus
from monitor.policy.uptime import Availability, Interval, LevelChange
from monitor.store.aggregates import Aggregate

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month, `2026-11`."""

    year: int
    month: int

    def __post_init__(self) -> None:
        if not 1 <= self.month <= 12 or not 1970 <= self.year <= 9998:
            raise ValueError(f"{self.year}-{self.month:02d} is not a month")

    @classmethod
    def parse(cls, text: str) -> Month:
        """`2026-11` as a Month; ValueError naming the text otherwise."""
        found = _MONTH.match(text.strip())
        if found is None:
            raise ValueError(f"{text!r} is not a month (YYYY-MM)")
        return cls(int(found[1]), int(found[2]))

    @classmethod
    def of(cls, moment: datetime, tz: tzinfo) -> Month:
        """The month `moment` falls in, in zone `tz`."""
        local = moment.astimezone(tz)
        return cls(local.year, local.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def first(self) -> date:
        return date(self.year, self.month, 1)

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    def previous(self) -> Month:
        return Month(self.year - (self.month == 1), (self.month - 2) % 12 + 1)

    def days(self) -> list[date]:
        """Every day of the month."""
        count = (self.next().first - self.first).days
        return [self.first + timedelta(days=n) for n in range(count)]

    def bounds(self, tz: tzinfo) -> Interval:
        """[local midnight of the 1st, local midnight of the next 1st) in UTC."""
        return _midnight(self.first, tz), _midnight(self.next().first, tz)


def _midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


# -------------------------------------------------------------------------------- input


@dataclass(frozen=True, slots=True)
class Window:
    """A maintenance window of a site and when customers learned of it (None: never)."""

    start: datetime
    end: datetime
    reason: str
    announced_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class SiteFacts:
    """What a site's month is computed from: the probes' 5-minute buckets (`covered`),
    maintenance, the site's level changes and the level before the first, and the latency
    aggregates of its counted checks."""

    site_id: str
    label: str
    covered: tuple[Interval, ...]
    windows: tuple[Window, ...] = ()
    levels: tuple[LevelChange, ...] = ()
    level_before: Level | None = None
    latency: tuple[Aggregate, ...] = ()


@dataclass(frozen=True, slots=True)
class CaseFacts:
    """A case as stored: its opening level, every level change and acknowledgement."""

    case_number: str
    site_id: str
    level: Level  # the level it opened at
    opened_at: datetime
    resolved_at: datetime | None = None
    acknowledgements: tuple[datetime, ...] = ()
    level_changes: tuple[tuple[datetime, Level], ...] = ()  # (at, new level)


@dataclass(frozen=True, slots=True)
class Contract:
    """The policy a customer's cases are measured against, with its business clock."""

    policy: Policy
    clock: BusinessClock


# ------------------------------------------------------------------------------- output


@dataclass(frozen=True, slots=True)
class WindowFigure:
    window: Window
    excluded: bool  # left out of the figures
    notice: timedelta | None  # how long before its start it was announced

    @property
    def announced_ahead(self) -> bool:
        return self.notice is not None and self.notice > timedelta(0)


@dataclass(frozen=True, slots=True)
class DayFigure:
    day: date
    availability: Availability
    p50: float | None = None  # seconds
    p95: float | None = None


@dataclass(frozen=True, slots=True)
class SiteFigures:
    site_id: str
    label: str
    availability: Availability
    days: tuple[DayFigure, ...]
    p50: float | None  # seconds, upper bound of the histogram bucket
    p95: float | None
    windows: tuple[WindowFigure, ...]


@dataclass(frozen=True, slots=True)
class CaseFigure:
    """One case's response against its contract. Times to respond run from the start of
    the response window that counts (the opening, or an upgrade that opened a new one) to
    its first acknowledgement; times to resolve from the opening to the resolution."""

    case_number: str
    site_id: str
    level: Level  # the most severe level it reached
    opened_level: Level
    opened_at: datetime
    acknowledged_at: datetime | None
    resolved_at: datetime | None
    respond_from: datetime
    respond_by: datetime
    status: SlaStatus  # met, breached (missed), or still pending/warning at `now`
    respond_wall: timedelta | None
    respond_business: timedelta | None
    resolve_wall: timedelta | None
    resolve_business: timedelta | None

    @property
    def met(self) -> bool | None:
        """True met, False missed, None still running."""
        if self.status is SlaStatus.MET:
            return True
        return False if self.status is SlaStatus.BREACHED else None


@dataclass(frozen=True, slots=True)
class MonthFigures:
    customer_id: str
    month: Month
    period: Interval  # [start, end) in UTC; end is `now` for the running month
    now: datetime
    sites: tuple[SiteFigures, ...]
    cases: tuple[CaseFigure, ...]
    availability: Availability
    mtta: timedelta | None  # over acknowledged cases
    mttr: timedelta | None  # over resolved cases
    unacknowledged: int
    met: int
    missed: int
    days: tuple[DayFigure, ...] = field(default=())  # the customer's sites together

    @property
    def kept(self) -> bool:
        """The agreement's response targets were kept: no case missed."""
        return self.missed == 0


# ----------------------------------------------------------------------------- figures


def month_figures(
    customer_id: str,
    month: Month,
    tz: tzinfo,
    sites: Sequence[SiteFacts],
    cases: Sequence[CaseFacts],
    contract: Contract,
    now: datetime,
) -> MonthFigures:
    """The month's figures for one customer at `now` (a running month ends at `now`)."""
    raise NotImplementedError("issue 21")
