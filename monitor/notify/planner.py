"""The notification planner: pure, `now` passed in, no I/O.

    planner = Planner(config)
    planned = planner.plan(cases, now)            # open cases (and recently resolved ones)
    planned += planner.plan_maintenance(windows, now)

It returns every notification due at or before `now`, each with a deterministic dedupe
key. Nothing records what was already sent: the store's on-conflict-do-nothing insert
drops a key it holds, so planning again (on every tick, after a restart) is idempotent.

Grouping needs to see every case that pages, so pass all open cases, not only the ones
that just changed; pass cases resolved within the last `paging.group_window` too so a
digest still finds the pages that opened its window.

What is planned (details in the `planning` modules): pages per escalation slot and era
(`pages`), digests, customer emails (`customers`), team warnings (`warnings`) and
maintenance emails (`maintenance`). The payload is `monitor.notify.message.Payload`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from monitor.config.records import Check, Config
from monitor.notify.planning.context import Context
from monitor.notify.planning.customers import customer_emails
from monitor.notify.planning.maintenance import config_windows, maintenance_emails
from monitor.notify.planning.pages import PageItem, plan_pages, slots
from monitor.notify.planning.values import CaseView, Key, Planned, WindowView
from monitor.notify.planning.wake import fingerprint, moves_pages, next_plan_at
from monitor.notify.planning.warnings import (
    SlaMark,
    check_warning,
    connectivity_warning,
    location_warning,
    shed_warning,
    sla_marks,
    team_warnings,
    unreadable_case_warning,
)
from monitor.policy import Downtime
from monitor.policy.calendar import require_aware
from monitor.policy.contracts import Contracts

__all__ = ["CaseView", "Downtime", "Key", "Planned", "Planner", "SlaMark", "WindowView"]

DEFAULT_ACK_TTL = timedelta(hours=24)
DEFAULT_LOOKBACK = timedelta(minutes=10)


class Planner:
    """Plans notifications from cases and maintenance windows. Build one per config.

    `ack_ttl`: how long an acknowledge link in a page stays valid after the page is due.
    """

    __slots__ = ("_ack_ttl", "_config", "_contracts", "_fingerprint")

    def __init__(
        self,
        config: Config,
        contracts: Contracts | None = None,
        *,
        ack_ttl: timedelta = DEFAULT_ACK_TTL,
    ) -> None:
        self._config = config
        self._contracts = contracts or Contracts.from_config(config)
        self._ack_ttl = ack_ttl
        self._fingerprint: str | None = None

    @property
    def config(self) -> Config:
        return self._config

    def _context(self, now: datetime) -> Context:
        return Context(self._config, self._contracts, require_aware(now, "now"), self._ack_ttl)

    def plan(
        self,
        cases: Sequence[CaseView],
        now: datetime,
        downtimes: Sequence[Downtime] = (),
        *,
        pages: bool = True,
    ) -> list[Planned]:
        """Every page, digest, customer email and team warning of `cases` due at `now`.

        `downtimes`: the gaps in the planner's ticks (the caller reads them from the
        store); the escalation slots missed in them collapse into one page per recipient
        that says how long Vakt was down (`monitor.policy.collapse_missed`).
        `pages=False`: no pages or digests (a caller that passes only some of the cases:
        grouping needs all of them; see `moves_pages`)."""
        ctx = self._context(now)
        items: list[PageItem] = []
        out: list[Planned] = []
        for view in cases:
            found, exhausted = slots(ctx, view, downtimes)
            items.extend(found)
            out.extend(team_warnings(ctx, view, exhausted))
            if not view.reported:
                out.extend(customer_emails(ctx, view))
        if pages:
            out.extend(plan_pages(ctx, items))
        return _unique(out)

    def next_plan_at(
        self, view: CaseView, now: datetime, downtimes: Sequence[Downtime] = ()
    ) -> datetime | None:
        """The earliest instant after `now` at which planning the case, unchanged, could
        give something new; None: no time can, only a write (`planning.wake`)."""
        return next_plan_at(self._context(now), view, downtimes)

    def moves_pages(
        self,
        view: CaseView,
        since: datetime | None,
        now: datetime,
        downtimes: Sequence[Downtime] = (),
    ) -> bool:
        """Whether planning the case at `now` may change pages or digests it shares with
        other cases, `since` its stored `next_plan_at` (None: written since; `planning.wake`):
        then every case must be planned together."""
        return moves_pages(self._context(now), view, since, downtimes)

    @property
    def fingerprint(self) -> str:
        """A digest of everything of the config the case planning reads but the sites and
        maintenance windows: a tick planned under another one re-plans every case."""
        if self._fingerprint is None:
            self._fingerprint = fingerprint(self._config)
        return self._fingerprint

    def sla_marks(self, cases: Sequence[CaseView], now: datetime) -> list[SlaMark]:
        """The SLA warnings and breaches `cases` have passed by `now` (for the metrics;
        whether or not a team address is set to be told)."""
        ctx = self._context(now)
        return [m for view in cases for m in sla_marks(ctx, view)]

    def plan_maintenance(self, windows: Sequence[WindowView], now: datetime) -> list[Planned]:
        """The maintenance emails of `windows` due at `now`."""
        ctx = self._context(now)
        return _unique([p for w in windows for p in maintenance_emails(ctx, w)])

    def config_windows(
        self, now: datetime, lookback: timedelta = DEFAULT_LOOKBACK
    ) -> list[WindowView]:
        """The config's maintenance occurrences worth planning at `now` (announced, running,
        or finished within `lookback`)."""
        return config_windows(self._config, require_aware(now, "now"), lookback)

    def check_warning(self, check: Check, since: datetime, detail: str = "") -> Planned | None:
        """The team warning for an `impact: warning` check failing since `since`."""
        return check_warning(self._context(since), check, since, detail)

    def unreadable_case_warning(
        self, case: str, site_id: str, opened_at: datetime, reason: str
    ) -> Planned | None:
        """The team warning that stored case `case` cannot be read (due at `opened_at`,
        so the first tick that meets it sends it)."""
        return unreadable_case_warning(self._context(opened_at), case, site_id, opened_at, reason)

    def connectivity_warning(
        self, since: datetime, detail: str = "", *, location: str | None = None
    ) -> Planned | None:
        """The team warning "Vakt lost connectivity" for a loss that began at `since`
        (`location`: the location that lost it, and its vote; None: the one instance)."""
        return connectivity_warning(self._context(since), since, detail, location)

    def location_warning(
        self, location: str, since: datetime, now: datetime, checks: int
    ) -> Planned | None:
        """The team warning that probe location `location` has no live instance since
        `since` (one per episode)."""
        return location_warning(self._context(now), location, since, now, checks)

    def shed_warning(self, since: datetime, dropped: int) -> Planned | None:
        """The team warning that `dropped` pending rows were shed while the store was
        unreachable from `since`."""
        return shed_warning(self._context(since), since, dropped)


def _unique(planned: list[Planned]) -> list[Planned]:
    """One notification per key (the first planned wins), in due order."""
    seen: dict[Key, Planned] = {}
    for p in planned:
        seen.setdefault(p.key, p)
    return sorted(seen.values(), key=lambda p: (p.due_at, str(p.key)))
