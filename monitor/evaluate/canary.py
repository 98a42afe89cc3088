"""Canaries: is it the customers' sites, or Vakt's own network?

DESIGN.md: canaries (if configured) fail together with a large share of customer
checks: one "Vakt lost connectivity" alert instead of customer incidents, for at most
30 minutes. After that, customer incidents open as usual (a real, wide outage must
not stay hidden behind a canary).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.model import CheckState

DEFAULT_SHARE = 0.5
MAX_SUPPRESSION = timedelta(minutes=30)


@dataclass(frozen=True, slots=True)
class Connectivity:
    """Vakt's own connectivity, as judged at `now`. Persisted between evaluations.

    `lost_since` is set while canaries and customer checks fail together. `suppressing`
    is True while customer incidents are held (at most `MAX_SUPPRESSION`). `alert` is
    True only on the evaluation that detected the loss; `restored` only on the one that
    saw it end.
    """

    lost_since: datetime | None = None
    suppressing: bool = False
    alert: bool = False
    restored: bool = False


def assess_connectivity(
    previous: Connectivity,
    canaries: Collection[CheckState],
    customer_checks: Collection[CheckState],
    now: datetime,
    *,
    share: float = DEFAULT_SHARE,
    max_suppression: timedelta = MAX_SUPPRESSION,
) -> Connectivity:
    """Judge connectivity from the canaries' and the customer checks' states.

    Lost when a majority of the canaries fail and at least `share` of the customer
    checks with a known state are failing. Without canaries nothing is ever lost. No
    canary with a known state yet (after a start, before their probes confirm) is no
    evidence: a loss judged before goes on, from its start (a restart changes nothing).
    """
    unknown = all(s is CheckState.UNKNOWN for s in canaries)
    if previous.lost_since is not None and canaries and unknown:
        since = previous.lost_since
        return Connectivity(lost_since=since, suppressing=now - since < max_suppression)
    if not _lost(canaries, customer_checks, share):
        return Connectivity(restored=previous.lost_since is not None)
    since = previous.lost_since or now
    return Connectivity(
        lost_since=since,
        suppressing=now - since < max_suppression,
        alert=previous.lost_since is None,
    )


def _lost(
    canaries: Collection[CheckState], customer_checks: Collection[CheckState], share: float
) -> bool:
    if not canaries:
        return False
    failing_canaries = sum(1 for s in canaries if s is CheckState.FAILING)
    if 2 * failing_canaries <= len(canaries):
        return False
    known = [s for s in customer_checks if s is not CheckState.UNKNOWN]
    failing = sum(1 for s in known if s is CheckState.FAILING)
    return bool(known) and failing >= share * len(known)
