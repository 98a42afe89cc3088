"""The engine's memory: per-(check, location) state, baselines and per-site memory.

Kept in memory for speed and durable in the flush's transaction that changed it
(DESIGN.md 8, rule 1): check states when they change (or carry a streak), each site's
memory when it changed, every latency sample in the `baseline_samples` journal (the
baselines themselves are written by the engine's compaction steps, a slice of the
changed ones at a time, and a journal row deleted once all its samples are in them).
`load` rebuilds it exactly after a restart from `check_states`, the latest evidence,
`engine_memory`, the journal and the unresolved incidents.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, MutableMapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from monitor.config.records import SlowRule
from monitor.evaluate import LatencyBaseline, LocationState
from monitor.incidents import SiteTrack
from monitor.model import CheckState, Level, ProbeResult, Verdict
from monitor.store import CheckStatus, Sample, Transaction

log = logging.getLogger(__name__)

BASELINE = "baseline"
SITE = "site"
VOTE = "vote"
"""`engine_memory` scope of each location's vote: key the location, data `vote_to_json`."""
_BAD = (CheckState.FAILING, CheckState.DEGRADED)
_NO_TRACK = SiteTrack()


@dataclass(slots=True)
class SiteMemory:
    """What the engine remembers about a site between evaluations.

    `case` is its open incident's case number (None: none open); `level` its last
    assessed level; `slow` whether a slow finding was present at the last look.
    """

    track: SiteTrack = field(default_factory=SiteTrack)
    level: Level | None = None
    since: datetime | None = None
    case: str | None = None
    slow: bool = False
    warnings: frozenset[str] = frozenset()

    @property
    def quiet(self) -> bool:
        """Nothing to remember: no track, level, since, case, slow finding or warning
        (what a site that never had a level has, and what `Memory` keeps no entry for)."""
        return (
            self.case is None
            and self.level is None
            and self.since is None
            and not self.slow
            and not self.warnings
            and self.track == _NO_TRACK
        )

    def to_json(self) -> str:
        track = self.track
        return json.dumps(
            {
                "failing_since": _iso(track.failing_since),
                "hold_until": _iso(track.hold_until),
                "affected_by": track.affected_by,
                "level": None if self.level is None else self.level.value,
                "since": _iso(self.since),
                "slow": self.slow,
                "warnings": sorted(self.warnings),
            },
            separators=(",", ":"),
        )

    @classmethod
    def from_json(cls, text: str) -> SiteMemory:
        data = json.loads(text)
        track = SiteTrack(
            failing_since=_time(data.get("failing_since")),
            hold_until=_time(data.get("hold_until")),
            affected_by=data.get("affected_by"),
        )
        level = data.get("level")
        return cls(
            track=track,
            level=None if level is None else Level(level),
            since=_time(data.get("since")),
            slow=bool(data.get("slow", False)),
            warnings=frozenset(data.get("warnings", ())),
        )


class LocationStates(MutableMapping[str, LocationState]):
    """One check's state at each location (location -> state).

    Nearly every check is probed from one location, and there is one of these per check:
    that one location and its state are kept in two slots (56 bytes), not in a dict (184
    bytes for one entry: 18 MB at 100,000 checks). A second location moves them all into
    a dict.
    """

    __slots__ = ("_more", "_name", "_state")

    def __init__(self) -> None:
        self._name: str | None = None
        self._state: LocationState | None = None
        self._more: dict[str, LocationState] | None = None

    def get(self, key: str, default: Any = None) -> Any:  # the engine's per-result read
        if key == self._name:
            return self._state
        more = self._more
        return default if more is None else more.get(key, default)

    def __getitem__(self, key: str) -> LocationState:
        if key == self._name and self._state is not None:
            return self._state
        if self._more is None:
            raise KeyError(key)
        return self._more[key]

    def __setitem__(self, key: str, state: LocationState) -> None:
        more = self._more
        if more is not None:
            more[key] = state
        elif self._name is None or key == self._name:
            self._name, self._state = key, state
        else:
            assert self._state is not None
            self._more = {self._name: self._state, key: state}
            self._name = self._state = None

    def __delitem__(self, key: str) -> None:
        if key == self._name:
            self._name = self._state = None
        elif self._more is None:
            raise KeyError(key)
        else:
            del self._more[key]

    def __iter__(self) -> Iterator[str]:
        if self._more is not None:
            return iter(self._more)
        return iter(() if self._name is None else (self._name,))

    def __len__(self) -> int:
        if self._more is not None:
            return len(self._more)
        return 0 if self._name is None else 1

    def __repr__(self) -> str:
        return f"LocationStates({dict(self.items())!r})"


@dataclass(slots=True)
class Memory:
    """All of it. `locations` is check id -> location -> state (as `assess_site` reads)."""

    locations: dict[str, LocationStates] = field(default_factory=dict)
    baselines: dict[str, LatencyBaseline] = field(default_factory=dict)
    sites: dict[str, SiteMemory] = field(default_factory=dict)
    seq: dict[str, int] = field(default_factory=dict)  # check id -> its last sample's seq
    replayed: set[str] = field(default_factory=set)  # checks with journaled samples on load
    votes: dict[str, datetime | None] = field(default_factory=dict)  # location -> lost since

    def site(self, site_id: str) -> SiteMemory:
        """The site's memory; a quiet one (`SiteMemory.quiet`) is not kept: a blank one."""
        memory = self.sites.get(site_id)
        return SiteMemory() if memory is None else memory

    def adopt(self, site_id: str, memory: SiteMemory) -> None:
        """Keep the site's memory, unless it is quiet: nearly every site is, and a blank
        memory is 136 bytes a site (with its track), kept for nothing."""
        if memory.quiet:
            self.sites.pop(site_id, None)
        else:
            self.sites[site_id] = memory


