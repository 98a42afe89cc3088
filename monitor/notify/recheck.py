"""The send-time re-check: does a page or digest still want to go out?

The planner decided when a page was due; by the time it is sent (a retry an hour later,
or a tick that read the case just before someone acknowledged it) the case may have
moved on. Immediately before sending, in the claim's transaction, the dispatcher asks
`Recheck.decide` about each claimed page and digest:

- a case acknowledged or resolved: the row is cancelled, with the reason
  ("case VAKT-2026-000042 was acknowledged by alice");
- a case silenced or in maintenance: the row is deferred to the end of the silence or
  window (not cancelled: its dedupe key would stop it from ever being planned again);
  when the case is flagged but no silence or window is found (the engine has not caught
  up yet), it is looked at again after `fallback`;
- a digest drops the cases that no longer want it and goes out with the others; when
  none is left it is cancelled (all answered) or deferred (some held).

A customer-reported case (no incident row: the case number is a report's) is re-checked
the same way against its report: acknowledged, resolved, or joined to a monitoring case
(which pages instead) cancels the row (`report_answered`).

Customer emails, team warnings and the PagerDuty acknowledge/resolve messages are never
re-checked: a resolved email must still go. Whatever cannot be read (a case not found, a
payload that does not parse) is sent as planned: better a page too many than none.

The reason texts and the kinds cancelled when a case is answered have their home here:
`cancel_answered_pages` is what acknowledging and resolving (the operator's command, the
engine's own resolve) call in their transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Final

from monitor.config.records import Config, covers
from monitor.evaluate.maintenance import active_windows
from monitor.model import IncidentStatus
from monitor.notify.message import DigestEntry, MessageKind, Payload, PayloadError
from monitor.notify.stored import from_record
from monitor.store import (
    CustomerRequest,
    MaintenanceWindow,
    OutboxItem,
    RequestStatus,
    Silence,
    SilenceScope,
    Transaction,
)
from monitor.store import Incident as StoredIncident

PAGE_KINDS: Final = (MessageKind.PAGE.value,)
"""The outbox kinds of one case's pages (`outbox.incident_id` names the case)."""
log = logging.getLogger("vakt.notify")

RECHECKED: Final = frozenset({MessageKind.PAGE.value, MessageKind.DIGEST.value})
"""The outbox kinds re-checked against their case(s) before each send."""


