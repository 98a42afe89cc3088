"""The dispatcher's observer hook: told of each settled attempt only after the settle
transaction committed (another connection already sees the row settled), and of rows the
send-time re-check cancelled."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

from monitor.clock import FixedClock
from monitor.model import IncidentStatus, Level
from monitor.notify.channels import DeliveryError
from monitor.notify.dispatcher import Dispatcher, SettledAttempt
from monitor.notify.message import MessageKind, Outgoing, Payload
from monitor.store import AttemptOutcome, Incident, Notification, OutboxKey, Store
from tests.notify.support import T0


class Hook:
    name = "hook"

    async def send(self, message: Outgoing) -> None:
        if message.payload.case == "VAKT-2026-000002":
            raise DeliveryError("HTTP 503", permanent=False)


class Recorder:
    """Records what it is told, and what another connection sees at that moment."""

    def __init__(self, database: Path) -> None:
        self.database = database
        self.attempts: list[SettledAttempt] = []
        self.seen: dict[int, str] = {}
        self.cancels: list[int] = []

    def settled(self, attempts: Sequence[SettledAttempt], now: datetime) -> None:
        self.attempts.extend(attempts)
        with sqlite3.connect(self.database) as conn:
            for a in attempts:
                [(status,)] = conn.execute("SELECT status FROM outbox WHERE id = ?", (a.outbox_id,))
                self.seen[a.outbox_id] = status

    def cancelled(self, count: int, now: datetime) -> None:
        self.cancels.append(count)


def page(case: str, incident_id: int | None = None) -> Notification:
    key = OutboxKey(case, "page", "0:1:0", "person:alice", "hook")
    payload = Payload(MessageKind.PAGE, case=case).to_json()
    return Notification(key, T0, T0, payload, incident_id=incident_id)


async def test_observers_hear_settled_attempts_after_the_commit_and_cancelled_rows(
    tmp_path: Path,
) -> None:
    database = tmp_path / "vakt.db"
    async with Store(f"sqlite:///{database}") as store:
        await store.upgrade()
        answered = Incident(
            "VAKT-2026-000003", "acme/shop", "acme", Level.A, IncidentStatus.ACKNOWLEDGED,
            T0, T0, acknowledged_at=T0, acknowledged_by="alice",
        )  # fmt: skip
        async with store.transaction() as tx:
            case = await tx.incidents.insert(answered)
            await tx.outbox.add(
                [
                    page("VAKT-2026-000001"),
                    page("VAKT-2026-000002"),
                    page(case.case_number, case.id),
                ]
            )
        recorder = Recorder(database)
        clock = FixedClock(T0 + timedelta(seconds=5))
        worker = Dispatcher(store, {"hook": Hook()}, clock, "w1", observer=recorder)
        assert await worker.run_once() == 3
    outcomes = {a.outcome for a in recorder.attempts}
    assert outcomes == {AttemptOutcome.SENT, AttemptOutcome.RETRY}
    sent = next(a for a in recorder.attempts if a.outcome is AttemptOutcome.SENT)
    assert (sent.channel, sent.kind, sent.due_at, sent.error) == ("hook", "page", T0, "")
    retry = next(a for a in recorder.attempts if a.outcome is AttemptOutcome.RETRY)
    assert "503" in retry.error
    assert recorder.seen == {sent.outbox_id: "sent", retry.outbox_id: "pending"}
    assert recorder.cancels == [1]


class Flaky:
    """Refuses the first send (421), takes the next."""

    name = "hook"

    def __init__(self) -> None:
        self.calls = 0

    async def send(self, message: Outgoing) -> None:
        self.calls += 1
        if self.calls == 1:
            raise DeliveryError("421 try later", permanent=False)


async def test_a_retried_row_is_told_with_its_first_due_time_not_the_retry_time(
    tmp_path: Path,
) -> None:
    """The delivery-delay histogram must show an outage: each retry moves the row's
    `due_at`, so the observer hears the time the row first fell due."""
    database = tmp_path / "vakt.db"
    async with Store(f"sqlite:///{database}") as store:
        await store.upgrade()
        async with store.transaction() as tx:
            await tx.outbox.add([page("VAKT-2026-000001")])
        recorder = Recorder(database)
        clock = FixedClock(T0 + timedelta(seconds=5))
        worker = Dispatcher(
            store, {"hook": Flaky()}, clock, "w1", observer=recorder, draw=lambda: 0.5
        )
        assert await worker.run_once() == 1
        clock.advance(600)  # past any backoff
        assert await worker.run_once() == 1
    first, second = recorder.attempts
    assert (first.outcome, second.outcome) == (AttemptOutcome.RETRY, AttemptOutcome.SENT)
    assert first.due_at == second.due_at == T0


class Outage:
    """Refuses every send while `down`."""

    name = "hook"

    def __init__(self) -> None:
        self.down = True

    async def send(self, message: Outgoing) -> None:
        if self.down:
            raise DeliveryError("421 try later", permanent=False)


async def test_rows_waiting_out_a_back_off_go_as_soon_as_their_channel_delivers_again(
    tmp_path: Path,
) -> None:
    """After a 60 s SMTP outage the last customer emails waited minutes more, each on its
    own back-off; the first delivery on a channel that was failing makes them due."""
    database = tmp_path / "vakt.db"
    channel = Outage()
    async with Store(f"sqlite:///{database}") as store:
        await store.upgrade()
        async with store.transaction() as tx:
            await tx.outbox.add([page("VAKT-2026-000001"), page("VAKT-2026-000002")])
        clock = FixedClock(T0)
        worker = Dispatcher(store, {"hook": channel}, clock, "w1", draw=lambda: 0.99)
        assert await worker.run_once() == 2  # both refused: retried after ~10 s
        channel.down = False
        clock.advance(1)
        async with store.transaction() as tx:
            await tx.outbox.add([page("VAKT-2026-000003")])
        assert await worker.run_once() == 1  # only the new one is due: delivered
        assert await worker.run_once() == 2  # the channel is back: the others go now
        async with store.transaction(read_only=True) as tx:
            items = await tx.outbox.find()
    assert {i.status.value for i in items} == {"sent"}
