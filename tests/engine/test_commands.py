"""Operator actions: one short transaction each, compare-and-set, clear errors."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from monitor.engine import (
    AlreadyResolved,
    CommandError,
    UnknownCase,
    acknowledge,
    add_note,
    from_record,
    resolve,
)
from monitor.model import IncidentStatus, Level
from monitor.store import EventKind, SiteStatus, Store, Transaction
from tests.engine.support import T0, stored_incident

LATER = T0 + timedelta(minutes=3)


async def _insert(store: Store, **kwargs: object) -> int:
    async with store.transaction() as tx:
        row = await tx.incidents.insert(stored_incident(**kwargs))  # type: ignore[arg-type]
    return row.id


async def test_acknowledge_records_who_and_when_once(store: Store) -> None:
    await _insert(store)
    first = await acknowledge(store, "VAKT-2026-000001", "alice", LATER)
    again = await acknowledge(store, "VAKT-2026-000001", "bob", LATER + timedelta(minutes=1))
    assert first.changed
    assert not again.changed
    assert first.incident.status is IncidentStatus.ACKNOWLEDGED
    assert (first.incident.acknowledged_by, first.incident.acknowledged_at) == ("alice", LATER)
    assert again.incident.acknowledged_by == "alice"
    async with store.transaction(read_only=True) as tx:
        events = await tx.incidents.events(first.incident.id)
    assert [(e.kind, e.actor) for e in events] == [(EventKind.ACKNOWLEDGED, "alice")]


async def test_acknowledge_keeps_what_another_writer_stored_first(store: Store) -> None:
    incident_id = await _insert(store)
    async with store.transaction() as tx:  # the daemon raises the level meanwhile
        row = await tx.incidents.get(incident_id)
        assert row is not None
        await tx.incidents.update(dataclasses.replace(row, level=Level.B, flapping=True))
    result = await acknowledge(store, "VAKT-2026-000001", "alice", LATER)
    assert result.incident.version == 3
    assert (result.incident.level, result.incident.flapping) == (Level.B, True)
    assert from_record(result.incident).checks == frozenset({"acme/shop/home"})


async def test_unknown_case_and_resolved_incident_are_clear_errors(store: Store) -> None:
    await _insert(store, status=IncidentStatus.RESOLVED)
    with pytest.raises(UnknownCase, match="no incident with case number VAKT-2026-000999"):
        await acknowledge(store, "VAKT-2026-000999", "alice", LATER)
    with pytest.raises(AlreadyResolved, match="VAKT-2026-000001 is already resolved"):
        await acknowledge(store, "VAKT-2026-000001", "alice", LATER)
    with pytest.raises(AlreadyResolved):
        await resolve(store, "VAKT-2026-000001", "alice", LATER)


async def test_resolve_after_recovery_allows_a_reopen(store: Store) -> None:
    await _insert(store)
    result = await resolve(store, "VAKT-2026-000001", "alice", LATER)
    assert result.incident.status is IncidentStatus.RESOLVED
    assert (result.incident.resolved_by, result.incident.resolved_at) == ("alice", LATER)
    assert from_record(result.incident).reopenable
    assert [e.kind for e in result.events] == [EventKind.RESOLVED]


async def test_resolve_while_the_site_still_fails_is_not_reopenable(store: Store) -> None:
    await _insert(store)
    async with store.transaction() as tx:
        await tx.sites.save([SiteStatus("acme/shop", Level.A, T0, T0)])
    result = await resolve(store, "VAKT-2026-000001", "alice", LATER)
    assert not from_record(result.incident).reopenable
    assert "re-armed" in result.events[0].text


async def test_notes_are_added_even_after_resolution_and_keep_their_visibility(
    store: Store,
) -> None:
    await _insert(store, status=IncidentStatus.RESOLVED)
    result = await add_note(store, "VAKT-2026-000001", "alice", " DB restored ", True, LATER)
    assert result.changed
    assert [(e.kind, e.text, e.public) for e in result.events] == [
        (EventKind.NOTE, "DB restored", True)
    ]
    with pytest.raises(CommandError, match="a note needs text"):
        await add_note(store, "VAKT-2026-000001", "alice", "  ", False, LATER)


async def test_work_within_an_acknowledgement_commits_with_it_or_not_at_all(
    store: Store,
) -> None:
    """`within` runs in the acknowledging transaction: what it writes commits with the
    acknowledgement, and what it raises rolls the acknowledgement back."""
    await _insert(store)

    async def spend(tx: Transaction) -> None:
        assert await tx.web.use_ack_token("nonce-1", "alice", LATER)

    async def refuse(tx: Transaction) -> None:
        await spend(tx)
        raise LookupError("refused inside the transaction")

    with pytest.raises(LookupError):
        await acknowledge(store, "VAKT-2026-000001", "alice", LATER, within=refuse)
    async with store.transaction(read_only=True) as tx:
        row = await tx.incidents.by_case("VAKT-2026-000001")
        used = await tx.web.ack_token_used("nonce-1")
    assert row is not None
    assert (row.status, used) == (IncidentStatus.OPEN, False)

    result = await acknowledge(store, "VAKT-2026-000001", "alice", LATER, within=spend)
    async with store.transaction(read_only=True) as tx:
        used = await tx.web.ack_token_used("nonce-1")
    assert (result.incident.status, used) == (IncidentStatus.ACKNOWLEDGED, True)


async def test_work_within_runs_for_an_acknowledged_case_but_not_a_resolved_one(
    store: Store,
) -> None:
    await _insert(store, status=IncidentStatus.ACKNOWLEDGED)
    await _insert(store, case="VAKT-2026-000002", status=IncidentStatus.RESOLVED)
    ran: list[str] = []

    async def note(case: str) -> None:
        ran.append(case)

    await acknowledge(store, "VAKT-2026-000001", "bob", LATER, within=lambda tx: note("first"))
    with pytest.raises(AlreadyResolved):
        await acknowledge(store, "VAKT-2026-000002", "bob", LATER, within=lambda tx: note("second"))
    assert ran == ["first"]
