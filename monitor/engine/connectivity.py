"""Canaries in the flush: is it the customers' sites, or Vakt's own network?

`settings.canaries` are probed like checks (`monitor.probes.canary`, scheduled by app.py
under the reserved customer `_canary`). Each flush the engine judges its connectivity
with the pure `evaluate.assess_connectivity` from the canaries' states and the states of
every customer check: while canaries and a large share of customer checks fail together,
no customer incident opens (`SiteContext.connectivity_lost`), for at most 30 minutes,
and the team gets ONE "Vakt lost connectivity" warning per loss.

The judgement lives in memory only: after a restart during a loss, the loss is detected
again (and warned about again, under the new start time).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor.config.records import Check, Quorum, QuorumKind, Site
from monitor.evaluate import Connectivity, LocationState, assess_connectivity, check_verdict
from monitor.model import CheckState

_ANY_LOCATION = Quorum(QuorumKind.MAJORITY)

States = Mapping[str, Mapping[str, LocationState]]


class ConnectivityWatch:
    """Keeps the last judgement; `assess` gives the next one, `adopt` keeps it once the
    flush that acted on it committed."""

    __slots__ = ("_canaries", "_current")

    def __init__(self, canaries: Iterable[Check]) -> None:
        self._canaries = tuple(c.id for c in canaries)
        self._current = Connectivity()

    @property
    def current(self) -> Connectivity:
        return self._current

    @property
    def configured(self) -> bool:
        return bool(self._canaries)

    def reload(self, canaries: Iterable[Check]) -> None:
        self._canaries = tuple(c.id for c in canaries)
        if not self._canaries:
            self._current = Connectivity()

    def assess(self, states: States, sites: Iterable[Site], now: datetime) -> Connectivity:
        """The judgement at `now` (not kept: see `adopt`). Without canaries: all is well."""
        if not self._canaries:
            return Connectivity()
        canaries = [
            check_verdict(cid, states.get(cid, {}), (), _ANY_LOCATION).state
            for cid in self._canaries
        ]
        customers = list(_customer_states(states, sites))
        return assess_connectivity(self._current, canaries, customers, now)

    def adopt(self, judged: Connectivity) -> None:
        self._current = judged


def _customer_states(states: States, sites: Iterable[Site]) -> Iterable[CheckState]:
    for site in sites:
        for check in site.checks:
            yield check_verdict(
                check.id, states.get(check.id, {}), site.locations, site.quorum
            ).state
