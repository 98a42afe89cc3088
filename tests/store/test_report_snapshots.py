"""Frozen monthly reports in the store, on SQLite and PostgreSQL: versions count from 1
per (customer, month); the newest is shown; sending is recorded once."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.store import Store
from monitor.store.queries.reports import ReportSnapshot

AT = datetime(2026, 12, 1, 8, tzinfo=UTC)


def snapshot(month: str, html: str) -> ReportSnapshot:
    return ReportSnapshot("acme", month, '{"cases": []}', html, b"%PDF-1.7", "abc123", "vakt", AT)


async def test_versions_count_per_month_and_the_newest_is_shown(store: Store) -> None:
    async with store.transaction() as tx:
        first = await tx.reports.freeze(snapshot("2026-11", "one"))
        second = await tx.reports.freeze(snapshot("2026-11", "two"))
        other = await tx.reports.freeze(snapshot("2026-10", "october"))
    assert (first.version, second.version, other.version) == (1, 2, 1)
    async with store.transaction(read_only=True) as tx:
        newest = await tx.reports.latest("acme", "2026-11")
        months = await tx.reports.months("acme", "2026-01")
        none = await tx.reports.latest("acme", "2026-09")
    assert newest is not None
    assert (newest.version, newest.html, newest.pdf, newest.sent_at) == (
        2,
        "two",
        b"%PDF-1.7",
        None,
    )
    assert [(s.month, s.version) for s in months] == [("2026-10", 1), ("2026-11", 2)]
    assert none is None


async def test_sending_is_recorded_once(store: Store) -> None:
    async with store.transaction() as tx:
        frozen = await tx.reports.freeze(snapshot("2026-11", "one"))
        assert await tx.reports.mark_sent(frozen.id, AT)
        assert not await tx.reports.mark_sent(frozen.id, AT)
    async with store.transaction(read_only=True) as tx:
        newest = await tx.reports.latest("acme", "2026-11")
    assert newest is not None
    assert newest.sent_at == AT
