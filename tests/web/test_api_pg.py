"""The API on both store backends (PostgreSQL at $VAKT_TEST_PG_DSN, skipped with the
reason when unreachable, failing instead when $VAKT_REQUIRE_PG=1): listing with filters
and cursors, acknowledging and adding a note hit each backend's SQL for real."""

from __future__ import annotations

from datetime import timedelta

from monitor.clock import FixedClock
from monitor.model import IncidentStatus
from tests.store.conftest import backend, pg_available
from tests.store.support import Backend
from tests.web.api_support import (
    T0,
    WRITE,
    Deps,
    add_incidents,
    config,
    incident,
    open_store,
    serve,
)

__all__ = ["backend", "pg_available"]  # the store suite's backend fixtures, used here


async def test_list_page_acknowledge_and_note_on_each_backend(backend: Backend) -> None:
    async with open_store(backend.url, backend.schema) as store:
        await add_incidents(
            store,
            *(
                incident(f"VAKT-2026-00000{n}", opened_at=T0 + timedelta(hours=n))
                for n in range(1, 6)
            ),
        )
        cfg = config()
        async with serve(Deps(store, lambda: cfg, FixedClock(T0 + timedelta(days=1)))) as client:
            seen: list[str] = []
            params = {"limit": "2", "since": (T0 + timedelta(hours=2)).isoformat()}
            while True:
                resp = await client.get("/api/v1/incidents", headers=WRITE, params=params)
                assert resp.status == 200
                page = await resp.json()
                seen += [i["case"] for i in page["items"]]
                if page["next_cursor"] is None:
                    break
                params["cursor"] = page["next_cursor"]
            ack = await client.post(
                "/api/v1/incidents/VAKT-2026-000004/acknowledge", headers=WRITE, json={}
            )
            note = await client.post(
                "/api/v1/incidents/VAKT-2026-000004/notes", headers=WRITE, json={"text": "ok"}
            )
            assert (ack.status, note.status) == (200, 201)
        async with store.transaction(read_only=True) as tx:
            row = await tx.incidents.by_case("VAKT-2026-000004")
            assert row is not None
            events = await tx.incidents.events(row.id)
    assert seen == [f"VAKT-2026-00000{n}" for n in (5, 4, 3, 2)]
    assert (row.status, row.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "api:bot")
    assert [e.text for e in events][-1] == "ok"
