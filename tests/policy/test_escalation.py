"""Escalation: absolute step offsets, repeats, stopping, the SLA jump and the team warning."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from monitor.config.records import (
    Escalation,
    EscalationStep,
    Layer,
    Rotation,
    RotationKind,
    Schedule,
    Target,
    TargetKind,
)
from monitor.policy.escalation import (
    TEAM,
    Downtime,
    PageDue,
    PageKind,
    collapse_missed,
    next_page_at,
    pages_due,
)
from tests.policy.support import OSLO, local


def oslo(text: str) -> datetime:
    return local(text, OSLO)


PRIMARY = Schedule(
    "primary",
    OSLO,
    "Europe/Oslo",
    (
        Layer(
            Rotation(RotationKind.WEEKLY, timedelta(days=7), 0, time(9)),
            ("alice", "bob"),
            oslo("2026-01-05 09:00"),
        ),
    ),
)
SCHEDULES = {"primary": PRIMARY}
ALICE = Target(TargetKind.PERSON, "alice")
BOB = Target(TargetKind.PERSON, "bob")
CAROL = Target(TargetKind.PERSON, "carol")

DEFAULT = Escalation(
    "default",
    steps=(
        EscalationStep(timedelta(), (Target(TargetKind.SCHEDULE, "primary"),), ("email", "slack")),
        EscalationStep(timedelta(minutes=15), (CAROL,), ("email", "pd")),
    ),
    repeat_every=timedelta(minutes=10),
    max_repeats=3,
)
START = oslo("2026-01-12 03:00")  # Monday night: alice is on call until 09:00


def minutes(n: int) -> datetime:
    return START + timedelta(minutes=n)


def slots(pages: list[PageDue]) -> list[tuple[int, int, int]]:
    """(step, repeat, minutes after paging started) of each page."""
    return [(p.step, p.repeat, int((p.due - START).total_seconds()) // 60) for p in pages]


def test_first_step_pages_the_on_call_person_at_once() -> None:
    pages = pages_due(DEFAULT, SCHEDULES, START, now=START)
    assert pages == [PageDue(0, 0, START, PageKind.PAGE, (ALICE,), ("email", "slack"))]


def test_steps_are_absolute_offsets_and_repeats_stop_when_the_next_step_starts() -> None:
    pages = pages_due(DEFAULT, SCHEDULES, START, now=minutes(60))
    # step 0 at 0 and 10 (20 would collide with step 1 at 15); step 1 at 15, 25, 35, 45;
    # then the team warning one repeat later, at 55.
    assert slots(pages) == [(0, 0, 0), (0, 1, 10), (1, 0, 15), (1, 1, 25), (1, 2, 35),
                            (1, 3, 45), (2, 0, 55)]  # fmt: skip
    assert pages[2].recipients == (CAROL,)
    assert pages[2].channels == ("email", "pd")
    assert pages[-1].kind is PageKind.TEAM_WARNING
    assert pages[-1].recipients == (TEAM,)


def test_nothing_is_due_at_or_after_the_acknowledgement() -> None:
    pages = pages_due(DEFAULT, SCHEDULES, START, now=minutes(60), acknowledged_at=minutes(15))
    assert slots(pages) == [(0, 0, 0), (0, 1, 10)]


def test_resolving_stops_the_escalation_too() -> None:
    pages = pages_due(DEFAULT, SCHEDULES, START, now=minutes(60), resolved_at=minutes(12))
    assert slots(pages) == [(0, 0, 0), (0, 1, 10)]


def test_sla_warning_before_the_next_step_jumps_to_it() -> None:
    pages = pages_due(DEFAULT, SCHEDULES, START, now=minutes(12), sla_warning_at=minutes(5))
    assert slots(pages) == [(0, 0, 0), (1, 0, 5)]
    assert pages[1].recipients == (CAROL,)


def test_sla_warning_after_the_last_step_changes_nothing() -> None:
    plain = pages_due(DEFAULT, SCHEDULES, START, now=minutes(60))
    late = pages_due(DEFAULT, SCHEDULES, START, now=minutes(60), sla_warning_at=minutes(20))
    assert late == plain


def test_recipients_are_whoever_is_on_call_when_the_slot_falls_due() -> None:
    start = oslo("2026-01-12 08:55")  # alice until 09:00, then bob
    pages = pages_due(DEFAULT, SCHEDULES, start, now=start + timedelta(minutes=12))
    assert [p.recipients for p in pages] == [(ALICE,), (BOB,)]


def test_a_schedule_with_nobody_on_call_pages_the_team() -> None:
    before_start = oslo("2026-01-01 12:00")
    pages = pages_due(DEFAULT, SCHEDULES, before_start, now=before_start)
    assert pages[0].recipients == (TEAM,)


def test_escalation_without_repeats_warns_the_team_fifteen_minutes_after_the_last_step() -> None:
    single = Escalation("single", (EscalationStep(timedelta(), (BOB,), ("email",)),))
    pages = pages_due(single, SCHEDULES, START, now=minutes(30))
    assert slots(pages) == [(0, 0, 0), (1, 0, 15)]


def test_the_same_slots_come_back_on_every_tick() -> None:
    early = pages_due(DEFAULT, SCHEDULES, START, now=minutes(30))
    later = pages_due(DEFAULT, SCHEDULES, START, now=minutes(40))
    assert later[: len(early)] == early


def test_next_page_at_tells_the_planner_when_to_wake_up() -> None:
    assert next_page_at(DEFAULT, SCHEDULES, START, now=minutes(10)) == minutes(15)
    assert next_page_at(DEFAULT, SCHEDULES, START, now=minutes(55)) is None


def test_after_the_jump_the_next_step_repeats_from_the_warning() -> None:
    pages = pages_due(DEFAULT, SCHEDULES, START, now=minutes(60), sla_warning_at=minutes(5))
    assert slots(pages) == [(0, 0, 0), (1, 0, 5), (1, 1, 15), (1, 2, 25), (1, 3, 35), (2, 0, 45)]


def test_a_warning_before_a_deferred_page_moves_step_one_to_the_paging_start() -> None:
    pages = pages_due(DEFAULT, SCHEDULES, START, now=START, sla_warning_at=minutes(-60))
    assert slots(pages) == [(0, 0, 0), (1, 0, 0)]


# ------------------------------------------------------------------ downtime (problem 7)

PERIOD = timedelta(seconds=2)


def after_gap(
    last_tick: int, back: int, now: int | None = None, acknowledged: int | None = None
) -> list[PageDue]:
    """The slots due at `now` (default: `back`) when the planner did not tick between
    `last_tick` and `back` (minutes after paging started)."""
    at = minutes(back if now is None else now)
    gap = Downtime.between(minutes(last_tick), minutes(back), PERIOD)
    assert gap is not None
    stop = None if acknowledged is None else minutes(acknowledged)
    due = pages_due(DEFAULT, SCHEDULES, START, at, stop)
    return collapse_missed(DEFAULT, due, (gap,), at, stop)


def test_a_gap_shorter_than_two_periods_is_no_downtime() -> None:
    assert Downtime.between(START, START + 2 * PERIOD, PERIOD) is None
    gap = Downtime.between(START, START + 2 * PERIOD + timedelta(microseconds=1), PERIOD)
    assert gap is not None
    assert gap.length == 2 * PERIOD + timedelta(microseconds=1)


def test_missed_slots_collapse_into_the_latest_page_per_recipient_at_the_gaps_end() -> None:
    pages = after_gap(0, 60)
    assert [(p.step, p.repeat, p.recipients, p.due) for p in pages] == [
        (0, 0, (ALICE,), START),  # due at the last tick: sent then
        (0, 1, (ALICE,), minutes(60)),
        (1, 3, (CAROL,), minutes(60)),
    ]
    assert [p.missed is not None for p in pages] == [False, True, True]
    assert not [p for p in pages if p.kind is PageKind.TEAM_WARNING]


def test_a_missed_team_warning_comes_one_repeat_after_the_collapsed_pages() -> None:
    assert [p.kind for p in after_gap(0, 60, now=69)].count(PageKind.TEAM_WARNING) == 0
    [warning] = [p for p in after_gap(0, 60, now=70) if p.kind is PageKind.TEAM_WARNING]
    assert (warning.due, warning.slot) == (minutes(70), (2, 0))


def test_a_team_warning_alone_in_a_gap_goes_out_when_vakt_is_back() -> None:
    # Every page went out before the gap (the last at 45); the warning fell due at 55.
    [warning] = [p for p in after_gap(50, 60) if p.kind is PageKind.TEAM_WARNING]
    assert warning.due == minutes(60)


def test_slots_due_within_two_periods_of_the_first_tick_are_only_late() -> None:
    back = minutes(25) + PERIOD  # the repeat at 25 fell due one period before the tick
    gap = Downtime.between(minutes(16), back, PERIOD)
    assert gap is not None
    due = pages_due(DEFAULT, SCHEDULES, START, back)
    pages = collapse_missed(DEFAULT, due, (gap,), back)
    assert [(p.slot, p.due, p.missed) for p in pages if p.due > minutes(16)] == [
        ((1, 1), minutes(25), None)
    ]


def test_nothing_collapsed_is_due_after_an_acknowledgement_during_the_gap() -> None:
    pages = after_gap(0, 60, acknowledged=30)
    assert [(p.slot, p.due) for p in pages] == [((0, 0), START)]
