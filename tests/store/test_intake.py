"""The intake's queries on SQLite and PostgreSQL: rate-limit counters shared by writers,
customer reports, mailbox messages recorded once, and the sent keys a reply is matched
against."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from monitor.store import (
    CaseMessage,
    CustomerRequest,
    Notification,
    OutboxKey,
    RequestStatus,
    Store,
    StoreError,
)
from tests.store.support import T0


def _request(**changes: object) -> CustomerRequest:
    values: dict[str, object] = {
        "submitted_at": T0,
        "source": "form",
        "customer_id": "acme",
        "site_id": "acme/shop",
        "name": "Kari Nordmann",
        "email": "kari@acme.example",
        "description": "Vipps fails",
        "urgent": True,
        "language": "nb",
        "status": RequestStatus.OPEN,
        "case_number": "VAKT-2026-000001",
        "respond_by": T0 + timedelta(hours=2),
        "probe_until": T0 + timedelta(minutes=3),
    }
    values.update(changes)
    return CustomerRequest(**values)  # type: ignore[arg-type]


async def test_counters_count_every_writer_once(store: Store) -> None:
    async def bump() -> int:
        async with store.transaction() as tx:
            return await tx.intake.count("email:kari@acme.example", T0)

    counts = await asyncio.gather(*(bump() for _ in range(5)))
    assert sorted(counts) == [1, 2, 3, 4, 5]
    async with store.transaction() as tx:
        assert await tx.intake.count("email:kari@acme.example", T0 + timedelta(hours=1)) == 1
        assert await tx.intake.forget_counters(T0 + timedelta(minutes=1)) == 1


async def test_a_report_round_trips_and_is_found_by_case_and_status(store: Store) -> None:
    async with store.transaction() as tx:
        stored = await tx.intake.add(_request())
        await tx.intake.add(_request(status=RequestStatus.TRIAGE, case_number=None))
    assert stored.id > 0
    async with store.transaction(read_only=True) as tx:
        assert await tx.intake.get(stored.id) == stored
        assert await tx.intake.by_case("VAKT-2026-000001") == [stored]
        assert await tx.intake.probing() == [stored]
        triage = await tx.intake.with_status(RequestStatus.TRIAGE)
    assert [r.status for r in triage] == [RequestStatus.TRIAGE]
    async with store.transaction() as tx:
        await tx.intake.update(
            _request(status=RequestStatus.RESOLVED, resolved_by="alice", id=stored.id)
        )
    async with store.transaction(read_only=True) as tx:
        assert await tx.intake.probing() == []
        again = await tx.intake.get(stored.id)
    assert again is not None
    assert (again.status, again.resolved_by) == (RequestStatus.RESOLVED, "alice")


async def test_a_mailbox_message_is_recorded_once(store: Store) -> None:
    async with store.transaction() as tx:
        await tx.intake.add_message("<m1@x>", "INBOX", 7, 1, "opened", "VAKT-2026-000001", T0)
    async with store.transaction(read_only=True) as tx:
        assert await tx.intake.message_known("<m1@x>", "INBOX", 8, 9)  # by Message-ID
        assert await tx.intake.message_known("<other@x>", "INBOX", 7, 1)  # by UID
        assert not await tx.intake.message_known("<other@x>", "INBOX", 8, 1)  # new UIDVALIDITY
    with pytest.raises(StoreError):
        async with store.transaction() as tx:
            await tx.intake.add_message("<m2@x>", "INBOX", 7, 1, "opened", None, T0)


async def test_case_messages_and_sent_keys(store: Store) -> None:
    key = OutboxKey(
        "VAKT-2026-000001", "customer_receipt", "1", "contact:kari@acme.example", "email"
    )
    other = OutboxKey("VAKT-2026-000002", "page", "0:0", "person:alice", "email")
    async with store.transaction() as tx:
        await tx.outbox.add([Notification(key, T0, T0), Notification(other, T0, T0)])
        await tx.intake.add_case_message(
            CaseMessage(
                "VAKT-2026-000001", T0, "kari@acme.example", "Re: x", "still broken", "<r@x>"
            )
        )
    async with store.transaction(read_only=True) as tx:
        assert await tx.intake.sent_keys(["contact:kari@acme.example"], []) == [key]
        assert await tx.intake.sent_keys([], ["VAKT-2026-000002"]) == [other]
        assert await tx.intake.sent_keys([], []) == []
        (message,) = await tx.intake.case_messages("VAKT-2026-000001")
    assert (message.text, message.sender) == ("still broken", "kari@acme.example")
