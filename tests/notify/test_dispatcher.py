"""The dispatcher against a real store (SQLite and PostgreSQL) and a real SMTP server:
retries with backoff, permanent failures, every attempt recorded, SMTP outages survived,
no row sent twice by two dispatchers while leases hold, expired leases retried."""

from __future__ import annotations

import asyncio
import os
import random
import socket
import sys
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import aiohttp
import pytest

from monitor.clock import FixedClock
from monitor.config.records import EmailSettings, Language, Mailbox, SmtpSettings
from monitor.notify.channels import Channel, ChannelContext, build_channels
from monitor.notify.dispatcher import Backoff, Dispatcher, OutboxTeamWarner
from monitor.notify.message import MessageKind, Payload
from monitor.notify.render import Renderer
from monitor.store import AttemptOutcome, Notification, OutboxKey, OutboxStatus, Store
from tests.notify.support import T0, SmtpSink, customer_payload
from tests.store.support import Backend

pytestmark = pytest.mark.usefixtures("smtp")


def notification(n: int, *, channel: str = "email", payload: Payload | None = None) -> Notification:
    key = OutboxKey("VAKT-2026-000042", "customer_update", str(n), f"c{n}@acme.example", channel)
    body = payload or customer_payload(
        MessageKind.CUSTOMER_UPDATE, Language.NB, to=Mailbox(f"c{n}@acme.example")
    )
    return Notification(key, created_at=T0, due_at=T0, payload=body.to_json())


async def add(store: Store, notifications: list[Notification]) -> None:
    async with store.transaction() as tx:
        await tx.outbox.add(notifications)


@pytest.fixture
async def channels(
    smtp: SmtpSink, session: aiohttp.ClientSession
) -> AsyncIterator[dict[str, Channel]]:
    settings = EmailSettings(
        sender=Mailbox("support@agency.example", "Support"),
        smtp=SmtpSettings(port=smtp.port, timeout=timedelta(seconds=3)),
    )
    ctx = ChannelContext(session=session, clock=FixedClock(T0), email=settings)
    built = build_channels({}, ctx)
    yield built
    for channel in built.values():
        await channel.close()


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


class Warnings:
    def __init__(self) -> None:
        self.calls: list[tuple[str, int, str]] = []
        self.permanent: list[bool] = []

    async def channel_failing(
        self, channel: str, failures: int, error: str, at: datetime, *, permanent: bool
    ) -> None:
        self.calls.append((channel, failures, error))
        self.permanent.append(permanent)

    async def template_failing(self, template: str, error: str, at: datetime) -> None:
        raise AssertionError("no template fails in these tests")


def dispatcher(
    store: Store,
    channels: dict[str, Channel],
    clock: FixedClock,
    renderer: Renderer,
    owner: str = "w1",
    **options: object,
) -> Dispatcher:
    return Dispatcher(
        store,
        channels,
        clock,
        owner,
        renderer=renderer,
        timeout=timedelta(seconds=5),
        draw=random.Random(7).random,
        **options,  # type: ignore[arg-type]
    )


async def statuses(store: Store) -> list[OutboxStatus]:
    async with store.transaction(read_only=True) as tx:
        return [item.status for item in await tx.outbox.find(limit=1000)]


