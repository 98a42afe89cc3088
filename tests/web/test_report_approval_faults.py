"""`/report-approval/{token}` under a real store fault: SQLite's write lock held by another
connection past the store's `busy_timeout` through the POST. The approval answers 503 "try
again", nothing is sent and the link stays usable; the same link then approves, and the
customer's email is in the outbox once."""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from pathlib import Path

from monitor.clock import FixedClock
from monitor.notify.reportlinks import Decision, ReportLink, issue_link
from monitor.reports.figures import Month
from monitor.reports.source import StoreReports
from monitor.store import Store
from monitor.web import create_public_app
from tests.web.conftest import MakeClient, deps_of
from tests.web.support import SECRET, T0, Env, csrf_of, write_config

MONTH = str(Month(T0.year, T0.month).previous())


async def test_a_store_fault_during_an_approval_answers_try_again_and_sends_once(
    tmp_path: Path, make_client: MakeClient
) -> None:
    path = tmp_path / "vakt.db"
    store = Store(f"sqlite:///{path}", busy_timeout=timedelta(milliseconds=100))
    await store.open()
    await store.upgrade()
    try:
        env = Env(store, FixedClock(T0), write_config(tmp_path))
        reports = StoreReports(store, lambda: env.config, env.clock)
        app = create_public_app(deps_of(env, reports=reports))
        client = await make_client(app)
        url = issue_link(
            SECRET, "http://x", ReportLink(Decision.APPROVE, "acme", MONTH), T0 + timedelta(days=1)
        )
        link = url.removeprefix("http://x")
        page = await client.get(link)
        assert page.status == 200
        form = {"csrf": csrf_of(await page.text())}
        other = sqlite3.connect(path, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # the write lock, held through the POST
            failed = await client.post(link, data=form)
            other.execute("ROLLBACK")
        finally:
            other.close()
        assert (failed.status, failed.headers.get("Retry-After")) == (503, "5")
        async with store.transaction(read_only=True) as tx:
            assert await tx.outbox.find() == []  # nothing sent, nothing frozen
            assert await tx.reports.latest("acme", MONTH) is None
        again = await client.post(link, data=form)
        assert again.status == 200
        assert (await client.post(link, data=form)).status == 410  # spent now
        async with store.transaction(read_only=True) as tx:
            rows = await tx.outbox.find()
        to = [json.loads(r.payload)["to"]["address"] for r in rows]
        assert to.count("kari@acme.example") == 1
    finally:
        await store.close()
