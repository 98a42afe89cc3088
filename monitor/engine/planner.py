"""The seam to the notification planner: the engine hands it what changed in a flush.

Two kinds of input: incident `Change`s (`plan`) and warning-impact checks that started
warning (`warnings`: the team is told, no incident opens, no customer is emailed).

`monitor.app` plugs the real planner in (`monitor.engine.notify.NotifyPlanner`, which
reads every open case in the flush transaction: grouping needs them all); `NullPlanner`
plans nothing. `plan` runs inside the flush transaction, and what it returns is inserted
into the outbox in that same transaction (transactional outbox).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from monitor.config.records import Check, Config
from monitor.incidents import Decision
from monitor.store import Incident as StoredIncident
from monitor.store import Notification, Transaction


@dataclass(frozen=True, slots=True)
class Change:
    """One incident the flush wrote: the row as committed (with its id) and the decision."""

    incident: StoredIncident
    decision: Decision


@dataclass(frozen=True, slots=True)
class WarningStart:
    """An `impact: warning` check that started failing or degrading (a new episode).

    `since` is when its bad streak began (stable across flushes and restarts, so it
    names the episode in the dedupe key); `detail` is what the latest bad probe said."""

    check: Check
    since: datetime
    detail: str = ""


class Planner(Protocol):
    """What to notify about these changes at `now`. `tx` is the flush transaction, for
    reading (the other open cases, approvals, evidence); it must not be written to: the
    engine inserts the returned rows into the outbox itself."""

    async def plan(
        self, tx: Transaction, changes: Sequence[Change], now: datetime, config: Config
    ) -> Sequence[Notification]: ...

    def warnings(
        self, starts: Sequence[WarningStart], now: datetime, config: Config
    ) -> Sequence[Notification]:
        """The team warnings for warning checks that started at or before `now`: one
        per check per episode (a deterministic dedupe key), never to customers."""
        ...

    def connectivity_lost(
        self,
        since: datetime,
        detail: str,
        now: datetime,
        config: Config,
        *,
        location: str | None = None,
    ) -> Sequence[Notification]:
        """The one team warning "Vakt lost connectivity" of a loss that began at `since`
        (`location`: of that location only, which lost its vote; None: a single one)."""
        ...

    def shed(
        self, since: datetime, dropped: int, now: datetime, config: Config
    ) -> Sequence[Notification]:
        """The one team warning that the engine shed `dropped` pending rows while the
        store was unreachable from `since` (inserted once the store answers again)."""
        ...


class NullPlanner:
    """Plans nothing: for tests of the engine's own writes (the daemon passes `NotifyPlanner`)."""

    __slots__ = ()

    async def plan(
        self, tx: Transaction, changes: Sequence[Change], now: datetime, config: Config
    ) -> Sequence[Notification]:
        return ()

    def warnings(
        self, starts: Sequence[WarningStart], now: datetime, config: Config
    ) -> Sequence[Notification]:
        return ()

    def connectivity_lost(
        self,
        since: datetime,
        detail: str,
        now: datetime,
        config: Config,
        *,
        location: str | None = None,
    ) -> Sequence[Notification]:
        return ()

    def shed(
        self, since: datetime, dropped: int, now: datetime, config: Config
    ) -> Sequence[Notification]:
        return ()
