"""Operator actions on incidents: acknowledge, resolve, add a note.

Used by the CLI (`vakt incidents ack|resolve|note`) and later the web UI and API, while
the daemon runs. Each action is one short transaction on the store, which is the truth:
read the row, decide with the pure `monitor.incidents` actions, write it back with
compare-and-set on its version. When another writer (the daemon, another command) won
the race, the action re-reads and re-decides, up to `attempts` times. Acknowledging or
resolving cancels the case's pending pages in the same transaction, with the reason
(`monitor.notify.recheck.cancel_answered_pages`).

    result = await acknowledge(store, "VAKT-2026-000042", "alice", clock.now())
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from monitor import incidents
from monitor.evaluate import SiteAssessment
from monitor.model import IncidentStatus
from monitor.notify.recheck import cancel_answered_pages
from monitor.notify.stored import event_records, from_record, to_record
from monitor.store import Incident as StoredIncident
from monitor.store import IncidentEvent, Store, Transaction

DEFAULT_ATTEMPTS = 5


class CommandError(Exception):
    """An operator action could not be done; the message says why, for people."""


class UnknownCase(CommandError):
    def __init__(self, case: str) -> None:
        self.case = case
        super().__init__(f"no incident with case number {case}")


class AlreadyResolved(CommandError):
    def __init__(self, case: str) -> None:
        self.case = case
        super().__init__(f"{case} is already resolved")


class Conflict(CommandError):
    """Other writers kept changing the incident; nothing was written."""


@dataclass(frozen=True, slots=True)
class CommandResult:
    """The incident as stored after the action. `changed` is False when the action had
    nothing to do (e.g. acknowledging an acknowledged incident); `events` are the
    timeline rows written."""

    incident: StoredIncident
    changed: bool
    events: tuple[IncidentEvent, ...] = ()


Action = Callable[[StoredIncident, incidents.Incident], tuple[incidents.Decision, bool]]
"""(row, machine value) -> (decision, public): what to write; raises CommandError."""

Within = Callable[[Transaction], Awaitable[None]]
"""Extra work committed in the SAME transaction as the action (e.g. spending an acknowledge
link): run after a successful write, or when there was nothing to write; never after a
lost compare-and-set (that attempt is retried) or an error (nothing is committed). What it
raises rolls the action back and propagates."""


async def acknowledge(
    store: Store,
    case: str,
    actor: str,
    now: datetime,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
    within: Within | None = None,
) -> CommandResult:
    """Acknowledge `case` as `actor` (the first acknowledgement is the SLA response).

    Acknowledging an acknowledged incident changes nothing (`changed` False); a resolved
    one raises `AlreadyResolved`; an unknown case `UnknownCase`. `within` runs in the
    transaction that writes the acknowledgement (see `Within`).
    """

    def act(row: StoredIncident, value: incidents.Incident) -> tuple[incidents.Decision, bool]:
        if row.status is IncidentStatus.RESOLVED:
            raise AlreadyResolved(case)
        return incidents.acknowledge(value, actor, now), False

    return await _apply(store, case, now, act, attempts, within)


async def resolve(
    store: Store, case: str, actor: str, now: datetime, *, attempts: int = DEFAULT_ATTEMPTS
) -> CommandResult:
    """Resolve `case` by hand as `actor`, whatever the checks say.

    When the site is still failing (its stored level), the case will not be reopened and
    the daemon re-arms detection: a new case needs a fresh confirmation. Resolving a
    resolved incident raises `AlreadyResolved`.
    """

    async def assess(tx: Transaction, row: StoredIncident) -> SiteAssessment:
        statuses = {s.site_id: s for s in await tx.sites.load()}
        status = statuses.get(row.site_id)
        return SiteAssessment(row.site_id, None if status is None else status.level)

    def act_with(assessment: SiteAssessment) -> Action:
        def act(row: StoredIncident, value: incidents.Incident) -> tuple[incidents.Decision, bool]:
            if row.status is IncidentStatus.RESOLVED:
                raise AlreadyResolved(case)
            return incidents.resolve_by_hand(value, actor, now, assessment), True

        return act

    for _ in range(attempts):
        async with store.transaction() as tx:
            row = await _read(tx, case)
            done = await _write(tx, row, act_with(await assess(tx, row)), now)
        if done is not None:
            return done
    raise Conflict(f"{case} kept changing; try again")


async def add_note(
    store: Store,
    case: str,
    actor: str,
    text: str,
    public: bool,
    now: datetime,
    *,
    attempts: int = DEFAULT_ATTEMPTS,
) -> CommandResult:
    """Add a note to the timeline of `case` (also after it resolved). `public` notes
    show on the status page and in customer emails. An empty note raises CommandError."""
    if not text.strip():
        raise CommandError("a note needs text")

    def act(row: StoredIncident, value: incidents.Incident) -> tuple[incidents.Decision, bool]:
        return incidents.note(value, actor, text, now), public

    return await _apply(store, case, now, act, attempts)


async def _apply(
    store: Store, case: str, now: datetime, act: Action, attempts: int, within: Within | None = None
) -> CommandResult:
    for _ in range(attempts):
        async with store.transaction() as tx:
            row = await _read(tx, case)
            done = await _write(tx, row, act, now)
            if done is not None and within is not None:
                await within(tx)
        if done is not None:
            return done
    raise Conflict(f"{case} kept changing; try again")


async def _read(tx: Transaction, case: str) -> StoredIncident:
    row = await tx.incidents.by_case(case.strip())
    if row is None:
        raise UnknownCase(case)
    return row


async def _write(
    tx: Transaction, row: StoredIncident, act: Action, now: datetime
) -> CommandResult | None:
    """Decide and compare-and-set; None when another writer changed the row first."""
    decision, public = act(row, from_record(row))
    if not decision.events or decision.incident is None:
        return CommandResult(row, changed=False)
    written = await tx.incidents.update(to_record(decision.incident, now, row))
    if written is None:
        return None
    events = event_records(row.id, decision.events, public=public)
    await tx.incidents.add_events(events)
    if written.status is not row.status:
        await cancel_answered_pages(tx, written, now)
    return CommandResult(written, changed=True, events=tuple(events))
