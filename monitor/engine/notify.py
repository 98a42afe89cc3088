"""`NotifyPlanner`: the notification planner (`monitor.notify.planner`) behind the
engine's planner seam.

Inside the flush transaction it reads EVERY open case (and those resolved within
`lookback`), customer-reported ones included, the same way the planner tick does
(`monitor.notify.tick`), not only the changed ones: grouping (digests, the first page
at once) needs to see every case that pages. The changed incidents were written earlier
in the same transaction, so they are among the cases read. The pure planner stays pure:
this adapter does the reading. It plans with the planner tick's gaps (`read_ticks`), so
after downtime a flush that comes before the first tick collapses the missed slots just
as that tick will.

`reload(planner)` swaps in the planner built for a reloaded config.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.config.records import Config
from monitor.engine.planner import Change, WarningStart
from monitor.notify.planner import DEFAULT_LOOKBACK
from monitor.notify.planner import Planner as CasePlanner
from monitor.notify.tick import (
    DEFAULT_PERIOD,
    case_lookback,
    read_cases,
    read_reported,
    read_ticks,
    to_notification,
    with_facts,
)
from monitor.store import Notification, Transaction


class NotifyPlanner:
    """The engine's `Planner`: plans every open case at the flush's `now`."""

    __slots__ = ("_lookback", "_period", "_planner")

    def __init__(
        self,
        planner: CasePlanner,
        *,
        lookback: timedelta = DEFAULT_LOOKBACK,
        period: timedelta = DEFAULT_PERIOD,
    ) -> None:
        self._planner = planner
        self._lookback = lookback
        self._period = period  # the planner tick's: a flush sees the tick's gaps too

    @property
    def planner(self) -> CasePlanner:
        return self._planner

    def reload(self, planner: CasePlanner) -> None:
        self._planner = planner

    async def plan(
        self, tx: Transaction, changes: Sequence[Change], now: datetime, config: Config
    ) -> Sequence[Notification]:
        if not changes:
            return ()
        lookback = case_lookback(config, self._lookback)
        cases = await with_facts(tx, config, await read_cases(tx, now, lookback))
        cases += await read_reported(tx, config)  # they page the same people: one grouping
        downtimes = (await read_ticks(tx)).at(now, self._period)
        return [to_notification(p, now) for p in self._planner.plan(cases, now, downtimes)]

    def warnings(
        self, starts: Sequence[WarningStart], now: datetime, config: Config
    ) -> Sequence[Notification]:
        planned = (self._planner.check_warning(s.check, s.since, s.detail) for s in starts)
        return [to_notification(p, now) for p in planned if p is not None]

    def connectivity_lost(
        self,
        since: datetime,
        detail: str,
        now: datetime,
        config: Config,
        *,
        location: str | None = None,
    ) -> Sequence[Notification]:
        planned = self._planner.connectivity_warning(since, detail, location=location)
        return () if planned is None else [to_notification(planned, now)]

    def location_empty(
        self, location: str, since: datetime, now: datetime, checks: int
    ) -> Sequence[Notification]:
        """The one team warning of probe location `location` without a live instance
        since `since` (planned by the cluster leader, `monitor.app`)."""
        planned = self._planner.location_warning(location, since, now, checks)
        return () if planned is None else [to_notification(planned, now)]

    def shed(
        self, since: datetime, dropped: int, now: datetime, config: Config
    ) -> Sequence[Notification]:
        planned = self._planner.shed_warning(since, dropped)
        return () if planned is None else [to_notification(planned, now)]
