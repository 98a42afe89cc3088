"""Typed timeline events: `incident_events` gains typed fields (level, previous_level,
ref, recipient, channel) and finer kinds, so nothing reads the text back.

Existing rows are converted from what their text and order said before:
- `level_changed` "level B -> A" keeps its kind and gets level A, previous level B
  ("none" -> no previous level); "failing again" becomes `relapsed`, a text starting
  with "recovered" becomes `recovered`; anything else stays a `level_changed` without
  levels (the planner never read those);
- `linked` whose text says "is affected" becomes `affected`; both get `ref` from the
  text's trailing "(ref)", or the whole text when it was only the ref;
- `maintenance` and `silenced` alternated on/off per incident (oldest first): every
  second one becomes `maintenance_ended` / `unsilenced`, the others
  `maintenance_started` / `silenced`.
Texts are kept as they are. The downgrade folds the kinds back and drops the fields.

Revision ID: 0045_events
Revises: 0040_state
Create Date: 2026-12-07 12:00:00.000000
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0045_events"
down_revision: str | None = "0040_state"
branch_labels: str | None = None
depends_on: str | None = None

_FIELDS = (
    ("level", 64),
    ("previous_level", 64),
    ("ref", 255),
    ("recipient", 255),
    ("channel", 64),
)
_LEVEL = re.compile(r"level (A|B|none) -> (A|B)")
_REF = re.compile(r"\(([^()]*)\)\s*$")
_TOGGLES = {"maintenance": ("maintenance_started", "maintenance_ended")}
_TOGGLES["silenced"] = ("silenced", "unsilenced")
_FOLD = {
    "recovered": "level_changed",
    "relapsed": "level_changed",
    "affected": "linked",
    "maintenance_started": "maintenance",
    "maintenance_ended": "maintenance",
    "unsilenced": "silenced",
}

events = sa.table(
    "incident_events",
    sa.column("id", sa.BigInteger),
    sa.column("incident_id", sa.BigInteger),
    sa.column("at", sa.DateTime),
    sa.column("kind", sa.String),
    sa.column("text", sa.Text),
    *(sa.column(name, sa.String) for name, _ in _FIELDS),
)


def upgrade() -> None:
    with op.batch_alter_table("incident_events") as batch:
        for name, length in _FIELDS:
            batch.add_column(sa.Column(name, sa.String(length), nullable=True))
    conn = op.get_bind()
    query = (
        sa.select(events.c.id, events.c.incident_id, events.c.kind, events.c.text)
        .where(events.c.kind.in_(["level_changed", "linked", "maintenance", "silenced"]))
        .order_by(events.c.incident_id, events.c.at, events.c.id)
    )
    for event_id, changes in _conversions(conn.execute(query)):
        conn.execute(sa.update(events).where(events.c.id == event_id).values(**changes))


def _conversions(rows: Iterable[Any]) -> Iterable[tuple[int, dict[str, str | None]]]:
    seen: dict[tuple[int, str], int] = {}
    for event_id, incident_id, kind, text in rows:
        if kind in _TOGGLES:
            n = seen.get((incident_id, kind), 0)
            seen[(incident_id, kind)] = n + 1
            yield event_id, {"kind": _TOGGLES[kind][n % 2]}
        elif kind == "linked":
            ref = _REF.search(text)
            new = "affected" if "is affected" in text else "linked"
            yield event_id, {"kind": new, "ref": ref.group(1) if ref else text or None}
        else:
            changes = _level_change(text)
            if changes:
                yield event_id, changes


def _level_change(text: str) -> dict[str, str | None]:
    match = _LEVEL.search(text)
    if match is not None:
        before = None if match.group(1) == "none" else match.group(1)
        return {"level": match.group(2), "previous_level": before}
    if text == "failing again":
        return {"kind": "relapsed"}
    if text.startswith("recovered"):
        return {"kind": "recovered"}
    return {}


def downgrade() -> None:
    conn = op.get_bind()
    for new, old in _FOLD.items():
        conn.execute(sa.update(events).where(events.c.kind == new).values(kind=old))
    with op.batch_alter_table("incident_events") as batch:
        for name, _ in reversed(_FIELDS):
            batch.drop_column(name)
