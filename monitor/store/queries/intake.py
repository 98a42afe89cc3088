"""Customer reports, the intake's rate-limit counters, the support mailbox's messages
already read, and the probe asks (checks to probe at once for a report, read by every
instance)."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from monitor.store.queries._sql import dialect_insert
from monitor.store.records import CaseMessage, CustomerRequest, OutboxKey, RequestStatus
from monitor.store.tables import (
    case_messages,
    customer_requests,
    intake_counters,
    intake_messages,
    outbox,
    probe_asks,
)

_FIELDS = tuple(f.name for f in dataclasses.fields(CustomerRequest) if f.name != "id")


@dataclass(frozen=True, slots=True)
class IntakeQueries:
    conn: AsyncConnection

    async def count(self, key: str, window_start: datetime) -> int:
        """Add one to the counter of `key` in the window starting at `window_start` and
        return the new count (one atomic upsert: concurrent instances serialise on it)."""
        insert = dialect_insert(self.conn, intake_counters).values(
            key=key, window_start=window_start, count=1
        )
        stmt = insert.on_conflict_do_update(
            index_elements=["key", "window_start"],
            set_={"count": intake_counters.c.count + 1},
        ).returning(intake_counters.c.count)
        return int((await self.conn.execute(stmt)).scalar_one())

    async def forget_counters(self, before: datetime) -> int:
        """Drop counters of windows that started before `before`."""
        stmt = intake_counters.delete().where(intake_counters.c.window_start < before)
        return (await self.conn.execute(stmt)).rowcount or 0

    async def add(self, request: CustomerRequest) -> CustomerRequest:
        stmt = customer_requests.insert().values(**_row(request))
        new_id = (await self.conn.execute(stmt.returning(customer_requests.c.id))).scalar_one()
        return dataclasses.replace(request, id=new_id)

    async def update(self, request: CustomerRequest) -> None:
        stmt = (
            customer_requests.update()
            .where(customer_requests.c.id == request.id)
            .values(**_row(request))
        )
        await self.conn.execute(stmt)

    async def get(self, request_id: int) -> CustomerRequest | None:
        query = select(customer_requests).where(customer_requests.c.id == request_id)
        row = (await self.conn.execute(query)).first()
        return None if row is None else _request(row)

    async def by_case(self, case_number: str) -> list[CustomerRequest]:
        """The reports of a case (its own, or those that joined it), oldest first."""
        query = (
            select(customer_requests)
            .where(customer_requests.c.case_number == case_number)
            .order_by(customer_requests.c.submitted_at, customer_requests.c.id)
        )
        return [_request(row) for row in await self.conn.execute(query)]

    async def with_status(
        self, *statuses: RequestStatus, limit: int = 500
    ) -> list[CustomerRequest]:
        """Reports in any of `statuses`, oldest submission first (first come, first served)."""
        query = (
            select(customer_requests)
            .where(customer_requests.c.status.in_([s.value for s in statuses]))
            .order_by(customer_requests.c.submitted_at, customer_requests.c.id)
            .limit(limit)
        )
        return [_request(row) for row in await self.conn.execute(query)]

    async def probing(self) -> list[CustomerRequest]:
        """Open reports whose site's checks are still watched for them, oldest first."""
        query = (
            select(customer_requests)
            .where(
                customer_requests.c.status == RequestStatus.OPEN.value,
                customer_requests.c.probe_until.is_not(None),
            )
            .order_by(customer_requests.c.submitted_at, customer_requests.c.id)
        )
        return [_request(row) for row in await self.conn.execute(query)]

    async def ask_probes(self, check_ids: Sequence[str], at: datetime) -> None:
        """Ask every instance to probe these checks at once (those of its shard)."""
        if check_ids:
            rows = [{"check_id": check_id, "asked_at": at} for check_id in check_ids]
            await self.conn.execute(probe_asks.insert(), rows)

    async def asks_since(self, since: datetime) -> list[tuple[int, str]]:
        """(id, check id) of the probe asks made at or after `since`, oldest first."""
        query = (
            select(probe_asks.c.id, probe_asks.c.check_id)
            .where(probe_asks.c.asked_at >= since)
            .order_by(probe_asks.c.id)
        )
        return [(row.id, row.check_id) for row in await self.conn.execute(query)]

    async def forget_asks(self, before: datetime) -> int:
        """Drop probe asks made before `before`."""
        stmt = probe_asks.delete().where(probe_asks.c.asked_at < before)
        return (await self.conn.execute(stmt)).rowcount or 0

    async def message_known(self, message_id: str, folder: str, uidvalidity: int, uid: int) -> bool:
        """Whether this mailbox message was handled already (by Message-ID or by UID)."""
        query = select(intake_messages.c.message_id).where(
            (intake_messages.c.message_id == message_id)
            | (
                (intake_messages.c.folder == folder)
                & (intake_messages.c.uidvalidity == uidvalidity)
                & (intake_messages.c.uid == uid)
            )
        )
        return (await self.conn.execute(query.limit(1))).first() is not None

    async def add_message(
        self,
        message_id: str,
        folder: str,
        uidvalidity: int,
        uid: int,
        outcome: str,
        case_number: str | None,
        at: datetime,
    ) -> None:
        """Record a handled message (in the transaction of the case change it made)."""
        await self.conn.execute(
            intake_messages.insert().values(
                message_id=message_id,
                folder=folder,
                uidvalidity=uidvalidity,
                uid=uid,
                outcome=outcome,
                case_number=case_number,
                at=at,
            )
        )

    async def add_case_message(self, message: CaseMessage) -> None:
        values = dataclasses.asdict(message)
        values.pop("id")
        await self.conn.execute(case_messages.insert().values(**values))

    async def case_messages(self, case_number: str) -> list[CaseMessage]:
        """What customers wrote to the case: to its number, or to the number of a report
        that joined it (a reply to that report's receipt), oldest first."""
        joined = select(customer_requests.c.case_number).where(
            customer_requests.c.joined_case == case_number,
            customer_requests.c.case_number.is_not(None),
        )
        query = (
            select(case_messages)
            .where(
                (case_messages.c.case_number == case_number)
                | case_messages.c.case_number.in_(joined)
            )
            .order_by(case_messages.c.at, case_messages.c.id)
        )
        return [
            CaseMessage(r.case_number, r.at, r.sender, r.subject, r.text, r.message_id, id=r.id)
            for r in await self.conn.execute(query)
        ]

    async def sent_keys(
        self, recipients: Sequence[str], subjects: Sequence[str], *, limit: int = 2000
    ) -> list[OutboxKey]:
        """Dedupe keys of email notifications sent to `recipients` or about `subjects`
        (case numbers), newest first: the mailbox matches a reply's `In-Reply-To` with
        their Message-IDs."""
        if not recipients and not subjects:
            return []
        query = (
            select(
                outbox.c.subject, outbox.c.kind, outbox.c.slot, outbox.c.recipient, outbox.c.channel
            )
            .where(
                outbox.c.channel == "email",
                outbox.c.recipient.in_(list(recipients)) | outbox.c.subject.in_(list(subjects)),
            )
            .order_by(outbox.c.id.desc())
            .limit(limit)
        )
        return [OutboxKey(*row) for row in await self.conn.execute(query)]


def _row(request: CustomerRequest) -> dict[str, Any]:
    row = {name: getattr(request, name) for name in _FIELDS}
    row["status"] = request.status.value
    return row


def _request(row: Row[Any]) -> CustomerRequest:
    values = {name: getattr(row, name) for name in _FIELDS}
    values["status"] = RequestStatus(row.status)
    return CustomerRequest(**values, id=row.id)
