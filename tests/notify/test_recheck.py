"""The send-time re-check: immediately before a page or digest goes out, the dispatcher
reads its case(s) again. Acknowledged or resolved: the row is cancelled with the reason,
never sent. Silenced or in maintenance: its due time moves to the end of the silence or
window. A digest drops the cases that no longer want it and is cancelled when none is
left. Customer emails are never cancelled this way. Both backends, real SMTP."""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, timedelta

import aiohttp
import pytest

from monitor.clock import FixedClock
from monitor.config.records import EmailSettings, Language, Mailbox, Maintenance, SmtpSettings
from monitor.engine import commands
from monitor.model import IncidentStatus, Level
from monitor.notify.channels import Channel, ChannelContext, build_channels
from monitor.notify.dispatcher import Dispatcher
from monitor.notify.message import DigestEntry, MessageKind, Payload
from monitor.notify.render import Renderer
from monitor.store import (
    Incident,
    MaintenanceWindow,
    Notification,
    OutboxItem,
    OutboxKey,
    OutboxStatus,
    Silence,
    SilenceScope,
    Store,
)
from tests.notify.support import T0, SmtpSink, customer_payload, page_payload

CASE_1 = "VAKT-2026-000042"
CASE_2 = "VAKT-2026-000043"
HOUR = timedelta(hours=1)


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


def dispatcher(store: Store, channels: dict[str, Channel], clock: FixedClock) -> Dispatcher:
    return Dispatcher(
        store,
        channels,
        clock,
        "w1",
        renderer=Renderer(),
        timeout=timedelta(seconds=5),
        draw=random.Random(7).random,
    )


async def open_case(
    store: Store, case: str, *, site_id: str = "acme/shop", **data: object
) -> Incident:
    incident = Incident(
        case_number=case,
        site_id=site_id,
        customer_id="acme",
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=T0,
        updated_at=T0,
        respond_by=T0 + 2 * HOUR,
        paging_started_at=T0,
        data=json.dumps(data),
    )
    async with store.transaction() as tx:
        return await tx.incidents.insert(incident)


def page_row(incident: Incident, slot: str = "0:1:0") -> Notification:
    key = OutboxKey(incident.case_number, "page", slot, "person:alice", "email")
    payload = page_payload(case=incident.case_number)
    return Notification(key, T0, T0, payload.to_json(), incident_id=incident.id)


def digest_row(*cases: str) -> Notification:
    key = OutboxKey("digest-abc123", "digest", "0", "person:alice", "email")
    entries = tuple(DigestEntry(case, f"site of {case}", Level.A, T0) for case in cases)
    payload = Payload(
        kind=MessageKind.DIGEST,
        incidents=entries,
        ack_url="https://status.agency.example/ack/all",
        title=f"{len(entries)} more incidents",
        to=Mailbox("alice@agency.example", "Alice Hansen"),
    )
    return Notification(key, T0, T0, payload.to_json())


async def add(store: Store, *rows: Notification) -> None:
    async with store.transaction() as tx:
        await tx.outbox.add(list(rows))


async def only(store: Store) -> OutboxItem:
    async with store.transaction(read_only=True) as tx:
        [item] = await tx.outbox.find()
    return item


