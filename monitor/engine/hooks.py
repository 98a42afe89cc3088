"""What the engine tells an observer (the metrics hub) while it works.

The engine calls these from the event loop; each call must be cheap and must not raise.
`monitor.metrics.MetricsHub` satisfies `EngineObserver` structurally, so the engine
never imports the metrics module.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from monitor.config.records import Check
from monitor.engine.planner import Change
from monitor.incidents import EventKind
from monitor.model import CheckState, Impact, Level, ProbeResult


class EngineObserver(Protocol):
    def observe_probe(self, result: ProbeResult, lateness: float) -> None: ...

    def observe_check(self, result: ProbeResult) -> None: ...

    def set_check_level(self, check_id: str, level: Level | None) -> None: ...

    def incident_opened(self, level: Level) -> None: ...

    def incident_reopened(self, level: Level) -> None: ...

    def incident_resolved(self, level: Level) -> None: ...

    def set_location_voting(self, location: str, voting: bool) -> None: ...


class NullObserver:
    """Observes nothing."""

    __slots__ = ()

    def observe_probe(self, result: ProbeResult, lateness: float) -> None:
        return None

    def observe_check(self, result: ProbeResult) -> None:
        return None

    def set_check_level(self, check_id: str, level: Level | None) -> None:
        return None

    def incident_opened(self, level: Level) -> None:
        return None

    def incident_reopened(self, level: Level) -> None:
        return None

    def incident_resolved(self, level: Level) -> None:
        return None

    def set_location_voting(self, location: str, voting: bool) -> None:
        return None


def check_level(check: Check, state: CheckState) -> Level | None:
    """The level one check's state alone puts its site at (the DESIGN.md level rules):
    a failing outage check is A; a failing function check, or a degraded outage or
    function check, is B; warning checks never set a level."""
    if check.impact is Impact.WARNING or state is CheckState.OK:
        return None
    if state is CheckState.FAILING and check.impact is Impact.OUTAGE:
        return Level.A
    return Level.B


def report_changes(observer: EngineObserver, changes: Sequence[Change]) -> None:
    """Count cases opened, reopened and resolved by committed changes."""
    for change in changes:
        level = change.incident.level
        for event in change.decision.events:
            if event.kind is EventKind.OPENED:
                observer.incident_opened(level)
            elif event.kind is EventKind.REOPENED:
                observer.incident_reopened(level)
            elif event.kind is EventKind.RESOLVED:
                observer.incident_resolved(level)
