"""Maintenance windows and silences added at run time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from monitor.store import MaintenanceWindow, Silence, SilenceScope, Store
from tests.store.support import T0

HOUR = timedelta(hours=1)


async def test_maintenance_is_active_between_start_and_end_until_ended(store: Store) -> None:
    window = MaintenanceWindow(
        ("acme/shop", "acme/*"), T0, T0 + HOUR, "Server upgrade", "alice", created_at=T0 - HOUR
    )
    async with store.transaction() as tx:
        stored = await tx.maintenance.add(window)
        future = await tx.maintenance.add(
            MaintenanceWindow(("beta/*",), T0 + 2 * HOUR, T0 + 3 * HOUR, "Patching", "bob", T0)
        )
    assert stored.id > 0
    async with store.transaction() as tx:
        assert await tx.maintenance.get(stored.id) == stored
        assert await tx.maintenance.active(T0 - timedelta(seconds=1)) == []
        assert await tx.maintenance.active(T0) == [stored]
        assert await tx.maintenance.upcoming(T0) == [stored, future]
        assert await tx.maintenance.end(stored.id, T0 + HOUR / 2)
        assert not await tx.maintenance.end(stored.id, T0 + HOUR / 2)  # already ended
        assert await tx.maintenance.active(T0 + HOUR / 2) == []
        assert await tx.maintenance.active(T0 + HOUR) == []


async def test_a_window_must_end_after_it_starts(store: Store) -> None:
    with pytest.raises(ValueError, match="end after it starts"):
        async with store.transaction() as tx:
            await tx.maintenance.add(MaintenanceWindow(("a/b",), T0, T0, "x", "alice", T0))


async def test_silences_by_scope_until_their_end(store: Store) -> None:
    silence = Silence(SilenceScope.CHECK, "acme/shop/search", T0, T0 + HOUR, "flaky", "alice", T0)
    async with store.transaction() as tx:
        stored = await tx.silences.add(silence)
        assert await tx.silences.active(T0 + HOUR / 2) == [stored]
        assert await tx.silences.active(T0 + HOUR) == []
        assert await tx.silences.upcoming(T0 - HOUR) == [stored]
        assert await tx.silences.end(stored.id, T0 + HOUR / 4)
        ended = await tx.silences.get(stored.id)
    assert ended is not None
    assert (ended.scope, ended.ended_at) == (SilenceScope.CHECK, T0 + HOUR / 4)
