"""The planner tick: re-plan the cases with something due and every maintenance window
at `now`, insert what is due.

app.py runs `planner_tick` as an APScheduler interval job (every 1-5 s). Everything
timed (escalation repeats, deferred Level B pages, customer updates, announcements) is
re-derived from the store and inserted with on-conflict-do-nothing, so a restart loses
nothing and running the tick twice inserts nothing new.

The index: each incident row keeps `next_plan_at`, the earliest instant its plan can
change (`monitor.notify.planning.wake.next_plan_at`, written by the tick after planning
the case, only if its `version` is unchanged). Every write of the case (the store's one
home: `monitor.store.queries.incidents`) sets it NULL. A tick reads only the cases with
`next_plan_at` NULL or at or before `now`, so its work follows what is due, not how many
cases are open. It reads every case (a full re-plan, as before the index) on the first
tick, when the stored planning fingerprint of the config differs (a reload or a restart
with another config), across a new gap, and when a due case moves a paging lane
(`Planner.moves_pages`: a new slot or a group window closing; grouping into digests
needs every case that pages). Otherwise the due cases are planned without pages and
digests, which they cannot change. `full=True` forces the full re-plan (the property
test compares the two).

This module does I/O (the store); the planning itself is `monitor.notify.planner`.

Reading cases back: the one mapping `monitor.notify.stored.from_record` turns a row and
its typed timeline into the machine's value. A case it cannot read (its `data` or an event
this release does not know) is skipped for planning, never read as "not silenced": the
tick logs `notify.unreadable_case` at error level (Sentry sees it), plans one team warning
per case (`unreadable_case`), and goes on with the other cases.

The approval of the first customer email (`customer_emails: approve`) is read from
`tx.web.approvals` (the web UI and the ack page write it), falling back on
`customer_email_approved_at` in `data`. Pages carry evidence lines: the newest failed or
degraded result of each of the site's checks since the case opened (`with_facts`).

The engine's flush uses the same reading (`monitor.engine.notify.NotifyPlanner`), so a
case planned inside the flush and on the next tick looks the same to the planner.

Downtime: each tick stores when it ran (`TickRecord`, in `engine_memory` scope
`planner`, key `ticks`, in the tick's transaction). A tick (or a flush) more than two
periods after the stored one sees a gap (`monitor.policy.Downtime`); the escalation slots
missed in it collapse into one page per recipient. The record keeps the gaps as long as
a case they may hold slots of is still read, so later ticks plan the same collapsed page
and never the missed slots themselves. Reading and writing stay here; the planner gets
the gaps as an argument.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from monitor.config.records import Config
from monitor.model import ProbeResult
from monitor.notify.message import EvidenceLine
from monitor.notify.planner import (
    DEFAULT_LOOKBACK,
    CaseView,
    Planned,
    Planner,
    SlaMark,
    WindowView,
)
from monitor.notify.planning.maintenance import covered_sites
from monitor.notify.stored import approved_at, from_record, from_report
from monitor.policy import Downtime
from monitor.store import (
    NEVER,
    Fence,
    IncidentEvent,
    MaintenanceWindow,
    Notification,
    OutboxKey,
    RequestStatus,
    Store,
    Transaction,
)
from monitor.store import EventKind as StoredKind
from monitor.store import Incident as StoredIncident

log = logging.getLogger("vakt.notify")

PLANNER_MEMORY: Final = "planner"
"""The `engine_memory` scope of the tick's own record (key `TICKS`)."""
TICKS: Final = "ticks"
DEFAULT_PERIOD: Final = timedelta(seconds=5)
"""The tick's period when the caller does not say: the longest the daemon runs it at (1-5
s), so a slower tick is never mistaken for downtime; pass the real `planner_every`."""
KEEP_DOWNTIMES: Final = 100
"""At most this many past gaps are remembered (the newest)."""


@dataclass(frozen=True, slots=True)
class TickRecord:
    """What the planner tick keeps in the store: when it last ran (None: never), and the
    gaps between its ticks that may still hold escalation slots of the cases it reads."""

    last: datetime | None = None
    downtimes: tuple[Downtime, ...] = ()
    config: str = ""  # the planning fingerprint the cases were last planned under

    def at(self, now: datetime, period: timedelta) -> tuple[Downtime, ...]:
        """The gaps a tick (or a flush) at `now` plans with: the stored ones and the one
        since the last tick, if it is longer than two periods."""
        gap = None if self.last is None else Downtime.between(self.last, now, period)
        return self.downtimes if gap is None else (*self.downtimes, gap)

    def after(self, now: datetime, period: timedelta, keep_since: datetime) -> TickRecord:
        """The record after a tick at `now`; gaps that ended before `keep_since` (before
        every case still read opened) are forgotten."""
        kept = tuple(d for d in self.at(now, period) if d.end >= keep_since)
        last = now if self.last is None else max(self.last, now)
        return TickRecord(last, kept[-KEEP_DOWNTIMES:], self.config)


