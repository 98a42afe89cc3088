"""What every planning step needs: the config, its contracts, `now`, and lookups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from monitor.config.records import (
    Config,
    Customer,
    Escalation,
    EscalationStep,
    LevelPolicy,
    Mailbox,
    Site,
    Target,
    TargetKind,
)
from monitor.incidents import Incident, IncidentKind
from monitor.model import Level
from monitor.notify.planning.timeline import Era
from monitor.notify.planning.values import TEAM, Key, short_hash
from monitor.notify.tokens import ack_url, issue_token
from monitor.policy import BusinessClock
from monitor.policy.contracts import Contracts

TEAM_ONLY: Final = Escalation(
    name="team",
    steps=(
        EscalationStep(after=timedelta(), notify=(Target(TargetKind.TEAM, TEAM),), via=("email",)),
    ),
)
"""Who is paged when a customer (or the mass-outage rule) names no escalation."""


@dataclass(frozen=True, slots=True)
class Context:
    config: Config
    contracts: Contracts
    now: datetime
    ack_ttl: timedelta

    # ------------------------------------------------------------------ lookups

    def customer(self, incident: Incident) -> Customer | None:
        if incident.customer_id is None:
            return None
        return self.config.customers.get(incident.customer_id)

    def site(self, incident: Incident) -> Site | None:
        return self.config.site(incident.site_id)

    def site_label(self, incident: Incident) -> str:
        site = self.site(incident)
        if site is not None:
            return site.label
        customer = self.customer(incident)
        if not incident.site_id and customer is not None:  # a report naming no site
            return customer.name
        return "all sites" if incident.kind is IncidentKind.MASS_OUTAGE else incident.site_id

    def check_labels(self, incident: Incident) -> tuple[str, ...]:
        """The display names of the site's checks that failed during the case, in the
        config's order (what customer emails name; never a URL)."""
        site = self.site(incident)
        if site is None:
            return ()
        return tuple(check.label for check in site.checks if check.id in incident.checks)

    def level_policy(self, incident: Incident, level: Level) -> LevelPolicy | None:
        if incident.policy is None or incident.policy not in self.config.policies:
            return None
        return self.config.policies[incident.policy].levels.get(level)

    def technical_details(self, incident: Incident) -> bool:
        """Whether the case's policy lets customer emails carry internals."""
        policy = self.config.policies.get(incident.policy or "")
        return policy is not None and policy.technical_details

    def clock(self, incident: Incident) -> BusinessClock | None:
        if incident.policy is None or incident.policy not in self.config.policies:
            return None
        return self.contracts.clock(incident.policy)

    def escalation(self, incident: Incident) -> Escalation:
        """The customer's escalation, `mass_outage.escalation` for a mass outage, or the
        team when none is named (or the name is unknown)."""
        name: str | None
        if incident.kind is IncidentKind.MASS_OUTAGE:
            mass = self.config.settings.paging.mass_outage
            name = None if mass is None else mass.escalation
        else:
            customer = self.customer(incident)
            name = None if customer is None else customer.escalation
        if name is None:
            return TEAM_ONLY
        return self.config.escalations.get(name, TEAM_ONLY)

    def paging_starts(self, incident: Incident, era: Era) -> datetime | None:
        """When the era's paging starts (`page: business_hours` waits for the opening);
        None for `page: never`."""
        if incident.policy is None or incident.policy not in self.config.policies:
            return era.began
        return self.contracts.paging_starts(incident.policy, era.level, era.began)

    def sla_warning_at(self, incident: Incident, era: Era) -> datetime | None:
        """When the era's SLA warning falls (never after respond-by), if there is an SLA."""
        if incident.policy is None or incident.policy not in self.config.policies:
            return None
        if era.level not in self.config.policies[incident.policy].levels:
            return None
        warn = self.contracts.sla(incident.policy, era.level, era.began).warn_at
        if incident.respond_by is not None:
            warn = min(warn, incident.respond_by)
        return warn

    # --------------------------------------------------------------- addresses

    def address(self, recipient: str) -> tuple[Mailbox | None, str]:
        """(mailbox for email, greeting name) of `person:<id>`, `team` or `contact:<email>`.
        Name and address stay apart (DESIGN.md 8.5): the envelope goes to the address."""
        kind, _, ident = recipient.partition(":")
        if kind == "person":
            person = self.config.people.get(ident)
            if person is None:
                return None, ident
            return person.mailbox, person.name
        if kind == "contact":
            return Mailbox(ident), ident
        return self.config.settings.email.team, "team"

    @property
    def has_team(self) -> bool:
        return self.config.settings.email.team is not None

    def case_link(self, case: str, reported: bool = False) -> str:
        """The case's page in the team UI (`settings.web_url`): `/incidents/CASE`, or
        `/queue/CASE` for a customer-reported case."""
        page = "queue" if reported else "incidents"
        return f"{self.config.settings.web_url.rstrip('/')}/{page}/{case}"

    def ack_link(self, key: Key, cases: tuple[str, ...], person: str, due: datetime) -> str | None:
        """A signed acknowledge URL for `person`; None without `settings.secret`. The token
        id derives from the key, so re-planning yields the same link."""
        secret = self.config.settings.secret
        if not secret or not cases:
            return None
        token = issue_token(
            secret, cases, person, due + self.ack_ttl, nonce=short_hash(str(key), *cases)
        )
        return ack_url(self.config.settings.public_url, token)
