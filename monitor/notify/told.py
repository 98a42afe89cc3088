"""What a delivered notification adds to its cases' timelines: one home for the typed
`paged` / `customer_emailed` events the incident page shows ("who was told, by which
channel, when").

The dispatcher calls `told_events` for the rows it settles as sent, in the transaction
that marks them sent, so a timeline never says someone was told when the row is not sent,
nor misses a send that committed. A page names its case by `incident_id`; a digest names
several, by the case numbers in its payload.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from monitor.notify.message import MessageKind, Payload, PayloadError
from monitor.store import EventKind, IncidentEvent, OutboxItem, Transaction

ACTOR = "vakt"


def told_kind(kind: str) -> EventKind | None:
    """The timeline kind of a delivered notification of `kind` (an outbox key's kind);
    None for what tells no one about a case (warnings, maintenance, tests, the
    acknowledged and recovered notices that follow a page)."""
    try:
        message = MessageKind(kind)
    except ValueError:
        return None
    if message in (MessageKind.PAGE, MessageKind.DIGEST):
        return EventKind.PAGED
    if message.value.startswith("customer_"):
        return EventKind.CUSTOMER_EMAILED
    return None


async def _incident_ids(tx: Transaction, item: OutboxItem) -> list[int]:
    if item.incident_id is not None:
        return [item.incident_id]
    if item.key.kind != MessageKind.DIGEST.value:
        return []
    try:
        payload = Payload.from_json(item.payload)
    except PayloadError:
        return []
    found = [await tx.incidents.by_case(entry.case) for entry in payload.incidents]
    return [incident.id for incident in found if incident is not None]


async def told_events(
    tx: Transaction, delivered: Sequence[tuple[OutboxItem, datetime]]
) -> list[IncidentEvent]:
    """The timeline events of `delivered` (each row with the time it was sent)."""
    out: list[IncidentEvent] = []
    for item, at in delivered:
        kind = told_kind(item.key.kind)
        if kind is None:
            continue
        text = "in a digest" if item.key.kind == MessageKind.DIGEST.value else ""
        out.extend(
            IncidentEvent(
                incident_id,
                at,
                ACTOR,
                kind,
                text,
                recipient=item.key.recipient,
                channel=item.key.channel,
            )
            for incident_id in await _incident_ids(tx, item)
        )
    return out