async def read_ticks(tx: Transaction) -> TickRecord:
    """The stored tick record (an empty one when there is none or it cannot be read)."""
    text = (await tx.memory.load(PLANNER_MEMORY)).get(TICKS)
    try:
        data = json.loads(text or "{}")
        last = None if data.get("last") is None else _aware(data["last"])
        downtimes = tuple(
            Downtime(_aware(start), _aware(end), timedelta(seconds=float(grace)))
            for start, end, grace in data.get("downtimes", ())
        )
        config = str(data.get("config", ""))
    except (ValueError, TypeError, AttributeError):
        return TickRecord()
    return TickRecord(last, downtimes, config)


async def write_ticks(tx: Transaction, record: TickRecord, now: datetime) -> None:
    downtimes = [
        [d.start.isoformat(), d.end.isoformat(), d.grace.total_seconds()] for d in record.downtimes
    ]
    last = None if record.last is None else record.last.isoformat()
    data = {"last": last, "downtimes": downtimes, "config": record.config}
    text = json.dumps(data, separators=(",", ":"))
    await tx.memory.save(PLANNER_MEMORY, {TICKS: text}, now)


@dataclass(frozen=True, slots=True)
class TickResult:
    planned: int  # notifications due now (most were inserted by earlier ticks)
    inserted: int  # new rows
    sla: tuple[SlaMark, ...] = ()  # SLA thresholds the cases read have passed (metrics)
    read: int = 0  # incident rows read and planned
    cases: frozenset[str] = frozenset()  # the case numbers planned (whose marks `sla` has)


def to_notification(planned: Planned, now: datetime) -> Notification:
    """The outbox row of a planned notification."""
    k = planned.key
    return Notification(
        key=OutboxKey(k.subject, k.kind, k.slot, k.recipient, k.channel),
        created_at=now,
        due_at=planned.due_at,
        payload=planned.payload.to_json(),
        incident_id=planned.incident_id,
    )


async def planner_tick(
    store: Store,
    config: Config,
    planner: Planner,
    now: datetime,
    *,
    lookback: timedelta = DEFAULT_LOOKBACK,
    period: timedelta = DEFAULT_PERIOD,
    fence: Fence | None = None,
    full: bool = False,
) -> TickResult:
    """Re-plan at `now` the cases with something due and insert what is due.

    Cases: those due on the index (`next_plan_at` NULL or at or before `now`) among the
    unresolved incidents and those resolved within `lookback` (so their resolved emails
    go out even when the resolution came from a CLI command), or within `case_lookback`
    (flapping cases' held "resolved" emails). Every case instead (a full re-plan) on the
    first tick, under a config whose planning fingerprint differs from the stored one,
    across a new gap, with `full`, or when a due case moves a paging lane
    (`Planner.moves_pages`: grouping needs every case that pages). Without a full re-plan
    the due cases are planned without pages and digests. Windows: the config's and the
    store's that are announced, running or ended within `lookback`.
    `period`: how often the tick runs; a tick more than two periods after the stored last
    one plans across a gap (see the module docstring) and records it.

    Everything is read in a read-only transaction (on SQLite it does not take the write
    lock, so flushes go on meanwhile) with a fixed number of queries whatever the number
    of cases; the rows are written in a short write transaction after it. That one
    compares before it writes: a case whose row changed since it was read (its `version`:
    acknowledged, resolved, re-levelled meanwhile) gets none of the rows planned from the
    old one nor a `next_plan_at` (its write left it NULL: the next tick plans it afresh),
    and the tick record is written only if no other tick wrote it meanwhile. Outbox rows
    keep their dedupe keys, so a row planned twice is inserted once. `fence`: the write
    transaction is a leader transaction (`monitor.store.fencing`): a former leader's tick
    writes nothing.
    """
    async with store.transaction(read_only=True) as tx:
        record = await read_ticks(tx)
        downtimes = record.at(now, period)
        cases_within = case_lookback(config, lookback)
        everything = (
            full
            or record.last is None
            or record.config != planner.fingerprint
            or len(downtimes) != len(record.downtimes)
        )
        forced = everything  # every stored `next_plan_at` is recomputed
        read = await _read_cases(tx, now, cases_within, due=not everything)
        # customer-reported cases have no `next_plan_at`: read and planned on every tick
        # (they are few), and one that pages makes the tick plan every case's pages
        reported = await read_reported(tx, config)
        if not everything and (
            any(
                planner.moves_pages(view, read.since[view.incident_id], now, downtimes)
                for view in read.views
                if view.incident_id is not None
            )
            or any(planner.moves_pages(view, None, now, downtimes) for view in reported)
        ):
            everything = True
            read = await _read_cases(tx, now, cases_within, due=False)
        cases = await with_facts(tx, config, read.views)
        cases += reported
        oldest = [c.incident.opened_at for c in cases]
        if downtimes and not everything:  # which gaps to keep: the oldest case of all
            oldest += [t for t in [await tx.incidents.oldest_planned(now - cases_within)] if t]
        windows = [
            *planner.config_windows(now, lookback),
            *stored_windows(config, await tx.maintenance.upcoming(now - lookback)),
        ]
    planned = [
        *planner.plan(cases, now, downtimes, pages=everything),  # customer-reported too
        *planner.plan_maintenance(windows, now),
        *unreadable_warnings(planner, read.unreadable),
    ]
    plans = {  # a case read only for grouping keeps its stored time: nothing changed it
        c.incident_id: planner.next_plan_at(c, now, downtimes) or NEVER
        for c in cases
        if c.incident_id is not None and (forced or _due(read.since[c.incident_id], now))
    }
    keep = min([now - cases_within, *oldest])
    async with store.transaction(fence=fence) as tx:
        versions = read.versions
        current = await tx.incidents.versions(list(versions)) if versions else {}
        moved = {i for i, v in versions.items() if current.get(i) != v}
        rows = [to_notification(p, now) for p in planned if p.incident_id not in moved]
        inserted = await tx.outbox.add(rows)
        await tx.incidents.set_next_plan(
            {
                i: (versions[i], at)
                for i, at in plans.items()
                if i not in moved and read.since.get(i) != at
            }
        )
        if await read_ticks(tx) == record:
            after = record.after(now, period, keep)
            await write_ticks(tx, replace(after, config=planner.fingerprint), now)
    sla = tuple(planner.sla_marks([c for c in cases if c.incident.is_open], now))
    return TickResult(
        planned=len(planned),
        inserted=inserted,
        sla=sla,
        read=len(versions),
        cases=frozenset(c.incident.case for c in cases if c.incident.case is not None),
    )


