"""What people do to an incident: acknowledge, note, resolve by hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.incidents import (
    EventKind,
    acknowledge,
    link,
    link_affected,
    note,
    resolve_by_hand,
)
from monitor.model import CheckState, IncidentStatus
from tests.evaluate.builders import T0
from tests.incidents.harness import Harness, assess

MINUTE = timedelta(minutes=1)
FAILING = {"home": CheckState.FAILING, "checkout": CheckState.OK}
ALL_OK = {"home": CheckState.OK, "checkout": CheckState.OK}


def opened() -> Harness:
    h = Harness()
    h.tick(T0, **FAILING)
    return h


def test_acknowledge_records_who_and_when() -> None:
    h = opened()
    assert h.open is not None
    decision = h.apply(acknowledge(h.open, "alice", T0 + 3 * MINUTE))
    incident = decision.incident
    assert incident is not None
    assert incident.status is IncidentStatus.ACKNOWLEDGED
    assert (incident.acknowledged_by, incident.acknowledged_at) == ("alice", T0 + 3 * MINUTE)
    assert incident.timeline[-1].kind is EventKind.ACKNOWLEDGED
    assert incident.timeline[-1].actor == "alice"


def test_the_first_acknowledgement_counts_a_second_changes_nothing() -> None:
    h = opened()
    assert h.open is not None
    h.apply(acknowledge(h.open, "alice", T0 + MINUTE))
    assert h.open is not None
    again = acknowledge(h.open, "bob", T0 + 2 * MINUTE)
    assert again.events == ()
    assert again.incident is not None
    assert again.incident.acknowledged_by == "alice"


def test_a_note_goes_into_the_timeline_with_its_author() -> None:
    h = opened()
    assert h.open is not None
    decision = note(h.open, "bob", "  restarting php-fpm ", T0 + MINUTE)
    assert decision.incident is not None
    last = decision.incident.timeline[-1]
    assert (last.kind, last.actor, last.text, last.at) == (
        EventKind.NOTED,
        "bob",
        "restarting php-fpm",
        T0 + MINUTE,
    )


def test_an_empty_note_is_refused() -> None:
    h = opened()
    assert h.open is not None
    with pytest.raises(ValueError, match="needs text"):
        note(h.open, "bob", "   ", T0)


def test_manual_resolve_while_failing_rearms_detection() -> None:
    h = opened()
    assert h.open is not None
    decision = h.apply(
        resolve_by_hand(h.open, "alice", T0 + MINUTE, assess(h.site, T0 + MINUTE, **FAILING))
    )
    assert decision.rearm == {"acme/shop/home"}
    assert decision.incident is not None
    assert decision.incident.status is IncidentStatus.RESOLVED
    assert decision.incident.resolved_by == "alice"
    assert not decision.incident.reopenable


def test_after_a_manual_resolve_while_failing_a_new_case_opens_not_a_reopen() -> None:
    h = opened()
    assert h.open is not None
    h.apply(resolve_by_hand(h.open, "alice", T0 + MINUTE, assess(h.site, T0, **FAILING)))
    # The engine re-armed the checks: unknown until a fresh confirmation.
    rearmed = h.tick(T0 + 2 * MINUTE, home=CheckState.UNKNOWN, checkout=CheckState.OK)
    assert rearmed.incident is None
    fresh = h.tick(T0 + 5 * MINUTE, **FAILING)
    assert fresh.incident is not None
    assert fresh.events[0].kind is EventKind.OPENED
    assert fresh.incident.case == "VAKT-2026-000002"


def test_manual_resolve_after_recovery_can_still_be_reopened() -> None:
    h = opened()
    h.tick(T0 + MINUTE, home=CheckState.UNKNOWN, checkout=CheckState.OK)  # recovered, not resolved
    assert h.open is not None
    decision = h.apply(
        resolve_by_hand(h.open, "alice", T0 + 2 * MINUTE, assess(h.site, T0, **ALL_OK))
    )
    assert decision.rearm == frozenset()
    reopened = h.tick(T0 + 4 * MINUTE, **FAILING)
    assert reopened.events[0].kind is EventKind.REOPENED


def test_resolving_a_resolved_incident_changes_nothing() -> None:
    h = opened()
    h.tick(T0 + 3 * MINUTE, **ALL_OK)
    (incident,) = h.incidents.values()
    again = resolve_by_hand(incident, "alice", T0 + 4 * MINUTE, assess(h.site, T0, **ALL_OK))
    assert again.events == ()
    assert again.incident == incident


def test_acknowledging_a_resolved_incident_changes_nothing() -> None:
    h = opened()
    h.tick(T0 + 3 * MINUTE, **ALL_OK)
    (incident,) = h.incidents.values()
    assert acknowledge(incident, "alice", T0 + 4 * MINUTE).events == ()


def test_link_and_link_affected_are_recorded_once() -> None:
    h = opened()
    assert h.open is not None
    linked = link(h.open, "VAKT-2026-000777", T0, "mass outage")
    assert linked.incident is not None
    assert linked.incident.linked_to == "VAKT-2026-000777"
    assert link(linked.incident, "VAKT-2026-000777", T0).events == ()
    affected = link_affected(h.open, "acme/blog", T0)
    assert affected.incident is not None
    assert affected.incident.affected == ("acme/blog",)
    assert link_affected(affected.incident, "acme/blog", T0).events == ()
