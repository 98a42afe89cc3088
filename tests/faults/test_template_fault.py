"""(d) An override template (`settings.email.templates`) with an error in a branch that
the load-time samples do not reach: only a customer contact with one rare name takes it.

That contact's email ends permanently failed after one attempt, with the error; the team
is warned; every other notification (the page, the other contact's email, updates, the
resolved emails) is delivered, and the dispatcher goes on.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from monitor.notify.render import TEMPLATES
from tests.faults.harness import (
    ALICE,
    ALIVE_WAIT,
    KARI,
    TEAM,
    ZELDA,
    Backend,
    NotContained,
    Rig,
    Row,
)

RARE = "Zelda Rare"  # the contact's name in the rig's checks.yaml
BROKEN = (
    '{%- if p.to_name == "' + RARE + '" %}{{ p.loyalty_tier }}{% endif -%}\n'
)  # the payload has no `loyalty_tier`: StrictUndefined raises, for Zelda only


def broken_overrides(directory: Path) -> Path:
    directory.mkdir()
    builtin = (TEMPLATES / "customer_opened.txt").read_text()
    (directory / "customer_opened.txt").write_text(BROKEN + builtin)
    return directory


def zelda_opened(row: Row) -> bool:
    return row.to == ZELDA and row.kind == "customer_opened"


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_problem_2_template_error_in_a_rare_branch_fails_that_email_alone_and_warns(
    backend: Backend, tmp_path: Path
) -> None:
    templates = broken_overrides(tmp_path / "templates")
    async with Rig(tmp_path, backend, "template_error", templates=templates) as rig:

        async def contained() -> bool:
            ledger = await rig.ledger()
            failed = any(zelda_opened(r) and r.status == "failed" for r in ledger.rows)
            return failed and bool(rig.smtp.to(ALICE)) and bool(rig.smtp.to(KARI))

        await rig.must(
            "the page, Kari's email, Zelda's failed", contained, ALIVE_WAIT, NotContained
        )
        ledger = await rig.ledger()
        [row] = [r for r in ledger.rows if zelda_opened(r)]
        if row.attempts != 1 or not row.last_error:
            raise NotContained(f"{row.key}: {row.attempts} attempts, error {row.last_error!r}")
        failed_at: datetime = row.tried[0].at

        async def warned() -> bool:
            rows = (await rig.ledger()).rows
            told = [r for r in rows if r.to == TEAM and r.status == "sent"]
            return any(r.created_at >= failed_at for r in told) and bool(rig.smtp.to(TEAM))

        await rig.must("the team warned", warned, breach=NotContained)
        await rig.alive_since(failed_at)
        [case] = [c.case_number for c in ledger.cases]
        await rig.ack(case)
        await rig.resolve_and_settle()
        await rig.stop()
        summary = await rig.verify(may_fail=zelda_opened)
    summary.extra["error"] = row.last_error[:60]
    summary.report()
