"""An incident's timeline in words: each typed event (and each notification cancelled
before it went) as one sentence a person reads, never a raw kind such as
`level_changed`."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from monitor.config.records import Person
from monitor.store import CaseMessage, EventKind, IncidentEvent, OutboxItem, OutboxStatus


@dataclass(frozen=True, slots=True)
class Entry:
    at: datetime
    words: str  # what happened, as a sentence
    detail: str = ""  # the event's own text (a note, a reason), when it adds something
    public: bool = False
    cancelled: bool = False
    subject: str = ""  # a customer's email: its subject (`detail` is its text)
    customer: bool = False  # what the customer wrote (for the team only)


Names = Mapping[str, Person]


def who(name: str | None, people: Names) -> str:
    """`alice`, `person:alice` -> `Alice Hansen`; anything else as written."""
    if not name:
        return "someone"
    if name.startswith("contact:"):  # a customer contact: their address
        return name.partition(":")[2]
    key = name.partition(":")[2] if name.startswith("person:") else name
    person = people.get(key)
    if person is not None:
        return person.name
    return {"vakt": "Vakt", "customer": "the customer", "pagerduty": "PagerDuty"}.get(key, key)


def _level_change(ev: IncidentEvent, people: Names) -> str:
    if ev.level is None or ev.previous_level is None:
        return "Level changed"
    raised = ev.level.value < ev.previous_level.value  # A is more severe than B
    verb = "Raised" if raised else "Lowered"
    return f"{verb} from Level {ev.previous_level.value} to Level {ev.level.value}"


_WORDS: dict[EventKind, Callable[[IncidentEvent, Names], str]] = {
    EventKind.OPENED: lambda ev, p: "Opened",
    EventKind.REOPENED: lambda ev, p: "Reopened: failing again after it resolved",
    EventKind.LEVEL_CHANGED: _level_change,
    EventKind.RECOVERED: lambda ev, p: "Recovered: nothing fails any more",
    EventKind.RELAPSED: lambda ev, p: "Failing again before it resolved",
    EventKind.ACKNOWLEDGED: lambda ev, p: f"Acknowledged by {who(ev.actor, p)}",
    EventKind.NOTE: lambda ev, p: (
        f"Public update by {who(ev.actor, p)}" if ev.public else f"Note by {who(ev.actor, p)}"
    ),
    EventKind.PAGED: lambda ev, p: f"Paged {who(ev.recipient, p)} by {ev.channel or 'email'}",
    EventKind.CUSTOMER_EMAILED: lambda ev, p: (
        f"Emailed the customer ({who(ev.recipient, p)}) by {ev.channel or 'email'}"
    ),
    EventKind.FLAPPING: lambda ev, p: "Marked as flapping: it keeps failing and recovering",
    EventKind.LINKED: lambda ev, p: f"Linked to {ev.ref or 'another case'}",
    EventKind.AFFECTED: lambda ev, p: f"Affects {ev.ref or 'another site'}",
    EventKind.MAINTENANCE_STARTED: lambda ev, p: "Maintenance began: paging paused",
    EventKind.MAINTENANCE_ENDED: lambda ev, p: "Maintenance ended: paging resumed",
    EventKind.SILENCED: lambda ev, p: "Silenced: no pages or customer emails",
    EventKind.UNSILENCED: lambda ev, p: "Silence ended",
    EventKind.RESOLVED: lambda ev, p: f"Resolved by {who(ev.actor, p)}",
}
_MACHINE_TEXT = {EventKind.FLAPPING, EventKind.LEVEL_CHANGED}  # said by the words already


def event_entry(ev: IncidentEvent, people: Names) -> Entry:
    phrase = _WORDS.get(ev.kind)
    words = phrase(ev, people) if phrase else str(ev.kind).replace("_", " ").capitalize()
    detail = "" if ev.kind in _MACHINE_TEXT else ev.text
    return Entry(ev.at, words, detail, ev.public)


def _notification_words(item: OutboxItem, people: Names) -> str:
    key = item.key
    to = who(key.recipient, people)
    if key.kind.startswith("customer"):
        return f"Emailed the customer ({to}) by {key.channel}"
    if key.kind == "page":
        return f"Paged {to} by {key.channel}"
    return f"Sent {key.kind.replace('_', ' ')} to {to} by {key.channel}"


def cancelled_entry(item: OutboxItem, people: Names) -> Entry:
    """A notification that was planned and then not sent, with why (e.g. the case was
    acknowledged first)."""
    words = _notification_words(item, people)
    return Entry(item.due_at, f"Not sent: {words[0].lower()}{words[1:]}", item.cancel_reason,
                 cancelled=True)  # fmt: skip


def message_entry(message: CaseMessage) -> Entry:
    """What a customer wrote to the case by email: sender, subject and text (shown to the
    team only, escaped by the template like every other value)."""
    return Entry(
        message.at,
        f"Customer wrote: {message.sender or 'unknown sender'}",
        message.text,
        subject=message.subject,
        customer=True,
    )


def timeline(
    events: Sequence[IncidentEvent],
    cancelled: Sequence[OutboxItem],
    people: Names,
    messages: Sequence[CaseMessage] = (),
) -> list[Entry]:
    """The case's events, the notifications cancelled before they went and what the
    customer wrote (`messages`), in time order. Who was paged or emailed comes from the
    PAGED/CUSTOMER_EMAILED events only (written when the send was settled,
    `monitor.notify.told`), never from outbox rows. A CUSTOMER_MESSAGE event is said by
    its message's entry (with the text) when the messages are given."""
    said = EventKind.CUSTOMER_MESSAGE if messages else None
    entries = [event_entry(ev, people) for ev in events if ev.kind is not said]
    entries += [message_entry(m) for m in messages]
    entries += [
        cancelled_entry(item, people) for item in cancelled if item.status is OutboxStatus.CANCELLED
    ]
    return sorted(entries, key=lambda e: e.at)
