"""A tiny stand-in for the engine: feeds assessments to `decide`, applies decisions to
an in-memory "store", and assigns case numbers from a sequence like the store's."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from monitor.config.records import Customer, Site
from monitor.evaluate.checkstate import CheckVerdict
from monitor.evaluate.level import SiteAssessment, site_level
from monitor.incidents import (
    Decision,
    Event,
    Incident,
    Rules,
    SiteContext,
    SiteTrack,
    decide,
    format_case_number,
    with_case,
)
from monitor.model import CheckState, Level, Verdict
from tests.evaluate.builders import T0, customer, result, shop

A_RESPOND = timedelta(hours=2)
B_RESPOND = timedelta(hours=24)


def respond_by(policy: str, level: Level, at: datetime) -> datetime | None:
    """A wall-clock stand-in for the policy package: A in 2 h, B in 24 h."""
    return at + (A_RESPOND if level is Level.A else B_RESPOND)


RULES = Rules(respond_by=respond_by)


def assess(site: Site, at: datetime, **states: CheckState) -> SiteAssessment:
    """An assessment with evidence: failing checks got HTTP 500 since `at`."""
    verdicts = {}
    for name, state in states.items():
        check_id = f"{site.id}/{name}"
        bad = state in (CheckState.FAILING, CheckState.DEGRADED)
        evidence = (
            result(
                check_id,
                Verdict.FAILED if state is CheckState.FAILING else Verdict.DEGRADED,
                at,
                detail="expected status 200, got 500" if state is CheckState.FAILING else "slow",
                status_code=500,
            )
            if bad
            else None
        )
        verdicts[check_id] = CheckVerdict(
            check_id,
            state,
            locations=("oslo",) if bad else (),
            since=at if bad else None,
            evidence=evidence,
        )
    return site_level(site, verdicts)


@dataclass
class Harness:
    site: Site = field(default_factory=shop)
    rules: Rules = RULES
    prefix: str = "VAKT"
    track: SiteTrack = field(default_factory=SiteTrack)
    incidents: dict[str, Incident] = field(default_factory=dict)  # by case
    sequence: int = 0
    events: list[tuple[str, Event]] = field(default_factory=list)
    rearmed: set[str] = field(default_factory=set)

    @property
    def customer(self) -> Customer:
        return customer(self.site)

    @property
    def open(self) -> Incident | None:
        found = [i for i in self.incidents.values() if i.is_open and i.site_id == self.site.id]
        return found[0] if found else None

    @property
    def last_closed(self) -> Incident | None:
        closed = [i for i in self.incidents.values() if not i.is_open and i.resolved_at]
        return max(closed, key=lambda i: i.resolved_at or T0, default=None)

    def context(self, **flags: object) -> SiteContext:
        return SiteContext(self.site, self.customer, **flags)  # type: ignore[arg-type]

    def tick(
        self, at: datetime, context: SiteContext | None = None, /, **states: CheckState
    ) -> Decision:
        assessment = assess(self.site, at, **states)
        decision = decide(
            self.track,
            assessment,
            context or self.context(),
            self.open,
            self.last_closed,
            at,
            self.rules,
        )
        self.track = decision.track
        return self.apply(decision)

    def apply(self, decision: Decision) -> Decision:
        """Persist a decision as the engine would: case number first, then the row."""
        incident = decision.incident
        if incident is not None and incident.case is None:
            self.sequence += 1
            year = incident.opened_at.year
            incident = with_case(incident, format_case_number(self.prefix, year, self.sequence))
            decision = replace(decision, incident=incident)
        if incident is not None and incident.case is not None:
            self.incidents[incident.case] = incident
            self.events += [(incident.case, e) for e in decision.events]
        self.rearmed |= decision.rearm
        return decision

    def kinds(self) -> list[str]:
        return [e.kind.value for _, e in self.events]