def to_status(
    check_id: str,
    location: str,
    state: LocationState,
    at: datetime,
    probe: ProbeResult | None = None,
) -> CheckStatus:
    """The stored row of one location's state. `probe`: the result that made the row be
    written, whose time and latency it records as the last probe's (so a check shows its
    latency from its first probe); else the last bad result's (the evidence)."""
    evidence = state.evidence
    newest = probe or evidence
    return CheckStatus(
        check_id=check_id,
        location=location,
        state=state.state,
        since=state.since or at,
        updated_at=at,
        failures=state.failed,
        degraded=state.degraded,
        successes=state.good,
        last_verdict=None if evidence is None else evidence.verdict,
        last_error=None if evidence is None else evidence.error,
        last_probe_at=None if newest is None else newest.started_at,
        last_total=None if newest is None else newest.timings.total,
        bad=state.bad,
        first_bad_at=state.first_bad_at,
    )


def from_status(status: CheckStatus) -> LocationState:
    """A location's state from its stored row (rows written before migration 0040 lack
    the mixed bad streak and the episode's start: the longer of the failed and degraded
    streaks, and the time the state was entered, stand in for them)."""
    first_bad_at = status.first_bad_at
    if first_bad_at is None and status.state in _BAD:
        first_bad_at = status.since
    return LocationState(
        state=status.state,
        failed=status.failures,
        bad=max(status.bad, status.failures, status.degraded),
        degraded=status.degraded,
        good=status.successes,
        since=status.since,
        first_bad_at=first_bad_at,
    )


async def load(tx: Transaction, slow: Mapping[str, SlowRule] | None = None) -> Memory:
    """Rebuild the memory from the store (at startup). `slow` is each check's slow rule:
    the journal's samples are replayed over the checkpointed baselines with it."""
    memory = Memory()
    for status in await tx.checks.load():
        state = from_status(status)
        if status.state in _BAD or status.last_verdict not in (None, Verdict.OK):
            latest = await tx.results.evidence(status.check_id, limit=1)
            if latest and latest[0].result.location == status.location:
                state = replace(state, evidence=latest[0].result)
        states = memory.locations.get(status.check_id)
        if states is None:
            states = memory.locations[status.check_id] = LocationStates()
        states[status.location] = state
    for check_id, text in (await tx.memory.load(BASELINE)).items():
        try:
            memory.seq[check_id], memory.baselines[check_id] = baseline_from_json(text)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("engine.baseline_unreadable", extra={"check": check_id, "error": str(exc)})
    replay(memory, await tx.memory.samples(), slow or {})
    for site_id, text in (await tx.memory.load(SITE)).items():
        try:
            memory.adopt(site_id, SiteMemory.from_json(text))
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("engine.site_memory_unreadable", extra={"site": site_id, "error": str(exc)})
    for incident in await tx.incidents.unresolved():
        memory.sites[incident.site_id] = replace(
            memory.site(incident.site_id), case=incident.case_number
        )
    memory.votes = await read_votes(tx)
    return memory


def baseline_to_json(seq: int, baseline: LatencyBaseline) -> str:
    """A baseline's checkpoint: it holds the check's samples up to `seq`."""
    return json.dumps({"seq": seq, "baseline": baseline.to_json()}, separators=(",", ":"))


def baseline_from_json(text: str) -> tuple[int, LatencyBaseline]:
    """`baseline_to_json`'s `(seq, baseline)` (a checkpoint without `seq` holds none)."""
    data: Any = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a baseline checkpoint must be a JSON object")
    if "baseline" not in data:
        return 0, LatencyBaseline.from_json(data)
    return int(data["seq"]), LatencyBaseline.from_json(data["baseline"])


def replay(memory: Memory, samples: list[Sample], slow: Mapping[str, SlowRule]) -> None:
    """Observe the journal's samples newer than each baseline's checkpoint, in order:
    the baseline is then exactly what it was when the last of them was committed."""
    for sample in samples:
        rule = slow.get(sample.check_id)
        if sample.seq <= memory.seq.get(sample.check_id, 0):
            continue
        memory.seq[sample.check_id] = sample.seq  # the next sample's seq follows it
        if rule is None:
            continue
        memory.replayed.add(sample.check_id)
        baseline = memory.baselines.get(sample.check_id) or LatencyBaseline()
        memory.baselines[sample.check_id] = baseline.observe(
            sample.at, sample.seconds, rule, in_incident=sample.in_incident
        )


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


async def read_votes(tx: Transaction) -> dict[str, datetime | None]:
    """Each judged location -> since when it has no vote (None: it votes), as the leader's
    last flush stored it (`vakt cluster status`, `/cluster`, a start)."""
    votes: dict[str, datetime | None] = {}
    for location, text in sorted((await tx.memory.load(VOTE)).items()):
        try:
            votes[location] = vote_from_json(text)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("engine.vote_unreadable", extra={"location": location, "error": str(exc)})
    return votes


def vote_to_json(lost_since: datetime | None) -> str:
    """A location's stored vote: `voting`, and since when it has none."""
    return json.dumps(
        {"voting": lost_since is None, "lost_since": _iso(lost_since)}, separators=(",", ":")
    )


def vote_from_json(text: str) -> datetime | None:
    data: Any = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("a stored vote must be a JSON object")
    return _time(data["lost_since"])
