"""`vakt_notifications_total` counts what the daemon's dispatcher decided: a transient
error is `retry` while retries remain and `failed` once they ran out (the hub is the
dispatcher's observer); delivered notifications observe their delay from due time to
delivery; the SLA counters count each case's warning and breach once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.clock import FixedClock
from monitor.metrics import MetricsHub
from monitor.notify.channels import DeliveryError
from monitor.notify.dispatcher import Backoff, Dispatcher
from monitor.notify.figures import SlaCounter
from monitor.notify.message import MessageKind, Outgoing, Payload
from monitor.notify.planner import SlaMark
from monitor.store import Notification, OutboxKey, OutboxStatus, Store

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


class Refusing:
    """A channel whose receiver keeps answering "try later"."""

    name = "hook"

    async def send(self, message: Outgoing) -> None:
        raise DeliveryError("503 try later", permanent=False)

    async def close(self) -> None:
        return None


def count(hub: MetricsHub, name: str, **labels: str) -> float:
    return hub.registry.get_sample_value(name, labels) or 0.0


async def test_exhausted_retries_count_as_failed_not_retry(store_url: str) -> None:
    hub = MetricsHub(version="test", location="e2e")
    clock = FixedClock(T0)
    async with Store(store_url) as store:
        async with store.transaction() as tx:
            key = OutboxKey("VAKT-2026-000001", "page", "0:0:0", "person:alice", "hook")
            payload = Payload(MessageKind.PAGE, case="VAKT-2026-000001").to_json()
            await tx.outbox.add([Notification(key, T0, T0, payload)])
        dispatcher = Dispatcher(
            store,
            {"hook": Refusing()},
            clock,
            "e2e:1",
            backoff=Backoff(max_attempts=2, floor=timedelta(seconds=1)),
            draw=lambda: 0.0,
            observer=hub,
        )
        await dispatcher.run_once()
        labels = {"channel": "hook"}
        assert count(hub, "vakt_notifications_total", outcome="retry", **labels) == 1
        clock.advance(5)
        await dispatcher.run_once()
        assert count(hub, "vakt_notifications_total", outcome="retry", **labels) == 1
        assert count(hub, "vakt_notifications_total", outcome="failed", **labels) == 1
        async with store.transaction(read_only=True) as tx:
            [item] = await tx.outbox.find()
        assert item.status is OutboxStatus.FAILED


class Accepting:
    """A channel whose receiver takes everything."""

    name = "hook"

    async def send(self, message: Outgoing) -> None:
        return None

    async def close(self) -> None:
        return None


async def test_a_delivery_observes_its_delay_from_due_time_by_channel_and_kind(
    store_url: str,
) -> None:
    hub = MetricsHub(version="test", location="e2e")
    clock = FixedClock(T0 + timedelta(seconds=90))  # the page was due 90 s ago
    async with Store(store_url) as store:
        async with store.transaction() as tx:
            key = OutboxKey("VAKT-2026-000001", "page", "0:0:0", "person:alice", "hook")
            payload = Payload(MessageKind.PAGE, case="VAKT-2026-000001").to_json()
            await tx.outbox.add([Notification(key, T0, T0, payload)])
        await Dispatcher(store, {"hook": Accepting()}, clock, "e2e:1", observer=hub).run_once()
    labels = {"channel": "hook", "kind": "page"}
    name = "vakt_notification_delivery_delay_seconds"
    assert count(hub, f"{name}_count", **labels) == 1
    assert count(hub, f"{name}_sum", **labels) == 90.0
    assert count(hub, f"{name}_bucket", le="60.0", **labels) == 0
    assert count(hub, f"{name}_bucket", le="120.0", **labels) == 1
    assert count(hub, "vakt_notifications_total", outcome="sent", channel="hook") == 1


def test_cancelled_notifications_are_counted() -> None:
    hub = MetricsHub(version="test", location="e2e")
    assert count(hub, "vakt_notifications_cancelled_total") == 0
    hub.cancelled(2, T0)
    assert count(hub, "vakt_notifications_cancelled_total") == 2


def test_sla_warnings_and_breaches_are_counted_once_per_case_and_era() -> None:
    hub = MetricsHub(version="test", location="e2e")
    counter = SlaCounter(hub)
    warn = SlaMark("VAKT-2026-000001", "sla_warning", 0, T0)
    breach = SlaMark("VAKT-2026-000001", "sla_breach", 0, T0)
    counter.count([warn])
    counter.count([warn, breach])  # the next tick sees both
    counter.count([warn, breach, SlaMark("VAKT-2026-000001", "sla_warning", 1, T0)])
    assert count(hub, "vakt_sla_warnings_total") == 2  # era 0, then the upgrade's era 1
    assert count(hub, "vakt_sla_breaches_total") == 1
