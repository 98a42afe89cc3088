"""Issue 18 item 4: who was paged or emailed, by which channel and when, comes from typed
`paged` / `customer_emailed` timeline events. The dispatcher writes them when it settles a
successful send (in the transaction that marks the row sent), and the incident page
renders its timeline from events only.

A real send: the dispatcher delivers through aiosmtpd on 127.0.0.1 into the web tests'
SQLite store; the team UI then reads that store.
"""

from __future__ import annotations

import random
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta

import aiohttp
import pytest

from monitor.clock import FixedClock
from monitor.config.records import EmailSettings, Language, Mailbox, SmtpSettings
from monitor.model import Level
from monitor.notify.channels import Channel, ChannelContext, build_channels
from monitor.notify.dispatcher import Dispatcher
from monitor.notify.message import DigestEntry, MessageKind
from monitor.notify.render import Renderer
from monitor.store import EventKind, Notification, OutboxKey, OutboxStatus
from tests.notify.support import SmtpSink, customer_payload, page_payload
from tests.web.conftest import Client
from tests.web.support import T0, Env, add_incident, add_password, login

SENT_AT = T0 + timedelta(minutes=5)


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.start()
    try:
        yield sink
    finally:
        sink.stop()


@pytest.fixture
async def channels(smtp: SmtpSink) -> AsyncIterator[dict[str, Channel]]:
    settings = EmailSettings(
        sender=Mailbox("support@agency.example", "Support"),
        smtp=SmtpSettings(port=smtp.port, timeout=timedelta(seconds=3)),
    )
    async with aiohttp.ClientSession() as session:
        ctx = ChannelContext(session=session, clock=FixedClock(SENT_AT), email=settings)
        built = build_channels({}, ctx)
        yield built
        for channel in built.values():
            await channel.close()


async def test_a_sent_page_and_customer_email_are_timeline_events_shown_in_words(
    env: Env, private: Client, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    row = await add_incident(env.store, case="VAKT-2026-000042")
    page = page_payload(case=row.case_number)
    mail = customer_payload(MessageKind.CUSTOMER_UPDATE, Language.NB, case=row.case_number)
    async with env.store.transaction() as tx:
        await tx.outbox.add(
            [
                Notification(
                    OutboxKey(row.case_number, "page", "1:0", "person:alice", "email"),
                    T0, T0, page.to_json(), incident_id=row.id,
                ),
                Notification(
                    OutboxKey(row.case_number, "customer_update", "1",
                              "contact:kari@acme.example", "email"),
                    T0, T0, mail.to_json(), incident_id=row.id,
                ),
            ]
        )  # fmt: skip
    worker = Dispatcher(
        env.store,
        channels,
        FixedClock(SENT_AT),
        "w1",
        renderer=Renderer(),
        timeout=timedelta(seconds=5),
        draw=random.Random(7).random,
    )

    assert await worker.run_once() == 2
    assert len(smtp.messages) == 2

    async with env.store.transaction(read_only=True) as tx:
        assert {i.status for i in await tx.outbox.find()} == {OutboxStatus.SENT}
        events = await tx.incidents.events(row.id)
    told = sorted(
        (e.kind, e.recipient, e.channel, e.at)
        for e in events
        if e.kind in (EventKind.PAGED, EventKind.CUSTOMER_EMAILED)
    )
    assert told == [
        (EventKind.CUSTOMER_EMAILED, "contact:kari@acme.example", "email", SENT_AT),
        (EventKind.PAGED, "person:alice", "email", SENT_AT),
    ]

    await add_password(env.store)
    await login(private)
    response = await private.get(f"/incidents/{row.case_number}")
    assert response.status == 200
    html = await response.text()
    timeline = html[html.index('id="tl-h"') :]
    assert timeline.count("Paged Alice Hansen by email") == 1
    assert timeline.count("Emailed the customer (kari@acme.example) by email") == 1


async def test_a_sent_digest_is_a_paged_event_on_each_of_its_cases(
    env: Env, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    first = await add_incident(env.store, case="VAKT-2026-000042")
    second = await add_incident(env.store, case="VAKT-2026-000043", site_id="open/web")
    entries = tuple(
        DigestEntry(row.case_number, "shop.acme.example", Level.A, T0) for row in (first, second)
    )
    digest = page_payload(kind=MessageKind.DIGEST, case=None, incidents=entries)
    key = OutboxKey("digest-abc123", "digest", "0", "person:alice", "email")
    async with env.store.transaction() as tx:
        await tx.outbox.add([Notification(key, T0, T0, digest.to_json())])
    worker = Dispatcher(
        env.store,
        channels,
        FixedClock(SENT_AT),
        "w1",
        renderer=Renderer(),
        timeout=timedelta(seconds=5),
        draw=random.Random(7).random,
    )

    assert await worker.run_once() == 1
    assert len(smtp.messages) == 1

    async with env.store.transaction(read_only=True) as tx:
        for row in (first, second):
            paged = [
                (e.recipient, e.channel, e.at)
                for e in await tx.incidents.events(row.id)
                if e.kind is EventKind.PAGED
            ]
            assert paged == [("person:alice", "email", SENT_AT)], row.case_number
