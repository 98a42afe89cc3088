"""The monthly job when the store refuses to write (issue 21, part 4; faults injected):
the run fails as a store error the supervisor contains, nothing is frozen or queued, and
the next run sends the month once."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from monitor.config.loader import load_config_text
from monitor.reports.monthly import send_monthly
from monitor.store import Store
from monitor.supervisor import contained
from tests.reports.test_figures import oslo
from tests.reports.test_snapshots import outage, seed

CONFIG = """
vakt: 1
settings:
  timezone: Europe/Oslo
  email: {team: ops@agency.example}
calendars:
  always: {timezone: Europe/Oslo, hours: {mon-sun: ["00:00-24:00"]}}
policies:
  standard: {calendar: always, reports: {monthly: true}}
customers:
  acme:
    name: ACME AS
    language: nb
    timezone: Europe/Oslo
    policy: standard
    contacts: [{name: Kari, email: kari@acme.example}]
    sites: {shop: {url: "http://127.0.0.1:9/", checks: {home: {path: /}}}}
"""
NOW = oslo(2026, 12, 1, 8)


async def test_a_store_that_refuses_writes_loses_nothing_and_the_next_run_sends(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "vakt.db"
    url = f"sqlite:///{path}"
    async with Store(url) as store:
        await store.upgrade()
    await seed(url, outage(3, oslo(2026, 11, 3, 10), 60), probes=True)
    config = load_config_text(CONFIG)
    async with Store(url, busy_timeout=timedelta(milliseconds=200)) as store:
        holder = sqlite3.connect(path)  # another writer holds the lock: every write waits
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert not await contained(
                "job", "reports.monthly", lambda: send_monthly(store, config, NOW)
            )
        finally:
            holder.rollback()
            holder.close()
        assert "job.store_error" in caplog.text
        async with store.transaction(read_only=True) as tx:
            assert await tx.reports.latest("acme", "2026-11") is None
            assert (await tx.outbox.due_backlog(NOW + timedelta(days=1))).count == 0

        assert await send_monthly(store, config, NOW) == ["acme"]
        assert await send_monthly(store, config, NOW + timedelta(minutes=5)) == []
        async with store.transaction(read_only=True) as tx:
            frozen = await tx.reports.latest("acme", "2026-11")
            backlog = await tx.outbox.due_backlog(NOW + timedelta(days=1))
    assert frozen is not None
    assert (frozen.version, frozen.sent_at) == (1, NOW)
    assert backlog.count == 2  # Kari's report and the team's summary


async def test_with_approval_a_refused_write_loses_no_preview_and_the_next_run_sends_one(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """`reports: {approve: true}`: the preview and its "sent" marker are one transaction."""
    path = tmp_path / "vakt.db"
    url = f"sqlite:///{path}"
    async with Store(url) as store:
        await store.upgrade()
    await seed(url, outage(3, oslo(2026, 11, 3, 10), 60), probes=True)
    config = load_config_text(
        CONFIG.replace("reports: {monthly: true}", "reports: {monthly: true, approve: true}")
    )
    async with Store(url, busy_timeout=timedelta(milliseconds=200)) as store:
        holder = sqlite3.connect(path)
        holder.execute("BEGIN IMMEDIATE")
        try:
            assert not await contained(
                "job", "reports.monthly", lambda: send_monthly(store, config, NOW)
            )
        finally:
            holder.rollback()
            holder.close()
        assert "job.store_error" in caplog.text
        async with store.transaction(read_only=True) as tx:
            assert (await tx.outbox.due_backlog(NOW + timedelta(days=1))).count == 0

        for later in (0, 5, 10):  # the preview once; nothing to the customer
            assert await send_monthly(store, config, NOW + timedelta(minutes=later)) == []
        async with store.transaction(read_only=True) as tx:
            rows = await tx.outbox.find()
            frozen = await tx.reports.latest("acme", "2026-11")
    assert [r.key.kind for r in rows] == ["report_preview"]
    assert frozen is None