async def test_a_transient_failure_is_retried_with_backoff_then_delivered(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    clock = FixedClock(T0)
    worker = dispatcher(store, channels, clock, renderer)
    await add(store, [notification(1)])
    smtp.handler.reply = "451 4.3.0 mailbox busy"

    assert await worker.run_once() == 1
    assert await worker.run_once() == 0  # not due again yet: backing off
    async with store.transaction(read_only=True) as tx:
        [item] = await tx.outbox.find()
    assert item.status is OutboxStatus.PENDING
    assert T0 + timedelta(seconds=1) <= item.due_at <= T0 + timedelta(seconds=10)

    smtp.handler.reply = "250 OK"
    clock.advance(10)
    assert await worker.run_once() == 1
    async with store.transaction(read_only=True) as tx:
        [item] = await tx.outbox.find()
        attempts = await tx.outbox.attempts(item.id)
    assert item.status is OutboxStatus.SENT
    assert [a.outcome for a in attempts] == [AttemptOutcome.RETRY, AttemptOutcome.SENT]
    assert "451" in attempts[0].error
    assert attempts[1].error == ""
    assert all(a.worker == "w1" and a.duration >= timedelta(0) for a in attempts)
    assert len(smtp.messages) == 1


async def test_a_permanent_failure_is_marked_failed_after_one_attempt(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    smtp.handler.reply = "550 5.1.1 no such mailbox"
    await add(store, [notification(1)])
    await dispatcher(store, channels, FixedClock(T0), renderer).run_once()
    async with store.transaction(read_only=True) as tx:
        [item] = await tx.outbox.find()
        attempts = await tx.outbox.attempts(item.id)
    assert item.status is OutboxStatus.FAILED
    assert [a.outcome for a in attempts] == [AttemptOutcome.FAILED]
    assert "550" in item.last_error


async def test_an_unknown_channel_or_a_broken_payload_fails_permanently(
    store: Store, channels: dict[str, Channel], renderer: Renderer
) -> None:
    broken = Notification(
        OutboxKey("X", "page", "0", "a", "email"), created_at=T0, due_at=T0, payload="{]"
    )
    await add(store, [notification(1, channel="nowhere"), broken])
    await dispatcher(store, channels, FixedClock(T0), renderer).run_once()
    assert await statuses(store) == [OutboxStatus.FAILED, OutboxStatus.FAILED]


async def test_smtp_down_for_a_while_notifications_wait_retry_and_all_arrive(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    clock = FixedClock(T0)
    worker = dispatcher(store, channels, clock, renderer)
    await add(store, [notification(n) for n in range(10)])
    smtp.stop()
    for _ in range(3):
        await worker.run_once()
        clock.advance(600)
    assert set(await statuses(store)) == {OutboxStatus.PENDING}
    assert smtp.messages == []

    smtp.start()
    clock.advance(600)
    while await worker.run_once():
        pass
    assert set(await statuses(store)) == {OutboxStatus.SENT}
    assert len(smtp.messages) == 10
    assert len(set(smtp.handler.message_ids())) == 10
    async with store.transaction(read_only=True) as tx:
        for item in await tx.outbox.find():
            outcomes = [a.outcome for a in await tx.outbox.attempts(item.id)]
            assert outcomes[-1] is AttemptOutcome.SENT
            assert outcomes.count(AttemptOutcome.RETRY) >= 3


async def test_a_notification_that_keeps_failing_is_given_up_after_max_attempts(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    clock = FixedClock(T0)
    worker = dispatcher(store, channels, clock, renderer, backoff=Backoff(max_attempts=3))
    smtp.handler.reply = "421 4.3.2 shutting down"
    await add(store, [notification(1)])
    for _ in range(5):
        await worker.run_once()
        clock.advance(600)
    async with store.transaction(read_only=True) as tx:
        [item] = await tx.outbox.find()
    assert item.status is OutboxStatus.FAILED
    assert item.attempts == 3


async def test_the_team_is_warned_once_when_a_channel_keeps_failing(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    warnings = Warnings()
    clock = FixedClock(T0)
    worker = dispatcher(store, channels, clock, renderer, warner=warnings, warn_after=3)
    smtp.handler.reply = "451 4.3.0 try later"
    await add(store, [notification(n) for n in range(6)])
    await worker.run_once()
    assert len(warnings.calls) == 1
    channel, failures, error = warnings.calls[0]
    assert channel == "email"
    assert failures == 3
    assert "451" in error
    assert warnings.permanent == [False]


async def test_the_outbox_team_warner_queues_one_warning_per_channel_and_hour(
    store: Store,
) -> None:
    warner = OutboxTeamWarner(store, Mailbox("ops@agency.example"))
    await warner.channel_failing("slack-ops", 5, "HTTP 503", T0, permanent=False)
    await warner.channel_failing(
        "slack-ops", 6, "HTTP 503", T0 + timedelta(minutes=5), permanent=False
    )
    async with store.transaction(read_only=True) as tx:
        [item] = await tx.outbox.find()
    payload = Payload.from_json(item.payload)
    assert payload.kind is MessageKind.TEAM_WARNING
    assert payload.to == Mailbox("ops@agency.example")
    assert "slack-ops" in payload.title


async def test_the_delivery_warning_tells_a_refusal_for_good_from_a_temporary_failure(
    store: Store,
) -> None:
    warner = OutboxTeamWarner(store, Mailbox("ops@agency.example"))
    await warner.channel_failing("email", 5, "451 try later", T0, permanent=False)
    await warner.channel_failing("slack-ops", 5, "HTTP 404", T0, permanent=True)
    async with store.transaction(read_only=True) as tx:
        notes = {
            item.key.subject: Payload.from_json(item.payload).note
            for item in await tx.outbox.find()
        }
    assert "temporary" in notes["channel:email"]
    assert "not retried" not in notes["channel:email"]
    assert "not retried" in notes["channel:slack-ops"]
    assert "temporary" not in notes["channel:slack-ops"]


async def test_a_permanent_refusal_warns_the_team_as_permanent(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    warnings = Warnings()
    worker = dispatcher(store, channels, FixedClock(T0), renderer, warner=warnings, warn_after=2)
    smtp.handler.reply = "550 5.1.1 no such mailbox"
    await add(store, [notification(n) for n in range(2)])
    await worker.run_once()
    assert warnings.permanent == [True]


async def test_the_outbox_team_warner_queues_one_template_warning_per_template_and_hour(
    store: Store,
) -> None:
    warner = OutboxTeamWarner(store, Mailbox("ops@agency.example"))
    error = "cannot render the message (/etc/vakt/templates/page.txt, line 2): boom"
    await warner.template_failing("/etc/vakt/templates/page.txt", error, T0)
    await warner.template_failing("/etc/vakt/templates/page.txt", error, T0)
    async with store.transaction(read_only=True) as tx:
        [item] = await tx.outbox.find()
    payload = Payload.from_json(item.payload)
    assert payload.warning == "template_failing"
    assert "page.txt" in payload.title
    assert "line 2" in payload.note


async def test_two_dispatchers_never_send_the_same_row_while_leases_hold(
    backend: Backend, store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    await add(store, [notification(n) for n in range(40)])
    other_store = backend.store()
    await other_store.open()
    try:
        clock = FixedClock(T0)
        first = dispatcher(store, channels, clock, renderer, owner="w1", batch=7)
        second = dispatcher(other_store, channels, clock, renderer, owner="w2", batch=7)

        async def drain(worker: Dispatcher) -> None:
            while await worker.run_once():
                pass

        await asyncio.gather(drain(first), drain(second))
    finally:
        await other_store.close()
    ids = smtp.handler.message_ids()
    assert len(ids) == 40
    assert len(set(ids)) == 40
    assert set(await statuses(store)) == {OutboxStatus.SENT}


async def test_an_expired_lease_of_a_crashed_dispatcher_is_retried_with_the_same_key(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    await add(store, [notification(1)])
    async with store.transaction() as tx:  # a dispatcher claims, then dies mid-send
        [claimed] = await tx.outbox.claim("crashed", T0, timedelta(minutes=2))
    clock = FixedClock(T0)
    worker = dispatcher(store, channels, clock, renderer, owner="w2")
    assert await worker.run_once() == 0  # the lease still holds
    clock.advance(121)
    assert await worker.run_once() == 1
    [message] = smtp.messages
    assert message["Message-ID"].startswith("<")
    assert set(await statuses(store)) == {OutboxStatus.SENT}
    assert claimed.key.channel == "email"


async def test_leases_of_dead_dispatchers_on_this_host_are_released_at_start(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    host = socket.gethostname()
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()  # that process has exited: its pid names a dead dispatcher
    dead_owner = f"{host}:{proc.pid}"
    live_owner = f"{host}:{os.getppid()}"  # alive: it runs this test
    away_owner = f"elsewhere.example:{proc.pid}"  # cannot be checked from here
    await add(store, [notification(n) for n in range(3)])
    async with store.transaction() as tx:
        for owner in (dead_owner, live_owner, away_owner):
            assert len(await tx.outbox.claim(owner, T0, timedelta(minutes=2), limit=1)) == 1
    worker = dispatcher(store, channels, FixedClock(T0), renderer, owner=f"{host}:{os.getpid()}")
    assert await worker.release_orphans() == [dead_owner]
    assert await worker.run_once() == 1  # the dead one's row, before its lease ran out
    assert len(smtp.messages) == 1
    async with store.transaction(read_only=True) as tx:
        owners = sorted(await tx.outbox.lease_owners(T0))
    assert owners == sorted([live_owner, away_owner])


async def test_run_stops_when_asked_and_delivers_what_is_due(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel], renderer: Renderer
) -> None:
    await add(store, [notification(n) for n in range(3)])
    stop = asyncio.Event()
    worker = dispatcher(store, channels, FixedClock(T0), renderer, poll=timedelta(seconds=0.05))
    task = asyncio.create_task(worker.run(stop))
    async with asyncio.timeout(10):
        # The sink runs on aiosmtpd's own thread: poll what it has received.
        while len(smtp.messages) < 3:  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    stop.set()
    async with asyncio.timeout(5):
        await task
    assert len(smtp.messages) == 3


def test_backoff_grows_exponentially_with_full_jitter_up_to_the_cap() -> None:
    backoff = Backoff(base=timedelta(seconds=10), cap=timedelta(minutes=10))
    assert backoff.delay(1, lambda: 0.999) < timedelta(seconds=10)
    assert backoff.delay(3, lambda: 0.999) > timedelta(seconds=39)
    assert backoff.delay(30, lambda: 0.999) <= timedelta(minutes=10)
    assert backoff.delay(5, lambda: 0.0) == timedelta(seconds=1)  # the floor
    assert backoff.gives_up(20, T0, T0)
    assert backoff.gives_up(1, T0, T0 + timedelta(hours=24))
    assert not backoff.gives_up(1, T0, T0 + timedelta(hours=1))
