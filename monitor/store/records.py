"""Values that go into and come out of the store: frozen, slotted, typed.

The store keeps what it is given and returns what it kept; it decides nothing. Which
transition happened, whether an incident may be acknowledged, when a notification is due:
those are decided by `evaluate`, `incidents` and `notify`, and handed over as these values.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple

from monitor.model import CheckState, ErrorCode, IncidentStatus, Level, ProbeResult, Verdict

# ------------------------------------------------------------------------ check and site


@dataclass(frozen=True, slots=True)
class CheckStatus:
    """A check's confirmed state at one location, with the counters that confirm it.

    `location` is the probing location; the engine may keep the quorum-combined state
    under a location name of its choosing (e.g. `"*"`).
    """

    check_id: str
    location: str
    state: CheckState
    since: datetime  # when `state` began
    updated_at: datetime
    failures: int = 0  # consecutive failed probes
    degraded: int = 0  # consecutive degraded probes
    successes: int = 0  # consecutive ok probes
    last_verdict: Verdict | None = None
    last_error: ErrorCode | None = None
    last_probe_at: datetime | None = None
    last_total: float | None = None  # seconds
    bad: int = 0  # consecutive failed-or-degraded probes
    first_bad_at: datetime | None = None  # when the current bad episode began


@dataclass(frozen=True, slots=True)
class CheckChange:
    """A check changed its confirmed state at one location."""

    check_id: str
    location: str
    at: datetime
    old: CheckState
    new: CheckState
    error: ErrorCode | None = None
    detail: str = ""
    id: int = 0  # assigned by the store


class Sample(NamedTuple):
    """One latency sample of a check's baseline, as the journal keeps it: `seq` counts
    the check's samples; `in_incident` is what the baseline was told when it observed it.
    A named tuple, not a dataclass: one is made per successful result, and a tuple of
    plain values costs less to build and nothing to the garbage collector."""

    check_id: str
    seq: int
    at: datetime
    seconds: float
    in_incident: bool


@dataclass(frozen=True, slots=True)
class SiteStatus:
    """A site's current level (None: up) and the incident that covers it, if any."""

    site_id: str
    level: Level | None
    since: datetime
    updated_at: datetime
    incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class SiteChange:
    site_id: str
    at: datetime
    old: Level | None
    new: Level | None
    id: int = 0


# ------------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True)
class Evidence:
    """A failed or degraded probe and what it saw (response excerpt, headers, certificate)."""

    result: ProbeResult
    evidence: str = ""
    id: int = 0


@dataclass(frozen=True, slots=True)
class RecentResult:
    """One entry of a check's ring of recent results (for the UI sparkline and table)."""

    check_id: str
    seq: int  # per check, increasing; the ring keeps the newest N
    location: str
    started_at: datetime
    verdict: Verdict
    total: float  # seconds
    error: ErrorCode | None = None
    status_code: int | None = None
    detail: str = ""


# ------------------------------------------------------------------------------ incidents


@dataclass(frozen=True, slots=True)
class Incident:
    """An incident row. `id` and `version` are assigned by the store.

    Every update is a compare-and-set on `version`: a writer that read version 3 can only
    write if the row is still at version 3, and the row then moves to version 4.
    `data` is opaque text (JSON) owned by `monitor.incidents` for state the store need not
    query (escalation progress, last customer email, affected checks...).
    """

    case_number: str
    site_id: str
    customer_id: str
    level: Level
    status: IncidentStatus
    opened_at: datetime
    updated_at: datetime
    description: str = ""
    respond_by: datetime | None = None
    paging_started_at: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    parent_id: int | None = None  # e.g. the mass-outage or dependency incident
    flapping: bool = False
    data: str = "{}"
    id: int = 0
    version: int = 0


class EventKind(StrEnum):
    """What happened on an incident's timeline. The kind and the typed fields of
    `IncidentEvent` say what happened; its text is for people and is never parsed."""

    OPENED = "opened"
    REOPENED = "reopened"
    LEVEL_CHANGED = "level_changed"  # level, previous_level
    RECOVERED = "recovered"  # nothing fails any more
    RELAPSED = "relapsed"  # failing again before it resolved
    ACKNOWLEDGED = "acknowledged"
    NOTE = "note"
    PAGED = "paged"  # recipient, channel
    CUSTOMER_EMAILED = "customer_emailed"  # recipient, channel
    FLAPPING = "flapping"
    LINKED = "linked"  # ref: the case this one belongs to
    AFFECTED = "affected"  # ref: the site affected by this case
    MAINTENANCE_STARTED = "maintenance_started"  # paging paused
    MAINTENANCE_ENDED = "maintenance_ended"  # paging resumed
    SILENCED = "silenced"
    UNSILENCED = "unsilenced"
    RESOLVED = "resolved"
    CUSTOMER_REPORT = "customer_report"  # a customer's report joined this case (ref: its id)
    CUSTOMER_MESSAGE = "customer_message"  # a customer wrote to the case by email


