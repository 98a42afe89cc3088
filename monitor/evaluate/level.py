"""A site's level from its checks' verdicts (DESIGN.md section 4, Levels).

- Level A: an `outage` check is failing, or more than half of the site's `outage` +
  `function` checks, and at least two, are failing.
- Level B: a `function` check is failing, any `outage`/`function` check is degraded, or
  a check is slow against its own baseline.
- `warning` checks never set a level: they are reported as warnings for the team.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from monitor.config.records import Check, Site
from monitor.evaluate.baseline import SlowFinding
from monitor.evaluate.checkstate import CheckVerdict
from monitor.model import CheckState, Impact, Level

_BAD = (CheckState.FAILING, CheckState.DEGRADED)


@dataclass(frozen=True, slots=True)
class SiteAssessment:
    """Everything the incident state machine needs to know about one site right now.

    `states` holds the verdict state of every check of the site (UNKNOWN when there is
    none yet). `failing`, `degraded` and `warnings` are in the site's check order.
    """

    site_id: str
    level: Level | None
    failing: tuple[CheckVerdict, ...] = ()
    degraded: tuple[CheckVerdict, ...] = ()
    slow: tuple[SlowFinding, ...] = ()
    warnings: tuple[CheckVerdict, ...] = ()
    states: Mapping[str, CheckState] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def recovered(self) -> bool:
        """No outage/function check failing or degraded, and none slow."""
        return self.level is None

    @property
    def involved(self) -> frozenset[str]:
        """Ids of the outage/function checks that are failing, degraded or slow."""
        ids = {v.check_id for v in self.failing} | {v.check_id for v in self.degraded}
        return frozenset(ids | {s.check_id for s in self.slow})

    def all_ok(self, check_ids: Collection[str]) -> bool:
        """True when every one of `check_ids` is confirmed ok (its `recover` counter met)."""
        return all(self.states.get(cid) is CheckState.OK for cid in check_ids)


def site_level(
    site: Site,
    verdicts: Mapping[str, CheckVerdict],
    slow: Collection[SlowFinding] = (),
) -> SiteAssessment:
    """Assess `site` from its checks' verdicts (keyed by check id) and slow findings.

    A check without a verdict is unknown, which never raises a level. Slow findings
    for `warning` checks are ignored.
    """
    counted = [c for c in site.checks if c.impact is not Impact.WARNING]
    by_id = {c.id: c for c in site.checks}
    states = {c.id: _verdict(verdicts, c).state for c in site.checks}
    failing = tuple(_verdict(verdicts, c) for c in counted if states[c.id] is CheckState.FAILING)
    degraded = tuple(_verdict(verdicts, c) for c in counted if states[c.id] is CheckState.DEGRADED)
    warnings = tuple(
        _verdict(verdicts, c)
        for c in site.checks
        if c.impact is Impact.WARNING and states[c.id] in _BAD
    )
    slow_counted = tuple(
        s for s in slow if s.check_id in by_id and by_id[s.check_id].impact is not Impact.WARNING
    )
    level = _level(counted, by_id, failing, bool(degraded or slow_counted))
    return SiteAssessment(
        site_id=site.id,
        level=level,
        failing=failing,
        degraded=degraded,
        slow=slow_counted,
        warnings=warnings,
        states=MappingProxyType(states),
    )


def _verdict(verdicts: Mapping[str, CheckVerdict], check: Check) -> CheckVerdict:
    return verdicts.get(check.id) or CheckVerdict(check.id, CheckState.UNKNOWN)


def _level(
    counted: list[Check],
    by_id: Mapping[str, Check],
    failing: tuple[CheckVerdict, ...],
    degraded_or_slow: bool,
) -> Level | None:
    if any(by_id[v.check_id].impact is Impact.OUTAGE for v in failing):
        return Level.A
    if len(failing) >= 2 and 2 * len(failing) > len(counted):
        return Level.A
    if failing or degraded_or_slow:
        return Level.B
    return None
