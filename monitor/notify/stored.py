"""A stored incident (`monitor.store.Incident` and its `IncidentEvent` timeline) <->
the incidents layer's value (`monitor.incidents.Incident`): the one mapping, read by the
engine, the planner tick, the engine's flush and the send-time re-check.

The row keeps what people and queries need as columns (case, level, status, times,
flapping); the rest of the machine's value goes into the row's opaque `data` JSON
(kind, contact, policy, involved checks, recovery, flapping change times, links, pause
and silence flags). The timeline lives in `incident_events`, one stored kind per machine
kind, with typed fields (level and previous level, ref); its text is for people only and
never read back.

Reading is strict: a row whose `data` is not a JSON object, names an incident kind or a
time this release does not know, raises `UnreadableCase` (a ValueError). What a reader does
with it is its own policy; the planner skips the case (never reading it as "not
silenced"), logs `notify.unreadable_case` and warns the team (`monitor.notify.tick`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Final

from monitor.incidents import Event, Incident, IncidentKind
from monitor.incidents import EventKind as MachineEvent
from monitor.incidents.reports import report_level
from monitor.model import IncidentStatus
from monitor.store import CustomerRequest, IncidentEvent, RequestStatus
from monitor.store import EventKind as StoredEvent
from monitor.store import Incident as StoredIncident

FORMAT = 1

_STORED: Final[Mapping[MachineEvent, StoredEvent]] = {
    MachineEvent.OPENED: StoredEvent.OPENED,
    MachineEvent.REOPENED: StoredEvent.REOPENED,
    MachineEvent.LEVEL_CHANGED: StoredEvent.LEVEL_CHANGED,
    MachineEvent.RECOVERED: StoredEvent.RECOVERED,
    MachineEvent.RELAPSED: StoredEvent.RELAPSED,
    MachineEvent.RESOLVED: StoredEvent.RESOLVED,
    MachineEvent.ACKNOWLEDGED: StoredEvent.ACKNOWLEDGED,
    MachineEvent.NOTED: StoredEvent.NOTE,
    MachineEvent.FLAPPING: StoredEvent.FLAPPING,
    MachineEvent.LINKED: StoredEvent.LINKED,
    MachineEvent.AFFECTED: StoredEvent.AFFECTED,
    MachineEvent.PAUSED: StoredEvent.MAINTENANCE_STARTED,
    MachineEvent.RESUMED: StoredEvent.MAINTENANCE_ENDED,
    MachineEvent.SILENCED: StoredEvent.SILENCED,
    MachineEvent.UNSILENCED: StoredEvent.UNSILENCED,
}
_MACHINE: Final[Mapping[StoredEvent, MachineEvent]] = {v: k for k, v in _STORED.items()}
"""Stored kinds the machine has (PAGED and CUSTOMER_EMAILED are not the machine's)."""

_DEFAULT_TEXT: Final[Mapping[MachineEvent, str]] = {
    MachineEvent.RECOVERED: "recovered: nothing fails any more",
    MachineEvent.RELAPSED: "failing again",
    MachineEvent.PAUSED: "maintenance started: paging paused",
    MachineEvent.RESUMED: "maintenance ended: paging resumed",
    MachineEvent.SILENCED: "silenced: nobody is paged",
    MachineEvent.UNSILENCED: "silence ended",
}


class UnreadableCase(ValueError):
    """A stored incident this release cannot read (its `data`, or its timeline)."""

    def __init__(self, row: StoredIncident, reason: str) -> None:
        super().__init__(f"case {row.case_number}: {reason}")
        self.case = row.case_number
        self.reason = reason


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


def from_record(row: StoredIncident, events: Sequence[IncidentEvent] | None = None) -> Incident:
    """The machine's value of a stored row. With `events` (the stored timeline) the value
    carries that timeline; without, only its start (when the site last started failing).
    Raises UnreadableCase on `data` or events this release cannot read."""
    try:
        data = _load(row.data)
        kind = IncidentKind(data.get("kind", IncidentKind.SITE.value))
        failed_at = _time(data.get("failed_at")) or row.opened_at
        changes = tuple(t for t in (_time(v) for v in _list(data.get("changes"))) if t)
        recovered_at = _time(data.get("recovered_at"))
    except (ValueError, TypeError) as exc:
        raise UnreadableCase(row, str(exc)) from exc
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
        recovered_at=recovered_at,
        resolved_at=row.resolved_at,
        resolved_by=row.resolved_by,
        reopenable=bool(data.get("reopenable", True)),
        flapping=row.flapping,
        changes=changes,
        linked_to=_str(data.get("linked_to")),
        affected=tuple(_strs(data.get("affected"))),
        paused=bool(data.get("paused", False)),
        silenced=bool(data.get("silenced", False)),
        timeline=(Event(start, failed_at),) if events is None else timeline_of(events),
    )


