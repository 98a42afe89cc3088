"""Incident values: the incident record, its timeline events, and what `decide` returns.

All immutable. The engine persists `Decision.incident` (compare-and-set on its version
in the store) and hands `Decision.events` to the notification planner.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum

from monitor.config.records import Customer, FlappingSettings, Site
from monitor.model import IncidentStatus, Level

SYSTEM = "vakt"
"""The actor of every event Vakt itself causes (people act under their person id)."""


class IncidentKind(StrEnum):
    SITE = "site"
    MASS_OUTAGE = "mass_outage"  # many sites failed at once: probably infrastructure


class EventKind(StrEnum):
    """Timeline entries; the planner reacts to them (pages, customer emails)."""

    OPENED = "opened"
    REOPENED = "reopened"  # same case, no new "down" email to customers
    LEVEL_CHANGED = "level_changed"
    RECOVERED = "recovered"  # nothing fails any more; resolves once every check recovered
    RELAPSED = "relapsed"  # failing again after recovering, before it resolved
    RESOLVED = "resolved"
    ACKNOWLEDGED = "acknowledged"
    NOTED = "noted"
    FLAPPING = "flapping"  # pages stop; the team gets one warning
    LINKED = "linked"  # this incident belongs to another (mass outage, dependency)
    AFFECTED = "affected"  # another site is affected by this incident
    PAUSED = "paused"  # a maintenance window started: paging paused
    RESUMED = "resumed"  # the window ended
    SILENCED = "silenced"
    UNSILENCED = "unsilenced"


@dataclass(frozen=True, slots=True)
class Event:
    """One timeline entry: what happened, when, and who did it.

    `ref` names the other party of LINKED (a case) and AFFECTED (a site id).
    """

    kind: EventKind
    at: datetime
    actor: str = SYSTEM
    text: str = ""
    level: Level | None = None
    previous_level: Level | None = None
    ref: str | None = None


@dataclass(frozen=True, slots=True)
class Incident:
    """A case, as the seeds require it recorded.

    `case` is None until the engine assigns one from the store's sequence. `checks` is
    every outage/function check that was failing, degraded or slow during the case: the
    case resolves when all of them are confirmed ok again. `changes` are the times of
    recent state changes (for flapping). `linked_to` is the case this one belongs to
    (mass outage or dependency): it pages no one itself. `affected` are site ids linked
    to this one. `paused` (maintenance) and `silenced` stop pages and customer emails.
    """

    site_id: str  # "*" for a mass outage
    customer_id: str | None  # None for a mass outage
    kind: IncidentKind
    case: str | None
    level: Level
    status: IncidentStatus
    opened_at: datetime
    contact: str | None  # the primary contact for people to read (`str(Mailbox)`), never sent to
    description: str
    policy: str | None  # the customer's policy name, for SLA clocks
    respond_by: datetime | None
    checks: frozenset[str] = frozenset()
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    recovered_at: datetime | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    reopenable: bool = True  # False after a manual resolve while still failing
    flapping: bool = False
    changes: tuple[datetime, ...] = ()
    linked_to: str | None = None
    affected: tuple[str, ...] = ()
    paused: bool = False
    silenced: bool = False
    timeline: tuple[Event, ...] = ()

    @property
    def is_open(self) -> bool:
        return self.status is not IncidentStatus.RESOLVED

    @property
    def failed_at(self) -> datetime:
        """When the site last started failing in this case (its opening or reopening)."""
        starts = [e.at for e in self.timeline if e.kind in _STARTS]
        return max(starts) if starts else self.opened_at


_STARTS = (EventKind.OPENED, EventKind.REOPENED)


@dataclass(frozen=True, slots=True)
class SiteTrack:
    """Per-site memory between evaluations (persisted by the engine).

    `failing_since`: since when the site has continuously had a level. `hold_until`: no
    incident of its own opens before this (a dependency's interval). `affected_by`: the
    dependency case this site is currently linked to as affected.
    """

    failing_since: datetime | None = None
    hold_until: datetime | None = None
    affected_by: str | None = None


@dataclass(frozen=True, slots=True)
class DependencyStatus:
    """A site this one `depends_on`: its open incident's case (None: not down), and the
    interval of its checks (how long this site's own incident is held)."""

    site_id: str
    case: str | None
    interval: timedelta


@dataclass(frozen=True, slots=True)
class SiteContext:
    """Facts about a site at `now` that are not its checks (not persisted here)."""

    site: Site
    customer: Customer
    in_maintenance: bool = False
    silenced: bool = False
    connectivity_lost: bool = False  # no location of the site votes: none opens or resolves
    dependencies: tuple[DependencyStatus, ...] = ()


RespondBy = Callable[[str, Level, datetime], datetime | None]
"""`respond_by(policy_name, level, at)`: the deadline for a response from `at`, or None.

The seam for `monitor.policy` (business clocks); the engine injects it."""


def no_deadline(policy: str, level: Level, at: datetime) -> datetime | None:
    """A `RespondBy` for when no SLA clock is wired in."""
    return None


@dataclass(frozen=True, slots=True)
class Rules:
    """The settings `decide` applies: flapping, the respond-by seam, the zone for times
    in descriptions."""

    flapping: FlappingSettings = field(default_factory=FlappingSettings)
    respond_by: RespondBy = no_deadline
    timezone: tzinfo = UTC


@dataclass(frozen=True, slots=True)
class Decision:
    """What one step of the state machine decided.

    - `incident`: the new value to persist (None: no incident is involved); when its
      `case` is None (`needs_case_number`) the engine assigns one with `with_case`.
    - `events`: the entries just added to the timeline (or, with no incident, site-level
      events such as AFFECTED), for the planner.
    - `track`: the site's new memory (from `decide` only; actions leave it default and
      the engine keeps the stored one).
    - `rearm`: check ids whose location states the engine resets (`evaluate.rearm`), so a
      new case needs a fresh confirmation.
    - `affects`: a dependency's case to which the engine links this site as affected
      (`link_affected` on that incident).
    """

    incident: Incident | None = None
    events: tuple[Event, ...] = ()
    track: SiteTrack = field(default_factory=SiteTrack)
    rearm: frozenset[str] = frozenset()
    affects: str | None = None

    @property
    def needs_case_number(self) -> bool:
        return self.incident is not None and self.incident.case is None
