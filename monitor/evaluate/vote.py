"""Quorum over voting locations (issue 20, DESIGN.md section 5).

Each location judges its own connectivity with `assess_connectivity` (from that
location's canaries and that location's customer check states); a location whose
judgement has `lost_since` set has no vote while it stays lost. So one broken probe
site can neither page anyone nor hide a real outage seen elsewhere:

- a check is failing when `quorum` of its *voting* locations confirm it (the quorum is
  counted over the voting ones, clamped as `needed` does); a non-voting location's
  state is ignored;
- with none of a check's locations voting, the check is *held*: no incident opens for
  it and an open one does not resolve. Held at most `MAX_SUPPRESSION` (30 minutes)
  after the last of its locations lost its vote: then every location votes again, so a
  real, wide outage is never hidden for longer. With one location this is exactly the
  canary rule of a single instance (incidents held at most 30 minutes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.config.records import Quorum
from monitor.evaluate.canary import MAX_SUPPRESSION
from monitor.evaluate.checkstate import CheckVerdict, LocationState, check_verdict


@dataclass(frozen=True, slots=True)
class Ballot:
    """Whose states count for a check at `now`: `voting` (never empty when the check has
    locations); `held` while none of its locations votes (within the ceiling)."""

    voting: tuple[str, ...]
    held: bool = False


def ballot(
    locations: Sequence[str],
    lost: Mapping[str, datetime],
    now: datetime,
    *,
    max_suppression: timedelta = MAX_SUPPRESSION,
) -> Ballot:
    """The ballot of a check over `locations`; `lost` is location -> when it lost its
    vote (the locations that vote are not in it)."""
    names = tuple(locations)
    voting = tuple(n for n in names if n not in lost)
    if voting or not names:
        return Ballot(voting)
    last = max(lost[n] for n in names)
    return Ballot(names, held=now - last < max_suppression)


def voting_verdict(
    check_id: str,
    states: Mapping[str, LocationState],
    locations: Sequence[str],
    quorum: Quorum,
    lost: Mapping[str, datetime],
    now: datetime,
) -> CheckVerdict:
    """The check's state across its voting locations (`check_verdict` over the ballot)."""
    return check_verdict(check_id, states, ballot(locations, lost, now).voting, quorum)


__all__ = ["Ballot", "ballot", "voting_verdict"]
