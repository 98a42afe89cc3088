"""The planner tick's index (`incidents.next_plan_at`): a tick reads only the cases with
something due, and plans exactly what a full re-plan of every case on every tick plans.

Real stores (SQLite files; the count test on PostgreSQL too), the real tick, the real
planner; time is simulated (`now` passed in)."""

from __future__ import annotations

import asyncio
import json
import tempfile
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.model import IncidentStatus, Level
from monitor.notify.planner import Planner
from monitor.notify.tick import planner_tick
from monitor.store import EventKind, Incident, IncidentEvent, Store
from tests.notify.test_planner import MIN, T0, config
from tests.notify.test_tick import open_store
from tests.store.support import Backend

SECOND = timedelta(seconds=1)
PERIOD = 2 * MIN
LOOKBACK = timedelta(days=3)
"""Longer than any simulated run: no resolved case leaves the cases read. (When one does,
a full re-plan sees its group windows shift and can plan a page of another case, hours
after it was due, as a single page where it had been in a digest; the index does not
re-plan that case, so the two differ by that late page. Found by this test; kept out of
the comparison, which is about the index.)"""


def _row(number: int, customer: str, level: Level, at: datetime) -> Incident:
    policy = "approve" if customer == "c99" else "standard"
    return Incident(
        case_number=f"VAKT-2026-{number:06d}",
        site_id=f"{customer}/shop",
        customer_id=customer,
        level=level,
        status=IncidentStatus.OPEN,
        opened_at=at,
        updated_at=at,
        description="Home fails: HTTP 500",
        respond_by=at + (timedelta(hours=2) if level is Level.A else timedelta(days=1)),
        data=json.dumps({"v": 1, "kind": "site", "policy": policy}),
    )


async def _open(store: Store, rows: list[Incident]) -> list[int]:
    async with store.transaction() as tx:
        ids = []
        for row in rows:
            stored = await tx.incidents.insert(row)
            opened = IncidentEvent(
                stored.id, row.opened_at, "vakt", EventKind.OPENED, level=row.level
            )
            await tx.incidents.add_events([opened])
            ids.append(stored.id)
    return ids


async def _outbox(store: Store) -> list[tuple[str, datetime]]:
    async with store.transaction(read_only=True) as tx:
        items = await tx.outbox.find(limit=100_000)
    return sorted((str(i.key), i.due_at) for i in items)


async def test_with_1000_open_cases_and_nothing_due_a_tick_reads_no_case(
    backend: Backend,
) -> None:
    store = await open_store(backend)
    try:
        customers = ["c00", "c01", "c02"]
        rows = [_row(n + 1, customers[n % 3], Level.A, T0) for n in range(1000)]
        await _open(store, rows)
        planner = Planner(config(3))  # ticks every 2 min: no tick below is after downtime
        first = await planner_tick(store, planner.config, planner, T0, period=PERIOD)
        assert first.read == 1000  # the first tick plans every case
        for later in (T0 + SECOND, T0 + 20 * SECOND):  # the digests close at 30 s
            quiet = await planner_tick(store, planner.config, planner, later, period=PERIOD)
            assert (quiet.read, quiet.inserted) == (0, 0)
        # Past the digests' close, the next thing due is the customer email at 5 min.
        await planner_tick(store, planner.config, planner, T0 + MIN, period=PERIOD)
        quiet = await planner_tick(store, planner.config, planner, T0 + 4 * MIN, period=PERIOD)
        assert (quiet.read, quiet.inserted) == (0, 0)
        due = await planner_tick(store, planner.config, planner, T0 + 5 * MIN, period=PERIOD)
        assert (due.read, due.inserted) == (1000, 1000)  # every customer's opened email
    finally:
        await store.close()


async def test_a_write_or_another_config_makes_the_next_tick_plan_the_case(
    backend: Backend,
) -> None:
    store = await open_store(backend)
    try:
        [first, _] = await _open(store, [_row(1, "c00", Level.A, T0), _row(2, "c01", Level.A, T0)])
        planner = Planner(config(3))
        await planner_tick(store, planner.config, planner, T0, period=PERIOD)
        await planner_tick(store, planner.config, planner, T0 + MIN, period=PERIOD)
        quiet = await planner_tick(store, planner.config, planner, T0 + 2 * MIN, period=PERIOD)
        assert quiet.read == 0
        async with store.transaction() as tx:  # a private note: a write of the case
            note = IncidentEvent(first, T0 + 2 * MIN, "alice", EventKind.NOTE, "looking")
            await tx.incidents.add_events([note])
        written = await planner_tick(store, planner.config, planner, T0 + 3 * MIN, period=PERIOD)
        assert written.read >= 1
        quiet = await planner_tick(store, planner.config, planner, T0 + 4 * MIN, period=PERIOD)
        assert quiet.read == 0
        other = Planner(config(4))  # a reload: another customer list
        reloaded = await planner_tick(store, other.config, other, T0 + 4 * MIN, period=PERIOD)
        assert reloaded.read == 2
    finally:
        await store.close()


# ------------------------------------------------------------- index == full re-plan

Kind = Literal["ack", "resolve", "reopen", "note", "approve", "upgrade"]