def from_report(request: CustomerRequest, policy: str | None) -> Incident:
    """The machine's value of a customer-reported case (an OPEN or RESOLVED report with
    its own case number), so the planner pages, warns and marks its SLA by the rules of
    a monitoring case of the report's level (`report_level`): opened at the submission,
    its answers on the timeline. `policy`: the customer's policy name."""
    level = report_level(request.urgent)
    timeline = [Event(MachineEvent.OPENED, request.submitted_at, level=level)]
    if request.acknowledged_at is not None:
        by = request.acknowledged_by or ""
        timeline.append(Event(MachineEvent.ACKNOWLEDGED, request.acknowledged_at, by))
    if request.resolved_at is not None and request.status is RequestStatus.RESOLVED:
        by = request.resolved_by or ""
        timeline.append(Event(MachineEvent.RESOLVED, request.resolved_at, by))
    if request.status is RequestStatus.RESOLVED:
        status = IncidentStatus.RESOLVED
    elif request.acknowledged_at is not None:
        status = IncidentStatus.ACKNOWLEDGED
    else:
        status = IncidentStatus.OPEN
    return Incident(
        site_id=request.site_id or "",
        customer_id=request.customer_id,
        kind=IncidentKind.SITE,
        case=request.case_number,
        level=level,
        status=status,
        opened_at=request.submitted_at,
        contact=f"{request.name} <{request.email}>",
        description=(
            f"Customer-reported by {request.name} <{request.email}>: {request.description}"
        ),
        policy=policy,
        respond_by=request.respond_by,
        acknowledged_at=request.acknowledged_at,
        acknowledged_by=request.acknowledged_by,
        resolved_at=request.resolved_at if status is IncidentStatus.RESOLVED else None,
        resolved_by=request.resolved_by if status is IncidentStatus.RESOLVED else None,
        reopenable=False,
        timeline=tuple(timeline),
    )


def approved_at(row: StoredIncident) -> datetime | None:
    """When the first customer email was approved, as an older release kept it in `data`
    (the web's approvals table is read first). Raises UnreadableCase like `from_record`."""
    try:
        return _time(_load(row.data).get("customer_email_approved_at"))
    except (ValueError, TypeError) as exc:
        raise UnreadableCase(row, str(exc)) from exc


def timeline_of(events: Sequence[IncidentEvent]) -> tuple[Event, ...]:
    """The machine's events of a stored timeline, from their kinds and typed fields (a
    level change stored without its levels, and PAGED/CUSTOMER_EMAILED, are left out)."""
    out: list[Event] = []
    for e in events:
        kind = _MACHINE.get(e.kind)
        if kind is None or (kind is MachineEvent.LEVEL_CHANGED and e.level is None):
            continue
        out.append(Event(kind, e.at, e.actor, e.text, e.level, e.previous_level, e.ref))
    return tuple(out)


def event_records(
    incident_id: int, events: Iterable[Event], *, public: bool = False
) -> list[IncidentEvent]:
    """Timeline rows for the machine's events: one stored kind per machine kind, the
    typed fields filled, and a text for people."""
    return [
        IncidentEvent(
            incident_id=incident_id,
            at=e.at,
            actor=e.actor,
            kind=_STORED[e.kind],
            text=_text(e),
            public=public,
            level=e.level if e.kind is MachineEvent.LEVEL_CHANGED else None,
            previous_level=e.previous_level if e.kind is MachineEvent.LEVEL_CHANGED else None,
            ref=e.ref if e.kind in (MachineEvent.LINKED, MachineEvent.AFFECTED) else None,
        )
        for e in events
    ]


def _text(event: Event) -> str:
    """The words people read (the same as before the events were typed)."""
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