def _due(since: datetime | None, now: datetime) -> bool:
    return since is None or since <= now


async def read_reported(tx: Transaction, config: Config) -> list[CaseView]:
    """The open customer-reported cases, as the planner sees them
    (`monitor.notify.stored.from_report`): paged, warned about (escalation exhausted,
    SLA) and SLA-marked by the planner's rules for a monitoring case of their level."""
    views = []
    for request in await tx.intake.with_status(RequestStatus.OPEN):
        customer = config.customers.get(request.customer_id)
        if customer is None or request.case_number is None:
            continue
        views.append(CaseView(from_report(request, customer.policy), reported=True))
    return views


def case_lookback(config: Config, lookback: timedelta) -> timedelta:
    """How far back resolved cases are read: `lookback` past `flapping.reopen_within`,
    because a flapping case's "resolved" email waits until that window has passed."""
    return lookback + config.settings.flapping.reopen_within


async def read_cases(tx: Transaction, now: datetime, lookback: timedelta) -> list[CaseView]:
    """Unresolved cases, and cases resolved within `lookback`, as the planner sees them
    (those that cannot be read are logged and left out: see `read_case_rows`)."""
    return (await read_case_rows(tx, now, lookback))[0]


async def read_case_rows(
    tx: Transaction, now: datetime, lookback: timedelta
) -> tuple[list[CaseView], list[Unreadable]]:
    """The cases `read_cases` reads, and apart from them those that cannot be read (each
    logged as `notify.unreadable_case`; never planned as if nothing held them)."""
    read = await _read_cases(tx, now, lookback)
    return read.views, read.unreadable


@dataclass(frozen=True, slots=True)
class _Read:
    """The cases a tick read: the planner's views, those it cannot read, the `version` of
    every row read (for the compare before writing) and its stored `next_plan_at`."""

    views: list[CaseView]
    unreadable: list[Unreadable]
    versions: dict[int, int]
    since: dict[int, datetime | None]


