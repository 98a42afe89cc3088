"""The figures about cases and the outbox (`monitor.notify.figures`), and the dispatcher's
`ChannelSet`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.clock import FixedClock
from monitor.metrics import MetricsHub, SlaOutcome
from monitor.model import IncidentStatus, Level
from monitor.notify.channels import Channel, ChannelSet, DeliveryError
from monitor.notify.figures import IncidentWatch, SlaCounter, response_outcome
from monitor.notify.message import MessageKind, Outgoing, Payload, Rendered
from monitor.notify.planner import SlaMark
from monitor.store import Incident, Notification, OutboxKey, Store

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MESSAGE = Outgoing("case/page/0/alice/email", Payload(MessageKind.PAGE), Rendered("s", "t", "h"))


class FakeChannel:
    """A channel that fails with `error` (when set) and records what it was asked."""

    def __init__(self, name: str, error: DeliveryError | None = None) -> None:
        self._name = name
        self.error = error
        self.sent: list[Outgoing] = []
        self.closed = 0

    @property
    def name(self) -> str:
        return self._name

    async def send(self, message: Outgoing) -> None:
        if self.error is not None:
            raise self.error
        self.sent.append(message)

    async def close(self) -> None:
        self.closed += 1


def hub() -> MetricsHub:
    return MetricsHub(version="test", location="oslo")


# ---------------------------------------------------------------------- ChannelSet


def test_channel_set_is_a_read_only_mapping_of_its_channels() -> None:
    email, slack = FakeChannel("email"), FakeChannel("slack-ops")
    channels = ChannelSet({"email": email, "slack-ops": slack})
    assert len(channels) == 2
    assert channels["email"] is email
    assert sorted(channels) == ["email", "slack-ops"]
    with pytest.raises(KeyError):
        channels["pd"]


def test_channel_set_swap_adopts_the_new_channels_and_returns_the_old() -> None:
    old, new = FakeChannel("email"), FakeChannel("email")
    given: dict[str, Channel] = {"email": old}
    channels = ChannelSet(given)
    given.clear()  # a copy is kept: the caller's dict does not change it
    assert channels["email"] is old
    assert channels.swap({"email": new, "pd": FakeChannel("pd")}) == [old]
    assert channels["email"] is new
    assert sorted(channels) == ["email", "pd"]
    assert len(channels.swap({})) == 2
    assert len(channels) == 0


# ------------------------------------------------------------------- IncidentWatch


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    async with Store(f"sqlite:///{tmp_path / 'vakt.db'}") as running:
        await running.upgrade()
        yield running


def incident(n: int, level: Level = Level.A, **changes: object) -> Incident:
    row = Incident(
        case_number=f"VAKT-2026-{n:06d}",
        site_id="acme/shop",
        customer_id="acme",
        level=level,
        status=IncidentStatus.OPEN,
        opened_at=T0,
        updated_at=T0,
        respond_by=T0 + timedelta(hours=2),
    )
    return replace(row, **changes)  # type: ignore[arg-type]


async def insert(store: Store, *rows: Incident) -> list[Incident]:
    async with store.transaction() as tx:
        return [await tx.incidents.insert(row) for row in rows]


async def acknowledge(store: Store, row: Incident, at: datetime) -> None:
    async with store.transaction() as tx:
        changed = replace(row, status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=at)
        assert await tx.incidents.update(changed) is not None


def sample(metrics: MetricsHub, name: str, **labels: str) -> float:
    return metrics.registry.get_sample_value(name, labels) or 0.0


async def test_incident_watch_sets_the_open_incidents_gauge_per_level(store: Store) -> None:
    await insert(store, incident(1), incident(2, Level.B), incident(3, Level.B))
    await insert(store, incident(4, status=IncidentStatus.RESOLVED, resolved_at=T0))
    metrics = hub()
    await IncidentWatch(store, metrics, FixedClock(T0 + timedelta(minutes=5))).update()
    assert sample(metrics, "vakt_incidents_open", level="A") == 1
    assert sample(metrics, "vakt_incidents_open", level="B") == 2


async def test_incident_watch_counts_acknowledgements_after_start_once_each(
    store: Store,
) -> None:
    early, late, slow = await insert(store, incident(1), incident(2), incident(3))
    await acknowledge(store, early, T0 + timedelta(minutes=1))  # before Vakt started
    metrics, clock = hub(), FixedClock(T0 + timedelta(minutes=10))
    watch = IncidentWatch(store, metrics, clock)
    await watch.update()
    assert sample(metrics, "vakt_time_to_acknowledge_seconds_count", level="A") == 0

    await acknowledge(store, late, T0 + timedelta(minutes=20))
    await acknowledge(store, slow, T0 + timedelta(hours=3))  # after respond-by (2 h)
    await watch.update()
    await watch.update()  # seen again: not counted again

    assert sample(metrics, "vakt_time_to_acknowledge_seconds_count", level="A") == 2
    assert sample(metrics, "vakt_time_to_acknowledge_seconds_sum", level="A") == 20 * 60 + 3 * 3600
    assert sample(metrics, "vakt_sla_responses_total", level="A", outcome="met_acknowledged") == 1
    assert sample(metrics, "vakt_sla_responses_total", level="A", outcome="missed") == 1


async def test_incident_watch_reports_the_due_outbox_backlog_and_its_oldest_age(
    store: Store,
) -> None:
    def due(n: int, at: datetime) -> Notification:
        return Notification(OutboxKey("VAKT-2026-000001", "page", str(n), "alice", "email"), T0, at)

    now = T0 + timedelta(minutes=10)
    async with store.transaction() as tx:
        await tx.outbox.add([due(1, T0), due(2, now), due(3, now + timedelta(minutes=5))])
    metrics = hub()
    await IncidentWatch(store, metrics, FixedClock(now)).update()
    assert sample(metrics, "vakt_outbox_backlog") == 2  # the third is not due yet
    assert sample(metrics, "vakt_outbox_oldest_age_seconds") == 600


async def test_incident_watch_counts_a_long_case_resolved_after_many_younger_ones(
    store: Store,
) -> None:
    """Resolutions are read by their time (problem 4): a two-week case resolved without an
    acknowledgement after 201 younger cases were resolved is still counted."""
    now = T0 + timedelta(days=14)
    [long] = await insert(store, incident(1, opened_at=T0, respond_by=T0 + timedelta(hours=2)))
    metrics, clock = hub(), FixedClock(now)
    watch = IncidentWatch(store, metrics, clock)
    await watch.update()
    younger = (
        incident(
            n,
            opened_at=T0 + timedelta(hours=n),
            status=IncidentStatus.RESOLVED,
            resolved_at=T0 + timedelta(hours=n, minutes=5),
            respond_by=T0 + timedelta(hours=n + 2),
        )
        for n in range(2, 2 + 201)
    )
    await insert(store, *younger)
    async with store.transaction() as tx:
        resolved = replace(long, status=IncidentStatus.RESOLVED, resolved_at=now)
        assert await tx.incidents.update(resolved) is not None
    clock.advance(60)
    await watch.update()
    assert sample(metrics, "vakt_sla_responses_total", level="A", outcome="missed") == 1


async def test_problem_8_outbox_gauges_count_every_due_row_and_the_true_oldest_age(
    store: Store,
) -> None:
    def due(n: int, created: datetime) -> Notification:
        key = OutboxKey(f"VAKT-2026-{n:06d}", "page", "0", "alice", "email")
        return Notification(key, created, created)

    now = T0 + timedelta(minutes=10)
    oldest = due(0, T0 - timedelta(hours=1))  # created first: the last of "newest first"
    async with store.transaction() as tx:
        await tx.outbox.add([oldest, *(due(n, T0) for n in range(1, 10_001))])
    metrics = hub()
    await IncidentWatch(store, metrics, FixedClock(now)).update()
    assert sample(metrics, "vakt_outbox_backlog") == 10_001
    assert sample(metrics, "vakt_outbox_oldest_age_seconds") == 70 * 60


async def test_incident_watch_forgets_cases_once_they_are_no_longer_read(store: Store) -> None:
    rows = await insert(store, *(incident(n) for n in range(1, 6)))
    metrics, clock = hub(), FixedClock(T0 + timedelta(minutes=5))
    watch = IncidentWatch(store, metrics, clock)
    await watch.update()
    for row in rows:
        await acknowledge(store, row, T0 + timedelta(minutes=10))
    clock.advance(10 * 60)
    await watch.update()
    assert watch.remembered == 5
    async with store.transaction() as tx:
        for row in rows:
            current = await tx.incidents.get(row.id)
            assert current is not None
            done = replace(current, status=IncidentStatus.RESOLVED, resolved_at=clock.now())
            assert await tx.incidents.update(done) is not None
    clock.advance(2 * 3600)  # past RESOLVED_WITHIN: no longer read
    await watch.update()
    assert watch.remembered == 0
    assert sample(metrics, "vakt_sla_responses_total", level="A", outcome="met_acknowledged") == 5


def test_a_response_is_met_by_acknowledgement_or_by_resolving_first_or_missed() -> None:
    by = T0 + timedelta(hours=2)
    early, late = T0 + timedelta(minutes=5), T0 + timedelta(hours=3)
    assert response_outcome(by, None, None) is None
    assert response_outcome(by, early, None) is SlaOutcome.MET_ACKNOWLEDGED
    assert response_outcome(by, early, late) is SlaOutcome.MET_ACKNOWLEDGED
    assert response_outcome(by, None, early) is SlaOutcome.MET_RESOLVED_FIRST
    assert response_outcome(by, late, early) is SlaOutcome.MET_RESOLVED_FIRST
    assert response_outcome(by, late, None) is SlaOutcome.MISSED
    assert response_outcome(by, None, late) is SlaOutcome.MISSED
    assert response_outcome(None, None, late) is SlaOutcome.MET_RESOLVED_FIRST


def test_sla_counter_forgets_marks_of_cases_no_longer_open() -> None:
    metrics = hub()
    counter = SlaCounter(metrics)
    marks = [SlaMark(f"VAKT-2026-{n:06d}", "sla_warning", 0, T0) for n in range(1, 101)]
    counter.count(marks)
    counter.count(marks[:1])  # the others were answered and resolved
    assert counter.remembered == 1
    counter.count(marks[:1])
    assert sample(metrics, "vakt_sla_warnings_total") == 100


def test_sla_marks_of_cases_a_tick_did_not_plan_are_kept_and_never_counted_twice() -> None:
    """The planner tick plans only the cases with something due: a mark is forgotten only
    when a tick planned its case and the mark was not among its marks."""
    metrics = hub()
    counter = SlaCounter(metrics)
    marks = [SlaMark(f"VAKT-2026-{n:06d}", "sla_warning", 0, T0) for n in range(1, 4)]
    counter.count(marks, {m.case for m in marks})
    counter.count(marks[:1], {marks[0].case})  # only the first case was due
    assert counter.remembered == 3
    counter.count(marks[1:], {m.case for m in marks[1:]})  # the others come back: not new
    assert sample(metrics, "vakt_sla_warnings_total") == 3
    counter.count([], {marks[2].case})  # the third was resolved
    assert counter.remembered == 2
