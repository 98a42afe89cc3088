"""SLA team warnings: at the policy's `warn_at` share of the response time and at
respond-by, when nobody acknowledged by then (now injected)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from monitor.config.records import EmailSettings
from monitor.incidents import Event, EventKind
from monitor.model import IncidentStatus
from monitor.notify.message import MessageKind
from monitor.notify.planner import CaseView, Planner
from tests.notify.test_planner import MIN, T0, config, incident, of, plan

# Level A: respond 2 h on the wall clock; warn_at 75 % -> 90 minutes


def sla_warnings(minutes: int, **changes: object) -> list[tuple[str, object]]:
    planned = of(plan([incident(**changes)], T0 + minutes * MIN), MessageKind.TEAM_WARNING)
    return [(p.key.slot, p.due_at) for p in planned if p.payload.warning.startswith("sla_")]


@pytest.mark.parametrize(
    ("minutes", "expected"),
    [
        (89, []),
        (90, [("sla_warning:0", T0 + 90 * MIN)]),
        (119, [("sla_warning:0", T0 + 90 * MIN)]),
        (120, [("sla_breach:0", T0 + 120 * MIN), ("sla_warning:0", T0 + 90 * MIN)]),
    ],
)
def test_the_team_is_warned_at_warn_at_and_at_respond_by(
    minutes: int, expected: list[tuple[str, object]]
) -> None:
    assert sorted(sla_warnings(minutes)) == sorted(expected)


def test_an_acknowledgement_before_warn_at_prevents_both() -> None:
    ack = Event(EventKind.ACKNOWLEDGED, T0 + 60 * MIN, actor="alice")
    acked = {
        "events": (ack,),
        "status": IncidentStatus.ACKNOWLEDGED,
        "acknowledged_at": T0 + 60 * MIN,
    }
    assert sla_warnings(180, **acked) == []


def test_an_acknowledgement_after_warn_at_prevents_only_the_breach() -> None:
    ack = Event(EventKind.ACKNOWLEDGED, T0 + 100 * MIN, actor="alice")
    acked = {
        "events": (ack,),
        "status": IncidentStatus.ACKNOWLEDGED,
        "acknowledged_at": T0 + 100 * MIN,
    }
    assert sla_warnings(180, **acked) == [("sla_warning:0", T0 + 90 * MIN)]


def test_sla_marks_are_reported_for_the_metrics_even_without_a_team_address() -> None:
    cfg = config(1)
    cfg = replace(cfg, settings=replace(cfg.settings, email=EmailSettings()))
    planner = Planner(cfg)
    case = CaseView(incident())
    assert [
        p for p in planner.plan([case], T0 + 130 * MIN) if p.kind is MessageKind.TEAM_WARNING
    ] == []
    marks = planner.sla_marks([case], T0 + 130 * MIN)
    assert sorted((m.what, m.era, m.at) for m in marks) == [
        ("sla_breach", 0, T0 + 120 * MIN),
        ("sla_warning", 0, T0 + 90 * MIN),
    ]
