"""Properties of the incident state machine under arbitrary sequences of evidence and
people's actions (hypothesis stateful testing):

- at most one open incident per site;
- no automatic resolve while an outage/function check fails or is degraded, nor before
  every check of the case is confirmed ok;
- every level change is in the timeline;
- case numbers never repeat (a reopen never takes a new one).
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from monitor.incidents import SYSTEM, EventKind, acknowledge, note, resolve_by_hand
from monitor.model import CheckState, Level
from tests.evaluate.builders import T0
from tests.incidents.harness import Harness, assess

check_states = st.sampled_from(list(CheckState))
LEVEL_EVENTS = (EventKind.OPENED, EventKind.REOPENED, EventKind.LEVEL_CHANGED)


class IncidentMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.h = Harness()
        self.now = T0
        self.levels: dict[str, Level] = {}
        self.last = assess(self.h.site, T0)

    @rule(
        minutes=st.integers(0, 40),
        home=check_states,
        checkout=check_states,
        search=check_states,
        tls=check_states,
        maintenance=st.booleans(),
        silenced=st.booleans(),
    )
    def evidence(
        self,
        minutes: int,
        home: CheckState,
        checkout: CheckState,
        search: CheckState,
        tls: CheckState,
        maintenance: bool,
        silenced: bool,
    ) -> None:
        self.now += timedelta(minutes=minutes)
        states = {"home": home, "checkout": checkout, "search": search, "tls": tls}
        self.last = assess(self.h.site, self.now, **states)
        context = self.h.context(in_maintenance=maintenance, silenced=silenced)
        decision = self.h.tick(self.now, context, **states)
        for event in decision.events:
            if event.kind is EventKind.RESOLVED:
                # No resolve while an outage/function check fails, unless by hand.
                assert event.actor == SYSTEM
                assert not self.last.failing
                assert not self.last.degraded
                # ... and only once every check of the case had its recover successes.
                assert decision.incident is not None
                assert self.last.all_ok(decision.incident.checks)
        self._check_level_change_recorded(decision.events)

    @rule(actor=st.sampled_from(["alice", "bob"]))
    def acknowledge(self, actor: str) -> None:
        if self.h.open is not None:
            self.h.apply(acknowledge(self.h.open, actor, self.now))

    @rule(text=st.text(min_size=1, max_size=20).filter(str.strip))
    def note(self, text: str) -> None:
        if self.h.open is not None:
            self.h.apply(note(self.h.open, "carol", text, self.now))

    @rule()
    def resolve_by_hand(self) -> None:
        if self.h.open is not None:
            self.h.apply(resolve_by_hand(self.h.open, "alice", self.now, self.last))

    def _check_level_change_recorded(self, events: tuple[object, ...]) -> None:
        incident = self.h.open
        if incident is None or incident.case is None:
            return
        before = self.levels.get(incident.case)
        self.levels[incident.case] = incident.level
        if before is not None and before is not incident.level:
            assert any(
                getattr(e, "level", None) is incident.level
                and getattr(e, "previous_level", None) is before
                for e in events
            )

    @invariant()
    def at_most_one_open_incident_per_site(self) -> None:
        open_ones = [i for i in self.h.incidents.values() if i.is_open]
        assert len(open_ones) <= 1

    @invariant()
    def the_timeline_replays_to_the_level(self) -> None:
        for incident in self.h.incidents.values():
            levels = [e.level for e in incident.timeline if e.kind in LEVEL_EVENTS]
            assert levels
            assert levels[-1] is incident.level

    @invariant()
    def case_numbers_never_repeat(self) -> None:
        opened = Counter(case for case, e in self.h.events if e.kind is EventKind.OPENED)
        assert all(n == 1 for n in opened.values())
        assert self.h.sequence == len(opened) == len(self.h.incidents)

    @invariant()
    def every_event_has_an_actor_and_the_timeline_is_in_order(self) -> None:
        for incident in self.h.incidents.values():
            times = [e.at for e in incident.timeline]
            assert times == sorted(times)
            assert all(e.actor for e in incident.timeline)

    @invariant()
    def an_automatic_resolve_needs_every_involved_check_ok(self) -> None:
        for incident in self.h.incidents.values():
            if incident.is_open or incident.resolved_by != SYSTEM:
                continue
            assert incident.recovered_at is not None


IncidentMachine.TestCase.settings = settings(
    max_examples=150, stateful_step_count=30, deadline=None
)
TestIncidentMachine = IncidentMachine.TestCase
