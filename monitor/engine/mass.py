"""The fleet-wide mass-outage step of a flush (`paging.mass_outage`).

After the sites of a flush were evaluated, inside the same transaction: read the open
incidents, let the pure `decide_mass_outage` decide, insert or compare-and-set the
mass-outage incident, and link the site incidents it names to it (`actions.link`), so
they page no one themselves; the planner still emails each affected customer. A lost
compare-and-set writes nothing more and is decided again on the next flush.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, tzinfo

from monitor.config.records import MassOutage
from monitor.engine.planner import Change
from monitor.incidents import (
    Decision,
    Incident,
    IncidentKind,
    MassDecision,
    case_year,
    decide_mass_outage,
    link,
    with_case,
)
from monitor.notify.stored import event_records, from_record, to_record
from monitor.store import Incident as StoredIncident
from monitor.store import Transaction

log = logging.getLogger(__name__)

Rows = Sequence[tuple[StoredIncident, Incident]]


async def mass_outage_step(
    tx: Transaction,
    rule: MassOutage | None,
    now: datetime,
    *,
    case_prefix: str,
    timezone: tzinfo,
) -> tuple[Change, ...]:
    """Decide and write the mass-outage incident and its links; the changes it wrote."""
    rows = [(row, from_record(row)) for row in await tx.incidents.unresolved()]
    mass = next(((r, i) for r, i in rows if i.kind is IncidentKind.MASS_OUTAGE), None)
    if rule is None and mass is None:
        return ()
    sites = [i for _, i in rows if i.kind is IncidentKind.SITE]
    decision = decide_mass_outage(sites, None if mass is None else mass[1], rule, now)
    if decision.incident is None or not decision.events:
        return ()
    written = await _write(tx, decision, mass, now, case_prefix, timezone)
    if written is None:
        return ()
    change = Change(written, Decision(incident=decision.incident, events=decision.events))
    return (change, *await _link(tx, rows, decision.link, written, now))


async def _write(
    tx: Transaction,
    decision: MassDecision,
    mass: tuple[StoredIncident, Incident] | None,
    now: datetime,
    case_prefix: str,
    timezone: tzinfo,
) -> StoredIncident | None:
    assert decision.incident is not None
    if decision.needs_case_number:
        case = await tx.incidents.next_case_number(case_prefix, case_year(now, timezone))
        row = await tx.incidents.insert(to_record(with_case(decision.incident, case), now))
        log.info("incident.opened", extra={"case": case, "site": row.site_id, "kind": "mass"})
    else:
        if mass is None:
            return None
        updated = await tx.incidents.update(to_record(decision.incident, now, mass[0]))
        if updated is None:
            return None  # another writer changed it first: decided again next flush
        row = updated
    await tx.incidents.add_events(event_records(row.id, decision.events))
    return row


async def _link(
    tx: Transaction, rows: Rows, site_ids: Sequence[str], mass: StoredIncident, now: datetime
) -> list[Change]:
    wanted = set(site_ids)
    changes: list[Change] = []
    for row, incident in rows:
        if incident.kind is not IncidentKind.SITE or incident.site_id not in wanted:
            continue
        decision = link(incident, mass.case_number, now, f"part of mass outage {mass.case_number}")
        if decision.incident is None or not decision.events:
            continue
        written = await tx.incidents.update(to_record(decision.incident, now, row))
        if written is None:
            continue
        await tx.incidents.add_events(event_records(written.id, decision.events))
        changes.append(Change(written, decision))
    return changes
