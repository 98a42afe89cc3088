"""From stored location states and baselines to a site assessment; team warnings."""

from __future__ import annotations

from datetime import timedelta

from monitor.config.records import Quorum, QuorumKind, SlowRule
from monitor.evaluate import LatencyBaseline, LocationState, assess_site, step, warning_changes
from monitor.model import CheckType, Impact, Level, Verdict
from tests.evaluate.builders import T0, check, result, site

HOME = check("home")
CHECKOUT = check("checkout", Impact.FUNCTION)
TLS = check("tls", Impact.WARNING, type=CheckType.TLS)
THREE = ("frankfurt", "oslo", "stockholm")
MULTI = site([HOME, CHECKOUT, TLS], locations=THREE, quorum=Quorum(QuorumKind.MAJORITY))


def three_failures() -> LocationState:
    state = LocationState()
    for i in range(3):
        state = step(state, result(HOME.id, Verdict.FAILED, T0 + timedelta(minutes=i)), HOME)
    return state


OK = step(LocationState(), result(HOME.id, Verdict.OK), HOME)
FAILING = three_failures()


def test_checkout_failing_in_two_of_three_locations_is_level_b() -> None:
    states = {
        HOME.id: {loc: OK for loc in THREE},
        CHECKOUT.id: {"oslo": FAILING, "frankfurt": FAILING, "stockholm": OK},
    }
    assessment = assess_site(MULTI, states, {}, T0)
    assert assessment.level is Level.B
    assert assessment.failing[0].locations == ("frankfurt", "oslo")


def test_home_failing_in_one_of_three_locations_is_no_level() -> None:
    states = {HOME.id: {"oslo": FAILING, "frankfurt": OK, "stockholm": OK}}
    assert assess_site(MULTI, states, {}, T0).level is None


def test_a_slow_baseline_makes_level_b() -> None:
    rule = SlowRule()
    slow_site = site([HOME], slow=rule)
    baseline = LatencyBaseline()
    for i in range(200):
        baseline = baseline.observe(T0 + timedelta(minutes=i), 0.2, rule)
    for i in range(200, 212):
        baseline = baseline.observe(T0 + timedelta(minutes=i), 1.5, rule)
    assessment = assess_site(
        slow_site, {HOME.id: {"oslo": OK}}, {HOME.id: baseline}, T0 + timedelta(minutes=211)
    )
    assert assessment.level is Level.B
    assert [s.check_id for s in assessment.slow] == [HOME.id]


def test_team_warnings_start_and_end_once() -> None:
    warn = {TLS.id: {loc: FAILING for loc in THREE}}
    first = warning_changes(frozenset(), assess_site(MULTI, warn, {}, T0))
    assert first.started == {TLS.id}
    again = warning_changes(first.current, assess_site(MULTI, warn, {}, T0))
    assert again.started == frozenset()
    assert again.ended == frozenset()
    over = warning_changes(again.current, assess_site(MULTI, {}, {}, T0))
    assert over.ended == {TLS.id}
