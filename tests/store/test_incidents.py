"""Incidents: case numbers unique across processes, compare-and-set versions, timelines."""

from __future__ import annotations

import asyncio
import dataclasses
import subprocess
import sys
from datetime import timedelta

import pytest

from monitor.model import IncidentStatus, Level
from monitor.store import (
    EventKind,
    Incident,
    IncidentEvent,
    Notification,
    OutboxKey,
    Store,
)
from monitor.store.queries.incident_search import IncidentFilter
from tests.store.support import T0, Backend


def draft(case_number: str = "VAKT-2026-000001", site_id: str = "acme/shop") -> Incident:
    return Incident(
        case_number=case_number,
        site_id=site_id,
        customer_id="acme",
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=T0,
        updated_at=T0,
        description="home: timeout after 10 s from oslo since 09:00",
        respond_by=T0 + timedelta(hours=2),
        paging_started_at=T0,
    )


async def test_case_numbers_count_up_per_prefix_and_year(store: Store) -> None:
    async with store.transaction() as tx:
        numbers = [await tx.incidents.next_case_number("VAKT", 2026) for _ in range(3)]
        other_year = await tx.incidents.next_case_number("VAKT", 2027)
        other_prefix = await tx.incidents.next_case_number("ACME", 2026)
    async with store.transaction() as tx:
        after_commit = await tx.incidents.next_case_number("VAKT", 2026)
    assert numbers == ["VAKT-2026-000001", "VAKT-2026-000002", "VAKT-2026-000003"]
    assert (other_year, other_prefix) == ("VAKT-2027-000001", "ACME-2026-000001")
    assert after_commit == "VAKT-2026-000004"


async def test_a_rolled_back_case_number_is_taken_again(store: Store) -> None:
    async def crash_before_commit() -> None:
        async with store.transaction() as tx:
            await tx.incidents.next_case_number("VAKT", 2026)
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        await crash_before_commit()
    async with store.transaction() as tx:
        assert await tx.incidents.next_case_number("VAKT", 2026) == "VAKT-2026-000001"


async def test_case_numbers_are_unique_across_concurrent_clients(backend: Backend) -> None:
    stores = [backend.store() for _ in range(4)]
    await stores[0].open()
    await stores[0].upgrade()

    async def take(store: Store, count: int) -> list[str]:
        await store.open()
        taken = []
        for _ in range(count):
            async with store.transaction() as tx:
                taken.append(await tx.incidents.next_case_number("VAKT", 2026))
                await asyncio.sleep(0)  # let the others try while this one holds the row
        return taken

    try:
        taken = await asyncio.gather(*(take(s, 15) for s in stores))
    finally:
        for s in stores:
            await s.close()
    numbers = [n for batch in taken for n in batch]
    assert sorted(numbers) == [f"VAKT-2026-{i:06d}" for i in range(1, 61)]


_WORKER = """
import asyncio, sys
from monitor.store import Store
async def main(url, schema=None):
    async with Store(url, schema=schema) as store:
        for _ in range(20):
            async with store.transaction() as tx:
                print(await tx.incidents.next_case_number("VAKT", 2026), flush=True)
asyncio.run(main(*sys.argv[1:]))
"""


async def test_case_numbers_are_unique_across_processes(store: Store, backend: Backend) -> None:
    procs = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", _WORKER, *backend.subprocess_args(),
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        for _ in range(3)
    ]  # fmt: skip
    outputs = await asyncio.wait_for(asyncio.gather(*(p.communicate() for p in procs)), 60)
    assert [p.returncode for p in procs] == [0, 0, 0], [err.decode() for _, err in outputs]
    numbers = [line for out, _ in outputs for line in out.decode().split()]
    assert sorted(numbers) == [f"VAKT-2026-{i:06d}" for i in range(1, 61)]


async def test_inserted_incidents_get_an_id_and_version_one(store: Store) -> None:
    async with store.transaction() as tx:
        stored = await tx.incidents.insert(draft())
    assert (stored.id > 0, stored.version) == (True, 1)
    async with store.transaction(read_only=True) as tx:
        assert await tx.incidents.get(stored.id) == stored
        assert await tx.incidents.by_case("VAKT-2026-000001") == stored
        assert await tx.incidents.get(stored.id + 100) is None


async def test_an_ack_the_daemon_has_not_seen_is_never_overwritten(store: Store) -> None:
    async with store.transaction() as tx:
        seen_by_daemon = await tx.incidents.insert(draft())

    # The CLI acknowledges in its own short transaction, from its own connection.
    async with Store(str(store.url), schema=store.schema) as cli, cli.transaction() as tx:
        current = await tx.incidents.get(seen_by_daemon.id)
        assert current is not None
        acked = dataclasses.replace(
            current, status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=T0,
            acknowledged_by="alice", updated_at=T0,
        )  # fmt: skip
        assert await tx.incidents.update(acked) is not None

    # The daemon writes what it decided from the version it had read: it loses.
    upgrade = dataclasses.replace(seen_by_daemon, level=Level.B, updated_at=T0)
    async with store.transaction() as tx:
        assert await tx.incidents.update(upgrade) is None
        reread = await tx.incidents.get(seen_by_daemon.id)
    assert reread is not None
    assert (reread.status, reread.acknowledged_by, reread.version) == (
        IncidentStatus.ACKNOWLEDGED, "alice", 2,
    )  # fmt: skip

    # Re-deciding from the fresh row wins.
    async with store.transaction() as tx:
        won = await tx.incidents.update(dataclasses.replace(reread, level=Level.B))
    assert won is not None
    assert (won.version, won.level, won.status) == (3, Level.B, IncidentStatus.ACKNOWLEDGED)


