"""The engine's own resolve cancels the case's pending pages in the flush transaction,
with the reason; its customer emails stay (the resolved email must still go)."""

from __future__ import annotations

from datetime import timedelta

from monitor.clock import FixedClock
from monitor.engine.engine import Engine
from monitor.model import IncidentStatus, Verdict
from monitor.store import Notification, OutboxKey, OutboxStatus, Store
from tests.engine.support import QUIET_PLANNER, T0, config, no_deadlines, result

HOME = "acme/shop/home"
CHECKOUT = "acme/shop/checkout"


async def feed(engine: Engine, clock: FixedClock, verdict: Verdict) -> None:
    engine.submit(result(HOME, clock.now(), verdict), 0.0)
    engine.submit(result(CHECKOUT, clock.now(), Verdict.OK), 0.0)
    await engine.flush()
    clock.advance(10)


async def test_recovery_resolves_the_case_and_cancels_its_pending_pages(store: Store) -> None:
    clock = FixedClock(T0)
    engine = Engine(store, config(), clock, planner=QUIET_PLANNER, deadlines=no_deadlines)
    await engine.start()
    for _ in range(2):
        await feed(engine, clock, Verdict.FAILED)
    async with store.transaction() as tx:
        [case] = await tx.incidents.find()
        later = T0 + timedelta(minutes=15)

        def row(kind: str, recipient: str) -> Notification:
            key = OutboxKey(case.case_number, kind, "0:2:0", recipient, "email")
            return Notification(key, T0, later, "{}", incident_id=case.id)

        await tx.outbox.add([row("page", "person:alice"), row("customer_update", "kari")])
    for _ in range(2):
        await feed(engine, clock, Verdict.OK)
    async with store.transaction(read_only=True) as tx:
        [resolved] = await tx.incidents.find()
        rows = {item.key.kind: item for item in await tx.outbox.find()}
    assert resolved.status is IncidentStatus.RESOLVED
    assert rows["page"].status is OutboxStatus.CANCELLED
    assert rows["page"].cancel_reason == f"case {case.case_number} was resolved by vakt"
    assert rows["customer_update"].status is OutboxStatus.PENDING
