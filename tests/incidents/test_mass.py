"""Mass outages: many sites failing within the window open one Level A incident."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from monitor.config.records import MassOutage
from monitor.incidents import (
    MASS_SITE,
    EventKind,
    Incident,
    IncidentKind,
    decide_mass_outage,
    with_case,
)
from monitor.model import CheckState, IncidentStatus, Level
from tests.evaluate.builders import T0, check, site
from tests.incidents.harness import Harness

RULE = MassOutage(sites=3, within=timedelta(minutes=2), escalation="default")
MINUTE = timedelta(minutes=1)


def site_incident(site_id: str, minute: float, case: int) -> Incident:
    h = Harness(site=site([check("home", site=site_id)], site_id=site_id))
    at = T0 + timedelta(minutes=minute)
    decision = h.tick(at, home=CheckState.FAILING)
    assert decision.incident is not None
    return with_case(decision.incident, f"VAKT-2026-{case:06d}")


def test_three_sites_within_two_minutes_open_one_level_a_mass_outage() -> None:
    sites = [site_incident(f"c{i}/web", i * 0.5, i) for i in range(1, 4)]
    decision = decide_mass_outage(sites, None, RULE, T0 + 2 * MINUTE)
    mass = decision.incident
    assert mass is not None
    assert decision.needs_case_number
    assert (mass.kind, mass.level, mass.site_id) == (IncidentKind.MASS_OUTAGE, Level.A, MASS_SITE)
    assert decision.link == ("c1/web", "c2/web", "c3/web")
    assert mass.description == "3 sites failed within 2 min: c1/web, c2/web, c3/web."


def test_two_sites_are_not_a_mass_outage() -> None:
    sites = [site_incident(f"c{i}/web", i * 0.5, i) for i in range(1, 3)]
    assert decide_mass_outage(sites, None, RULE, T0 + 2 * MINUTE).incident is None


def test_sites_failing_further_apart_than_the_window_are_not_a_mass_outage() -> None:
    sites = [site_incident(f"c{i}/web", i * 1.5, i) for i in range(1, 4)]
    assert decide_mass_outage(sites, None, RULE, T0 + 5 * MINUTE).incident is None


def test_without_a_mass_outage_rule_nothing_opens() -> None:
    sites = [site_incident(f"c{i}/web", 0, i) for i in range(1, 6)]
    assert decide_mass_outage(sites, None, None, T0).incident is None


def test_one_site_counts_once() -> None:
    sites = [site_incident("c1/web", 0, 1), site_incident("c1/web", 0.5, 2)]
    sites.append(site_incident("c2/web", 1, 3))
    assert decide_mass_outage(sites, None, RULE, T0 + MINUTE).incident is None


def opened_mass() -> tuple[Incident, list[Incident]]:
    sites = [site_incident(f"c{i}/web", i * 0.5, i) for i in range(1, 4)]
    decision = decide_mass_outage(sites, None, RULE, T0 + 2 * MINUTE)
    assert decision.incident is not None
    mass = with_case(decision.incident, "VAKT-2026-000100")
    return mass, [replace(s, linked_to=mass.case) for s in sites]


def test_a_site_failing_later_is_linked_to_the_open_mass_outage() -> None:
    mass, sites = opened_mass()
    late = site_incident("c9/web", 4, 9)
    decision = decide_mass_outage([*sites, late], mass, RULE, T0 + 4 * MINUTE)
    assert decision.link == ("c9/web",)
    assert decision.incident is not None
    assert decision.incident.affected[-1] == "c9/web"
    assert [e.kind for e in decision.events] == [EventKind.AFFECTED]


def test_the_mass_outage_stays_open_while_a_linked_site_is_open() -> None:
    mass, sites = opened_mass()
    decision = decide_mass_outage(sites, mass, RULE, T0 + 10 * MINUTE)
    assert decision.incident == mass
    assert decision.events == ()


def test_the_mass_outage_resolves_when_every_linked_site_resolved() -> None:
    mass, sites = opened_mass()
    closed = [replace(s, status=IncidentStatus.RESOLVED) for s in sites]
    decision = decide_mass_outage(closed, mass, RULE, T0 + 10 * MINUTE)
    assert decision.incident is not None
    assert decision.incident.status is IncidentStatus.RESOLVED
    assert [e.kind for e in decision.events] == [EventKind.RESOLVED]


def test_a_mass_outage_without_its_case_number_is_left_alone() -> None:
    mass, _ = opened_mass()
    unnumbered = replace(mass, case=None)
    assert decide_mass_outage([], unnumbered, RULE, T0 + 10 * MINUTE).incident == unnumbered