async def _read_cases(
    tx: Transaction, now: datetime, lookback: timedelta, *, due: bool = False
) -> _Read:
    """`read_case_rows` (with `due`: only the cases due on the index), the `version` and
    the stored `next_plan_at` of every row read. Four queries whatever the number of cases:
    the unresolved, the recently resolved, and all their timelines at once."""
    found = await tx.incidents.due(now if due else None, now - lookback)
    rows = [row for row, _ in found]
    timelines, errors = await tx.incidents.events_of([row.id for row in rows])
    views: list[CaseView] = []
    unreadable: list[Unreadable] = []
    for row in rows:
        try:
            error = errors.get(row.id)
            if error is not None:
                raise error
            views.append(case_view(row, timelines[row.id]))
        except ValueError as exc:  # UnreadableCase, or an event kind/level not known
            log.error(
                "notify.unreadable_case",
                exc_info=exc,
                extra={"case": row.case_number, "incident_id": row.id},
            )
            unreadable.append(Unreadable(row.case_number, row.site_id, row.opened_at, str(exc)))
    versions = {row.id: row.version for row in rows}
    return _Read(views, unreadable, versions, {row.id: at for row, at in found})


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A stored case the tick could not read, for the team's warning."""

    case: str
    site_id: str
    opened_at: datetime
    reason: str


def unreadable_warnings(planner: Planner, cases: Sequence[Unreadable]) -> list[Planned]:
    """One team warning per unreadable case (none without a team address)."""
    out = [planner.unreadable_case_warning(c.case, c.site_id, c.opened_at, c.reason) for c in cases]
    return [p for p in out if p is not None]


EVIDENCE_CHECKS: Final = 20
"""At most this many checks of a site are read for a case's evidence lines."""


async def with_facts(tx: Transaction, config: Config, cases: Sequence[CaseView]) -> list[CaseView]:
    """`cases` with their approval time (`tx.web.approvals`) and, for open cases, evidence
    lines: per check of the site, its newest failed or degraded result since the site
    started failing (the results that confirmed the failure came before the opening; one
    query for the cases that started failing at the same instant, not one per check)."""
    ids = [c.incident_id for c in cases if c.incident_id is not None]
    approvals = await tx.web.approvals(ids) if ids else {}
    evidence = await _evidence(tx, config, [c for c in cases if c.incident.is_open])
    out: list[CaseView] = []
    for n, view in enumerate(cases):
        approved = approvals.get(view.incident_id) if view.incident_id is not None else None
        out.append(
            replace(
                view,
                approved_at=approved[1] if approved is not None else view.approved_at,
                evidence=evidence.get(n, ()) or view.evidence,
            )
        )
    return out


async def _evidence(
    tx: Transaction, config: Config, cases: Sequence[CaseView]
) -> dict[int, tuple[EvidenceLine, ...]]:
    """Evidence lines by position in `cases` (the open ones): the checks of all cases
    that started failing at the same instant are read in one query."""
    wanted: dict[datetime, set[str]] = {}
    for view in cases:
        site = config.site(view.incident.site_id)
        if site is not None:
            checks = site.checks[:EVIDENCE_CHECKS]
            wanted.setdefault(view.incident.failed_at, set()).update(c.id for c in checks)
    found = {
        since: await tx.results.newest_evidence(sorted(ids), since=since)
        for since, ids in wanted.items()
    }
    out: dict[int, tuple[EvidenceLine, ...]] = {}
    for n, view in enumerate(cases):
        site = config.site(view.incident.site_id)
        if site is None:
            continue
        newest = found.get(view.incident.failed_at, {})
        lines = [
            _line(check.label, item.result)
            for check in site.checks[:EVIDENCE_CHECKS]
            if (item := newest.get(check.id)) is not None
        ]
        out[n] = tuple(lines)
    return out


def _line(label: str, result: ProbeResult) -> EvidenceLine:
    error = result.error.value if result.error is not None else result.verdict.value
    return EvidenceLine(label, error, result.detail, result.location)


def stored_windows(config: Config, windows: Sequence[MaintenanceWindow]) -> list[WindowView]:
    """Run-time windows (CLI, API) as the planner sees them; they are not announced."""
    return [
        WindowView(
            id=f"mw-{w.id}",
            site_ids=covered_sites(config, w.sites),
            start=w.start,
            end=w.end,
            reason=w.reason,
            ended_at=w.ended_at,
        )
        for w in windows
    ]


# --------------------------------------------------------------------- reading cases


def case_view(row: StoredIncident, events: Sequence[IncidentEvent]) -> CaseView:
    """The planner's view of a stored incident and its timeline. Raises UnreadableCase
    (`monitor.notify.stored`) on a row it cannot read."""
    notes = [e.text for e in events if e.kind is StoredKind.NOTE and e.public]
    return CaseView(
        incident=from_record(row, events),
        incident_id=row.id,
        approved_at=approved_at(row),
        public_note=notes[-1] if notes else "",
    )


def _aware(value: object) -> datetime:
    at = _time(value)
    if at is None or at.tzinfo is None:
        raise ValueError(f"not an aware time: {value!r}")
    return at


def _time(value: object) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None
