"""The engine's memory: per-(check, location) state, baselines and per-site memory.

Kept in memory for speed and written to the store only when it matters: check states
when they change (or carry a bad streak), the rest at checkpoints. `load` rebuilds it
after a restart from `check_states`, the latest evidence, `engine_memory` and the
unresolved incidents.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime

from monitor.evaluate import LatencyBaseline, LocationState
from monitor.incidents import SiteTrack
from monitor.model import CheckState, Level, Verdict
from monitor.store import CheckStatus, Transaction

log = logging.getLogger(__name__)

BASELINE = "baseline"
SITE = "site"
_BAD = (CheckState.FAILING, CheckState.DEGRADED)


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


@dataclass(slots=True)
class Memory:
    """All of it. `locations` is check id -> location -> state (as `assess_site` reads)."""

    locations: dict[str, dict[str, LocationState]] = field(default_factory=dict)
    baselines: dict[str, LatencyBaseline] = field(default_factory=dict)
    sites: dict[str, SiteMemory] = field(default_factory=dict)

    def site(self, site_id: str) -> SiteMemory:
        memory = self.sites.get(site_id)
        if memory is None:
            memory = self.sites[site_id] = SiteMemory()
        return memory


def to_status(check_id: str, location: str, state: LocationState, at: datetime) -> CheckStatus:
    """The stored row of one location's state."""
    evidence = state.evidence
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
        last_probe_at=None if evidence is None else evidence.started_at,
        last_total=None if evidence is None else evidence.timings.total,
    )


def from_status(status: CheckStatus) -> LocationState:
    """A location's state from its stored row. The exact mixed bad streak and its start
    are not stored: `bad` is taken as the longer of the failed and degraded streaks and
    the episode as starting when the state was entered (bad states only)."""
    bad = max(status.failures, status.degraded)
    return LocationState(
        state=status.state,
        failed=status.failures,
        bad=bad,
        degraded=status.degraded,
        good=status.successes,
        since=status.since,
        first_bad_at=status.since if status.state in _BAD else None,
    )


async def load(tx: Transaction) -> Memory:
    """Rebuild the memory from the store (at startup)."""
    memory = Memory()
    for status in await tx.checks.load():
        state = from_status(status)
        if status.state in _BAD or status.last_verdict not in (None, Verdict.OK):
            latest = await tx.results.evidence(status.check_id, limit=1)
            if latest and latest[0].result.location == status.location:
                state = replace(state, evidence=latest[0].result)
        memory.locations.setdefault(status.check_id, {})[status.location] = state
    for check_id, text in (await tx.memory.load(BASELINE)).items():
        try:
            memory.baselines[check_id] = LatencyBaseline.from_json(json.loads(text))
        except (ValueError, TypeError) as exc:
            log.warning("engine.baseline_unreadable", extra={"check": check_id, "error": str(exc)})
    for site_id, text in (await tx.memory.load(SITE)).items():
        try:
            memory.sites[site_id] = SiteMemory.from_json(text)
        except (ValueError, TypeError, KeyError) as exc:
            log.warning("engine.site_memory_unreadable", extra={"site": site_id, "error": str(exc)})
    for incident in await tx.incidents.unresolved():
        memory.site(incident.site_id).case = incident.case_number
    return memory


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None