async def test_problem_5_a_page_retried_after_the_ack_is_cancelled_not_sent(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    clock = FixedClock(T0)
    worker = dispatcher(store, channels, clock)
    case = await open_case(store, CASE_1)
    await add(store, page_row(case))
    smtp.handler.reply = "451 4.3.0 try later"
    assert await worker.run_once() == 1  # the first attempt fails transiently
    smtp.handler.reply = "250 OK"
    await commands.acknowledge(store, CASE_1, "alice", T0 + timedelta(minutes=1))
    clock.advance(3600)
    await worker.run_once()
    item = await only(store)
    assert item.status is OutboxStatus.CANCELLED
    assert CASE_1 in item.cancel_reason
    assert "acknowledged" in item.cancel_reason
    assert "alice" in item.cancel_reason
    assert smtp.messages == []


async def test_problem_5_a_page_inserted_after_the_ack_committed_is_cancelled_at_send_time(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    # The PostgreSQL race: a tick read the case before the ack committed and inserts the
    # page after it. The ack's own cancel cannot see that row; the send-time check does.
    case = await open_case(store, CASE_1)
    await commands.acknowledge(store, CASE_1, "alice", T0)
    await add(store, page_row(case))
    await dispatcher(store, channels, FixedClock(T0)).run_once()
    item = await only(store)
    assert item.status is OutboxStatus.CANCELLED
    assert "alice" in item.cancel_reason
    assert smtp.messages == []


async def test_problem_5_a_page_of_a_resolved_case_is_cancelled_and_its_customer_email_sent(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    case = await open_case(store, CASE_1)
    async with store.transaction() as tx:
        done = replace(case, status=IncidentStatus.RESOLVED, resolved_at=T0, resolved_by="bob")
        resolved = await tx.incidents.update(done)
    assert resolved is not None
    customer = customer_payload(MessageKind.CUSTOMER_RESOLVED, Language.EN, resolved_at=T0)
    key = OutboxKey(CASE_1, "customer_resolved", "0", "kari@acme.example", "email")
    await add(store, page_row(case), Notification(key, T0, T0, customer.to_json(), case.id))
    await dispatcher(store, channels, FixedClock(T0)).run_once()
    async with store.transaction(read_only=True) as tx:
        items = {item.key.kind: item for item in await tx.outbox.find()}
    assert items["page"].status is OutboxStatus.CANCELLED
    assert "resolved" in items["page"].cancel_reason
    assert items["customer_resolved"].status is OutboxStatus.SENT
    assert len(smtp.messages) == 1


async def test_problem_5_a_digest_drops_the_acknowledged_case_and_is_sent_with_the_other(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    await open_case(store, CASE_1)
    await open_case(store, CASE_2, site_id="acme/blog")
    await commands.acknowledge(store, CASE_1, "alice", T0)
    await add(store, digest_row(CASE_1, CASE_2))
    await dispatcher(store, channels, FixedClock(T0)).run_once()
    item = await only(store)
    assert item.status is OutboxStatus.SENT
    [message] = smtp.messages
    body = message.get_body(("plain",))
    assert body is not None
    text = body.get_content()
    assert CASE_2 in text
    assert CASE_1 not in text
    assert [e.case for e in Payload.from_json(item.payload).incidents] == [CASE_2]


async def test_problem_5_a_digest_whose_cases_are_all_acknowledged_is_cancelled(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    await open_case(store, CASE_1)
    await open_case(store, CASE_2, site_id="acme/blog")
    await commands.acknowledge(store, CASE_1, "alice", T0)
    await commands.resolve(store, CASE_2, "bob", T0)
    await add(store, digest_row(CASE_1, CASE_2))
    await dispatcher(store, channels, FixedClock(T0)).run_once()
    item = await only(store)
    assert item.status is OutboxStatus.CANCELLED
    assert CASE_1 in item.cancel_reason
    assert CASE_2 in item.cancel_reason
    assert smtp.messages == []


async def test_problem_5_a_page_of_a_silenced_case_waits_until_the_silence_ends(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    case = await open_case(store, CASE_1, silenced=True)
    async with store.transaction() as tx:
        await tx.silences.add(
            Silence(SilenceScope.SITE, "acme/shop", T0, T0 + HOUR, "deploy", "bob", T0)
        )
    await add(store, page_row(case))
    clock = FixedClock(T0)
    worker = dispatcher(store, channels, clock)
    await worker.run_once()
    item = await only(store)
    assert item.status is OutboxStatus.PENDING
    assert item.due_at == T0 + HOUR
    assert item.attempts == 0
    assert item.lease_owner is None
    assert smtp.messages == []
    assert await worker.run_once() == 0  # not due yet


async def test_problem_5_a_page_of_a_case_in_maintenance_waits_until_the_window_ends(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    case = await open_case(store, CASE_1, paused=True)
    async with store.transaction() as tx:
        await tx.maintenance.add(
            MaintenanceWindow(("acme/*",), T0, T0 + 2 * HOUR, "upgrade", "bob", T0)
        )
    await add(store, page_row(case))
    await dispatcher(store, channels, FixedClock(T0)).run_once()
    item = await only(store)
    assert item.status is OutboxStatus.PENDING
    assert item.due_at == T0 + 2 * HOUR
    assert smtp.messages == []


async def test_problem_5_acknowledge_and_resolve_cancel_pending_pages_in_their_transaction(
    store: Store,
) -> None:
    first = await open_case(store, CASE_1)
    second = await open_case(store, CASE_2, site_id="acme/blog")
    customer = customer_payload(MessageKind.CUSTOMER_OPENED, Language.EN)
    email_key = OutboxKey(CASE_1, "customer_opened", "0", "kari@acme.example", "email")
    later = T0 + HOUR
    await add(
        store,
        page_row(first, "0:1:0"),
        page_row(first, "0:2:0"),
        page_row(second),
        Notification(email_key, T0, later, customer.to_json(), first.id),
    )
    await commands.acknowledge(store, CASE_1, "alice", T0)
    await commands.resolve(store, CASE_2, "bob", T0)
    async with store.transaction(read_only=True) as tx:
        items = await tx.outbox.find()
    by_key = {(i.key.subject, i.key.kind, i.key.slot): i for i in items}
    for slot in ("0:1:0", "0:2:0"):
        cancelled = by_key[(CASE_1, "page", slot)]
        assert cancelled.status is OutboxStatus.CANCELLED
        assert "acknowledged by alice" in cancelled.cancel_reason
    assert by_key[(CASE_2, "page", "0:1:0")].status is OutboxStatus.CANCELLED
    assert "resolved by bob" in by_key[(CASE_2, "page", "0:1:0")].cancel_reason
    assert by_key[(CASE_1, "customer_opened", "0")].status is OutboxStatus.PENDING


async def test_a_check_silence_and_a_config_window_are_found_through_the_config(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    from tests.engine.support import config

    window = Maintenance(
        "patching", ("acme/blog",), UTC, "UTC", "patching", start=T0, end=T0 + 3 * HOUR
    )
    current = replace(config(), maintenance=(window,))
    silenced = await open_case(store, CASE_1, silenced=True)
    paused = await open_case(store, CASE_2, site_id="acme/blog", paused=True)
    async with store.transaction() as tx:
        await tx.silences.add(
            Silence(SilenceScope.CHECK, "acme/shop/checkout", T0, T0 + HOUR, "flaky", "bob", T0)
        )
    await add(store, page_row(silenced), page_row(paused))
    worker = Dispatcher(
        store, channels, FixedClock(T0), "w1", timeout=timedelta(seconds=5),
        config=lambda: current,
    )  # fmt: skip
    await worker.run_once()
    async with store.transaction(read_only=True) as tx:
        due = {item.key.subject: item.due_at for item in await tx.outbox.find()}
    assert due == {CASE_1: T0 + HOUR, CASE_2: T0 + 3 * HOUR}
    assert smtp.messages == []


async def test_a_flagged_case_without_a_silence_found_is_looked_at_again_soon(
    store: Store, smtp: SmtpSink, channels: dict[str, Channel]
) -> None:
    case = await open_case(store, CASE_1, silenced=True)  # e.g. a check silence, no config
    await add(store, page_row(case))
    worker = Dispatcher(
        store, channels, FixedClock(T0), "w1", timeout=timedelta(seconds=5),
        hold_fallback=timedelta(minutes=2),
    )  # fmt: skip
    await worker.run_once()
    item = await only(store)
    assert (item.status, item.due_at) == (OutboxStatus.PENDING, T0 + timedelta(minutes=2))
    assert smtp.messages == []


class BrokenConfig:
    """A config whose site look-up raises: a bug inside the re-check."""

    maintenance = ()

    def site(self, site_id: str) -> None:
        raise RuntimeError("bug in the config")


async def test_a_bug_in_the_recheck_sends_the_page_as_planned_and_is_logged(
    store: Store,
    smtp: SmtpSink,
    channels: dict[str, Channel],
    caplog: pytest.LogCaptureFixture,
) -> None:
    case = await open_case(store, CASE_1)
    await add(store, page_row(case))
    worker = Dispatcher(
        store, channels, FixedClock(T0), "w1", timeout=timedelta(seconds=5),
        config=lambda: BrokenConfig(),  # type: ignore[arg-type,return-value]
    )  # fmt: skip
    assert await worker.run_once() == 1
    item = await only(store)
    assert item.status is OutboxStatus.SENT
    assert len(smtp.messages) == 1
    [record] = [r for r in caplog.records if r.getMessage() == "notify.recheck_failed"]
    assert record.exc_info is not None
