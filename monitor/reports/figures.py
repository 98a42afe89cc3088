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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from statistics import fmean

from monitor.config.records import Policy
from monitor.model import Level
from monitor.policy.calendar import BusinessClock
from monitor.policy.sla import Sla, SlaStatus, on_level_change, open_sla, response_status
from monitor.policy.uptime import Availability, Interval, LevelChange, availability
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
    start, last = month.bounds(tz)
    end = max(start, min(last, now))
    notice = contract.policy.maintenance_notice
    site_figures = tuple(_site(s, month, tz, (start, end), notice) for s in sites)
    opened = (c for c in cases if start <= c.opened_at < last and c.opened_at <= now)
    listed = sorted(opened, key=lambda c: c.opened_at)
    case_figures = tuple(case_figure(c, contract, now) for c in listed)
    acked = [c.respond_wall for c in case_figures if c.respond_wall is not None]
    resolved = [c.resolve_wall for c in case_figures if c.resolve_wall is not None]
    return MonthFigures(
        customer_id=customer_id,
        month=month,
        period=(start, end),
        now=now,
        sites=site_figures,
        cases=case_figures,
        availability=combined(s.availability for s in site_figures),
        mtta=_mean(acked),
        mttr=_mean(resolved),
        unacknowledged=len(case_figures) - len(acked),
        met=sum(c.met is True for c in case_figures),
        missed=sum(c.met is False for c in case_figures),
        days=tuple(
            DayFigure(d.day, combined(s.days[i].availability for s in site_figures))
            for i, d in enumerate(site_figures[0].days if site_figures else ())
        ),
    )


def combined(parts: Iterable[Availability]) -> Availability:
    """Several sites' durations added up (their uptime is then the same rule's)."""
    total = Availability()
    for a in parts:
        total = Availability(
            total.observed + a.observed,
            total.down + a.down,
            total.degraded + a.degraded,
            total.maintenance + a.maintenance,
        )
    return total


def window_figure(window: Window, notice: timedelta | None) -> WindowFigure:
    """Whether a maintenance window is left out: every window when the policy asks no
    notice; else only one announced at least `notice` before it began."""
    ahead = None if window.announced_at is None else window.start - window.announced_at
    if notice is None:
        return WindowFigure(window, True, ahead)
    return WindowFigure(window, ahead is not None and ahead >= notice, ahead)


def _site(
    facts: SiteFacts, month: Month, tz: tzinfo, period: Interval, notice: timedelta | None
) -> SiteFigures:
    windows = tuple(
        window_figure(w, notice) for w in facts.windows if w.start < period[1] and w.end > period[0]
    )
    held = [(w.window.start, w.window.end) for w in windows if w.excluded]

    def over(span: Interval) -> Availability:
        return availability(span, facts.covered, held, facts.levels, facts.level_before)

    days = []
    for day in month.days():
        a, b = _midnight(day, tz), _midnight(day + timedelta(days=1), tz)
        span = (max(a, period[0]), max(a, min(b, period[1])))
        p50, p95 = _quantiles([x for x in facts.latency if a <= x.start < b])
        days.append(DayFigure(day, over(span), p50, p95))
    p50, p95 = _quantiles([x for x in facts.latency if period[0] <= x.start < period[1]])
    return SiteFigures(facts.site_id, facts.label, over(period), tuple(days), p50, p95, windows)


def _quantiles(parts: Sequence[Aggregate]) -> tuple[float | None, float | None]:
    if not parts:
        return None, None
    merged = parts[0]
    for part in parts[1:]:
        merged = merged.merge(part)
    return merged.quantile(0.5), merged.quantile(0.95)


def case_sla(facts: CaseFacts, contract: Contract) -> tuple[Sla, datetime | None]:
    """The case's SLA after all its level changes (the live clock's rules), and the first
    acknowledgement of the response window that counts."""
    sla = open_sla(contract.policy, facts.level, facts.opened_at, contract.clock)
    acks = sorted(facts.acknowledgements)
    for at, level in sorted(facts.level_changes):
        acked = next((t for t in reversed(acks) if sla.respond_from <= t <= at), None)
        sla = on_level_change(sla, level, at, contract.policy, contract.clock, acked)
    answer = next((t for t in acks if t >= sla.respond_from), None)
    return sla, answer


def case_figure(facts: CaseFacts, contract: Contract, now: datetime) -> CaseFigure:
    """One case's figures at `now`."""
    sla, acked = case_sla(facts, contract)
    resolved = facts.resolved_at
    clock = contract.clock
    levels = [facts.level, *(level for _, level in facts.level_changes)]
    return CaseFigure(
        case_number=facts.case_number,
        site_id=facts.site_id,
        level=Level.A if Level.A in levels else Level.B,
        opened_level=facts.level,
        opened_at=facts.opened_at,
        acknowledged_at=acked,
        resolved_at=resolved,
        respond_from=sla.respond_from,
        respond_by=sla.respond_by,
        status=response_status(sla, now, acked, resolved),
        respond_wall=None if acked is None else acked - sla.respond_from,
        respond_business=None if acked is None else clock.elapsed(sla.respond_from, acked),
        resolve_wall=None if resolved is None else resolved - facts.opened_at,
        resolve_business=None if resolved is None else clock.elapsed(facts.opened_at, resolved),
    )


def _mean(values: Sequence[timedelta]) -> timedelta | None:
    if not values:
        return None
    return timedelta(seconds=fmean(v.total_seconds() for v in values))
