"""The figures the metrics show about cases and the outbox, read from the store.

`IncidentWatch` (a gauge job of the daemon) sets the open-incident and outbox gauges and
counts the acknowledgement time and SLA response of every case acknowledged or resolved
by anyone (CLI, web, another process), saying how the response came (`response_outcome`);
`SlaCounter` counts the SLA warnings and breaches the planner tick reports. Each counts
a case once per process, and forgets a case once it is no longer read (resolved long
ago), so their memory stays as small as the set of cases in play. Whether a response
was in time is `monitor.policy.answered_in_time`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime, timedelta
from typing import Final

from monitor.clock import Clock
from monitor.metrics import MetricsHub, SlaOutcome
from monitor.model import Level
from monitor.notify.planning.warnings import SlaMark
from monitor.policy import answered_in_time
from monitor.store import Incident, Store


class IncidentWatch:
    """Incident and outbox gauges, and the acknowledgement and SLA figures of incidents
    acknowledged or resolved by anyone: each incident is counted once per process; those
    already acknowledged or resolved at start are not. An incident resolved more than
    `RESOLVED_WITHIN` ago is no longer read, and forgotten."""

    RESOLVED_WITHIN: Final = timedelta(hours=1)  # far beyond the gauges' period

    def __init__(self, store: Store, hub: MetricsHub, clock: Clock) -> None:
        self._store = store
        self._hub = hub
        self._clock = clock
        self._acknowledged: set[int] = set()
        self._settled: set[int] = set()  # SLA response counted (acknowledged or resolved)
        self._primed = False

    async def update(self) -> None:
        now = self._clock.now()
        async with self._store.transaction(read_only=True) as tx:
            open_rows = await tx.incidents.unresolved()
            resolved = await tx.incidents.resolved_since(now - self.RESOLVED_WITHIN)
            backlog = await tx.outbox.due_backlog(now)
        counts: dict[Level, int] = {}
        for row in open_rows:
            counts[row.level] = counts.get(row.level, 0) + 1
        self._hub.set_incidents_open(counts)
        self._hub.set_outbox(backlog.count, backlog.oldest_age(now).total_seconds())
        self._responses([*open_rows, *resolved], count=self._primed)
        self._primed = True

    @property
    def remembered(self) -> int:
        """How many incident ids the watch keeps (for tests of its bound)."""
        return len(self._acknowledged | self._settled)

    def _responses(self, rows: Sequence[Incident], *, count: bool) -> None:
        for row in rows:
            if row.acknowledged_at is not None and row.id not in self._acknowledged:
                self._acknowledged.add(row.id)
                if count:
                    seconds = (row.acknowledged_at - row.opened_at).total_seconds()
                    self._hub.acknowledged(row.level, max(seconds, 0.0))
            outcome = response_outcome(row.respond_by, row.acknowledged_at, row.resolved_at)
            if outcome is not None and row.id not in self._settled:
                self._settled.add(row.id)
                if count:
                    self._hub.sla_response(row.level, outcome)
        read = {row.id for row in rows}
        self._acknowledged &= read
        self._settled &= read


def response_outcome(
    respond_by: datetime | None, acknowledged_at: datetime | None, resolved_at: datetime | None
) -> SlaOutcome | None:
    """How a case's response came (None while unanswered): in time or not is the contract
    rule `answered_in_time`; in time by an acknowledgement, or by the resolution that came
    before anyone acknowledged."""
    met = answered_in_time(respond_by, acknowledged_at, resolved_at)
    if met is None:
        return None
    if not met:
        return SlaOutcome.MISSED
    acknowledged_first = acknowledged_at is not None and (
        resolved_at is None or acknowledged_at <= resolved_at
    )
    return SlaOutcome.MET_ACKNOWLEDGED if acknowledged_first else SlaOutcome.MET_RESOLVED_FIRST


class SlaCounter:
    """Feeds `vakt_sla_warnings_total` and `vakt_sla_breaches_total` from the planner
    tick's SLA marks: once per case, threshold and paging era in this process. A tick's
    marks are every threshold the cases it planned have passed (`cases`; every case when
    not given), so a mark of one of them not reported again belongs to a case no longer
    open (or an era gone by) and is forgotten. The tick plans a case when a threshold
    falls and right after every write of it (its resolution too)."""

    __slots__ = ("_hub", "_seen")

    def __init__(self, hub: MetricsHub) -> None:
        self._hub = hub
        self._seen: set[tuple[str, str, int]] = set()

    def count(self, marks: Sequence[SlaMark], cases: Collection[str] | None = None) -> None:
        current = {(mark.case, mark.what, mark.era) for mark in marks}
        for mark in marks:
            key = (mark.case, mark.what, mark.era)
            if key in self._seen:
                continue
            self._seen.add(key)
            if mark.what == "sla_breach":
                self._hub.sla_breach()
            else:
                self._hub.sla_warning()
        if cases is None:
            self._seen &= current
        else:
            self._seen = {k for k in self._seen if k in current or k[0] not in cases}

    @property
    def remembered(self) -> int:
        """How many marks the counter keeps (for tests of its bound)."""
        return len(self._seen)
