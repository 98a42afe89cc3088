"""The dispatcher keeps running whatever one round meets: a store that is locked while
sends are settled (the outcomes are kept and settled once the store answers, never sent
again), and a template that fails for one notification (that one fails for good with the
template's name and line, the team is warned, the others are delivered)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session

from monitor.clock import FixedClock
from monitor.config.records import EmailSettings, Language, Mailbox, SmtpSettings
from monitor.notify.channels import Channel, ChannelContext, build_channels
from monitor.notify.dispatcher import Dispatcher, TemplateFailed, template_failure
from monitor.notify.message import MessageKind
from monitor.notify.render import TEMPLATES, Renderer
from monitor.store import (
    AttemptOutcome,
    Notification,
    OutboxItem,
    OutboxKey,
    OutboxStatus,
    Store,
)
from tests.notify.support import T0, SinkHandler, SmtpSink, customer_payload, page_payload

POLL = timedelta(seconds=0.02)
WAIT = 20.0  # seconds: the bound of every poll below (never reached when things work)


class LockingHandler(SinkHandler):
    """An SMTP sink that, before it answers the first message's DATA with 250, takes
    SQLite's write lock on its own connection (`BEGIN IMMEDIATE`) and holds it for
    `hold` seconds: longer than the dispatcher's `busy_timeout`, so the lock falls exactly
    between the send and its settle."""

    def __init__(self, database: Path, hold: float) -> None:
        super().__init__()
        self.database = database
        self.hold = hold
        self.locked = threading.Event()
        self.released = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.locked.is_set():
            conn = sqlite3.connect(self.database, isolation_level=None, check_same_thread=False)
            conn.execute("BEGIN IMMEDIATE")
            self.locked.set()
            threading.Timer(self.hold, self._release, args=(conn,)).start()
        return await super().handle_DATA(server, session, envelope)

    def _release(self, conn: sqlite3.Connection) -> None:
        conn.execute("COMMIT")
        conn.close()
        self.released.set()


async def email_channels(smtp: SmtpSink, session: aiohttp.ClientSession) -> dict[str, Channel]:
    settings = EmailSettings(
        sender=Mailbox("support@agency.example", "Support"),
        smtp=SmtpSettings(port=smtp.port, timeout=timedelta(seconds=3)),
    )
    ctx = ChannelContext(session=session, clock=FixedClock(T0), email=settings)
    return dict(build_channels({}, ctx))


async def rows(store: Store) -> list[OutboxItem]:
    async with store.transaction(read_only=True) as tx:
        return await tx.outbox.find(limit=1000)


async def all_settled(store: Store) -> bool:
    return all(item.status is not OutboxStatus.PENDING for item in await rows(store))


async def poll_settled(store: Store, task: asyncio.Task[None]) -> None:
    async with asyncio.timeout(WAIT):
        while not await all_settled(store):
            assert not task.done(), "the dispatcher task ended"
            await asyncio.sleep(0.05)


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as s:
        yield s


# ---------------------------------------------------------------------- problem 1


async def test_problem_1_a_store_locked_while_settling_does_not_end_the_dispatcher(
    tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    database = tmp_path / "vakt.db"
    handler = LockingHandler(database, hold=1.0)
    smtp = SmtpSink(handler=handler)
    smtp.start()
    store = Store(f"sqlite:///{database}", busy_timeout=timedelta(seconds=0.2))
    await store.open()
    await store.upgrade()
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        key = OutboxKey("VAKT-2026-000042", "customer_update", "1", "c1@acme.example", "email")
        body = customer_payload(
            MessageKind.CUSTOMER_UPDATE, Language.EN, to=Mailbox("c1@acme.example")
        )
        async with store.transaction() as tx:
            await tx.outbox.add([Notification(key, T0, T0, body.to_json())])
        worker = Dispatcher(
            store,
            await email_channels(smtp, session),
            FixedClock(T0),
            "w1",
            renderer=Renderer(),
            timeout=timedelta(seconds=5),
            poll=POLL,
        )
        task = asyncio.create_task(worker.run(stop))
        await poll_settled(store, task)
        assert handler.locked.is_set()  # the fault really happened
        assert not task.done()
        [item] = await rows(store)
        async with store.transaction(read_only=True) as tx:
            attempts = await tx.outbox.attempts(item.id)
        assert item.status is OutboxStatus.SENT
        assert [a.outcome for a in attempts] == [AttemptOutcome.SENT]
        assert item.attempts == 1
        assert len(smtp.messages) == 1  # never sent again while its lease held
        assert worker.store_errors >= 1  # counted
    finally:
        stop.set()
        if task is not None:
            async with asyncio.timeout(5):
                await asyncio.gather(task, return_exceptions=True)
        await store.close()
        smtp.stop()


# ---------------------------------------------------------------------- problem 2


class TeamWarnings:
    def __init__(self) -> None:
        self.channels: list[tuple[str, int, str, bool]] = []
        self.templates: list[tuple[str, str]] = []

    async def channel_failing(
        self, channel: str, failures: int, error: str, at: datetime, *, permanent: bool
    ) -> None:
        self.channels.append((channel, failures, error, permanent))

    async def template_failing(self, template: str, error: str, at: datetime) -> None:
        self.templates.append((template, error))


def page(n: int, **changes: object) -> Notification:
    key = OutboxKey(f"VAKT-2026-00004{n}", "page", "0:1:0", "person:alice", "email")
    body = page_payload(case=f"VAKT-2026-00004{n}", **changes)
    return Notification(key, created_at=T0, due_at=T0, payload=body.to_json())


async def test_problem_2_a_template_error_in_a_branch_fails_that_notification_only(
    store: Store, tmp_path: Path, session: aiohttp.ClientSession
) -> None:
    overrides = tmp_path / "templates"
    overrides.mkdir()
    original = (TEMPLATES / "page.txt").read_text()
    broken = "{% if p.note %}{{ nonexistent.x }}{% endif %}\n"
    (overrides / "page.txt").write_text("Line one\n" + broken + original)
    smtp = SmtpSink()
    smtp.start()
    stop = asyncio.Event()
    warnings = TeamWarnings()
    task: asyncio.Task[None] | None = None
    try:
        async with store.transaction() as tx:
            customer = customer_payload(MessageKind.CUSTOMER_UPDATE, Language.NB).to_json()
            email_key = OutboxKey("VAKT-2026-000041", "customer_update", "1", "c@a", "email")
            await tx.outbox.add(
                [
                    page(1),
                    page(2, note="Kari says the checkout hangs"),
                    page(3),
                    Notification(email_key, T0, T0, customer),
                ]
            )
        worker = Dispatcher(
            store,
            await email_channels(smtp, session),
            FixedClock(T0),
            "w1",
            renderer=Renderer(overrides=overrides),
            timeout=timedelta(seconds=5),
            poll=POLL,
            warner=warnings,  # type: ignore[arg-type]
        )
        task = asyncio.create_task(worker.run(stop))
        await poll_settled(store, task)
        assert not task.done()
        by_case = {item.key.subject: item for item in await rows(store)}
        failed = by_case.pop("VAKT-2026-000042")
        assert failed.status is OutboxStatus.FAILED
        assert "page.txt" in failed.last_error
        assert "line 2" in failed.last_error  # where the error is in the override
        assert "nonexistent" in failed.last_error
        assert {item.status for item in by_case.values()} == {OutboxStatus.SENT}
        assert len(smtp.messages) == 3
        assert [Path(t).name for t, _ in warnings.templates] == ["page.txt"]
        async with store.transaction(read_only=True) as tx:
            attempts = await tx.outbox.attempts(failed.id)
        assert [a.outcome for a in attempts] == [AttemptOutcome.FAILED]
    finally:
        stop.set()
        if task is not None:
            async with asyncio.timeout(5):
                await asyncio.gather(task, return_exceptions=True)
        smtp.stop()


# ---------------------------------------------------------------------- a bug


class BrokenOnce(dict[str, Channel]):
    """Channels whose look-up raises once: a bug in the round, not in a channel."""

    def __init__(self, channels: dict[str, Channel]) -> None:
        super().__init__(channels)
        self.broken = True

    def get(self, key: str, default: object = None) -> Channel | None:  # type: ignore[override]
        if self.broken:
            self.broken = False
            raise RuntimeError("bug in the channel set")
        return super().get(key)


async def test_a_bug_in_a_round_is_logged_with_its_traceback_and_the_dispatcher_carries_on(
    store: Store, session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    smtp = SmtpSink()
    smtp.start()
    stop = asyncio.Event()
    clock = FixedClock(T0)
    task: asyncio.Task[None] | None = None
    try:
        key = OutboxKey("VAKT-2026-000042", "customer_update", "1", "c1@acme.example", "email")
        body = customer_payload(
            MessageKind.CUSTOMER_UPDATE, Language.EN, to=Mailbox("c1@acme.example")
        )
        async with store.transaction() as tx:
            await tx.outbox.add([Notification(key, T0, T0, body.to_json())])
        worker = Dispatcher(
            store,
            BrokenOnce(await email_channels(smtp, session)),
            clock,
            "w1",
            timeout=timedelta(seconds=5),
            poll=POLL,
        )
        task = asyncio.create_task(worker.run(stop))
        async with asyncio.timeout(WAIT):
            while worker.bugs == 0:  # noqa: ASYNC110 - a bounded poll on a counter
                await asyncio.sleep(0.02)
        clock.advance(121)  # the row's lease ran out: the next round sends it
        await poll_settled(store, task)
        [item] = await rows(store)
        assert item.status is OutboxStatus.SENT
        assert worker.bugs == 1
        [record] = [r for r in caplog.records if r.getMessage() == "notify.round_failed"]
        assert record.exc_info is not None
    finally:
        stop.set()
        if task is not None:
            async with asyncio.timeout(5):
                await asyncio.gather(task, return_exceptions=True)
        smtp.stop()


def failure_of(renderer: Renderer) -> TemplateFailed:
    try:
        renderer.render(page_payload())
    except Exception as exc:  # whatever rendering raises is described
        return template_failure(exc)
    raise AssertionError("the template rendered")


def test_a_syntax_error_is_described_with_its_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text("ok\n\n{{ p.case }\n")
    failed = failure_of(Renderer(overrides=tmp_path))
    assert failed.template.endswith("page.txt")
    assert failed.line == 3
    assert failed.permanent


def test_a_missing_included_template_is_named(tmp_path: Path) -> None:
    (tmp_path / "page.txt").write_text('{% include "nowhere.txt" %}\n')
    failed = failure_of(Renderer(overrides=tmp_path))
    assert failed.template == "nowhere.txt"
    assert failed.permanent


class HoldingHandler(SinkHandler):
    """An SMTP sink that, on the first message, says it got it (`received`) and answers
    250 only once the test says so (`go`): the test takes its lock in between."""

    def __init__(self) -> None:
        super().__init__()
        self.received = threading.Event()
        self.go = threading.Event()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if not self.received.is_set():
            self.received.set()
            await asyncio.to_thread(self.go.wait, WAIT)
        return await super().handle_DATA(server, session, envelope)


async def test_a_postgresql_settle_whose_connection_is_killed_while_waiting_is_retried(
    pg_available: None, session: aiohttp.ClientSession
) -> None:
    import asyncpg

    from tests.store.conftest import PG_DSN, _drop_pg_schema, _pg_schema

    schema = await _pg_schema()
    handler = HoldingHandler()
    smtp = SmtpSink(handler=handler)
    smtp.start()
    store = Store(PG_DSN, schema=schema)
    await store.open()
    await store.upgrade()
    locker = await asyncpg.connect(PG_DSN)
    stop = asyncio.Event()
    task: asyncio.Task[None] | None = None
    try:
        key = OutboxKey("VAKT-2026-000042", "customer_update", "1", "c1@acme.example", "email")
        body = customer_payload(
            MessageKind.CUSTOMER_UPDATE, Language.EN, to=Mailbox("c1@acme.example")
        )
        async with store.transaction() as tx:
            await tx.outbox.add([Notification(key, T0, T0, body.to_json())])
        worker = Dispatcher(
            store,
            await email_channels(smtp, session),
            FixedClock(T0),
            "w1",
            timeout=timedelta(seconds=5),
            poll=POLL,
        )
        task = asyncio.create_task(worker.run(stop))
        async with asyncio.timeout(WAIT):
            while not handler.received.is_set():  # noqa: ASYNC110 - set on aiosmtpd's thread
                await asyncio.sleep(0.02)
        # The send is in flight: lock the table its settle writes, then let SMTP answer.
        transaction = locker.transaction()
        await transaction.start()
        await locker.execute(f'LOCK TABLE "{schema}".outbox IN ACCESS EXCLUSIVE MODE')
        handler.go.set()
        waiting: list[int] = []
        async with asyncio.timeout(WAIT):
            while not waiting:
                waiting = [
                    r["pid"]
                    for r in await locker.fetch(
                        "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                        "AND pid <> pg_backend_pid() AND datname = current_database()"
                    )
                ]
                await asyncio.sleep(0.02)
        for pid in waiting:  # the settle's connection dies while it waits
            await locker.execute("SELECT pg_terminate_backend($1)", pid)
        await transaction.commit()
        await poll_settled(store, task)
        assert not task.done()
        [item] = await rows(store)
        async with store.transaction(read_only=True) as tx:
            attempts = await tx.outbox.attempts(item.id)
        assert item.status is OutboxStatus.SENT
        assert [a.outcome for a in attempts] == [AttemptOutcome.SENT]
        assert len(smtp.messages) == 1
        assert worker.store_errors >= 1
    finally:
        stop.set()
        handler.go.set()
        if task is not None:
            async with asyncio.timeout(5):
                await asyncio.gather(task, return_exceptions=True)
        await locker.close()
        await store.close()
        smtp.stop()
        await _drop_pg_schema(schema)
