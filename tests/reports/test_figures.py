"""The month's figures against hand-built months (issue 21, "Done when", first bullet)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from monitor.config.loader import load_config_text
from monitor.model import Level
from monitor.policy.contracts import Contracts
from monitor.policy.sla import SlaStatus
from monitor.policy.uptime import LevelChange, availability
from monitor.reports.figures import (
    CaseFacts,
    Contract,
    Month,
    SiteFacts,
    Window,
    month_figures,
)

OSLO = ZoneInfo("Europe/Oslo")
H = timedelta(hours=1)
M = timedelta(minutes=1)

CONFIG = """
vakt: 1
settings: {timezone: Europe/Oslo}
calendars:
  oslo-office: {timezone: Europe/Oslo, hours: {mon-fri: ["09:00-16:00"]}}
policies:
  standard:
    calendar: oslo-office
    levels:
      A: {respond: 2h, clock: always}
      B: {respond: 1 business day, clock: business}
  noticed:
    calendar: oslo-office
    maintenance_notice: 48h
    levels:
      A: {respond: 2h, clock: always}
      B: {respond: 1 business day, clock: business}
customers:
  acme:
    name: ACME AS
    timezone: Europe/Oslo
    policy: standard
    contacts: [{name: Kari, email: kari@acme.example}]
    sites:
      shop: {url: "http://127.0.0.1:9/", checks: {home: {path: /}}}
