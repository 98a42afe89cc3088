"""The per-check latency baseline and the slow rule (Level B: much slower than normal)."""

from __future__ import annotations

import json
import sys
from datetime import datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.records import SlowRule
from monitor.evaluate.baseline import (
    BUCKETS,
    MAX_RECENT,
    MIN_BASELINE,
    LatencyBaseline,
    bucket_of,
    bucket_value,
)
from tests.evaluate.builders import T0

RULE = SlowRule(
    factor=3, over=timedelta(minutes=10), min=timedelta(seconds=1), baseline=timedelta(days=7)
)
MINUTE = timedelta(minutes=1)
CHECK = "acme/shop/home"


def feed(
    baseline: LatencyBaseline,
    start: datetime,
    latencies: list[float],
    every: timedelta = MINUTE,
    *,
    in_incident: bool = False,
) -> LatencyBaseline:
    for i, seconds in enumerate(latencies):
        baseline = baseline.observe(start + i * every, seconds, RULE, in_incident=in_incident)
    return baseline


def week_at(seconds: float) -> tuple[LatencyBaseline, datetime]:
    """A week of one probe every 5 minutes at `seconds`; returns it and the next time."""
    count = 7 * 24 * 12
    every = timedelta(minutes=5)
    return feed(LatencyBaseline(), T0, [seconds] * count, every), T0 + count * every


@settings(max_examples=300, deadline=None)
@given(st.floats(min_value=0.0011, max_value=150.0))
def test_bucket_representative_is_within_five_percent(seconds: float) -> None:
    assert abs(bucket_value(bucket_of(seconds)) - seconds) / seconds < 0.05


def test_baseline_is_not_trusted_before_enough_samples() -> None:
    few = feed(LatencyBaseline(), T0, [0.2] * (MIN_BASELINE - 1))
    assert few.baseline_median() is None
    assert few.observe(T0 + timedelta(hours=1), 0.2, RULE).baseline_median() == pytest.approx(
        0.2, rel=0.05
    )


def test_slow_when_median_over_the_window_is_three_times_baseline_and_above_min() -> None:
    baseline, now = week_at(0.4)
    baseline = feed(baseline, now, [1.5] * 10)
    finding = baseline.assess(CHECK, now + 9 * MINUTE, RULE)
    assert finding is not None
    assert finding.median == pytest.approx(1.5)
    assert finding.baseline == pytest.approx(0.4, rel=0.05)


def test_not_slow_when_above_factor_but_below_min() -> None:
    baseline, now = week_at(0.1)
    baseline = feed(baseline, now, [0.8] * 10)
    assert baseline.assess(CHECK, now + 9 * MINUTE, RULE) is None


def test_not_slow_when_above_min_but_below_factor() -> None:
    baseline, now = week_at(0.8)
    baseline = feed(baseline, now, [2.0] * 10)
    assert baseline.assess(CHECK, now + 9 * MINUTE, RULE) is None


def test_one_slow_probe_is_not_a_slow_median() -> None:
    baseline, now = week_at(0.2)
    baseline = feed(baseline, now, [0.2, 5.0, 0.2])
    assert baseline.assess(CHECK, now + 2 * MINUTE, RULE) is None


def test_baseline_is_frozen_while_the_window_is_above_the_threshold() -> None:
    baseline, now = week_at(0.2)
    # Five days of slowness would otherwise drag the week's median up to 2 s.
    slow = feed(baseline, now, [2.0] * (5 * 24 * 12), timedelta(minutes=5))
    later = now + (5 * 24 * 12 - 1) * timedelta(minutes=5)
    assert slow.baseline_median() == pytest.approx(0.2, rel=0.05)
    assert slow.assess(CHECK, later, RULE) is not None


def test_a_slow_ramp_still_fires() -> None:
    baseline, now = week_at(0.3)
    ramp = [0.3 + 0.02 * i for i in range(120)]  # two hours from 0.3 s to 2.7 s
    ramped = feed(baseline, now, ramp)
    assert ramped.assess(CHECK, now + 119 * MINUTE, RULE) is not None


def test_incident_time_is_left_out_of_the_baseline() -> None:
    baseline, now = week_at(0.2)
    slower = bucket_of(0.5)
    during = feed(baseline, now, [0.5] * 200, in_incident=True)
    assert dict(during.totals).get(slower, 0) == 0
    outside = feed(baseline, now, [0.5] * 200)
    assert dict(outside.totals)[slower] == 200


def test_old_hours_slide_out_of_the_baseline() -> None:
    baseline, now = week_at(0.2)
    moved = feed(baseline, now, [0.6] * (8 * 24 * 12), timedelta(minutes=5))
    assert moved.baseline_median() == pytest.approx(0.6, rel=0.05)


def test_memory_is_bounded_per_check() -> None:
    baseline, now = week_at(0.2)
    longer = feed(
        baseline, now, [0.1 * (i % 40 + 1) for i in range(2 * 24 * 12)], timedelta(minutes=5)
    )
    assert len(longer.slots) <= 7 * 24 + 1
    assert all(len(slot.counts) <= BUCKETS for slot in longer.slots)
    assert len(longer.recent) <= MAX_RECENT
    assert len(longer.totals) <= BUCKETS


def test_short_window_keeps_only_the_last_over() -> None:
    baseline = feed(LatencyBaseline(), T0, [0.1] * 30)
    assert {t for t, _ in baseline.recent} == {T0 + i * MINUTE for i in range(20, 30)}


def test_round_trips_through_json() -> None:
    baseline, now = week_at(0.25)
    baseline = feed(baseline, now, [0.3, 0.4, 0.5])
    text = json.dumps(baseline.to_json())
    restored = LatencyBaseline.from_json(json.loads(text))
    assert restored == baseline


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"v": 99, "slots": [], "recent": []}, id="unknown_version"),
        pytest.param({"v": 1, "slots": "x", "recent": []}, id="slots_not_a_list"),
        pytest.param(
            {"v": 1, "slots": [["2026-03-02T14:00:00+00:00", [["a", 1]]]], "recent": []},
            id="bad_pair",
        ),
        pytest.param({"v": 1, "slots": [], "recent": [[1, 2]]}, id="bad_sample"),
    ],
)
def test_from_json_rejects_anything_else(data: dict[str, object]) -> None:
    with pytest.raises(ValueError, match=r"(format|list|pair|sample)"):
        LatencyBaseline.from_json(data)


def deep_size(root: object) -> int:
    """Bytes of `root` and every object it reaches through slots and containers."""
    stack, seen, total = [root], set[int](), 0
    while stack:
        obj = stack.pop()
        if id(obj) in seen or obj is None or isinstance(obj, bool | type):
            continue
        seen.add(id(obj))
        total += sys.getsizeof(obj)
        if isinstance(obj, tuple | list):
            stack.extend(obj)
        elif isinstance(obj, dict):
            stack.extend([*obj.keys(), *obj.values()])
        else:
            stack.extend(getattr(obj, name) for name in getattr(type(obj), "__slots__", ()))
    return total


def test_a_baseline_costs_a_few_hundred_bytes_after_two_probes_and_little_after_a_week() -> None:
    two = feed(LatencyBaseline(), T0, [0.2, 0.3])
    week = feed(LatencyBaseline(), T0, [0.1 * (i % 3 + 1) for i in range(7 * 24 * 12)], 5 * MINUTE)

    assert len(week.slots) == 7 * 24
    assert deep_size(two) < 400, deep_size(two)
    assert deep_size(week) < 16 * 1024, deep_size(week)  # 168 hours of three buckets each