@dataclass(frozen=True)
class CaseSpec:
    opened: int  # minutes after T0
    customer: str
    level: Level


@dataclass(frozen=True)
class Act:
    at: int  # minutes after the case opened
    case: int
    kind: Kind


specs = st.lists(
    st.builds(
        CaseSpec,
        st.integers(0, 90),
        st.sampled_from(["c00", "c01", "c99"]),
        st.sampled_from([Level.A, Level.B]),
    ),
    min_size=1,
    max_size=5,
)
acts = st.lists(
    st.builds(
        Act,
        st.integers(0, 200),
        st.integers(0, 4),
        st.sampled_from(["ack", "resolve", "reopen", "note", "approve", "upgrade"]),
    ),
    max_size=12,
)
# Minutes between ticks; the tick's period is 2 min, so a step of 7 or 40 is downtime.
steps = st.lists(st.sampled_from([1, 1, 1, 2, 2, 3, 7, 40]), min_size=20, max_size=120)


async def _act(store: Store, ids: dict[int, int], act: Act, at: datetime) -> None:
    incident_id = ids[act.case]
    async with store.transaction() as tx:
        row = await tx.incidents.get(incident_id)
        assert row is not None
        resolved = row.status is IncidentStatus.RESOLVED
        new: Incident | None = None
        event: IncidentEvent | None = None
        if act.kind == "ack" and row.status is IncidentStatus.OPEN:
            new = replace(row, status=IncidentStatus.ACKNOWLEDGED, acknowledged_at=at)
            event = IncidentEvent(incident_id, at, "alice", EventKind.ACKNOWLEDGED)
        elif act.kind == "resolve" and not resolved:
            new = replace(row, status=IncidentStatus.RESOLVED, resolved_at=at, resolved_by="vakt")
            event = IncidentEvent(incident_id, at, "vakt", EventKind.RESOLVED)
        elif act.kind == "reopen" and resolved:
            new = replace(row, status=IncidentStatus.OPEN, resolved_at=None, resolved_by=None)
            event = IncidentEvent(incident_id, at, "vakt", EventKind.REOPENED, level=row.level)
        elif act.kind == "upgrade" and row.level is Level.B and not resolved:
            new = replace(row, level=Level.A)
            event = IncidentEvent(
                incident_id,
                at,
                "vakt",
                EventKind.LEVEL_CHANGED,
                level=Level.A,
                previous_level=Level.B,
            )
        elif act.kind == "note":
            event = IncidentEvent(incident_id, at, "alice", EventKind.NOTE, "on it", public=True)
        elif act.kind == "approve":
            await tx.web.approve(incident_id, "alice", at)
        if new is not None:
            assert await tx.incidents.update(replace(new, updated_at=at)) is not None
        if event is not None:
            await tx.incidents.add_events([event])


async def _run(
    folder: Path, cases: list[CaseSpec], plan: list[Act], gaps: list[int], *, full: bool
) -> tuple[list[tuple[str, datetime]], int]:
    store = Store(f"sqlite:///{folder / ('full.db' if full else 'index.db')}")
    await store.open()
    await store.upgrade()
    try:
        planner = Planner(config(3))
        timeline: list[tuple[datetime, int, Act | tuple[int, CaseSpec]]] = []
        for n, case in enumerate(cases):
            timeline.append((T0 + case.opened * MIN, n, (n, case)))
        for act in plan:
            if act.case < len(cases):
                at = T0 + (cases[act.case].opened + act.at) * MIN + SECOND
                timeline.append((at, len(cases) + len(timeline), act))
        timeline.sort(key=lambda item: (item[0], item[1]))
        ids: dict[int, int] = {}  # case spec -> incident id
        read = 0
        now = T0
        for step in gaps:
            while timeline and timeline[0][0] <= now:
                at, _, item = timeline.pop(0)
                if isinstance(item, tuple):
                    n, case = item
                    row = _row(n + 1, case.customer, case.level, at)
                    [ids[n]] = await _open(store, [row])
                else:
                    await _act(store, ids, item, at)
            result = await planner_tick(
                store, planner.config, planner, now, period=PERIOD, lookback=LOOKBACK, full=full
            )
            read += result.read
            now += step * MIN
        return await _outbox(store), read
    finally:
        await store.close()


def _same_rows(cases: list[CaseSpec], plan: list[Act], gaps: list[int]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        indexed, read = asyncio.run(_run(Path(folder), cases, plan, gaps, full=False))
        everything, read_all = asyncio.run(_run(Path(folder), cases, plan, gaps, full=True))
    assert indexed == everything
    assert read <= read_all


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs, acts, steps)
def test_the_index_plans_the_same_outbox_rows_as_a_full_re_plan_on_every_tick(
    cases: list[CaseSpec], plan: list[Act], gaps: list[int]
) -> None:
    _same_rows(cases, plan, gaps)


@pytest.mark.slow
@pytest.mark.timeout(900)
@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(specs, acts, steps)
def test_the_index_plans_the_same_outbox_rows_as_a_full_re_plan_many_examples(
    cases: list[CaseSpec], plan: list[Act], gaps: list[int]
) -> None:
    _same_rows(cases, plan, gaps)
