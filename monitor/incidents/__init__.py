"""The incident state machine: pure, with `now` passed in; the engine persists its output.

decision = decide(track, assessment, context, open_incident, last_closed, now, rules)
if decision.needs_case_number:
    incident = with_case(decision.incident, format_case_number(prefix, year, n))
"""

from monitor.incidents.actions import acknowledge, link, link_affected, note, resolve_by_hand
from monitor.incidents.casenumber import (
    CaseNumber,
    case_year,
    format_case_number,
    parse_case_number,
)
from monitor.incidents.describe import describe
from monitor.incidents.machine import decide, with_case
from monitor.incidents.mass import MASS_SITE, MassDecision, decide_mass_outage
from monitor.incidents.values import (
    SYSTEM,
    Decision,
    DependencyStatus,
    Event,
    EventKind,
    Incident,
    IncidentKind,
    RespondBy,
    Rules,
    SiteContext,
    SiteTrack,
    no_deadline,
)

__all__ = [
    "MASS_SITE",
    "SYSTEM",
    "CaseNumber",
    "Decision",
    "DependencyStatus",
    "Event",
    "EventKind",
    "Incident",
    "IncidentKind",
    "MassDecision",
    "RespondBy",
    "Rules",
    "SiteContext",
    "SiteTrack",
    "acknowledge",
    "case_year",
    "decide",
    "decide_mass_outage",
    "describe",
    "format_case_number",
    "link",
    "link_affected",
    "no_deadline",
    "note",
    "parse_case_number",
    "resolve_by_hand",
    "with_case",
]