"""


def contract(name: str = "standard") -> Contract:
    contracts = Contracts.from_config(load_config_text(CONFIG))
    return Contract(contracts.policy(name), contracts.clock(name))


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=OSLO).astimezone(UTC)  # type: ignore[misc]


def whole(month: Month) -> tuple[tuple[datetime, datetime], ...]:
    """Probes covered the whole month (and a day either side)."""
    start, end = month.bounds(OSLO)
    return ((start - timedelta(days=1), end + timedelta(days=1)),)


def site(month: Month, **kw: object) -> SiteFacts:
    return SiteFacts("acme/shop", "shop", whole(month), **kw)  # type: ignore[arg-type]


def figures(
    month: Month,
    sites: list[SiteFacts],
    cases: list[CaseFacts] = [],  # noqa: B006
    policy: str = "standard",
    now: datetime | None = None,
):  # type: ignore[no-untyped-def]
    at = now or month.next().bounds(OSLO)[1]
    return month_figures("acme", month, OSLO, sites, cases, contract(policy), at)


OCT, NOV = Month(2026, 10), Month(2026, 11)


def test_an_outage_across_midnight_at_months_end_counts_in_both_months() -> None:
    levels = (
        LevelChange(oslo(2026, 10, 31, 23, 30), Level.A),
        LevelChange(oslo(2026, 11, 1, 0, 40), None),
    )
    case = CaseFacts(
        "VAKT-2026-000001",
        "acme/shop",
        Level.A,
        oslo(2026, 10, 31, 23, 30),
        resolved_at=oslo(2026, 11, 1, 0, 40),
        acknowledgements=(oslo(2026, 10, 31, 23, 50),),
    )
    october = figures(OCT, [site(OCT, levels=levels)], [case])
    november = figures(NOV, [site(NOV, levels=levels)], [case])
    assert october.sites[0].availability.down == 30 * M
    assert november.sites[0].availability.down == 40 * M
    assert october.days[-1].availability.down == 30 * M
    assert november.days[0].availability.down == 40 * M
    # listed once, in the month it opened, with its full response figures
    assert [c.case_number for c in october.cases] == ["VAKT-2026-000001"]
    assert november.cases == ()
    assert october.cases[0].resolve_wall == 70 * M
    assert october.cases[0].respond_wall == 20 * M
    assert october.cases[0].status is SlaStatus.MET


def _maintenance_month(policy: str):  # type: ignore[no-untyped-def]
    """Two one-hour Level A outages, each inside a maintenance window: one announced three
    days ahead, one announced an hour before it began."""
    early = Window(oslo(2026, 11, 10, 22), oslo(2026, 11, 10, 23), "Upgrade", oslo(2026, 11, 7, 22))
    late = Window(oslo(2026, 11, 17, 22), oslo(2026, 11, 17, 23), "Patch", oslo(2026, 11, 17, 21))
    levels = (
        LevelChange(early.start, Level.A),
        LevelChange(early.end, None),
        LevelChange(late.start, Level.A),
        LevelChange(late.end, None),
    )
    return figures(NOV, [site(NOV, windows=(early, late), levels=levels)], policy=policy)


def test_only_maintenance_announced_long_enough_ahead_is_left_out() -> None:
    result = _maintenance_month("noticed")  # maintenance_notice: 48h
    shop = result.sites[0]
    assert [w.excluded for w in shop.windows] == [True, False]
    assert [w.notice for w in shop.windows] == [72 * H, 1 * H]
    assert shop.availability.maintenance == 1 * H
    assert shop.availability.down == 1 * H  # the late window's outage counts
    assert shop.availability.observed == 30 * 24 * H - 1 * H
    assert shop.days[16].availability.down == 1 * H  # 17 November
    assert shop.days[9].availability.down == timedelta(0)  # 10 November


def test_without_maintenance_notice_every_window_is_left_out() -> None:
    shop = _maintenance_month("standard").sites[0]
    assert [w.excluded for w in shop.windows] == [True, True]
    assert shop.availability.maintenance == 2 * H
    assert shop.availability.down == timedelta(0)
    assert shop.availability.uptime == 1.0


@pytest.mark.parametrize(
    ("month", "hours", "change_day", "change_hours"),
    [(Month(2026, 3), 31 * 24 - 1, 29, 23), (OCT, 31 * 24 + 1, 25, 25)],
)
def test_a_dst_month_in_oslo_has_its_real_length(
    month: Month, hours: int, change_day: int, change_hours: int
) -> None:
    start, _ = month.bounds(OSLO)
    outage = (LevelChange(start + 10 * H, Level.A), LevelChange(start + 13 * H, None))
    result = figures(month, [site(month, levels=outage)])
    shop = result.sites[0]
    assert len(shop.days) == 31
    assert shop.availability.observed == hours * H
    assert shop.days[change_day - 1].availability.observed == change_hours * H
    assert shop.availability.down == 3 * H
    assert shop.availability.uptime == pytest.approx(1 - 3 / hours)


def test_level_b_acknowledged_after_its_business_hours_deadline_is_missed() -> None:
    # Friday 15:00; one business day (7 h, 09-16) later is Monday 15:00
    case = CaseFacts(
        "VAKT-2026-000010",
        "acme/shop",
        Level.B,
        oslo(2026, 11, 6, 15),
        acknowledgements=(oslo(2026, 11, 9, 15, 30),),
        resolved_at=oslo(2026, 11, 9, 16),
    )
    result = figures(NOV, [site(NOV)], [case])
    (figure,) = result.cases
    assert figure.respond_by == oslo(2026, 11, 9, 15)
    assert figure.status is SlaStatus.BREACHED
    assert figure.met is False
    assert figure.respond_wall == 72 * H + 30 * M
    assert figure.respond_business == 7 * H + 30 * M
    assert figure.resolve_business == 8 * H
    assert (result.met, result.missed, result.unacknowledged) == (0, 1, 0)
    assert result.mtta == 72 * H + 30 * M


def test_a_case_resolved_before_anyone_acknowledged_is_met() -> None:
    case = CaseFacts(
        "VAKT-2026-000011",
        "acme/shop",
        Level.A,
        oslo(2026, 11, 12, 3),
        resolved_at=oslo(2026, 11, 12, 3, 30),
    )
    result = figures(NOV, [site(NOV)], [case])
    (figure,) = result.cases
    assert figure.status is SlaStatus.MET
    assert figure.acknowledged_at is None
    assert figure.respond_wall is None
    assert figure.resolve_wall == 30 * M
    assert (result.met, result.missed, result.unacknowledged) == (1, 0, 1)
    assert result.mtta is None
    assert result.mttr == 30 * M


@pytest.mark.parametrize(
    ("b_ack", "a_ack", "respond_by", "status", "respond_wall"),
    [
        # B answered in time, then upgraded: a fresh 2 h window from the upgrade
        ((10, 10), (12, 30), (13, 0), SlaStatus.MET, 90 * M),
        # B unanswered: respond-by = min(B's, upgrade + 2 h) = 13:00; answered 13:30
        (None, (13, 30), (13, 0), SlaStatus.BREACHED, 150 * M),
    ],
)
def test_an_upgrade_from_b_to_a(
    b_ack: tuple[int, int] | None,
    a_ack: tuple[int, int],
    respond_by: tuple[int, int],
    status: SlaStatus,
    respond_wall: timedelta,
) -> None:
    acks = (*([oslo(2026, 11, 10, *b_ack)] if b_ack else []), oslo(2026, 11, 10, *a_ack))
    case = CaseFacts(
        "VAKT-2026-000012",
        "acme/shop",
        Level.B,
        oslo(2026, 11, 10, 10),
        acknowledgements=acks,
        level_changes=((oslo(2026, 11, 10, 11), Level.A),),
        resolved_at=oslo(2026, 11, 10, 14),
    )
    (figure,) = figures(NOV, [site(NOV)], [case]).cases
    assert figure.level is Level.A
    assert figure.opened_level is Level.B
    assert figure.respond_by == oslo(2026, 11, 10, *respond_by)
    assert figure.status is status
    assert figure.respond_wall == respond_wall


def test_availability_is_the_status_pages_rule_and_the_customer_sums_its_sites() -> None:
    covered = ((oslo(2026, 11, 3), oslo(2026, 11, 20)),)
    levels = (LevelChange(oslo(2026, 11, 5), Level.B), LevelChange(oslo(2026, 11, 5, 2), Level.A))
    one = SiteFacts("acme/shop", "shop", covered, levels=levels)
    two = SiteFacts("acme/blog", "blog", whole(NOV))
    result = figures(NOV, [one, two])
    period = NOV.bounds(OSLO)
    assert result.sites[0].availability == availability(period, covered, [], levels)
    assert result.availability.observed == 17 * 24 * H + 30 * 24 * H
    assert result.availability.down == result.sites[0].availability.down
    assert result.availability.degraded == 2 * H
    assert result.sites[0].days[0].availability.uptime is None  # no data on 1 November


def test_a_running_month_ends_at_now() -> None:
    now = oslo(2026, 11, 15, 12)
    result = figures(NOV, [site(NOV)], now=now)
    assert result.period == (NOV.bounds(OSLO)[0], now)
    assert result.sites[0].availability.observed == 14 * 24 * H + 12 * H
    assert result.sites[0].days[20].availability.uptime is None


def test_a_month_is_parsed_from_its_name() -> None:
    assert Month.parse("2026-11") == NOV
    assert str(Month.parse("2026-01").previous()) == "2025-12"
    with pytest.raises(ValueError, match="2026-13"):
        Month.parse("2026-13")
