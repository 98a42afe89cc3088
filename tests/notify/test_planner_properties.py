"""Properties of the planner: re-planning is idempotent and keys are deterministic."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.incidents import Event, EventKind
from monitor.model import IncidentStatus, Level
from monitor.notify.message import MessageKind
from monitor.notify.planner import CaseView, Planner
from tests.notify.test_planner import T0, config, incident

SECOND = timedelta(seconds=1)

cases = st.lists(
    st.tuples(
        st.integers(0, 600),  # opened, seconds after T0
        st.sampled_from([Level.A, Level.B]),
        st.one_of(st.none(), st.integers(0, 7200)),  # acknowledged after opening
        st.one_of(st.none(), st.integers(0, 14400)),  # resolved after opening
    ),
    min_size=1,
    max_size=8,
)


def build(spec: list[tuple[int, Level, int | None, int | None]]) -> list[CaseView]:
    views = []
    for n, (opened, level, ack, resolved) in enumerate(spec):
        at = T0 + opened * SECOND
        events: list[Event] = []
        changes: dict[str, object] = {}
        if ack is not None:
            events.append(Event(EventKind.ACKNOWLEDGED, at + ack * SECOND, actor="alice"))
            changes |= {"acknowledged_at": at + ack * SECOND, "status": IncidentStatus.ACKNOWLEDGED}
        if resolved is not None:
            events.append(Event(EventKind.RESOLVED, at + resolved * SECOND))
            changes |= {"resolved_at": at + resolved * SECOND, "status": IncidentStatus.RESOLVED}
        case = incident(n, at=at, level=level, events=tuple(events), **changes)  # type: ignore[arg-type]
        views.append(CaseView(case))
    return views


@settings(max_examples=60, deadline=None)
@given(cases, st.integers(0, 20000), st.integers(0, 20000))
def test_a_later_plan_repeats_every_key_of_an_earlier_one_with_the_same_due_time(
    spec: list[tuple[int, Level, int | None, int | None]], first: int, gap: int
) -> None:
    planner = Planner(config(len(spec), mass_sites=50))
    views = build(spec)
    early = planner.plan(views, T0 + first * SECOND)
    late = planner.plan(views, T0 + (first + gap) * SECOND)
    assert planner.plan(views, T0 + first * SECOND) == early  # the same input, the same output
    late_due = {p.key: p.due_at for p in late}
    for p in early:
        if p.kind is MessageKind.CUSTOMER_UPDATE:
            continue  # only the latest update is planned: an older one is superseded
        assert late_due.get(p.key) == p.due_at, str(p.key)


@settings(max_examples=60, deadline=None)
@given(cases, st.integers(0, 20000))
def test_nothing_is_planned_before_it_is_due_and_keys_are_unique(
    spec: list[tuple[int, Level, int | None, int | None]], offset: int
) -> None:
    now = T0 + offset * SECOND
    planned = Planner(config(len(spec), mass_sites=50)).plan(build(spec), now)
    assert all(p.due_at <= now for p in planned)
    assert len({p.key for p in planned}) == len(planned)


@settings(max_examples=40, deadline=None)
@given(cases, st.integers(0, 20000))
def test_no_page_is_due_at_or_after_its_case_was_acknowledged(
    spec: list[tuple[int, Level, int | None, int | None]], offset: int
) -> None:
    views = build(spec)
    stops = {
        v.incident.case: min(
            (t for t in (v.incident.acknowledged_at, v.incident.resolved_at) if t), default=None
        )
        for v in views
    }
    planned = Planner(config(len(spec), mass_sites=50)).plan(views, T0 + offset * SECOND)
    for p in planned:
        if p.kind is MessageKind.PAGE:
            stop = stops[p.key.subject]
            assert stop is None or p.due_at < stop