async def test_unresolved_and_listing(store: Store) -> None:
    async with store.transaction() as tx:
        first = await tx.incidents.insert(draft("VAKT-2026-000001"))
        second = await tx.incidents.insert(draft("VAKT-2026-000002", "acme/blog"))
        resolved = dataclasses.replace(
            first, status=IncidentStatus.RESOLVED, resolved_at=T0, resolved_by="vakt"
        )
        assert await tx.incidents.update(resolved) is not None
        assert [i.id for i in await tx.incidents.unresolved()] == [second.id]
        assert [i.id for i in await tx.incidents.find(site_id="acme/shop")] == [first.id]
        assert [i.id for i in await tx.incidents.find(status=IncidentStatus.OPEN)] == [second.id]


async def test_resolved_since_reads_by_resolution_time_not_opening_time(store: Store) -> None:
    """A case open for weeks and resolved last comes back; so does one resolved exactly at
    `since`; older resolutions and unresolved cases do not, however they were opened."""

    def resolved(case: str, opened: timedelta, resolved_at: timedelta) -> Incident:
        return dataclasses.replace(
            draft(case),
            status=IncidentStatus.RESOLVED,
            opened_at=T0 + opened,
            resolved_at=T0 + resolved_at,
            resolved_by="vakt",
        )

    hour = timedelta(hours=1)
    async with store.transaction() as tx:
        long = await tx.incidents.insert(resolved("VAKT-2026-000001", -14 * 24 * hour, 5 * hour))
        young = await tx.incidents.insert(resolved("VAKT-2026-000002", 3 * hour, 4 * hour))
        edge = await tx.incidents.insert(resolved("VAKT-2026-000003", 2 * hour, 2 * hour))
        await tx.incidents.insert(resolved("VAKT-2026-000004", 1 * hour, 1 * hour))  # too old
        await tx.incidents.insert(draft("VAKT-2026-000005"))  # open
        reopened = dataclasses.replace(draft("VAKT-2026-000006"), resolved_at=T0 + 3 * hour)
        await tx.incidents.insert(reopened)  # a stale resolution time on an open case
    async with store.transaction(read_only=True) as tx:
        found = await tx.incidents.resolved_since(T0 + 2 * hour)
    assert [i.id for i in found] == [edge.id, young.id, long.id]
    assert found[2].resolved_at == T0 + 5 * hour


async def test_timeline_keeps_order_actor_and_visibility(store: Store) -> None:
    async with store.transaction() as tx:
        incident = await tx.incidents.insert(draft())
        events = [
            IncidentEvent(incident.id, T0, "vakt", EventKind.OPENED, "home is down", public=True),
            IncidentEvent(incident.id, T0 + timedelta(minutes=3), "alice", EventKind.NOTE,
                          "restarting php-fpm"),
            IncidentEvent(incident.id, T0 + timedelta(minutes=1), "alice",
                          EventKind.ACKNOWLEDGED),
        ]  # fmt: skip
        await tx.incidents.add_events(events)
    async with store.transaction(read_only=True) as tx:
        timeline = await tx.incidents.events(incident.id)
        public = await tx.incidents.events(incident.id, public_only=True)
    assert [e.kind for e in timeline] == [EventKind.OPENED, EventKind.ACKNOWLEDGED, EventKind.NOTE]
    assert [(e.actor, e.text, e.public) for e in public] == [("vakt", "home is down", True)]


async def test_an_incident_and_its_notifications_commit_together_or_not_at_all(
    store: Store,
) -> None:
    async def open_and_page_then_fail() -> None:
        async with store.transaction() as tx:
            number = await tx.incidents.next_case_number("VAKT", 2026)
            incident = await tx.incidents.insert(draft(number))
            key = OutboxKey(number, "page", "0:0", "alice", "email")
            await tx.outbox.add([Notification(key, T0, T0, incident_id=incident.id)])
            raise RuntimeError("planner bug after the writes")

    with pytest.raises(RuntimeError):
        await open_and_page_then_fail()
    async with store.transaction(read_only=True) as tx:
        assert await tx.incidents.find() == []
        assert await tx.outbox.find() == []


