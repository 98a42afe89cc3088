"""The planner tick against a real store: SQLite, and PostgreSQL when it is reachable
(skipped with the reason otherwise; a failure when VAKT_REQUIRE_PG=1)."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import insert

from monitor.engine.notify import NotifyPlanner
from monitor.engine.planner import Change
from monitor.incidents import Decision, Event
from monitor.incidents import EventKind as MachineKind
from monitor.model import IncidentStatus, Level
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planner import Planner
from monitor.notify.render import Renderer
from monitor.notify.stored import event_records, timeline_of
from monitor.notify.tick import planner_tick
from monitor.store import EventKind, Incident, IncidentEvent, MaintenanceWindow, OutboxStatus, Store
from monitor.store.tables import incident_events
from tests.notify.test_planner import MIN, T0, config
from tests.store.support import Backend

PG_DSN = os.environ.get("VAKT_TEST_PG_DSN", "postgresql://postgres@127.0.0.1:5432/test")


async def _pg_unreachable() -> str | None:
    try:
        conn = await asyncpg.connect(PG_DSN, timeout=5)
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        return f"PostgreSQL at {PG_DSN} is unreachable: {type(exc).__name__}: {exc}"
    await conn.close()
    return None


async def _pg(sql: str) -> None:
    conn = await asyncpg.connect(PG_DSN)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
async def backend(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Backend]:
    if request.param == "sqlite":
        yield Backend("sqlite", f"sqlite:///{tmp_path / 'vakt.db'}", path=tmp_path / "vakt.db")
        return
    with ThreadPoolExecutor(1) as pool:
        reason = pool.submit(asyncio.run, _pg_unreachable()).result()
    if reason is not None:
        if os.environ.get("VAKT_REQUIRE_PG") == "1":
            pytest.fail(f"{reason} (VAKT_REQUIRE_PG=1)")
        pytest.skip(reason)
    schema = f"vakt_test_{uuid.uuid4().hex[:12]}"
    await _pg(f'CREATE SCHEMA "{schema}"')
    try:
        yield Backend("postgresql", PG_DSN, schema=schema)
    finally:
        await _pg(f'DROP SCHEMA "{schema}" CASCADE')


async def open_store(backend: Backend) -> Store:
    store = backend.store()
    await store.open()
    await store.upgrade()
    return store


async def add_case(store: Store) -> int:
    row = Incident(
        case_number="VAKT-2026-000001",
        site_id="c00/shop",
        customer_id="c00",
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=T0,
        updated_at=T0,
        description="Home fails: HTTP 500",
        respond_by=T0 + timedelta(hours=2),
        data=json.dumps({"v": 1, "kind": "site", "policy": "standard"}),
    )
    async with store.transaction() as tx:
        stored = await tx.incidents.insert(row)
        await tx.incidents.add_events([IncidentEvent(stored.id, T0, "vakt", EventKind.OPENED)])
    return stored.id


async def keys(store: Store) -> list[str]:
    async with store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=1000)
    return sorted(str(i.key) for i in items)


async def test_a_tick_inserts_what_is_due_and_a_second_tick_inserts_nothing(
    backend: Backend,
) -> None:
    store = await open_store(backend)
    try:
        incident_id = await add_case(store)
        planner = Planner(config(1))
        first = await planner_tick(store, planner.config, planner, T0)
        again = await planner_tick(store, planner.config, planner, T0)
        # the second plans nothing: its case has nothing due before T0 + 30 s (the index)
        assert (first.inserted, again.inserted, again.planned) == (1, 0, 0)
        async with store.transaction(read_only=True) as tx:
            [item] = await tx.outbox.find()
        assert str(item.key) == "VAKT-2026-000001/page/0:0:0/person:alice/email"
        assert (item.status, item.due_at, item.incident_id) == (
            OutboxStatus.PENDING,
            T0,
            incident_id,
        )
        assert Payload.from_json(item.payload).kind is MessageKind.PAGE
    finally:
        await store.close()


async def test_timed_notifications_survive_a_restart(backend: Backend) -> None:
    store = await open_store(backend)
    await add_case(store)
    planner = Planner(config(1))
    await planner_tick(store, planner.config, planner, T0 + 1 * MIN)
    before = await keys(store)
    await store.close()

    # A new process: a new store client and a new planner, eleven minutes later.
    store = await open_store(backend)
    try:
        planner = Planner(config(1))
        result = await planner_tick(store, planner.config, planner, T0 + 11 * MIN)
        after = await keys(store)
        assert before == ["VAKT-2026-000001/page/0:0:0/person:alice/email"]
        assert result.inserted == 2  # the repeat at 10 min and the customer email at 5 min
        assert after == sorted(
            [
                *before,
                "VAKT-2026-000001/page/0:0:1/person:alice/email",
                "VAKT-2026-000001/customer_opened/0/contact:kari@c0.example/email",
            ]
        )
        assert (await planner_tick(store, planner.config, planner, T0 + 11 * MIN)).inserted == 0
    finally:
        await store.close()


async def test_an_acknowledgement_in_the_store_stops_the_repeats(backend: Backend) -> None:
    store = await open_store(backend)
    try:
        incident_id = await add_case(store)
        async with store.transaction() as tx:
            row = await tx.incidents.get(incident_id)
            assert row is not None
            acked = await tx.incidents.update(
                replace(row, status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=T0 + 2 * MIN)
            )
            assert acked is not None
            await tx.incidents.add_events(
                [IncidentEvent(incident_id, T0 + 2 * MIN, "alice", EventKind.ACKNOWLEDGED)]
            )
        planner = Planner(config(1))
        await planner_tick(store, planner.config, planner, T0 + 30 * MIN)
        pages = [k for k in await keys(store) if "/page/" in k]
        assert pages == ["VAKT-2026-000001/page/0:0:0/person:alice/email"]
    finally:
        await store.close()


async def test_a_stored_maintenance_window_emails_its_customer_when_it_starts(
    backend: Backend,
) -> None:
    store = await open_store(backend)
    try:
        window = MaintenanceWindow(("c00/*",), T0, T0 + 60 * MIN, "Upgrade", "alice", T0)
        async with store.transaction() as tx:
            stored = await tx.maintenance.add(window)
        planner = Planner(config(1))
        await planner_tick(store, planner.config, planner, T0 + MIN)
        await planner_tick(store, planner.config, planner, T0 + 61 * MIN)
        assert await keys(store) == [
            f"mw-{stored.id}/maintenance_finished/0/contact:kari@c0.example/email",
            f"mw-{stored.id}/maintenance_started/0/contact:kari@c0.example/email",
        ]
    finally:
        await store.close()


async def _add_resolved(
    store: Store, case: str, opened_at: datetime, resolved_at: datetime
) -> None:
    row = Incident(
        case_number=case,
        site_id="c00/shop",
        customer_id="c00",
        level=Level.A,
        status=IncidentStatus.RESOLVED,
        opened_at=opened_at,
        updated_at=resolved_at,
        description="Home fails: HTTP 500",
        respond_by=opened_at + timedelta(hours=2),
        resolved_at=resolved_at,
        resolved_by="vakt",
        data=json.dumps({"v": 1, "kind": "site", "policy": "standard"}),
    )
    async with store.transaction() as tx:
        stored = await tx.incidents.insert(row)
        await tx.incidents.add_events(
            [
                IncidentEvent(stored.id, opened_at, "vakt", EventKind.OPENED),
                IncidentEvent(stored.id, resolved_at, "vakt", EventKind.RESOLVED),
            ]
        )


async def test_problem_4_a_long_case_resolved_last_gets_its_resolved_email(
    backend: Backend,
) -> None:
    """A case open for two weeks and resolved a minute ago is read by its resolution
    time, however many younger cases were resolved before it."""
    store = await open_store(backend)
    now = T0 + 14 * 24 * 60 * MIN
    try:
        await _add_resolved(store, "VAKT-2026-000001", T0, now - MIN)
        younger = [
            Incident(
                case_number=f"VAKT-2026-{n:06d}",
                site_id="c00/shop",
                customer_id="c00",
                level=Level.B,
                status=IncidentStatus.RESOLVED,
                opened_at=T0 + n * MIN,
                updated_at=T0 + (n + 5) * MIN,
                description="Checkout fails",
                resolved_at=T0 + (n + 5) * MIN,
                resolved_by="vakt",
            )
            for n in range(2, 2 + 201)  # more than the 200 the tick once read
        ]
        async with store.transaction() as tx:
            for row in younger:
                await tx.incidents.insert(row)
        planner = Planner(config(1))
        await planner_tick(store, planner.config, planner, now)
        resolved = [k for k in await keys(store) if "/customer_resolved/" in k]
        assert resolved == ["VAKT-2026-000001/customer_resolved/0/contact:kari@c0.example/email"]
    finally:
        await store.close()


async def _rows(store: Store) -> list[tuple[str, Payload, datetime]]:
    async with store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=1000)
    return sorted((str(i.key), Payload.from_json(i.payload), i.due_at) for i in items)


async def test_problem_7_after_downtime_one_page_per_recipient_says_how_long_vakt_was_down(
    backend: Backend,
) -> None:
    """The tick ran when the case opened, then not for an hour (steps at 0 and 15 min,
    repeats every 10 min, the team warning at 55 min). The first tick after the gap sends
    one page to each person, the latest slot of theirs, saying Vakt was down from T0 for
    an hour, and no team warning; later ticks do not send the other missed slots."""
    store = await open_store(backend)
    back = T0 + 60 * MIN
    try:
        await add_case(store)
        planner = Planner(config(1))
        await planner_tick(store, planner.config, planner, T0)
        before = {key for key, _, _ in await _rows(store)}
        await planner_tick(store, planner.config, planner, back)
        new = [row for row in await _rows(store) if row[0] not in before]
        pages = [(key, p, due) for key, p, due in new if p.kind is MessageKind.PAGE]
        assert sorted(key for key, _, _ in pages) == [
            "VAKT-2026-000001/page/0:0:1/person:alice/email",
            "VAKT-2026-000001/page/0:1:3/person:carol/email",
        ]
        for _, payload, due in pages:
            assert due == back
            assert (payload.down_since, payload.down_until) == (T0, back)
            assert "1 hour" in Renderer().render(payload).text
        assert not [key for key, p, _ in new if p.kind is MessageKind.TEAM_WARNING]

        await planner_tick(store, planner.config, planner, back + MIN)
        after = [row for row in await _rows(store) if row[0] not in before]
        assert [key for key, p, _ in after if p.kind is MessageKind.PAGE] == [
            key for key, _, _ in pages
        ]
        # The team hears that nobody answered one `repeat_every` after those pages.
        await planner_tick(store, planner.config, planner, back + 10 * MIN)
        warnings = [due for _, p, due in await _rows(store) if p.kind is MessageKind.TEAM_WARNING]
        assert warnings == [back + 10 * MIN]
    finally:
        await store.close()


async def test_after_downtime_an_engine_flush_before_the_first_tick_pages_the_same_way(
    backend: Backend,
) -> None:
    store = await open_store(backend)
    back = T0 + 60 * MIN
    try:
        incident_id = await add_case(store)
        planner = Planner(config(1))
        await planner_tick(store, planner.config, planner, T0)
        async with store.transaction() as tx:
            row = await tx.incidents.get(incident_id)
            assert row is not None
            change = Change(row, Decision(incident=None))
            flushed = await NotifyPlanner(planner).plan(tx, [change], back, planner.config)
            await tx.outbox.add(list(flushed))
        pages = sorted(str(n.key) for n in flushed if "/page/" in str(n.key))
        result = await planner_tick(store, planner.config, planner, back + MIN)
        assert pages == [
            "VAKT-2026-000001/page/0:0:0/person:alice/email",
            "VAKT-2026-000001/page/0:0:1/person:alice/email",
            "VAKT-2026-000001/page/0:1:3/person:carol/email",
        ]
        assert [k for k in await keys(store) if "/page/" in k] == pages
        assert result.inserted == 0
    finally:
        await store.close()


async def _insert_case(store: Store, number: int, site_id: str, data: str) -> int:
    row = Incident(
        case_number=f"VAKT-2026-{number:06d}",
        site_id=site_id,
        customer_id=site_id.split("/")[0],
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=T0,
        updated_at=T0,
        description=f"{site_id} fails: HTTP 500",
        respond_by=T0 + timedelta(hours=2),
        data=data,
    )
    async with store.transaction() as tx:
        stored = await tx.incidents.insert(row)
        await tx.incidents.add_events([IncidentEvent(stored.id, T0, "vakt", EventKind.OPENED)])
    return stored.id


async def test_problem_2_a_case_with_unreadable_data_is_skipped_warned_about_and_the_tick_goes_on(
    backend: Backend, caplog: pytest.LogCaptureFixture
) -> None:
    store = await open_store(backend)
    try:
        # A silenced case whose data was cut short, and one whose kind no release knows.
        cut = json.dumps({"v": 1, "kind": "site", "policy": "standard", "silenced": True})
        await _insert_case(store, 1, "c00/shop", cut[:-7])
        unknown = {"v": 1, "kind": "asteroid", "policy": "standard", "silenced": True}
        await _insert_case(store, 2, "c00/shop", json.dumps(unknown))
        readable = {"v": 1, "kind": "site", "policy": "standard"}
        await _insert_case(store, 3, "c01/shop", json.dumps(readable))
        planner = Planner(config(2))
        await planner_tick(store, planner.config, planner, T0)
        outbox = await keys(store)
        pages = [k for k in outbox if "/page/" in k]
        assert [p.split("/")[0] for p in pages] == ["VAKT-2026-000003"]
        warned = sorted(k.split("/")[0] for k in outbox if "/team_warning/" in k)
        assert warned == ["VAKT-2026-000001", "VAKT-2026-000002"]
        logged = [r for r in caplog.records if r.getMessage() == "notify.unreadable_case"]
        assert [r.levelname for r in logged] == ["ERROR", "ERROR"]
    finally:
        await store.close()


def _every_machine_event() -> list[Event]:
    at = T0
    return [
        Event(kind, at + n * MIN, text="", level=level, previous_level=previous, ref=ref)
        for n, (kind, level, previous, ref) in enumerate(
            [
                (MachineKind.OPENED, None, None, None),
                (MachineKind.LEVEL_CHANGED, Level.B, None, None),
                (MachineKind.LEVEL_CHANGED, Level.A, Level.B, None),
                (MachineKind.PAUSED, None, None, None),
                (MachineKind.RESUMED, None, None, None),
                (MachineKind.SILENCED, None, None, None),
                (MachineKind.UNSILENCED, None, None, None),
                (MachineKind.LINKED, None, None, "VAKT-2026-000009"),
                (MachineKind.AFFECTED, None, None, "c00/api"),
                (MachineKind.FLAPPING, None, None, None),
                (MachineKind.RECOVERED, None, None, None),
                (MachineKind.RELAPSED, None, None, None),
                (MachineKind.ACKNOWLEDGED, None, None, None),
                (MachineKind.NOTED, None, None, None),
                (MachineKind.REOPENED, None, None, None),
                (MachineKind.RESOLVED, None, None, None),
            ]
        )
    ]


async def test_the_machine_reads_back_every_event_from_its_kind_and_fields_never_its_text(
    backend: Backend,
) -> None:
    events = _every_machine_event()
    assert {e.kind for e in events} == set(MachineKind)
    store = await open_store(backend)
    try:
        incident_id = await _insert_case(store, 1, "c00/shop", '{"v": 1, "kind": "site"}')
        # The texts people read are replaced: nothing may depend on them.
        rows = [replace(r, text="words") for r in event_records(incident_id, events)]
        async with store.transaction() as tx:
            await tx.incidents.add_events(rows)
            stored = await tx.incidents.events(incident_id)
    finally:
        await store.close()
    read = timeline_of(stored[1:])  # after the case's own "opened"
    typed = [(e.kind, e.at, e.level, e.previous_level, e.ref) for e in read]
    assert typed == [(e.kind, e.at, e.level, e.previous_level, e.ref) for e in events]


async def test_a_case_with_an_event_kind_this_release_does_not_know_is_skipped_and_warned_about(
    backend: Backend,
) -> None:
    store = await open_store(backend)
    try:
        readable = json.dumps({"v": 1, "kind": "site", "policy": "standard"})
        incident_id = await _insert_case(store, 1, "c00/shop", readable)
        async with store._require_engine().begin() as conn:
            await conn.execute(
                insert(incident_events).values(
                    incident_id=incident_id, at=T0, actor="vakt", kind="from_a_newer_release",
                    text="", public=False,
                )
            )  # fmt: skip
        planner = Planner(config(1))
        await planner_tick(store, planner.config, planner, T0)
        outbox = await keys(store)
    finally:
        await store.close()
    assert [k for k in outbox if "/page/" in k] == []
    assert [k.split("/")[1] for k in outbox] == ["team_warning"]
