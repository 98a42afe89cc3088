"""A check's confirmed state at one location, and across locations (quorum).

DESIGN.md section 4, Levels: a check is *failing* at a location after `confirm`
consecutive failed probes, *degraded* after `confirm` consecutive bad (failed or
degraded) probes, and *ok* again after `recover` consecutive successes. Heartbeat and
certificate checks need no confirmation. Across locations a check is failing when
`quorum` of its locations say so (the engine passes the *voting* ones: `evaluate.vote`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.config.records import Check, Quorum
from monitor.model import CheckState, CheckType, ProbeResult, Verdict

_UNCONFIRMED_TYPES = frozenset({CheckType.HEARTBEAT, CheckType.TLS})


@dataclass(frozen=True, slots=True)
class LocationState:
    """What one location has concluded about one check so far (persisted by the engine).

    `failed`, `bad` and `good` are the current streaks of failed, failed-or-degraded and
    ok probes. `since` is when `state` was entered; `first_bad_at` is when the current
    bad episode began (the "since" in descriptions; kept until a confirmed recovery);
    `evidence` is the latest bad probe.
    """

    state: CheckState = CheckState.UNKNOWN
    failed: int = 0
    bad: int = 0
    degraded: int = 0
    good: int = 0
    since: datetime | None = None
    first_bad_at: datetime | None = None
    evidence: ProbeResult | None = None


def confirmations(check: Check) -> int:
    """How many consecutive bad probes confirm a failure (1 for heartbeats and TLS)."""
    return 1 if check.type in _UNCONFIRMED_TYPES else max(1, check.confirm)


def recoveries(check: Check) -> int:
    """How many consecutive successes confirm a recovery (1 for heartbeats and TLS)."""
    return 1 if check.type in _UNCONFIRMED_TYPES else max(1, check.recover)


def step(state: LocationState, result: ProbeResult, check: Check) -> LocationState:
    """The location's state after one more probe result. Pure.

    A result that is no evidence about the target (Vakt's own trouble: `local_resource`,
    `internal`) leaves the state as it was: DESIGN.md trust rule 4.
    """
    if not result.is_evidence:
        return state
    if result.verdict is Verdict.OK:
        return _after_ok(state, result, check)
    first_bad_at = state.first_bad_at or result.started_at
    if result.verdict is Verdict.FAILED:
        counted = replace(
            state,
            failed=state.failed + 1,
            bad=state.bad + 1,
            degraded=0,
            good=0,
            first_bad_at=first_bad_at,
            evidence=result,
        )
        return _settle(counted, _state_after_failed(counted, check), result.started_at)
    counted = replace(
        state,
        failed=0,
        bad=state.bad + 1,
        degraded=state.degraded + 1,
        good=0,
        first_bad_at=first_bad_at,
        evidence=result,
    )
    return _settle(counted, _state_after_degraded(counted, check), result.started_at)


def rearm(state: LocationState) -> LocationState:
    """Forget every streak, so a new failure needs a fresh confirmation.

    Used after a manual resolve while the site still fails (DESIGN.md: it re-arms
    detection).
    """
    return LocationState()


def _after_ok(state: LocationState, result: ProbeResult, check: Check) -> LocationState:
    if state.state is CheckState.OK and state.first_bad_at is None:
        # The steady state (ok after ok): only the success streak moves; one copy, not two.
        return replace(state, failed=0, bad=0, degraded=0, good=state.good + 1)
    counted = replace(state, failed=0, bad=0, degraded=0, good=state.good + 1)
    recovered = state.state in (CheckState.UNKNOWN, CheckState.OK) or (
        counted.good >= recoveries(check)
    )
    if not recovered:
        return counted
    # Only a confirmed recovery ends the episode that `first_bad_at` dates.
    return _settle(replace(counted, first_bad_at=None), CheckState.OK, result.started_at)


def _state_after_failed(counted: LocationState, check: Check) -> CheckState:
    if counted.failed >= confirmations(check):
        return CheckState.FAILING
    if counted.state in (CheckState.OK, CheckState.UNKNOWN) and counted.bad >= confirmations(check):
        # A confirmed run of mixed failed and degraded probes is at least degraded.
        return CheckState.DEGRADED
    return counted.state


def _state_after_degraded(counted: LocationState, check: Check) -> CheckState:
    if counted.state is CheckState.FAILING:
        # Failing -> degraded is a partial recovery: it takes the recover counter.
        return CheckState.DEGRADED if counted.degraded >= recoveries(check) else counted.state
    if counted.bad >= confirmations(check):
        return CheckState.DEGRADED
    return counted.state


def _settle(counted: LocationState, new: CheckState, at: datetime) -> LocationState:
    if new is counted.state:
        return counted
    return replace(counted, state=new, since=at)


# --------------------------------------------------------------------------- quorum


@dataclass(frozen=True, slots=True)
class CheckVerdict:
    """A check's state across its locations.

    `locations` are the locations that agree on a failing or degraded state (empty
    otherwise); `since` is the earliest start of their bad streaks; `evidence` is the
    latest bad probe of the first agreeing location, by name.
    """

    check_id: str
    state: CheckState
    locations: tuple[str, ...] = ()
    since: datetime | None = None
    evidence: ProbeResult | None = None


def needed(quorum: Quorum, locations: int) -> int:
    """Locations that must agree, clamped to 1..locations (a count above it means all)."""
    return max(1, min(quorum.needed(locations), locations))


def check_verdict(
    check_id: str,
    states: Mapping[str, LocationState],
    locations: Sequence[str],
    quorum: Quorum,
) -> CheckVerdict:
    """Combine per-location states: failing when `quorum` of `locations` say failing.

    A check that a quorum calls failing-or-degraded, but not failing, is degraded. A
    location with no state yet counts as not agreeing. With no verdict from a quorum,
    the check is ok when any location says ok, else unknown.
    """
    names = tuple(locations) or tuple(sorted(states))
    if not names:
        return CheckVerdict(check_id, CheckState.UNKNOWN)
    want = needed(quorum, len(names))
    known = {name: states[name] for name in sorted(names) if name in states}
    failing = [n for n, s in known.items() if s.state is CheckState.FAILING]
    if len(failing) >= want:
        return _agreeing(check_id, CheckState.FAILING, failing, known)
    bad = [n for n, s in known.items() if s.state in (CheckState.FAILING, CheckState.DEGRADED)]
    if len(bad) >= want:
        return _agreeing(check_id, CheckState.DEGRADED, bad, known)
    if any(s.state is CheckState.OK for s in known.values()):
        return CheckVerdict(check_id, CheckState.OK)
    return CheckVerdict(check_id, CheckState.UNKNOWN)


def _agreeing(
    check_id: str, state: CheckState, names: list[str], known: Mapping[str, LocationState]
) -> CheckVerdict:
    starts = [t for t in (known[n].first_bad_at or known[n].since for n in names) if t]
    return CheckVerdict(
        check_id,
        state,
        locations=tuple(names),
        since=min(starts) if starts else None,
        evidence=known[names[0]].evidence,
    )
