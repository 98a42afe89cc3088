"""Incidents: filtered, paged listing; one with its timeline; acknowledge, resolve, note.

The actions go through `monitor.engine.commands`, the same code as the CLI: one short
compare-and-set transaction each, so the daemon never overwrites what it has not seen.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import UTC, datetime

from monitor.engine import commands
from monitor.store import Incident as StoredIncident
from monitor.store.queries.incident_search import IncidentFilter
from monitor.web.api.deps import ApiDeps
from monitor.web.api.errors import ApiError
from monitor.web.api.operations import Call, Reply
from monitor.web.api.schemas import (
    ActIn,
    ActionOut,
    IncidentPage,
    IncidentQuery,
    NoteIn,
    NoteOut,
)
from monitor.web.api.views import event_out, incident_detail, incident_out

_BAD_CURSOR = "cursor: not a cursor from this API"


def encode_cursor(row: StoredIncident) -> str:
    """An opaque continuation after `row`: its (opened_at, id), base64url JSON."""
    raw = json.dumps([row.opened_at.isoformat(), row.id], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, int]:
    """The (opened_at, id) of a cursor; ApiError 400 for anything this API did not make."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        opened, last_id = json.loads(raw)
        at = datetime.fromisoformat(opened)
        if at.tzinfo is None or type(last_id) is not int or not 0 < last_id < 2**62:
            raise ValueError("not a cursor")
        return at.astimezone(UTC), last_id
    except (binascii.Error, ValueError, TypeError, OverflowError):
        raise ApiError(400, _BAD_CURSOR) from None


async def list_incidents(deps: ApiDeps, call: Call) -> Reply:
    q = call.query_as(IncidentQuery)
    where = IncidentFilter(
        status=q.status,
        customer_id=q.customer,
        site_id=q.site,
        level=q.level,
        since=q.since,
        after=None if q.cursor is None else decode_cursor(q.cursor),
    )
    async with deps.store.transaction(read_only=True) as tx:
        # One more than asked tells whether another page follows.
        rows = await tx.incident_search.search(where, q.limit + 1)
    page = rows[: q.limit]
    more = len(rows) > q.limit
    return 200, IncidentPage(
        items=[incident_out(r) for r in page],
        next_cursor=encode_cursor(page[-1]) if more else None,
    )


async def get_incident(deps: ApiDeps, call: Call) -> Reply:
    case = call.path["case"]
    async with deps.store.transaction(read_only=True) as tx:
        row = await tx.incidents.by_case(case)
        if row is None:
            raise ApiError(404, f"no incident with case number {case}")
        events = await tx.incidents.events(row.id)
    return 200, incident_detail(row, events)


def _command_error(exc: commands.CommandError) -> ApiError:
    if isinstance(exc, commands.UnknownCase):
        return ApiError(404, str(exc))
    if isinstance(exc, commands.AlreadyResolved):
        return ApiError(409, str(exc), "already_resolved")
    if isinstance(exc, commands.Conflict):
        return ApiError(409, str(exc))
    return ApiError(400, str(exc))


async def acknowledge(deps: ApiDeps, call: Call) -> Reply:
    actor = call.actor(call.body_as(ActIn).person)
    try:
        result = await commands.acknowledge(deps.store, call.path["case"], actor, call.now)
    except commands.CommandError as exc:
        raise _command_error(exc) from None
    return 200, ActionOut(incident=incident_out(result.incident), changed=result.changed)


async def resolve(deps: ApiDeps, call: Call) -> Reply:
    actor = call.actor(call.body_as(ActIn).person)
    try:
        result = await commands.resolve(deps.store, call.path["case"], actor, call.now)
    except commands.CommandError as exc:
        raise _command_error(exc) from None
    return 200, ActionOut(incident=incident_out(result.incident), changed=result.changed)


async def add_note(deps: ApiDeps, call: Call) -> Reply:
    body = call.body_as(NoteIn)
    actor = call.actor(body.person)
    try:
        result = await commands.add_note(
            deps.store, call.path["case"], actor, body.text, body.public, call.now
        )
    except commands.CommandError as exc:
        raise _command_error(exc) from None
    if not result.events:
        raise ApiError(409, "the note was not recorded; try again")
    return 201, NoteOut(incident=incident_out(result.incident), event=event_out(result.events[-1]))
