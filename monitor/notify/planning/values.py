"""What the planner reads and what it produces.

A `Planned` notification is the pure twin of the store's `Notification` row: a dedupe key
`(subject, kind, slot, recipient, channel)`, a due time and a `Payload`. The same
notification planned again (on every tick) gets the same key, so the store's
on-conflict-do-nothing insert keeps exactly one.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from monitor.incidents import Incident
from monitor.notify.message import EvidenceLine, MessageKind, Payload

EMAIL = "email"
"""The built-in channel: the recipient's own email address."""

TEAM = "team"
"""The recipient id of the team (`settings.email.team`)."""


@dataclass(frozen=True, slots=True)
class Key:
    """The dedupe key; mirrors `monitor.store.OutboxKey` field for field.

    `subject`: a case number, digest id, warning id or maintenance id; `recipient`:
    `person:<id>`, `team`, or `contact:<email>`.
    """

    subject: str
    kind: str
    slot: str
    recipient: str
    channel: str

    def __str__(self) -> str:
        return "/".join((self.subject, self.kind, self.slot, self.recipient, self.channel))


@dataclass(frozen=True, slots=True)
class Planned:
    """One notification the planner says is due (at `due_at`, at or before `now`)."""

    key: Key
    due_at: datetime
    payload: Payload
    incident_id: int | None = None

    @property
    def kind(self) -> MessageKind:
        return self.payload.kind


@dataclass(frozen=True, slots=True)
class CaseView:
    """One incident as the planner sees it.

    - `incident`: the state machine's value; its `timeline` should hold every event of the
      case (acknowledgements, level changes, pauses, silences, links, flapping). Where an
      event is missing the planner falls back on the incident's fields.
    - `incident_id`: the store row id, copied onto the outbox rows.
    - `approved_at`: when an engineer approved the first customer email
      (`customer_emails: approve`); None: not approved.
    - `public_note`: the latest public note, quoted in customer updates.
    - `evidence`: what the failing checks saw, for pages.
    - `reported`: a customer-reported case (`monitor.notify.stored.from_report`): paged,
      warned about and SLA-marked like a monitoring case of its level, but no customer
      emails (the reporter got a receipt) and its page links to the queue's case page.
    """

    incident: Incident
    incident_id: int | None = None
    approved_at: datetime | None = None
    public_note: str = ""
    evidence: tuple[EvidenceLine, ...] = ()
    reported: bool = False


@dataclass(frozen=True, slots=True)
class WindowView:
    """One occurrence of a maintenance window, with the site ids it covers.

    `id` is stable (a config window's id plus its start for recurring ones, or `mw-<row id>`
    for a run-time window); `ended_at` is set when it was ended early.
    """

    id: str
    site_ids: tuple[str, ...]
    start: datetime
    end: datetime
    reason: str = ""
    announce: datetime | None = None  # when to announce it (None: not announced)
    ended_at: datetime | None = None

    @property
    def finished_at(self) -> datetime:
        return self.end if self.ended_at is None else min(self.end, self.ended_at)


def short_hash(*parts: str) -> str:
    """A stable 16-hex-digit id from text parts (digest ids, token nonces)."""
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]
