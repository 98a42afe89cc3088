"""Canaries: Vakt's own connectivity, judged from canaries plus customer checks."""

from __future__ import annotations

from datetime import timedelta

from monitor.evaluate.canary import Connectivity, assess_connectivity
from monitor.model import CheckState
from tests.evaluate.builders import T0

F, K, U = CheckState.FAILING, CheckState.OK, CheckState.UNKNOWN
HALF_DOWN = [F, F, K, K]
MOSTLY_UP = [F, K, K, K]


def test_without_canaries_connectivity_is_never_lost() -> None:
    assert assess_connectivity(Connectivity(), [], [F, F, F], T0).lost_since is None


def test_failing_canary_alone_is_not_lost_connectivity() -> None:
    assert assess_connectivity(Connectivity(), [F], MOSTLY_UP, T0).lost_since is None


def test_many_customer_checks_failing_with_canaries_up_is_not_lost_connectivity() -> None:
    assert assess_connectivity(Connectivity(), [K, K], [F, F, F], T0).lost_since is None


def test_canaries_and_a_large_share_of_checks_failing_is_lost_connectivity() -> None:
    lost = assess_connectivity(Connectivity(), [F, F], HALF_DOWN, T0)
    assert lost == Connectivity(lost_since=T0, suppressing=True, alert=True)


def test_one_of_two_canaries_is_not_a_majority() -> None:
    assert assess_connectivity(Connectivity(), [F, K], HALF_DOWN, T0).lost_since is None


def test_unknown_checks_do_not_count_towards_the_share() -> None:
    assert assess_connectivity(Connectivity(), [F], [F, K, U, U, U], T0).lost_since == T0


def test_the_alert_is_raised_once() -> None:
    first = assess_connectivity(Connectivity(), [F], HALF_DOWN, T0)
    second = assess_connectivity(first, [F], HALF_DOWN, T0 + timedelta(minutes=1))
    assert second.alert is False
    assert second.lost_since == T0
    assert second.suppressing


def test_customer_incidents_are_held_for_at_most_thirty_minutes() -> None:
    first = assess_connectivity(Connectivity(), [F], HALF_DOWN, T0)
    at_29 = assess_connectivity(first, [F], HALF_DOWN, T0 + timedelta(minutes=29))
    at_30 = assess_connectivity(at_29, [F], HALF_DOWN, T0 + timedelta(minutes=30))
    assert at_29.suppressing
    assert not at_30.suppressing
    assert at_30.lost_since == T0


def test_restored_once_when_canaries_recover() -> None:
    lost = assess_connectivity(Connectivity(), [F], HALF_DOWN, T0)
    restored = assess_connectivity(lost, [K], HALF_DOWN, T0 + timedelta(minutes=3))
    assert restored == Connectivity(restored=True)
    assert not assess_connectivity(restored, [K], HALF_DOWN, T0 + timedelta(minutes=4)).restored


def test_canaries_not_known_yet_keep_a_loss_from_before_a_restart() -> None:
    lost = Connectivity(lost_since=T0, suppressing=True)
    kept = assess_connectivity(lost, [U, U], HALF_DOWN, T0 + timedelta(minutes=31))
    assert kept == Connectivity(lost_since=T0, suppressing=False)
    assert assess_connectivity(lost, [K, U], HALF_DOWN, T0).restored
