"""The bulk write path (`insert_rows`: pre-built tuples, SQLAlchemy's own bind processors)
stores exactly what the Core path stores, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from monitor.model import CheckState, ErrorCode
from monitor.store import CheckStatus, Store, StoreError
from monitor.store.queries._bulk import insert_rows
from monitor.store.queries._sql import upsert_replacing
from monitor.store.tables import check_states
from tests.store.support import T0

OSLO = timezone(timedelta(hours=1))
COLUMNS = tuple(c.name for c in check_states.columns)
ROWS: list[tuple[Any, ...]] = [
    ("a/b/whole-seconds", "oslo", "ok", T0, T0, 0, 0, 3, "ok", None, T0, 0.25, 0, None),
    ("a/b/micro", "oslo", "failing", T0 + timedelta(microseconds=7), T0, 3, 0, 0,
     "failed", "timeout", None, None, 4, T0 - timedelta(microseconds=3)),
    ("a/b/offset", "frankfurt", "degraded", datetime(2026, 3, 2, 10, 30, tzinfo=OSLO), T0,
     0, 2, 0, "degraded", "slow", T0, 1e-9, 2, datetime(2026, 3, 2, 10, 29, tzinfo=OSLO)),
]  # fmt: skip


async def stored_text(store: Store) -> list[tuple[Any, ...]]:
    """The rows as the database holds them (the driver's raw values, no type processing)."""
    async with store.transaction(read_only=True) as tx:
        conn = tx.checks.conn
        names = ", ".join(COLUMNS)
        result = await conn.exec_driver_sql(f"SELECT {names} FROM check_states ORDER BY check_id")
        return [tuple(row) for row in result]


async def clear(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.checks.conn.execute(check_states.delete())


async def test_bulk_rows_are_stored_exactly_as_the_core_path_stores_them(store: Store) -> None:
    async with store.transaction() as tx:
        conn = tx.checks.conn
        await conn.execute(
            check_states.insert(), [dict(zip(COLUMNS, r, strict=True)) for r in ROWS]
        )
    by_core = await stored_text(store)
    await clear(store)
    async with store.transaction() as tx:
        conn = tx.checks.conn
        await insert_rows(conn, check_states.insert(), check_states, COLUMNS, ROWS)
    assert await stored_text(store) == by_core
    async with store.transaction(read_only=True) as tx:
        loaded = await tx.checks.load()
        times = (await tx.checks.conn.execute(select(check_states.c.since))).scalars().all()
    assert sorted(times) == sorted(r[3].astimezone(UTC) for r in ROWS)
    assert [s.last_error for s in loaded] == [ErrorCode.TIMEOUT, ErrorCode.SLOW, None]


async def test_columns_may_be_given_in_any_order_and_upserts_replace(store: Store) -> None:
    reordered = tuple(reversed(COLUMNS))
    rows = [tuple(reversed(r)) for r in ROWS]
    async with store.transaction() as tx:
        conn = tx.checks.conn
        await insert_rows(conn, check_states.insert(), check_states, reordered, rows)
    first = await stored_text(store)
    changed = [(*ROWS[0][:5], 9, *ROWS[0][6:])]
    async with store.transaction() as tx:
        conn = tx.checks.conn
        stmt = upsert_replacing(conn, check_states, ("check_id", "location"))
        await insert_rows(conn, stmt, check_states, COLUMNS, changed)
    after = await stored_text(store)
    assert [r[5] for r in after] == [3, 0, 9]  # failures of micro, offset, whole-seconds
    assert after[:2] == first[:2]


async def test_a_naive_time_fails_the_transaction_as_a_store_error(store: Store) -> None:
    naive = T0.replace(tzinfo=None)
    with pytest.raises(StoreError, match="naive datetime"):
        async with store.transaction() as tx:
            await tx.checks.save([CheckStatus("a/b/c", "oslo", CheckState.OK, naive, naive)])
    async with store.transaction(read_only=True) as tx:
        assert await tx.checks.load() == []
