"""One call from stored per-location states and baselines to a site's assessment, and
the team warnings that started or ended (warning-impact checks notify the team only)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from monitor.config.records import Site
from monitor.evaluate.baseline import LatencyBaseline, SlowFinding
from monitor.evaluate.checkstate import LocationState
from monitor.evaluate.level import SiteAssessment, site_level
from monitor.evaluate.vote import voting_verdict


def assess_site(
    site: Site,
    states: Mapping[str, Mapping[str, LocationState]],
    baselines: Mapping[str, LatencyBaseline],
    now: datetime,
    *,
    lost: Mapping[str, datetime] | None = None,
) -> SiteAssessment:
    """Quorum per check over the site's voting locations (`lost`: location -> since when
    it has no vote; `evaluate.vote`), slow findings from the baselines (when the site has
    a slow rule), then the level. `states` is check id -> location -> state."""
    lost = lost or {}
    verdicts = {
        c.id: voting_verdict(c.id, states.get(c.id, {}), site.locations, site.quorum, lost, now)
        for c in site.checks
    }
    return site_level(site, verdicts, _slow(site, baselines, now))


def _slow(site: Site, baselines: Mapping[str, LatencyBaseline], now: datetime) -> list[SlowFinding]:
    if site.slow is None:
        return []
    findings = (
        baselines[c.id].assess(c.id, now, site.slow) for c in site.checks if c.id in baselines
    )
    return [f for f in findings if f is not None]


@dataclass(frozen=True, slots=True)
class WarningChanges:
    """Warning-impact checks that started or stopped failing/degrading since last time;
    `current` is what the engine keeps for the next comparison."""

    started: frozenset[str]
    ended: frozenset[str]
    current: frozenset[str]


def warning_changes(previous: frozenset[str], assessment: SiteAssessment) -> WarningChanges:
    """Compare the site's current warnings with `previous` (check ids)."""
    # `or _NO_WARNINGS`: an empty frozenset built from an empty generator is a new
    # 216-byte object, kept in every quiet site's memory (21 MB at 100,000 sites).
    current = frozenset(v.check_id for v in assessment.warnings) or _NO_WARNINGS
    return WarningChanges(current - previous, previous - current, current)


_NO_WARNINGS: frozenset[str] = frozenset()
