"""Contracts in words, as `vakt check-config` and `vakt oncall` print them."""

from __future__ import annotations

from datetime import time, timedelta

import pytest

from monitor.config.records import (
    Escalation,
    EscalationStep,
    Layer,
    Override,
    Person,
    Rotation,
    RotationKind,
    Schedule,
    Target,
    TargetKind,
)
from monitor.model import Level
from monitor.policy.contracts import Contracts
from monitor.policy.describe import (
    describe_escalation,
    describe_policy,
    describe_schedule,
    format_timedelta,
)
from tests.policy.support import OSLO, Seed, local


def test_dekode_policy_in_words(seeds: dict[str, Seed]) -> None:
    dekode = seeds["dekode"]
    assert describe_policy(dekode.policy, {dekode.calendar.name: dekode.calendar}) == [
        "Policy standard: business hours Mon-Fri 09:00-16:00, Europe/Oslo; "
        "closed on public holidays in NO; 1 business day = 7 hours",
        "Level A: respond within 2 hours, around the clock; page at once",
        "Level B: respond within 1 business day (7 hours of business time), counted in "
        "business hours; page at the next opening (at once while open)",
        "SLA warning when 75% of the time to respond is used",
    ]


def test_infraspeak_levels_map_onto_priorities_in_words(seeds: dict[str, Seed]) -> None:
    infra = seeds["infraspeak"]
    lines = describe_policy(infra.policy, {infra.calendar.name: infra.calendar})
    assert lines[1] == (
        "Level A (priority urgent): respond within 4 business hours, resolve within "
        "24 business hours, counted in business hours; page at once"
    )
    assert lines[-1] == (
        "Priority Low: respond within 2 business days (24 hours of business time), "
        "counted in business hours"
    )


def test_a_fixed_offset_says_it_has_no_daylight_saving(seeds: dict[str, Seed]) -> None:
    compera = seeds["compera"]
    header = describe_policy(compera.policy, {compera.calendar.name: compera.calendar})[0]
    assert "Mon-Fri 08:00-17:00, UTC+02:00 (a fixed offset, no daylight saving)" in header


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(minutes=30), "30 minutes"),
        (timedelta(hours=1), "1 hour"),
        (timedelta(minutes=90), "1 hour 30 minutes"),
        (timedelta(hours=48), "48 hours"),
        (timedelta(days=7), "7 days"),
        (timedelta(seconds=45), "45 seconds"),
    ],
)
def test_durations_in_words(span: timedelta, words: str) -> None:
    assert format_timedelta(span) == words


def test_schedule_and_escalation_in_words() -> None:
    layer = Layer(
        Rotation(RotationKind.WEEKLY, timedelta(days=7), 0, time(9)),
        ("alice", "bob"),
        local("2026-01-05 09:00", OSLO),
    )
    override = Override("carol", local("2026-12-24 00:00", OSLO), local("2026-12-27 00:00", OSLO))
    schedule = Schedule("primary", OSLO, "Europe/Oslo", (layer,), (override,))
    people = {"alice": Person("alice", "Alice Hansen"), "carol": Person("carol", "Carol Dahl")}
    assert describe_schedule(schedule, people) == [
        "Schedule primary (Europe/Oslo)",
        "layer 1: weekly rotation, handoff Monday 09:00: Alice Hansen (alice), then bob; "
        "from Mon 2026-01-05 09:00",
        "override: Carol Dahl (carol) from Thu 2026-12-24 00:00 to Sun 2026-12-27 00:00",
    ]
    escalation = Escalation(
        "default",
        (
            EscalationStep(timedelta(), (Target(TargetKind.SCHEDULE, "primary"),), ("email",)),
            EscalationStep(timedelta(minutes=15), (Target(TargetKind.PERSON, "carol"),), ("pd",)),
        ),
        repeat_every=timedelta(minutes=10),
        max_repeats=3,
    )
    lines = describe_escalation(escalation, people)
    assert lines[1:4] == [
        "at once: page whoever is on call in primary via email",
        "after 15 minutes: page Carol Dahl (carol) via pd",
        "repeat the current step every 10 minutes, up to 3 times",
    ]


def test_contracts_plug_into_the_incidents_respond_by_seam(seeds: dict[str, Seed]) -> None:
    dekode = seeds["dekode"]
    contracts = Contracts({"standard": dekode.policy}, {dekode.calendar.name: dekode.calendar})
    friday = local("2026-01-09 17:00", OSLO)
    assert contracts.respond_by("standard", Level.B, friday) == local("2026-01-12 16:00", OSLO)
    assert contracts.respond_by("unknown", Level.B, friday) is None
    assert contracts.paging_starts("standard", Level.B, friday) == local("2026-01-12 09:00", OSLO)
    assert contracts.paging_starts("standard", Level.A, friday) == friday