@dataclass(frozen=True, slots=True)
class IncidentEvent:
    """One timeline entry. `level`/`previous_level` belong to LEVEL_CHANGED, `ref` to
    LINKED (a case) and AFFECTED (a site id), `recipient`/`channel` to PAGED and
    CUSTOMER_EMAILED; they are None elsewhere."""

    incident_id: int
    at: datetime
    actor: str  # person id, "vakt", "customer", "pagerduty"...
    kind: EventKind
    text: str = ""
    public: bool = False  # shown on the status page and in customer emails
    id: int = 0
    level: Level | None = None
    previous_level: Level | None = None
    ref: str | None = None
    recipient: str | None = None
    channel: str | None = None


# ------------------------------------------------------------------ maintenance, silences


@dataclass(frozen=True, slots=True)
class MaintenanceWindow:
    """A maintenance window added at run time (CLI, API, UI); config windows live in config."""

    sites: tuple[str, ...]  # patterns: `customer/site`, `customer/*`
    start: datetime
    end: datetime
    reason: str
    created_by: str
    created_at: datetime
    ended_at: datetime | None = None  # ended early by hand
    id: int = 0


class SilenceScope(StrEnum):
    SITE = "site"
    CUSTOMER = "customer"
    CHECK = "check"


@dataclass(frozen=True, slots=True)
class Silence:
    scope: SilenceScope
    target: str  # site id, customer id or check id
    start: datetime
    end: datetime
    reason: str
    created_by: str
    created_at: datetime
    ended_at: datetime | None = None
    id: int = 0


# --------------------------------------------------------------------------------- outbox


class OutboxStatus(StrEnum):
    PENDING = "pending"  # waiting for `due_at`, or claimed under a lease
    SENT = "sent"
    FAILED = "failed"  # permanently; `vakt notifications retry` makes it pending again
    CANCELLED = "cancelled"  # no longer wanted before it was sent; `cancel_reason` says why


class AttemptOutcome(StrEnum):
    SENT = "sent"
    RETRY = "retry"  # transient failure, tried again later
    FAILED = "failed"  # permanent failure


@dataclass(frozen=True, slots=True)
class OutboxKey:
    """The deterministic dedupe key: the same notification planned twice is stored once.

    `subject` is a case number, a digest id or a warning id; `slot` is e.g. `"1:0"`
    (escalation step 1, repeat 0) or an update slot.
    """

    subject: str
    kind: str
    slot: str
    recipient: str
    channel: str

    def __str__(self) -> str:
        return "/".join((self.subject, self.kind, self.slot, self.recipient, self.channel))


@dataclass(frozen=True, slots=True)
class Notification:
    """A notification to deliver. `payload` is opaque to the store (the notify layer's JSON)."""

    key: OutboxKey
    created_at: datetime
    due_at: datetime
    payload: str = "{}"
    incident_id: int | None = None


@dataclass(frozen=True, slots=True)
class OutboxItem:
    """A stored notification with its delivery state (`cancel_reason`: why a CANCELLED row
    was no longer wanted, e.g. "case VAKT-2026-000042 was acknowledged by alice")."""

    id: int
    key: OutboxKey
    status: OutboxStatus
    created_at: datetime
    due_at: datetime
    payload: str
    incident_id: int | None
    attempts: int
    lease_owner: str | None
    lease_until: datetime | None
    sent_at: datetime | None
    last_error: str
    cancel_reason: str = ""


@dataclass(frozen=True, slots=True)
class Attempt:
    """One delivery attempt: when, how long, how it went."""

    outbox_id: int
    at: datetime
    duration: timedelta
    outcome: AttemptOutcome
    worker: str
    error: str = ""
    id: int = 0


# ------------------------------------------------------------------------------ retention


class Retained(StrEnum):
    """What retention may delete, each by its own time column."""

    RESULTS = "results"  # failed/degraded results with evidence, by started_at
    CHECK_CHANGES = "check_changes"  # by at
    SITE_CHANGES = "site_changes"  # by at
    AGGREGATES = "aggregates"  # by bucket start
    OUTBOX = "outbox"  # sent, failed or cancelled notifications (and attempts), by created_at


# ----------------------------------------------------------------------------- intake


class RequestStatus(StrEnum):
    """Where a customer's report stands."""

    TRIAGE = "triage"  # from a stranger (or unauthenticated mail): the team decides
    OPEN = "open"  # a customer-reported case of its own, resolved by a person
    JOINED = "joined"  # it joined the monitoring case of a site that really is down
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class CustomerRequest:
    """A report from a customer, as stored. `case_number`: its own case (OPEN, RESOLVED;
    JOINED after the probes confirmed a failure, with `joined_case`), or the monitoring
    case it joined at once (JOINED, `joined_case` the same); None in triage."""

    submitted_at: datetime
    source: str  # "form", "api" or "email"
    customer_id: str
    site_id: str | None
    name: str
    email: str
    description: str
    urgent: bool
    language: str
    status: RequestStatus
    case_number: str | None = None
    priority: str | None = None
    respond_by: datetime | None = None
    resolve_by: datetime | None = None
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    message_id: str | None = None
    probe_until: datetime | None = None  # the site's checks are watched for it until then
    probed: bool = False  # the site's checks were asked to run now
    joined_case: str | None = None  # the monitoring case it joined (status JOINED)
    id: int = 0


@dataclass(frozen=True, slots=True)
class CaseMessage:
    """What a customer wrote to a case by email (for the team; never re-sent)."""

    case_number: str
    at: datetime
    sender: str
    subject: str
    text: str
    message_id: str
    id: int = 0
