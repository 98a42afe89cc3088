"""Quorum over voting locations (issue 20): a location that lost its connectivity loses
its vote; a check is failing when `quorum` of its voting locations confirm it; with no
location voting, the check is held, for at most 30 minutes after the last vote went."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config.records import Quorum, QuorumKind
from monitor.evaluate import LocationState
from monitor.evaluate.canary import MAX_SUPPRESSION
from monitor.evaluate.vote import Ballot, ballot, voting_verdict
from monitor.model import CheckState
from tests.evaluate.builders import MAJORITY, T0

F, K = CheckState.FAILING, CheckState.OK
BOTH = ("frankfurt", "oslo")
NAMES = ("a", "b", "c", "d", "e")


def states(**by_location: CheckState) -> dict[str, LocationState]:
    return {name: LocationState(state=s, since=T0) for name, s in by_location.items()}


def test_every_location_votes_while_none_is_lost() -> None:
    assert ballot(BOTH, {}, T0) == Ballot(BOTH)


def test_a_lost_location_has_no_vote() -> None:
    assert ballot(BOTH, {"frankfurt": T0}, T0) == Ballot(("oslo",))


def test_with_no_location_voting_the_check_is_held_for_at_most_30_minutes() -> None:
    lost = {"frankfurt": T0, "oslo": T0 + timedelta(minutes=10)}
    assert ballot(BOTH, lost, T0 + timedelta(minutes=39)) == Ballot(BOTH, held=True)
    # 30 minutes after the LAST vote went, every location votes again
    assert ballot(BOTH, lost, T0 + timedelta(minutes=40)) == Ballot(BOTH)


def test_failing_only_in_one_of_two_locations_is_no_majority() -> None:
    verdict = voting_verdict("c", states(frankfurt=F, oslo=K), BOTH, MAJORITY, {}, T0)
    assert verdict.state is K


def test_failing_in_both_locations_is_failing() -> None:
    verdict = voting_verdict("c", states(frankfurt=F, oslo=F), BOTH, MAJORITY, {}, T0)
    assert verdict.state is F
    assert verdict.locations == BOTH


def test_a_real_outage_seen_in_the_voting_location_counts_when_the_other_lost_its_vote() -> None:
    verdict = voting_verdict(
        "c", states(frankfurt=K, oslo=F), BOTH, MAJORITY, {"frankfurt": T0}, T0
    )
    assert verdict.state is F
    assert verdict.locations == ("oslo",)


def test_a_non_voting_location_failing_is_ignored() -> None:
    lost = {"frankfurt": T0}
    any_one = Quorum(QuorumKind.ANY)
    verdict = voting_verdict("c", states(frankfurt=F, oslo=K), BOTH, any_one, lost, T0)
    assert verdict.state is K


@st.composite
def situations(draw: st.DrawFn) -> tuple[tuple[str, ...], dict[str, CheckState], set[str]]:
    names = tuple(draw(st.lists(st.sampled_from(NAMES), min_size=1, max_size=5, unique=True)))
    seen = {n: draw(st.sampled_from([F, K, CheckState.DEGRADED])) for n in names}
    lost = set(draw(st.lists(st.sampled_from(names), unique=True)))
    return names, seen, lost


@settings(max_examples=300, deadline=None)
@given(situations(), st.sampled_from(list(QuorumKind)), st.integers(1, 5))
def test_non_voting_states_never_change_the_verdict(
    situation: tuple[tuple[str, ...], dict[str, CheckState], set[str]],
    kind: QuorumKind,
    count: int,
) -> None:
    names, seen, lost = situation
    quorum = Quorum(kind, count)
    since = dict.fromkeys(lost, T0)
    verdict = voting_verdict("c", states(**seen), names, quorum, since, T0)
    flipped = {n: (K if s is not K else F) if n in lost else s for n, s in seen.items()}
    again = voting_verdict("c", states(**flipped), names, quorum, since, T0)
    if len(lost) < len(names):
        assert verdict.state is again.state
        assert set(verdict.locations) <= set(names) - lost


@settings(max_examples=300, deadline=None)
@given(situations(), st.integers(0, 90))
def test_a_check_is_held_only_while_nobody_votes_and_at_most_30_minutes(
    situation: tuple[tuple[str, ...], dict[str, CheckState], set[str]], minutes: int
) -> None:
    names, _, lost = situation
    since = {n: T0 + timedelta(minutes=i) for i, n in enumerate(sorted(lost))}
    now = T0 + timedelta(minutes=minutes)
    result = ballot(names, since, now)
    everyone_lost = lost == set(names)
    last = max(since.values(), default=T0)
    assert result.held == (everyone_lost and now - last < MAX_SUPPRESSION)
    assert result.voting  # always someone's states to read
    if not everyone_lost:
        assert set(result.voting) == set(names) - lost


def test_one_location_is_the_old_canary_rule() -> None:
    lost = {"oslo": T0}
    assert ballot(("oslo",), lost, T0 + timedelta(minutes=29)).held
    assert not ballot(("oslo",), lost, T0 + timedelta(minutes=30)).held
