"""The incident state machine, edge by edge (DESIGN.md section 4)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from monitor.incidents import (
    SYSTEM,
    DependencyStatus,
    EventKind,
    IncidentKind,
    acknowledge,
    decide,
)
from monitor.model import CheckState, IncidentStatus, Level
from tests.evaluate.builders import T0, check, site
from tests.incidents.harness import A_RESPOND, B_RESPOND, Harness, assess

MINUTE = timedelta(minutes=1)
LETTERS = {
    "O": CheckState.OK,
    "F": CheckState.FAILING,
    "D": CheckState.DEGRADED,
    "U": CheckState.UNKNOWN,
}
NAMES = ("home", "checkout", "search", "api", "tls")


def states(code: str) -> dict[str, CheckState]:
    """`FOOOO`: home failing, checkout, search, api and tls ok."""
    return {name: LETTERS[letter] for name, letter in zip(NAMES, code, strict=True)}


def play(steps: list[tuple[int, str]], harness: Harness | None = None) -> Harness:
    """Feed `(minute, states)` steps; returns the harness with everything recorded."""
    h = harness or Harness()
    for minute, code in steps:
        h.tick(T0 + minute * MINUTE, **states(code))
    return h


OK = "OOOOO"
FOUR_OUTAGES = [(0, "FOOOO"), (2, OK), (4, "FOOOO"), (6, OK), (8, "FOOOO"), (10, OK), (12, "FOOOO")]


@pytest.mark.parametrize(
    ("steps", "kinds"),
    [
        pytest.param([(0, OK)], [], id="all_ok_opens_nothing"),
        pytest.param([(0, "OOOOF")], [], id="failing_warning_check_opens_no_incident"),
        pytest.param([(0, "FOOOO")], ["opened"], id="outage_check_failing_opens"),
        pytest.param([(0, "FOOOO"), (1, "FOOOO")], ["opened"], id="no_event_while_unchanged"),
        pytest.param([(0, "FOOOO"), (5, "OFOOO")], ["opened", "level_changed"], id="level_a_to_b"),
        pytest.param([(0, "OFOOO"), (5, "FFOOO")], ["opened", "level_changed"], id="level_b_to_a"),
        pytest.param(
            [(0, "FOOOO"), (5, OK)], ["opened", "recovered", "resolved"], id="recovers_and_resolves"
        ),
        pytest.param(
            [(0, "FFOOO"), (5, "UOOOO"), (6, OK)],
            ["opened", "recovered", "resolved"],
            id="resolves_only_once_every_involved_check_is_confirmed_ok",
        ),
        pytest.param(
            [(0, "FOOOO"), (5, "UOOOO"), (6, "FOOOO")],
            ["opened", "recovered", "relapsed"],
            id="failing_again_before_resolving_relapses",
        ),
        pytest.param(
            [(0, "FOOOO"), (5, "UOOOO"), (6, "OFOOO")],
            ["opened", "recovered", "relapsed", "level_changed"],
            id="relapse_at_another_level_records_the_level_change",
        ),
        pytest.param(
            [(0, "FOOOO"), (5, OK), (20, "FOOOO")],
            ["opened", "recovered", "resolved", "reopened"],
            id="failing_again_within_reopen_within_reopens",
        ),
        pytest.param(
            [(0, "FOOOO"), (5, OK), (36, "FOOOO")],
            ["opened", "recovered", "resolved", "opened"],
            id="failing_again_after_reopen_within_opens_a_new_case",
        ),
        pytest.param(
            [*FOUR_OUTAGES],
            [
                *("opened", "recovered", "resolved", "reopened", "recovered", "resolved"),
                *("reopened", "recovered", "resolved", "reopened", "flapping"),
            ],
            id="four_outages_within_thirty_minutes_is_flapping",
        ),
        pytest.param(
            [(0, "FOOOO"), (2, "OFOOO"), (4, "FOOOO"), (6, "OFOOO")],
            [*("opened", "level_changed", "level_changed", "level_changed", "flapping")],
            id="level_changes_while_failing_count",
        ),
        pytest.param(
            [*FOUR_OUTAGES, (14, OK), (16, "FOOOO")],
            [
                *("opened", "recovered", "resolved", "reopened", "recovered", "resolved"),
                *("reopened", "recovered", "resolved", "reopened", "flapping"),
                *("recovered", "resolved", "reopened"),
            ],
            id="flapping_is_marked_once",
        ),
        pytest.param(
            [
                (0, "FOOOO"),
                (2, OK),
                (12, "FOOOO"),
                (14, OK),
                (24, "FOOOO"),
                (26, OK),
                (36, "FOOOO"),
            ],
            [
                *("opened", "recovered", "resolved", "reopened", "recovered", "resolved"),
                *("reopened", "recovered", "resolved", "reopened"),
            ],
            id="changes_spread_over_more_than_thirty_minutes_are_not_flapping",
        ),
        pytest.param([(0, "ODOOO")], ["opened"], id="degraded_check_opens_level_b"),
    ],
)
def test_state_machine_edges(steps: list[tuple[int, str]], kinds: list[str]) -> None:
    assert play(steps).kinds() == kinds


# ------------------------------------------------------------------ what a case records


def test_a_new_case_records_what_the_seeds_require() -> None:
    h = play([(0, "OFOOO")])
    incident = h.open
    assert incident is not None
    assert incident.case == "VAKT-2026-000001"
    assert incident.contact == "Kari Nordmann <kari@acme.example>"
    assert incident.opened_at == T0
    assert incident.level is Level.B
    assert incident.status is IncidentStatus.OPEN
    assert incident.description == (
        "Checkout (https://shop.acme.example/checkout) fails since 14:02 UTC from oslo: "
        "expected status 200, got 500."
    )
    assert incident.respond_by == T0 + B_RESPOND
    (opened,) = incident.timeline
    assert (opened.kind, opened.actor, opened.at, opened.level) == (
        EventKind.OPENED,
        SYSTEM,
        T0,
        Level.B,
    )


def test_a_new_incident_asks_the_engine_for_a_case_number() -> None:
    h = Harness()
    assessment = assess(h.site, T0, **states("FOOOO"))
    decision = decide(h.track, assessment, h.context(), None, None, T0, h.rules)
    assert decision.needs_case_number
    assert decision.incident is not None
    assert decision.incident.case is None


def test_reopen_keeps_the_case_number_and_asks_for_none() -> None:
    h = play([(0, "FOOOO"), (5, OK)])
    decision = h.tick(T0 + 10 * MINUTE, **states("OFOOO"))
    assert not decision.needs_case_number
    assert decision.incident is not None
    assert decision.incident.case == "VAKT-2026-000001"
    assert decision.incident.status is IncidentStatus.OPEN
    assert decision.events[0].kind is EventKind.REOPENED
    assert h.sequence == 1


def test_a_new_case_after_reopen_within_gets_the_next_number() -> None:
    h = play([(0, "FOOOO"), (5, OK), (40, "FOOOO")])
    assert sorted(h.incidents) == ["VAKT-2026-000001", "VAKT-2026-000002"]


def test_upgrade_b_to_a_takes_the_earlier_deadline_and_clears_the_acknowledgement() -> None:
    h = play([(0, "OFOOO")])
    assert h.open is not None
    h.apply(acknowledge(h.open, "alice", T0 + MINUTE))
    h.tick(T0 + 10 * MINUTE, **states("FFOOO"))
    incident = h.open
    assert incident is not None
    assert incident.level is Level.A
    assert incident.respond_by == T0 + 10 * MINUTE + A_RESPOND
    assert incident.status is IncidentStatus.OPEN
    assert incident.acknowledged_at is None


def test_upgrade_keeps_an_earlier_deadline_when_it_is_earlier() -> None:
    h = Harness()
    h.tick(T0, **states("OFOOO"))
    assert h.open is not None
    # Pretend the B deadline is in 30 minutes (a business clock about to close).
    h.incidents[h.open.case or ""] = replace(h.open, respond_by=T0 + 30 * MINUTE)
    h.tick(T0 + 10 * MINUTE, **states("FFOOO"))
    assert h.open is not None
    assert h.open.respond_by == T0 + 30 * MINUTE


def test_upgrade_of_an_acknowledged_b_gives_the_a_a_fresh_window() -> None:
    # The B's response was met by the acknowledgement; its deadline (30 minutes away)
    # must not become the A's, or the upgrade would be breached almost at once.
    h = Harness()
    h.tick(T0, **states("OFOOO"))
    assert h.open is not None
    h.apply(acknowledge(h.open, "alice", T0 + MINUTE))
    assert h.open is not None
    h.incidents[h.open.case or ""] = replace(h.open, respond_by=T0 + 30 * MINUTE)
    h.tick(T0 + 10 * MINUTE, **states("FFOOO"))
    assert h.open is not None
    assert h.open.respond_by == T0 + 10 * MINUTE + A_RESPOND
    assert h.open.acknowledged_at is None


def test_downgrade_keeps_the_earlier_deadline_and_the_acknowledgement() -> None:
    h = play([(0, "FOOOO")])
    assert h.open is not None
    h.apply(acknowledge(h.open, "alice", T0 + MINUTE))
    h.tick(T0 + 10 * MINUTE, **states("OFOOO"))
    incident = h.open
    assert incident is not None
    assert incident.level is Level.B
    assert incident.respond_by == T0 + A_RESPOND
    assert incident.status is IncidentStatus.ACKNOWLEDGED


def test_level_changes_carry_old_and_new_level() -> None:
    h = play([(0, "FOOOO"), (3, "OFOOO")])
    change = h.events[-1][1]
    assert (change.kind, change.previous_level, change.level) == (
        EventKind.LEVEL_CHANGED,
        Level.A,
        Level.B,
    )


def test_involved_checks_accumulate_over_the_case() -> None:
    h = play([(0, "FOOOO"), (3, "OFOOO")])
    assert h.open is not None
    assert h.open.checks == {"acme/shop/home", "acme/shop/checkout"}


def test_flapping_survives_into_the_reopened_case() -> None:
    outages = [(0, "FOOOO"), (2, OK), (4, "FOOOO"), (6, OK), (8, "FOOOO"), (10, OK)]
    h = play([*outages, (12, "FOOOO"), (14, OK), (16, "FOOOO")])
    assert h.open is not None
    assert h.open.flapping


def test_resolve_records_actor_and_time() -> None:
    h = play([(0, "FOOOO"), (7, OK)])
    (incident,) = h.incidents.values()
    assert incident.status is IncidentStatus.RESOLVED
    assert (incident.resolved_at, incident.resolved_by) == (T0 + 7 * MINUTE, SYSTEM)
    assert incident.recovered_at == T0 + 7 * MINUTE


# ------------------------------------------------------------------------ maintenance


def test_no_incident_opens_during_maintenance() -> None:
    h = Harness()
    h.tick(T0, h.context(in_maintenance=True), **states("FOOOO"))
    assert h.incidents == {}


def test_a_window_ending_on_a_failing_site_opens_at_once() -> None:
    h = Harness()
    h.tick(T0, h.context(in_maintenance=True), **states("FOOOO"))
    decision = h.tick(T0 + 30 * MINUTE, h.context(in_maintenance=False), **states("FOOOO"))
    assert decision.incident is not None
    assert decision.incident.opened_at == T0 + 30 * MINUTE


def test_an_incident_open_when_a_window_starts_stays_open_with_paging_paused() -> None:
    h = play([(0, "FOOOO")])
    h.tick(T0 + 5 * MINUTE, h.context(in_maintenance=True), **states("FOOOO"))
    during = h.open
    assert during is not None
    assert during.paused
    h.tick(T0 + 35 * MINUTE, h.context(in_maintenance=False), **states("FOOOO"))
    after = h.open
    assert after is not None
    assert not after.paused
    assert h.kinds() == ["opened", "paused", "resumed"]


# --------------------------------------------------------------------------- silences


def test_a_silenced_site_still_opens_its_incident_flagged_silenced() -> None:
    h = Harness()
    h.tick(T0, h.context(silenced=True), **states("FOOOO"))
    assert h.open is not None
    assert h.open.silenced


def test_silence_start_and_end_are_in_the_timeline() -> None:
    h = play([(0, "FOOOO")])
    h.tick(T0 + MINUTE, h.context(silenced=True), **states("FOOOO"))
    h.tick(T0 + 2 * MINUTE, h.context(silenced=False), **states("FOOOO"))
    assert h.kinds() == ["opened", "silenced", "unsilenced"]


# ----------------------------------------------------------------------- dependencies

LB_DOWN = DependencyStatus("agency/lb1", "VAKT-2026-000900", timedelta(minutes=1))
LB_UP = DependencyStatus("agency/lb1", None, timedelta(minutes=1))


def dependent() -> Harness:
    return Harness(site=site([check("home")], depends_on=("agency/lb1",)))


def test_a_site_whose_dependency_is_down_is_linked_as_affected_not_opened() -> None:
    h = dependent()
    decision = h.tick(T0, h.context(dependencies=(LB_DOWN,)), home=CheckState.FAILING)
    assert decision.incident is None
    assert decision.affects == "VAKT-2026-000900"
    assert [e.kind for e in decision.events] == [EventKind.AFFECTED]
    again = h.tick(T0 + MINUTE, h.context(dependencies=(LB_DOWN,)), home=CheckState.FAILING)
    assert again.affects is None
    assert again.events == ()


def test_own_incident_is_held_one_dependency_interval() -> None:
    h = dependent()
    first = h.tick(T0, h.context(dependencies=(LB_UP,)), home=CheckState.FAILING)
    assert first.incident is None
    later = h.tick(T0 + MINUTE, h.context(dependencies=(LB_UP,)), home=CheckState.FAILING)
    assert later.incident is not None
    assert later.events[0].kind is EventKind.OPENED


def test_held_one_interval_after_the_dependency_recovers() -> None:
    h = dependent()
    h.tick(T0, h.context(dependencies=(LB_DOWN,)), home=CheckState.FAILING)
    recovered = h.tick(T0 + 5 * MINUTE, h.context(dependencies=(LB_UP,)), home=CheckState.FAILING)
    assert recovered.incident is None
    still = h.tick(T0 + 6 * MINUTE, h.context(dependencies=(LB_UP,)), home=CheckState.FAILING)
    assert still.incident is not None


def test_an_open_incident_is_linked_when_its_dependency_goes_down() -> None:
    h = dependent()
    h.tick(T0, h.context(dependencies=(LB_UP,)), home=CheckState.FAILING)
    h.tick(T0 + MINUTE, h.context(dependencies=(LB_UP,)), home=CheckState.FAILING)
    h.tick(T0 + 2 * MINUTE, h.context(dependencies=(LB_DOWN,)), home=CheckState.FAILING)
    assert h.open is not None
    assert h.open.linked_to == "VAKT-2026-000900"
    assert h.kinds() == ["opened", "linked"]


def test_a_site_without_dependencies_is_not_held() -> None:
    h = Harness(site=site([check("home")]))
    assert h.tick(T0, home=CheckState.FAILING).incident is not None


# --------------------------------------------------------------------------- canaries


def test_no_customer_incident_while_connectivity_is_lost() -> None:
    h = Harness()
    held = h.tick(T0, h.context(connectivity_lost=True), **states("FOOOO"))
    assert held.incident is None
    after = h.tick(T0 + 30 * MINUTE, h.context(connectivity_lost=False), **states("FOOOO"))
    assert after.incident is not None


def test_an_open_incident_does_not_resolve_while_no_location_votes() -> None:
    h = play([(0, "FOOOO")])
    assert h.open is not None
    held = h.tick(T0 + 5 * MINUTE, h.context(connectivity_lost=True), **states("OOOOO"))
    assert held.incident is not None
    assert held.incident.status is not IncidentStatus.RESOLVED
    assert held.incident.recovered_at is None
    assert held.events == ()


def test_kind_is_site() -> None:
    h = play([(0, "FOOOO")])
    assert h.open is not None
    assert h.open.kind is IncidentKind.SITE


def test_reopening_at_a_after_a_b_case_takes_the_upgrade_deadline() -> None:
    h = play([(0, "OFOOO"), (5, OK), (10, "FFOOO")])
    incident = h.open
    assert incident is not None
    assert incident.level is Level.A
    assert incident.respond_by == T0 + 10 * MINUTE + A_RESPOND
    reopened = h.events[-1][1]
    assert (reopened.kind, reopened.previous_level, reopened.level) == (
        EventKind.REOPENED,
        Level.B,
        Level.A,
    )


def test_two_outages_eleven_minutes_apart_are_two_changes_not_flapping() -> None:
    """docs/configuration.md: entering a failing level, or a level change while failing,
    counts as a change; a recovery does not."""
    h = play([(0, "FOOOO"), (5, OK), (11, "FOOOO"), (16, OK)])
    assert h.kinds() == ["opened", "recovered", "resolved", "reopened", "recovered", "resolved"]
    assert not any(incident.flapping for incident in h.incidents.values())
