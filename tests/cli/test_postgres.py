"""The operator commands on PostgreSQL: a shared database is never migrated behind the
operator's back, and ack / list / maintenance behave as on SQLite."""

from __future__ import annotations

import dataclasses

import pytest

from monitor.model import IncidentStatus
from monitor.store import Incident, Store
from tests.cli.support import INCIDENT_KEYS, Env, seed_incident

pytestmark = pytest.mark.pg


def test_an_unmigrated_database_asks_for_db_upgrade(pg_env: Env) -> None:
    code, out, err = pg_env.vakt("incidents", "list")
    assert (code, out) == (1, "")
    assert "no database yet: run `vakt db upgrade` or `vakt run`" in err


def migrate_and_seed(env: Env) -> Incident:
    assert env.vakt("db", "upgrade")[0] == 0

    async def work(store: Store) -> Incident:
        return await seed_incident(store)

    row: Incident = env.run(work)
    return row


def test_ack_bumps_the_version_and_a_stale_writer_loses(pg_env: Env) -> None:
    row = migrate_and_seed(pg_env)
    [listed] = pg_env.json("incidents", "list", "--open")
    assert listed.keys() >= INCIDENT_KEYS
    assert listed["case"] == row.case_number
    assert pg_env.vakt("incidents", "ack", row.case_number, "--by", "alice")[0] == 0

    async def stale_then_fresh(store: Store) -> tuple[Incident | None, Incident | None]:
        async with store.transaction() as tx:
            stale = await tx.incidents.update(dataclasses.replace(row, description="stale"))
            fresh = await tx.incidents.by_case(row.case_number)
        return stale, fresh

    stale, fresh = pg_env.run(stale_then_fresh)
    assert stale is None
    assert fresh is not None
    assert fresh.version == row.version + 1
    assert (fresh.status, fresh.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")
    shown = pg_env.json("incidents", "show", row.case_number)
    assert [e["kind"] for e in shown["timeline"]] == ["opened", "acknowledged"]


def test_maintenance_and_silence_round_trip(pg_env: Env) -> None:
    assert pg_env.vakt("db", "upgrade")[0] == 0
    assert pg_env.vakt("maintenance", "add", "acme/*", "--for", "1h")[0] == 0
    assert pg_env.vakt("silence", "acme/shop/home", "--for", "1h")[0] == 0
    assert next(w["source"] for w in pg_env.json("maintenance", "list")) == "store"
    assert [s["scope"] for s in pg_env.json("silence", "--list")] == ["check"]
    assert pg_env.vakt("maintenance", "end", "1")[0] == 0