class Action(StrEnum):
    SEND = "send"
    CANCEL = "cancel"
    DEFER = "defer"


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do with a claimed row. SEND may carry a narrowed `payload` (a digest
    without the cases that no longer want it) and the `reason` they were dropped."""

    action: Action
    reason: str = ""
    until: datetime | None = None
    payload: str | None = None


SEND: Final = Decision(Action.SEND)


def answered(row: StoredIncident) -> str | None:
    """Why the case no longer wants pages (acknowledged, resolved), or None."""
    if row.status is IncidentStatus.RESOLVED:
        by = f" by {row.resolved_by}" if row.resolved_by else ""
        return f"case {row.case_number} was resolved{by}"
    if row.status is IncidentStatus.ACKNOWLEDGED:
        by = f" by {row.acknowledged_by}" if row.acknowledged_by else ""
        return f"case {row.case_number} was acknowledged{by}"
    return None


def report_answered(row: CustomerRequest) -> str | None:
    """Why a customer-reported case no longer wants pages (resolved, acknowledged, or
    joined to a monitoring case), or None."""
    if row.status is RequestStatus.RESOLVED:
        by = f" by {row.resolved_by}" if row.resolved_by else ""
        return f"case {row.case_number} was resolved{by}"
    if row.status is RequestStatus.JOINED:
        return f"case {row.case_number} joined {row.joined_case}, which pages instead"
    if row.acknowledged_at is not None:
        by = f" by {row.acknowledged_by}" if row.acknowledged_by else ""
        return f"case {row.case_number} was acknowledged{by}"
    return None


async def cancel_answered_pages(tx: Transaction, row: StoredIncident, now: datetime) -> int:
    """In the transaction that acknowledged or resolved `row`: cancel its pending pages
    (those being sent right now are left to the dispatcher, whose re-check sees the
    answer on a retry). Nothing for a case still open. Returns how many were cancelled."""
    reason = answered(row)
    if reason is None:
        return 0
    return await tx.outbox.cancel_pages(row.id, reason, PAGE_KINDS, now)


def silence_covers(
    silence: Silence, site_id: str, customer_id: str, check_ids: frozenset[str]
) -> bool:
    """Whether `silence` covers the site, its customer, or one of its checks: the one
    rule for the engine (is the case silenced?) and the re-check (until when?)."""
    if silence.scope is SilenceScope.SITE:
        return silence.target == site_id
    if silence.scope is SilenceScope.CUSTOMER:
        return silence.target == customer_id
    return silence.scope is SilenceScope.CHECK and silence.target in check_ids


class Recheck:
    """One round's re-check, in the claim's transaction `tx` at `now`. Silences and
    windows are read once, when the first case needs them. `config` gives the config
    maintenance windows and each site's checks (None: only the store's are known)."""

    __slots__ = ("_config", "_fallback", "_holds", "_now", "_tx")

    def __init__(
        self, tx: Transaction, now: datetime, config: Config | None, fallback: timedelta
    ) -> None:
        self._tx = tx
        self._now = now
        self._config = config
        self._fallback = fallback
        self._holds: tuple[list[Silence], list[MaintenanceWindow]] | None = None

    async def decide(self, item: OutboxItem) -> Decision:
        """The decision for a claimed page or digest (anything else: SEND)."""
        if item.key.kind not in RECHECKED:
            return SEND
        try:
            payload = Payload.from_json(item.payload)
        except PayloadError:
            return SEND  # the send fails it for good, with the reason
        if payload.kind is MessageKind.DIGEST:
            return await self._digest(payload)
        case = payload.case or item.key.subject
        row = await self._case(item.incident_id, case)
        if row is None:
            reason = await self._report_answered(case)
            return SEND if reason is None else Decision(Action.CANCEL, reason)
        reason = answered(row)
        if reason is not None:
            return Decision(Action.CANCEL, reason)
        until = await self._held_until(row)
        return SEND if until is None else Decision(Action.DEFER, until=until)

    async def _digest(self, payload: Payload) -> Decision:
        kept: list[DigestEntry] = []
        reasons: list[str] = []
        held: list[datetime] = []
        for entry in payload.incidents:
            row = await self._case(None, entry.case)
            if row is None:
                reason = await self._report_answered(entry.case)
            else:
                reason = answered(row)
            until = None if row is None or reason else await self._held_until(row)
            if reason is not None:
                reasons.append(reason)
            elif until is not None:
                held.append(until)
            else:
                kept.append(entry)
        if len(kept) == len(payload.incidents):
            return SEND
        if kept:
            narrowed = payload.with_changes(incidents=tuple(kept)).to_json()
            return Decision(Action.SEND, "; ".join(reasons), payload=narrowed)
        if held:
            return Decision(Action.DEFER, until=min(held))
        return Decision(Action.CANCEL, "; ".join(reasons))

    async def _case(self, incident_id: int | None, case: str) -> StoredIncident | None:
        if incident_id is not None:
            return await self._tx.incidents.get(incident_id)
        return await self._tx.incidents.by_case(case) if case else None

    async def _report_answered(self, case: str) -> str | None:
        """Why the customer-reported case `case` no longer wants pages; None: it does,
        or there is no such case (sent as planned)."""
        if not case:
            return None
        rows = [r for r in await self._tx.intake.by_case(case) if r.case_number == case]
        reasons = [report_answered(r) for r in rows]
        return reasons[0] if rows and all(reasons) else None

    async def _held_until(self, row: StoredIncident) -> datetime | None:
        """When the silences and windows holding the case's site end; None: not held."""
        silences, windows = await self._load()
        site = self._config.site(row.site_id) if self._config else None
        checks = frozenset(c.id for c in site.checks) if site else frozenset()
        ends = [
            *(s.end for s in silences if silence_covers(s, row.site_id, row.customer_id, checks)),
            *(w.end for w in windows if covers(w.sites, row.site_id)),
            *self._config_window_ends(row.site_id),
        ]
        if ends:
            return max(ends)
        try:
            flags = from_record(row)
        except ValueError:
            log.error("notify.unreadable_case", exc_info=True, extra={"case": row.case_number})
            return None  # sent as planned (see the module docstring)
        return self._now + self._fallback if flags.paused or flags.silenced else None

    def _config_window_ends(self, site_id: str) -> Sequence[datetime]:
        if self._config is None:
            return ()
        active = active_windows(self._config.maintenance, self._now)
        return [w.end for w in active if w.maintenance.covers(site_id)]

    async def _load(self) -> tuple[list[Silence], list[MaintenanceWindow]]:
        if self._holds is None:
            silences = await self._tx.silences.active(self._now)
            windows = await self._tx.maintenance.active(self._now)
            self._holds = (silences, windows)
        return self._holds


ConfigSource = Callable[[], Config]
"""Where the dispatcher reads the current config (it changes on reload)."""
