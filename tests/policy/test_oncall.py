"""On-call: rotations with wall-clock handoffs, layers, hour restrictions and overrides."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.records import Layer, Override, Rotation, RotationKind, Schedule
from monitor.policy.oncall import Shift, handoff, next_shifts, oncall_at
from tests.policy.support import OSLO, hours, local


def oslo(text: str) -> datetime:
    return local(text, OSLO)


WEEKLY = Rotation(RotationKind.WEEKLY, timedelta(days=7), 0, time(9))
DAILY = Rotation(RotationKind.DAILY, timedelta(days=1), None, time(9))
TWELVE_HOURS = Rotation(RotationKind.EVERY, timedelta(hours=12), None, time(8))


def schedule(*layers: Layer, overrides: tuple[Override, ...] = ()) -> Schedule:
    return Schedule("primary", OSLO, "Europe/Oslo", layers, overrides)


def weekly(*members: str, start: str = "2026-01-05 09:00") -> Layer:
    return Layer(WEEKLY, members, oslo(start))


# -------------------------------------------------------------------------- rotations


def test_weekly_rotation_hands_off_on_monday_at_nine() -> None:
    primary = schedule(weekly("alice", "bob"))
    assert oncall_at(primary, oslo("2026-01-05 09:00")) == "alice"
    assert oncall_at(primary, oslo("2026-01-12 08:59")) == "alice"
    assert oncall_at(primary, oslo("2026-01-12 09:00")) == "bob"
    assert oncall_at(primary, oslo("2026-01-19 09:00")) == "alice"


def test_weekly_handoff_stays_at_nine_oslo_time_across_dst() -> None:
    primary = schedule(weekly("alice", "bob"))
    # 2026-03-30 is the Monday after DST began: the handoff is 09:00 CEST = 07:00 UTC.
    before = oncall_at(primary, oslo("2026-03-30 08:59"))
    assert before == oncall_at(primary, oslo("2026-03-29 12:00"))
    assert oncall_at(primary, oslo("2026-03-30 09:00")) not in {before, None}
    layer = primary.layers[0]
    k = 12  # 2026-03-30 is 12 weeks after 2026-01-05
    assert handoff(primary, layer, k) == datetime(2026, 3, 30, 7, 0, tzinfo=UTC)
    assert handoff(primary, layer, k) - handoff(primary, layer, k - 1) == timedelta(hours=167)


def test_nobody_is_on_call_before_the_layer_starts() -> None:
    primary = schedule(weekly("alice", "bob"))
    assert oncall_at(primary, oslo("2026-01-05 08:59")) is None


def test_every_twelve_hours_steps_by_real_time() -> None:
    primary = schedule(Layer(TWELVE_HOURS, ("day", "night"), oslo("2026-03-28 08:00")))
    assert oncall_at(primary, oslo("2026-03-28 19:59")) == "day"
    assert oncall_at(primary, oslo("2026-03-28 20:00")) == "night"
    # 24 real hours after Saturday 08:00 CET is Sunday 09:00 CEST.
    assert oncall_at(primary, oslo("2026-03-29 08:30")) == "night"
    assert oncall_at(primary, oslo("2026-03-29 09:00")) == "day"


def test_later_layer_wins_inside_its_hours() -> None:
    nights = Layer(
        DAILY,
        ("nina",),
        oslo("2026-01-05 09:00"),
        hours=((hours(0, 8), hours(17, 24)),) * 7,
    )
    primary = schedule(weekly("alice", "bob"), nights)
    assert oncall_at(primary, oslo("2026-01-06 12:00")) == "alice"
    assert oncall_at(primary, oslo("2026-01-06 17:00")) == "nina"
    assert oncall_at(primary, oslo("2026-01-07 07:59")) == "nina"
    assert oncall_at(primary, oslo("2026-01-07 08:00")) == "alice"


def test_override_wins_over_every_layer_and_ends_at_its_end() -> None:
    christmas = Override("carol", oslo("2026-12-24 00:00"), oslo("2026-12-27 00:00"))
    primary = schedule(weekly("alice", "bob"), overrides=(christmas,))
    assert oncall_at(primary, oslo("2026-12-24 00:00")) == "carol"
    assert oncall_at(primary, oslo("2026-12-26 23:59")) == "carol"
    assert oncall_at(primary, oslo("2026-12-27 00:00")) in {"alice", "bob"}


def test_the_last_listed_override_wins_where_overrides_overlap() -> None:
    first = Override("carol", oslo("2026-12-24 00:00"), oslo("2026-12-27 00:00"))
    second = Override("dave", oslo("2026-12-25 00:00"), oslo("2026-12-26 00:00"))
    primary = schedule(weekly("alice"), overrides=(first, second))
    assert oncall_at(primary, oslo("2026-12-25 12:00")) == "dave"
    assert oncall_at(primary, oslo("2026-12-24 12:00")) == "carol"


# ------------------------------------------------------------------------ next shifts


def test_next_shifts_list_the_handoffs_including_an_override() -> None:
    christmas = Override("carol", oslo("2026-12-24 00:00"), oslo("2026-12-27 00:00"))
    primary = schedule(weekly("alice", "bob", start="2026-12-07 09:00"), overrides=(christmas,))
    shifts = next_shifts(primary, oslo("2026-12-22 12:00"), 4)
    assert shifts == [
        Shift("alice", oslo("2026-12-22 12:00"), oslo("2026-12-24 00:00")),
        Shift("carol", oslo("2026-12-24 00:00"), oslo("2026-12-27 00:00")),
        Shift("alice", oslo("2026-12-27 00:00"), oslo("2026-12-28 09:00")),
        Shift("bob", oslo("2026-12-28 09:00"), oslo("2027-01-04 09:00")),
    ]


def test_one_person_schedule_has_one_open_ended_shift() -> None:
    primary = schedule(weekly("alice"))
    assert next_shifts(primary, oslo("2026-02-01 12:00"), 3) == [
        Shift("alice", oslo("2026-02-01 12:00"), None)
    ]


def test_next_shifts_show_the_gap_before_a_layer_starts() -> None:
    primary = schedule(weekly("alice", "bob"))
    shifts = next_shifts(primary, oslo("2026-01-01 12:00"), 2)
    assert shifts[0] == Shift(None, oslo("2026-01-01 12:00"), oslo("2026-01-05 09:00"))
    assert shifts[1].person == "alice"


# ------------------------------------------------------------------------- properties

members = st.lists(st.sampled_from(["ann", "ben", "cid", "dot"]), min_size=1, max_size=4)
rotations = st.sampled_from([WEEKLY, DAILY, TWELVE_HOURS])
moments = st.datetimes(
    min_value=datetime(2026, 1, 5, 12), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=200, deadline=None)
@given(rotation=rotations, people=members, t=moments)
def test_a_layer_with_members_always_has_exactly_one_person_on_call(
    rotation: Rotation, people: list[str], t: datetime
) -> None:
    primary = schedule(Layer(rotation, tuple(people), oslo("2026-01-05 09:00")))
    assert oncall_at(primary, t) in people


@settings(max_examples=200, deadline=None)
@given(rotation=rotations, people=members, t=moments, length=st.integers(1, 72 * 60))
def test_overrides_win(rotation: Rotation, people: list[str], t: datetime, length: int) -> None:
    override = Override("zed", t, t + timedelta(minutes=length))
    layer = Layer(rotation, tuple(people), oslo("2026-01-05 09:00"))
    primary = schedule(layer, overrides=(override,))
    assert oncall_at(primary, t) == "zed"
    assert oncall_at(primary, t + timedelta(minutes=length) - timedelta(microseconds=1)) == "zed"
    assert oncall_at(primary, t + timedelta(minutes=length)) != "zed"


@settings(max_examples=50, deadline=None)
@given(rotation=rotations, people=members, t=moments)
def test_next_shifts_are_contiguous_and_change_hands(
    rotation: Rotation, people: list[str], t: datetime
) -> None:
    primary = schedule(Layer(rotation, tuple(people), oslo("2026-01-05 09:00")))
    shifts = next_shifts(primary, t, 4)
    assert shifts[0].start == t
    for before, after in pairwise(shifts):
        assert before.end == after.start
        assert before.person != after.person
        assert oncall_at(primary, after.start) == after.person
    assert len(shifts) == (1 if len(set(people)) == 1 else 4)
