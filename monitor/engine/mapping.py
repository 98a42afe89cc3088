"""`monitor.incidents.Incident` (the state machine's value) <-> `monitor.store.Incident` (the row).

The row keeps what people and queries need as columns (case, level, status, times,
flapping); the rest of the machine's value goes into the row's opaque `data` JSON
(kind, contact, policy, involved checks, recovery, flapping change times, links, pause
and silence flags). The machine's full timeline lives in `incident_events`; the row
keeps only when the site last started failing in the case (`failed_at`), which is all
the machine reads back from the timeline.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from monitor.incidents import Event, Incident, IncidentKind
from monitor.incidents import EventKind as MachineEvent
from monitor.store import EventKind as StoredEvent
from monitor.store import Incident as StoredIncident
from monitor.store import IncidentEvent

FORMAT = 1

# The store's timeline kinds are coarser than the machine's: these share a stored kind,
# and the event's text says which it was.
_EVENT_KINDS: Mapping[MachineEvent, StoredEvent] = {
    MachineEvent.OPENED: StoredEvent.OPENED,
    MachineEvent.REOPENED: StoredEvent.REOPENED,
    MachineEvent.LEVEL_CHANGED: StoredEvent.LEVEL_CHANGED,
    MachineEvent.RECOVERED: StoredEvent.LEVEL_CHANGED,
    MachineEvent.RELAPSED: StoredEvent.LEVEL_CHANGED,
    MachineEvent.RESOLVED: StoredEvent.RESOLVED,
    MachineEvent.ACKNOWLEDGED: StoredEvent.ACKNOWLEDGED,
    MachineEvent.NOTED: StoredEvent.NOTE,
    MachineEvent.FLAPPING: StoredEvent.FLAPPING,
    MachineEvent.LINKED: StoredEvent.LINKED,
    MachineEvent.AFFECTED: StoredEvent.LINKED,
    MachineEvent.PAUSED: StoredEvent.MAINTENANCE,
    MachineEvent.RESUMED: StoredEvent.MAINTENANCE,
    MachineEvent.SILENCED: StoredEvent.SILENCED,
    MachineEvent.UNSILENCED: StoredEvent.SILENCED,
}

_DEFAULT_TEXT: Mapping[MachineEvent, str] = {
    MachineEvent.RECOVERED: "recovered: nothing fails any more",
    MachineEvent.RELAPSED: "failing again",
    MachineEvent.PAUSED: "maintenance started: paging paused",
    MachineEvent.RESUMED: "maintenance ended: paging resumed",
    MachineEvent.SILENCED: "silenced: nobody is paged",
    MachineEvent.UNSILENCED: "silence ended",
}


def to_record(
    incident: Incident, updated_at: datetime, stored: StoredIncident | None = None
) -> StoredIncident:
    """The row for `incident`. `stored` is the row it was read from (keeps id, version,
    paging start and parent); None for a new incident. Raises ValueError without a case."""
    if incident.case is None:
        raise ValueError("an incident needs its case number before it is stored")
    return StoredIncident(
        case_number=incident.case,
        site_id=incident.site_id,
        customer_id=incident.customer_id or "",
        level=incident.level,
        status=incident.status,
        opened_at=incident.opened_at,
        updated_at=updated_at,
        description=incident.description,
        respond_by=incident.respond_by,
        paging_started_at=None if stored is None else stored.paging_started_at,
        acknowledged_at=incident.acknowledged_at,
        acknowledged_by=incident.acknowledged_by,
        resolved_at=incident.resolved_at,
        resolved_by=incident.resolved_by,
        parent_id=None if stored is None else stored.parent_id,
        flapping=incident.flapping,
        data=json.dumps(_data(incident), separators=(",", ":"), sort_keys=True),
        id=0 if stored is None else stored.id,
        version=0 if stored is None else stored.version,
    )


def from_record(row: StoredIncident) -> Incident:
    """The machine's value of a stored row. Raises ValueError on unreadable `data`."""
    data = _load(row.data)
    kind = IncidentKind(data.get("kind", IncidentKind.SITE.value))
    failed_at = _time(data.get("failed_at")) or row.opened_at
    start = MachineEvent.OPENED if failed_at == row.opened_at else MachineEvent.REOPENED
    return Incident(
        site_id=row.site_id,
        customer_id=row.customer_id or None,
        kind=kind,
        case=row.case_number,
        level=row.level,
        status=row.status,
        opened_at=row.opened_at,
        contact=_str(data.get("contact")),
        description=row.description,
        policy=_str(data.get("policy")),
        respond_by=row.respond_by,
        checks=frozenset(_strs(data.get("checks"))),
        acknowledged_at=row.acknowledged_at,
        acknowledged_by=row.acknowledged_by,
        recovered_at=_time(data.get("recovered_at")),
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        reopenable=bool(data.get("reopenable", True)),
        flapping=row.flapping,
        changes=tuple(t for t in (_time(v) for v in _list(data.get("changes"))) if t),
        linked_to=_str(data.get("linked_to")),
        affected=tuple(_strs(data.get("affected"))),
        paused=bool(data.get("paused", False)),
        silenced=bool(data.get("silenced", False)),
        timeline=(Event(start, failed_at),),
    )


def event_records(
    incident_id: int, events: Iterable[Event], *, public: bool = False
) -> list[IncidentEvent]:
    """Timeline rows for the machine's events (machine kinds the store lacks are folded
    into the nearest stored kind, and their text says which)."""
    return [
        IncidentEvent(
            incident_id=incident_id,
            at=e.at,
            actor=e.actor,
            kind=_EVENT_KINDS[e.kind],
            text=_text(e),
            public=public,
        )
        for e in events
    ]


def _text(event: Event) -> str:
    text = event.text or _DEFAULT_TEXT.get(event.kind, "")
    if event.kind is MachineEvent.LEVEL_CHANGED and event.level is not None:
        before = event.previous_level.value if event.previous_level else "none"
        return text or f"level {before} -> {event.level.value}"
    if event.ref and event.kind in (MachineEvent.LINKED, MachineEvent.AFFECTED):
        return f"{text} ({event.ref})" if text else event.ref
    return text


def _data(incident: Incident) -> dict[str, Any]:
    return {
        "v": FORMAT,
        "kind": incident.kind.value,
        "contact": incident.contact,
        "policy": incident.policy,
        "checks": sorted(incident.checks),
        "recovered_at": _iso(incident.recovered_at),
        "reopenable": incident.reopenable,
        "changes": [t.isoformat() for t in incident.changes],
        "linked_to": incident.linked_to,
        "affected": list(incident.affected),
        "paused": incident.paused,
        "silenced": incident.silenced,
        "failed_at": incident.failed_at.isoformat(),
    }


def _load(text: str) -> dict[str, Any]:
    try:
        data = json.loads(text or "{}")
    except json.JSONDecodeError as exc:
        raise ValueError(f"unreadable incident data: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError("incident data must be a JSON object")
    return data


def _iso(at: datetime | None) -> str | None:
    return None if at is None else at.isoformat()


def _time(value: object) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def _str(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _list(value: object) -> Sequence[object]:
    return value if isinstance(value, list) else ()


def _strs(value: object) -> list[str]:
    return [v for v in _list(value) if isinstance(v, str)]
