"""The seed agreements kept to the minute: hand-checked deadlines for every seed.

Every case here is also a row of the table in docs/contracts.md; a test below fails
when the two disagree, so the document a support manager reads is the one tested.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import pytest

from monitor.config import load_config
from monitor.model import Level, Priority
from monitor.policy.contracts import Contracts
from monitor.policy.sla import (
    SlaStatus,
    on_level_change,
    open_sla,
    page_due_at,
    priority_sla,
    report_sla,
    response_status,
)
from tests.policy.support import OSLO, Seed, local

DOCS = Path(__file__).resolve().parents[2] / "docs" / "contracts.md"


@dataclass(frozen=True, slots=True)
class Case:
    """`what` is `<respond|resolve|warn|page> <A|B|priority>`; `upgrade` is `at` for B→A."""

    seed: str
    what: str
    opened: str  # wall clock in the policy's calendar zone
    due: str  # wall clock in the same zone, with weekday and zone abbreviation
    why: str
    upgrade: str | None = None

    def row(self, seed: Seed) -> str:
        opened = _show(local(self.opened, seed.calendar.timezone), seed)
        what = self.what if self.upgrade is None else f"{self.what}, upgraded to A {self.upgrade}"
        return f"| {seed.title} | {what} | {opened} | {self.due} | {self.why} |"


def _show(t: datetime, seed: Seed) -> str:
    return t.astimezone(seed.calendar.timezone).strftime("%a %Y-%m-%d %H:%M %Z")


CASES = [
    # Dekode: A within 2 h around the clock; B within 1 business day (7 h), 09-16 Oslo.
    Case("dekode", "respond B", "2026-01-09 15:30", "Mon 2026-01-12 15:30 CET",
         "30 min on Friday, 6 h 30 min on Monday"),
    Case("dekode", "respond B", "2026-01-09 17:00", "Mon 2026-01-12 16:00 CET",
         "after closing: the clock starts Monday 09:00; due at closing time"),
    Case("dekode", "page B", "2026-01-10 22:00", "Mon 2026-01-12 09:00 CET",
         "page: business_hours waits for the opening"),
    Case("dekode", "respond A", "2026-01-11 03:00", "Sun 2026-01-11 05:00 CET",
         "Level A counts around the clock"),
    Case("dekode", "respond B", "2027-05-14 15:30", "Tue 2027-05-18 15:30 CEST",
         "Monday 17 May (Constitution Day) is closed"),
    Case("dekode", "respond B", "2026-04-01 15:00", "Tue 2026-04-07 15:00 CEST",
         "Maundy Thursday, Good Friday and Easter Monday are closed"),
    Case("dekode", "respond B", "2026-03-27 15:30", "Mon 2026-03-30 15:30 CEST",
         "DST starts on Sunday; opening hours stay 09-16"),
    Case("dekode", "respond A", "2026-03-29 01:30", "Sun 2026-03-29 04:30 CEST",
         "2 real hours across the spring-forward gap"),
    Case("dekode", "respond A", "2026-10-25 01:30", "Sun 2026-10-25 02:30 CET",
         "2 real hours across the fall-back hour"),
    Case("dekode", "warn B", "2026-01-09 15:30", "Mon 2026-01-12 13:45 CET",
         "75% of 7 business hours = 5 h 15 min: 30 min Friday + 4 h 45 min"),
    Case("dekode", "respond B", "2026-01-09 15:30", "Sat 2026-01-10 05:00 CET",
         "min(Monday 15:30, 03:00 + 2 h)", upgrade="Sat 2026-01-10 03:00"),
    # Compera: acknowledge within 1 business day (9 h), answer within 3; 08-17 at UTC+02:00.
    Case("compera", "respond B", "2026-01-12 10:00", "Tue 2026-01-13 10:00 UTC+02:00",
         "one business day later, same time"),
    Case("compera", "respond B", "2026-01-09 16:00", "Mon 2026-01-12 16:00 UTC+02:00",
         "1 h on Friday, 8 h on Monday"),
    Case("compera", "respond A", "2026-01-10 12:00", "Mon 2026-01-12 17:00 UTC+02:00",
         "weekend: Monday 08:00 + 9 h = closing time"),
    Case("compera", "respond B", "2026-01-12 08:30", "Tue 2026-01-13 08:30 UTC+02:00",
         "07:30 in Oslo in winter: a fixed offset ignores Oslo's DST"),
    Case("compera", "resolve B", "2026-01-12 10:00", "Thu 2026-01-15 10:00 UTC+02:00",
         "the answer within 3 business days"),
    Case("compera", "respond B", "2026-03-27 16:00", "Mon 2026-03-30 16:00 UTC+02:00",
         "no DST change at a fixed offset"),
    # Infraspeak: priorities on 09-21 Lisbon hours (1 business day = 12 h), PT holidays.
    Case("infraspeak", "respond urgent", "2026-01-12 20:00", "Tue 2026-01-13 12:00 WET",
         "1 h on Monday, 3 h on Tuesday"),
    Case("infraspeak", "resolve urgent", "2026-01-12 10:00", "Wed 2026-01-14 10:00 WET",
         "11 h + 12 h + 1 h of business time"),
    Case("infraspeak", "respond high", "2026-01-09 15:00", "Mon 2026-01-12 15:00 WET",
         "6 h on Friday, 6 h on Monday"),
    Case("infraspeak", "respond medium", "2026-01-09 15:00", "Mon 2026-01-12 15:00 WET",
         "1 business day = 12 h here, the same as High"),
    Case("infraspeak", "respond low", "2026-06-03 09:00", "Fri 2026-06-05 21:00 WEST",
         "Thursday 4 June (Corpus Christi) is closed; due at closing time"),
    Case("infraspeak", "respond urgent", "2026-03-27 19:00", "Mon 2026-03-30 11:00 WEST",
         "DST starts on Sunday in Lisbon too"),
    Case("infraspeak", "respond A", "2026-01-11 03:00", "Mon 2026-01-12 13:00 WET",
         "Level A is Urgent: 4 business hours from Monday 09:00"),
    # Bright Plugins: within 24-48 hours, any day: warning at 24 h, deadline at 48 h.
    Case("brightplugins", "respond B", "2026-01-09 10:00", "Sun 2026-01-11 10:00 CET",
         "48 h, weekends included"),
    Case("brightplugins", "warn B", "2026-01-09 10:00", "Sat 2026-01-10 10:00 CET",
         "the 24 h end of 24-48 h"),
    Case("brightplugins", "respond A", "2026-03-28 12:00", "Mon 2026-03-30 13:00 CEST",
         "48 real hours across the DST change"),
    # Generic: urgent within hours (4 h), non-urgent within 24 h, around the clock.
    Case("generic", "respond A", "2026-01-10 22:00", "Sun 2026-01-11 02:00 UTC",
         "urgent: within a few hours, nights included"),
    Case("generic", "respond B", "2026-01-09 12:00", "Sat 2026-01-10 12:00 UTC",
         "non-urgent: within 24 h"),
    Case("generic", "respond B", "2026-01-12 09:00", "Mon 2026-01-12 14:00 UTC",
         "min(Tuesday 09:00, 10:00 + 4 h)", upgrade="Mon 2026-01-12 10:00"),
]  # fmt: skip

# Customer-reported cases (a report on the status page or by email): `report <urgent|
# normal>` is the respond-by of the case it opens, counted from the time of submission;
# `report <priority>` is a report the team set to that priority of the matrix.
REPORTS = [
    Case("compera", "report normal", "2026-01-09 16:00", "Mon 2026-01-12 16:00 UTC+02:00",
         "receipt acknowledged, then an answer within 1 business day: 1 h Friday, 8 h Monday"),
    Case("compera", "report urgent", "2026-01-10 12:00", "Mon 2026-01-12 17:00 UTC+02:00",
         "every request in the order received: urgent has the same business-day target"),
    Case("compera", "resolve-report normal", "2026-01-12 10:00", "Thu 2026-01-15 10:00 UTC+02:00",
         "the answer within 3 business days of the submission"),
    Case("infraspeak", "report urgent", "2026-01-12 20:00", "Tue 2026-01-13 12:00 WET",
         "urgent: the highest priority, 4 business hours"),
    Case("infraspeak", "report normal", "2026-01-09 15:00", "Mon 2026-01-12 15:00 WET",
         "not urgent: Level B's priority (High), 12 business hours"),
    Case("infraspeak", "report medium", "2026-01-09 15:00", "Mon 2026-01-12 15:00 WET",
         "set to Medium by the team: 1 business day"),
    Case("infraspeak", "report low", "2026-06-03 09:00", "Fri 2026-06-05 21:00 WEST",
         "set to Low by the team: 2 business days, Corpus Christi closed"),
]  # fmt: skip


def _report_due(case: Case, seed: Seed) -> datetime:
    """A customer-reported case: urgent or normal, or a priority the team set."""
    kind, target = case.what.split()
    submitted = local(case.opened, seed.calendar.timezone)
    priority = Priority(target) if target in {p.value for p in Priority} else None
    sla = report_sla(seed.policy, target == "urgent", submitted, seed.clock, priority=priority)
    if kind == "resolve-report":
        assert sla.resolve_by is not None
        return sla.resolve_by
    return sla.respond_by


def _due(case: Case, seed: Seed) -> datetime:
    kind, target = case.what.split()
    opened = local(case.opened, seed.calendar.timezone)
    if kind == "page":
        due = page_due_at(seed.policy.levels[Level(target)], seed.clock, opened)
        assert due is not None
        return due
    if target in {p.value for p in Priority}:
        sla = priority_sla(seed.policy, Priority(target), opened, seed.clock)
    else:
        sla = open_sla(seed.policy, Level(target), opened, seed.clock)
    if case.upgrade is not None:
        at = datetime.strptime(case.upgrade, "%a %Y-%m-%d %H:%M")
        at = at.replace(tzinfo=seed.calendar.timezone)
        sla = on_level_change(sla, Level.A, at, seed.policy, seed.clock)
    if kind == "warn":
        return sla.warn_at
    if kind == "resolve":
        assert sla.resolve_by is not None
        return sla.resolve_by
    return sla.respond_by


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.seed}-{c.what}-{c.opened}")
def test_seed_deadline_matches_the_hand_checked_time(case: Case, seeds: dict[str, Seed]) -> None:
    seed = seeds[case.seed]
    assert _show(_due(case, seed), seed) == case.due


@pytest.mark.parametrize("case", REPORTS, ids=lambda c: f"{c.seed}-{c.what}-{c.opened}")
def test_customer_reported_case_deadline_matches_the_hand_checked_time(
    case: Case, seeds: dict[str, Seed]
) -> None:
    seed = seeds[case.seed]
    assert _show(_report_due(case, seed), seed) == case.due


@pytest.mark.parametrize("case", REPORTS, ids=lambda c: f"{c.seed}-{c.what}-{c.opened}")
def test_docs_table_shows_the_customer_reported_case(case: Case, seeds: dict[str, Seed]) -> None:
    rows = {line.strip() for line in DOCS.read_text(encoding="utf-8").splitlines()}
    assert case.row(seeds[case.seed]) in rows


def test_every_seed_has_at_least_three_hand_checked_cases(seeds: dict[str, Seed]) -> None:
    counts = {name: sum(c.seed == name for c in CASES) for name in seeds}
    assert all(n >= 3 for n in counts.values()), counts


@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.seed}-{c.what}-{c.opened}")
def test_docs_table_shows_the_case(case: Case, seeds: dict[str, Seed]) -> None:
    rows = {line.strip() for line in DOCS.read_text(encoding="utf-8").splitlines()}
    assert case.row(seeds[case.seed]) in rows


def test_dekode_level_b_answered_on_monday_at_closing_time_is_met(
    seeds: dict[str, Seed],
) -> None:
    dekode = seeds["dekode"]
    sla = open_sla(dekode.policy, Level.B, local("2026-01-09 17:00", dekode.calendar.timezone),
                   dekode.clock)  # fmt: skip
    ack = local("2026-01-12 16:00", dekode.calendar.timezone)
    assert response_status(sla, ack, acknowledged_at=ack) is SlaStatus.MET


def test_dekode_level_b_unanswered_one_minute_after_monday_closing_is_breached(
    seeds: dict[str, Seed],
) -> None:
    dekode = seeds["dekode"]
    sla = open_sla(dekode.policy, Level.B, local("2026-01-09 17:00", dekode.calendar.timezone),
                   dekode.clock)  # fmt: skip
    assert response_status(sla, local("2026-01-12 16:01", OSLO)) is SlaStatus.BREACHED


def test_bright_plugins_resolved_before_any_acknowledgement_counts_as_met(
    seeds: dict[str, Seed],
) -> None:
    bright = seeds["brightplugins"]
    opened = local("2026-01-09 10:00", bright.calendar.timezone)
    sla = open_sla(bright.policy, Level.B, opened, bright.clock)
    resolved = local("2026-01-10 16:00", bright.calendar.timezone)
    assert response_status(sla, resolved, resolved_at=resolved) is SlaStatus.MET


@pytest.mark.parametrize(
    ("example", "policy", "level", "opened", "due"),
    [
        ("dekode", "dekode", Level.B, "2026-01-09 17:00", "Mon 2026-01-12 16:00 CET"),
        ("dekode", "dekode", Level.B, "2027-05-14 15:30", "Tue 2027-05-18 15:30 CEST"),
        ("dekode", "dekode", Level.A, "2026-01-11 03:00", "Sun 2026-01-11 05:00 CET"),
        ("infraspeak", "infraspeak", Level.A, "2026-01-12 20:00", "Tue 2026-01-13 12:00 WET"),
        ("compera", "compera", Level.A, "2026-01-10 12:00", "Mon 2026-01-12 17:00 UTC+02:00"),
    ],
)
def test_shipped_examples_keep_the_hand_checked_deadlines(
    example: str, policy: str, level: Level, opened: str, due: str
) -> None:
    config = load_config(str(DOCS.parents[1] / "examples" / f"{example}.yaml"))
    contracts = Contracts.from_config(config)
    zone = config.calendars[config.policies[policy].calendar].timezone
    respond_by = contracts.respond_by(policy, level, local(opened, zone))
    assert respond_by is not None
    assert respond_by.astimezone(zone).strftime("%a %Y-%m-%d %H:%M %Z") == due
