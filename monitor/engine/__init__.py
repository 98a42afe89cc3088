"""The engine: the unit of work from probe results to one commit.

Results from the scheduler are batched; each flush runs the pure `evaluate` and
`incidents` steps (and the notification planner seam) and commits check state changes,
evidence, incidents, their timelines and outbox rows in ONE transaction through the one
writer. `commands` are the operator actions (ack, resolve, note) other front ends call.
"""

from monitor.engine.commands import (
    AlreadyResolved,
    CommandError,
    CommandResult,
    Conflict,
    UnknownCase,
    acknowledge,
    add_note,
    resolve,
)
from monitor.notify.stored import event_records, from_record, to_record

__all__ = [
    "AlreadyResolved",
    "CommandError",
    "CommandResult",
    "Conflict",
    "UnknownCase",
    "acknowledge",
    "add_note",
    "event_records",
    "from_record",
    "resolve",
    "to_record",
]
