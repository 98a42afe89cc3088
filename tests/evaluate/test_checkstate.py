"""Per-location confirm/recover counters and the quorum across locations."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.config.records import Check, Quorum, QuorumKind
from monitor.evaluate.checkstate import (
    LocationState,
    check_verdict,
    needed,
    rearm,
    step,
)
from monitor.model import CheckState, CheckType, Impact, Verdict
from tests.evaluate.builders import T0, VERDICTS, check, result

HOME = check("home")  # confirm 3, recover 2
MINUTE = timedelta(minutes=1)


def run(probes: str, target: Check = HOME, start: LocationState | None = None) -> LocationState:
    """Feed one probe a minute: `O` ok, `D` degraded, `F` failed."""
    state = start or LocationState()
    for i, letter in enumerate(probes):
        state = step(state, result(target.id, VERDICTS[letter], T0 + i * MINUTE), target)
    return state


@pytest.mark.parametrize(
    ("probes", "expected"),
    [
        pytest.param("", CheckState.UNKNOWN, id="no_probe_is_unknown"),
        pytest.param("O", CheckState.OK, id="first_success_is_ok_at_once"),
        pytest.param("FF", CheckState.UNKNOWN, id="two_failures_from_unknown_confirm_nothing"),
        pytest.param("OFF", CheckState.OK, id="two_failures_do_not_confirm_with_confirm_3"),
        pytest.param("OFFF", CheckState.FAILING, id="three_failures_confirm_failing"),
        pytest.param("OFFOF", CheckState.OK, id="a_success_resets_the_failure_streak"),
        pytest.param("OFFFO", CheckState.FAILING, id="one_success_does_not_recover_with_recover_2"),
        pytest.param("OFFFOO", CheckState.OK, id="two_successes_recover"),
        pytest.param("OFFFOFO", CheckState.FAILING, id="a_failure_resets_the_recover_streak"),
        pytest.param("ODDD", CheckState.DEGRADED, id="three_degraded_confirm_degraded"),
        pytest.param("ODD", CheckState.OK, id="two_degraded_confirm_nothing"),
        pytest.param("OFDF", CheckState.DEGRADED, id="mixed_bad_run_is_at_least_degraded"),
        pytest.param("ODDDFFF", CheckState.FAILING, id="degraded_then_three_failures_is_failing"),
        pytest.param("ODDDFF", CheckState.DEGRADED, id="degraded_stays_until_failure_confirms"),
        pytest.param("OFFFD", CheckState.FAILING, id="one_degraded_probe_does_not_improve_failing"),
        pytest.param(
            "OFFFDD", CheckState.DEGRADED, id="failing_improves_to_degraded_after_recover"
        ),
        pytest.param("ODDDO", CheckState.DEGRADED, id="degraded_needs_recover_successes"),
        pytest.param("ODDDOO", CheckState.OK, id="degraded_recovers_after_two_successes"),
    ],
)
def test_confirm_and_recover_counters(probes: str, expected: CheckState) -> None:
    assert run(probes).state is expected


@pytest.mark.parametrize(
    ("kind", "probes", "expected"),
    [
        pytest.param(
            CheckType.HEARTBEAT, "OF", CheckState.FAILING, id="late_heartbeat_fails_at_once"
        ),
        pytest.param(CheckType.HEARTBEAT, "OFO", CheckState.OK, id="heartbeat_recovers_at_once"),
        pytest.param(CheckType.TLS, "OD", CheckState.DEGRADED, id="expiring_cert_degrades_at_once"),
        pytest.param(CheckType.TLS, "OF", CheckState.FAILING, id="bad_cert_fails_at_once"),
    ],
)
def test_heartbeat_and_certificate_checks_need_no_confirmation(
    kind: CheckType, probes: str, expected: CheckState
) -> None:
    assert run(probes, check("x", Impact.FUNCTION, type=kind)).state is expected


def test_confirm_of_one_fails_on_the_first_failure() -> None:
    assert run("OF", check("home", confirm=1)).state is CheckState.FAILING


def test_failing_since_is_the_first_failed_probe_and_entered_at_the_confirming_one() -> None:
    state = run("OFFF")
    assert state.first_bad_at == T0 + MINUTE
    assert state.since == T0 + 3 * MINUTE


def test_since_survives_a_lone_success_while_failing() -> None:
    state = run("OFFFOF")
    assert state.state is CheckState.FAILING
    assert state.first_bad_at == T0 + MINUTE


def test_evidence_is_the_latest_bad_probe_and_recovery_clears_the_episode() -> None:
    failing = run("OFFF")
    assert failing.evidence is not None
    assert failing.evidence.started_at == T0 + 3 * MINUTE
    recovered = run("OO", start=failing)
    assert recovered.state is CheckState.OK
    assert recovered.first_bad_at is None


def test_rearm_needs_a_fresh_confirmation() -> None:
    failing = run("OFFF")
    rearmed = rearm(failing)
    assert rearmed.state is CheckState.UNKNOWN
    assert run("FF", start=rearmed).state is CheckState.UNKNOWN
    assert run("FFF", start=rearmed).state is CheckState.FAILING


# --------------------------------------------------------------------------- quorum

THREE = ("frankfurt", "oslo", "stockholm")
FAILING = run("OFFF")
DEGRADED = run("ODDD")
OK = run("O")


@pytest.mark.parametrize(
    ("quorum", "states", "expected"),
    [
        pytest.param(
            Quorum(QuorumKind.MAJORITY),
            {"oslo": FAILING, "frankfurt": FAILING, "stockholm": OK},
            CheckState.FAILING,
            id="majority_two_of_three_failing",
        ),
        pytest.param(
            Quorum(QuorumKind.MAJORITY),
            {"oslo": FAILING, "frankfurt": OK, "stockholm": OK},
            CheckState.OK,
            id="majority_one_of_three_is_not_enough",
        ),
        pytest.param(
            Quorum(QuorumKind.MAJORITY),
            {"oslo": FAILING, "frankfurt": DEGRADED, "stockholm": OK},
            CheckState.DEGRADED,
            id="majority_failing_plus_degraded_is_degraded",
        ),
        pytest.param(
            Quorum(QuorumKind.MAJORITY),
            {"oslo": FAILING},
            CheckState.UNKNOWN,
            id="locations_without_state_do_not_agree",
        ),
        pytest.param(
            Quorum(QuorumKind.ANY),
            {"oslo": FAILING, "frankfurt": OK, "stockholm": OK},
            CheckState.FAILING,
            id="any_one_location_is_enough",
        ),
        pytest.param(
            Quorum(QuorumKind.ALL),
            {"oslo": FAILING, "frankfurt": FAILING, "stockholm": OK},
            CheckState.OK,
            id="all_needs_every_location",
        ),
        pytest.param(
            Quorum(QuorumKind.COUNT, 5),
            {"oslo": FAILING, "frankfurt": FAILING, "stockholm": FAILING},
            CheckState.FAILING,
            id="a_count_above_the_locations_means_all",
        ),
        pytest.param(
            Quorum(QuorumKind.MAJORITY),
            {"oslo": FAILING, "tokyo": FAILING, "stockholm": OK},
            CheckState.OK,
            id="an_unconfigured_location_has_no_vote",
        ),
        pytest.param(Quorum(QuorumKind.MAJORITY), {}, CheckState.UNKNOWN, id="no_states_unknown"),
    ],
)
def test_quorum_across_locations(
    quorum: Quorum, states: dict[str, LocationState], expected: CheckState
) -> None:
    assert check_verdict("acme/shop/home", states, THREE, quorum).state is expected


@pytest.mark.parametrize(
    ("kind", "count", "locations", "expected"),
    [
        (QuorumKind.MAJORITY, 0, 1, 1),
        (QuorumKind.MAJORITY, 0, 2, 2),
        (QuorumKind.MAJORITY, 0, 4, 3),
        (QuorumKind.MAJORITY, 0, 5, 3),
        (QuorumKind.COUNT, 0, 3, 1),
        (QuorumKind.COUNT, 9, 3, 3),
    ],
)
def test_quorum_needed_is_clamped_to_the_locations(
    kind: QuorumKind, count: int, locations: int, expected: int
) -> None:
    assert needed(Quorum(kind, count), locations) == expected


def test_verdict_names_the_agreeing_locations_and_the_earliest_start() -> None:
    late = run("OOFFF")
    verdict = check_verdict(
        "acme/shop/home",
        {"oslo": late, "frankfurt": FAILING, "stockholm": OK},
        THREE,
        Quorum(QuorumKind.MAJORITY),
    )
    assert verdict.locations == ("frankfurt", "oslo")
    assert verdict.since == T0 + MINUTE
    assert verdict.evidence is FAILING.evidence


def test_single_location_site_follows_its_only_location() -> None:
    verdict = check_verdict(
        "acme/shop/home", {"oslo": FAILING}, ("oslo",), Quorum(QuorumKind.MAJORITY)
    )
    assert verdict.state is CheckState.FAILING
    assert verdict.locations == ("oslo",)
    assert verdict.evidence is not None
    assert verdict.evidence.verdict is Verdict.FAILED
