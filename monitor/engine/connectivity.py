"""Canaries in the flush: is it the customers' sites, or one location's own network?

`settings.canaries` are probed like checks (`monitor.probes.canary`, scheduled by app.py
under the reserved customer `_canary`), in every location that probes. Each flush the
engine judges EACH location separately with the pure `evaluate.assess_connectivity`,
from that location's canary states and that location's states of the customer checks
whose site lists it. A location judged lost (`lost_since` set) has no vote while it
stays lost (`evaluate.vote`): its states neither open nor resolve an incident, a check
is failing when a quorum of its voting locations confirm it, and a check none of whose
locations votes is held (no incident opens) for at most 30 minutes. With one location
(a single instance) that is the canary rule of old: one "Vakt lost connectivity" team
warning, customer incidents held for at most 30 minutes.

The judgement of each location is stored with the flush that changed it (`engine_memory`
scope `vote`), and restored by `restore` at a start or a leader's takeover: a restart
alone changes nothing (the loss keeps its start, and is not warned about again).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from monitor.config.records import Check, Site
from monitor.evaluate import Connectivity, LocationState, assess_connectivity
from monitor.model import CheckState

States = Mapping[str, Mapping[str, LocationState]]
Judged = dict[str, Connectivity]  # location -> its judgement
_UNKNOWN = LocationState()


class ConnectivityWatch:
    """Keeps the last judgement of each location; `assess` gives the next ones, `adopt`
    keeps them once the flush that acted on them committed."""

    __slots__ = ("_canaries", "_current", "_listed")

    def __init__(self, canaries: Iterable[Check], sites: Iterable[Site] = ()) -> None:
        self._canaries: tuple[str, ...] = ()
        self._listed: dict[str, tuple[Site, ...]] = {}
        self._current: Judged = {}
        self.reload(canaries, sites)

    @property
    def current(self) -> Connectivity:
        """All locations at once: lost since the earliest loss, suppressing while any
        lost location is within its 30 minutes (one location: its own judgement)."""
        lost = [c for c in self._current.values() if c.lost_since is not None]
        if not lost:
            return Connectivity()
        return Connectivity(
            lost_since=min(c.lost_since for c in lost if c.lost_since is not None),
            suppressing=any(c.suppressing for c in lost),
        )

    @property
    def by_location(self) -> Mapping[str, Connectivity]:
        return self._current

    @property
    def configured(self) -> bool:
        return bool(self._canaries)

    def lost(self, judged: Mapping[str, Connectivity] | None = None) -> dict[str, datetime]:
        """Location -> since when it has no vote (the current judgement by default)."""
        current = self._current if judged is None else judged
        return {name: c.lost_since for name, c in current.items() if c.lost_since is not None}

    @property
    def locations(self) -> frozenset[str]:
        """The locations the sites list."""
        return frozenset(self._listed)

    def reload(self, canaries: Iterable[Check], sites: Iterable[Site]) -> None:
        self._canaries = tuple(c.id for c in canaries)
        listed: dict[str, list[Site]] = {}
        for site in sites:
            for name in site.locations:
                listed.setdefault(name, []).append(site)
        self._listed = {name: tuple(group) for name, group in listed.items()}
        if not self._canaries:
            self._current = {n: Connectivity() for n in self._current}

    def restore(self, lost_since: Mapping[str, datetime | None]) -> None:
        """The judgements as stored (at a start): lost since then, or voting."""
        self._current = {
            name: Connectivity(lost_since=since, suppressing=since is not None)
            for name, since in lost_since.items()
        }

    def assess(self, states: States, now: datetime) -> Judged:
        """The judgement of every location a site lists, at `now` (not kept: see
        `adopt`). Without canaries every location votes."""
        listed = self._listed
        judged: Judged = {}
        for name in sorted(listed):
            if not self._canaries:
                judged[name] = Connectivity()
                continue
            canaries = [states.get(cid, {}).get(name, _UNKNOWN).state for cid in self._canaries]
            customers = list(_customer_states(states, listed[name], name))
            previous = self._current.get(name, Connectivity())
            judged[name] = assess_connectivity(previous, canaries, customers, now)
        return judged

    def adopt(self, judged: Judged) -> None:
        self._current = judged


def _customer_states(states: States, sites: Iterable[Site], location: str) -> Iterable[CheckState]:
    for site in sites:
        for check in site.checks:
            yield states.get(check.id, {}).get(location, _UNKNOWN).state