async def test_latest_by_site_gives_each_sites_newest_like_find(store: Store) -> None:
    async with store.transaction() as tx:
        for n, (site, minutes) in enumerate(
            [("acme/shop", 0), ("acme/shop", 5), ("acme/shop", 9), ("acme/blog", 3)], start=1
        ):
            opened = T0 + timedelta(minutes=minutes)
            row = dataclasses.replace(
                draft(f"VAKT-2026-{n:06d}", site), opened_at=opened, updated_at=opened
            )
            await tx.incidents.insert(row)
        sites = ["acme/shop", "acme/blog", "acme/none"]
        latest = await tx.incidents.latest_by_site(sites, chunk=2)
        for site in sites:
            expected = [i.id for i in await tx.incidents.find(site_id=site, limit=2)]
            assert [i.id for i in latest.get(site, [])] == expected
        assert [i.case_number for i in latest["acme/shop"]] == [
            "VAKT-2026-000003",
            "VAKT-2026-000002",
        ]


async def test_a_search_keeps_to_the_opening_window_since_and_until(store: Store) -> None:
    async with store.transaction() as tx:
        for n, days in enumerate((40, 20, 1), start=1):
            opened = T0 - timedelta(days=days)
            row = dataclasses.replace(
                draft(f"VAKT-2026-00000{n}"), opened_at=opened, updated_at=opened
            )
            await tx.incidents.insert(row)
        window = IncidentFilter(since=T0 - timedelta(days=30), until=T0 - timedelta(days=1))
        found = await tx.incident_search.search(window, 10)
    assert [i.case_number for i in found] == ["VAKT-2026-000002"]


async def test_timelines_and_versions_of_many_incidents_read_at_once(store: Store) -> None:
    async with store.transaction() as tx:
        first = await tx.incidents.insert(draft("VAKT-2026-000001", "acme/shop"))
        second = await tx.incidents.insert(draft("VAKT-2026-000002", "acme/blog"))
        quiet = await tx.incidents.insert(draft("VAKT-2026-000003", "acme/api"))
        assert first.id is not None
        assert second.id is not None
        assert quiet.id is not None
        await tx.incidents.add_events(
            [
                IncidentEvent(first.id, T0 + timedelta(minutes=2), "bob", EventKind.NOTE, "b"),
                IncidentEvent(second.id, T0, "vakt", EventKind.OPENED, "down", public=True),
                IncidentEvent(first.id, T0, "vakt", EventKind.OPENED, "down", public=True),
            ]
        )
        await tx.incidents.update(dataclasses.replace(second, status=IncidentStatus.ACKNOWLEDGED))
    async with store.transaction(read_only=True) as tx:
        ids = [first.id, second.id, quiet.id]
        timelines, unreadable = await tx.incidents.events_of(ids)
        one_by_one = {i: await tx.incidents.events(i) for i in ids}
        versions = await tx.incidents.versions([*ids, 999])
    assert timelines == one_by_one
    assert not unreadable
    assert [e.kind for e in timelines[first.id]] == [EventKind.OPENED, EventKind.NOTE]
    assert timelines[quiet.id] == []
    assert versions == {
        first.id: first.version,
        second.id: second.version + 1,
        quiet.id: quiet.version,
    }


async def _due(store: Store, at: timedelta) -> dict[str, object]:
    async with store.transaction(read_only=True) as tx:
        rows = await tx.incidents.due(T0 + at, T0 - timedelta(hours=1))
    return {row.case_number: next_at for row, next_at in rows}


async def test_every_write_of_an_incident_makes_it_due_for_the_next_planner_tick(
    store: Store,
) -> None:
    hour = timedelta(hours=1)
    async with store.transaction() as tx:
        row = await tx.incidents.insert(draft())
    assert await _due(store, timedelta()) == {"VAKT-2026-000001": None}

    async def plan_later() -> None:
        async with store.transaction() as tx:
            current = await tx.incidents.get(row.id)
            assert current is not None
            assert await tx.incidents.set_next_plan({row.id: (current.version, T0 + hour)}) == 1

    await plan_later()
    assert await _due(store, timedelta()) == {}
    assert await _due(store, hour) == {"VAKT-2026-000001": T0 + hour}

    async with store.transaction() as tx:  # an update (ack, resolve, level change)
        current = await tx.incidents.get(row.id)
        assert current is not None
        await tx.incidents.update(dataclasses.replace(current, level=Level.B))
    assert await _due(store, timedelta()) == {"VAKT-2026-000001": None}

    await plan_later()
    async with store.transaction() as tx:  # a note: a new timeline event, no new version
        await tx.incidents.add_events([IncidentEvent(row.id, T0, "alice", EventKind.NOTE, "x")])
    assert await _due(store, timedelta()) == {"VAKT-2026-000001": None}

    await plan_later()
    async with store.transaction() as tx:  # the approval of the first customer email
        assert await tx.web.approve(row.id, "alice", T0)
    assert await _due(store, timedelta()) == {"VAKT-2026-000001": None}

    async with store.transaction() as tx:  # a plan from an older version is not stored
        assert await tx.incidents.set_next_plan({row.id: (row.version, T0 + hour)}) == 0
    assert await _due(store, timedelta()) == {"VAKT-2026-000001": None}
