"""(c) The SMTP server answers 421 for a while during an open Level A case, then accepts.

The on-call person is paged and the customer emailed; then every message is refused. A
page fails and waits for its retry; the case is acknowledged during the outage. When the
server accepts again, everything still wanted is delivered once, the page refused before
the acknowledgement is not sent after it (it is cancelled, with the reason), a
notification planned after the outage is delivered, and `/readyz` said `delivery:
failing` (503) while the outage outlasted the health limit and ready again after it.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.faults.harness import (
    Backend,
    Rig,
    check_ready_through_outage,
)

OUTAGE = 10.0  # seconds of 421 in `make test`
SLOW_OUTAGE = 120.0
DELIVERY_AFTER = 2.0  # settings.health.delivery_after in the rig's checks.yaml
SLACK = 1.5  # for the health evaluation's own cadence


async def _outage(tmp_path: Path, backend: Backend, seconds: float) -> None:
    scenario = "smtp_421" if seconds == OUTAGE else "smtp_421_long"
    async with Rig(tmp_path, backend, scenario) as rig:
        case = await rig.opened()
        start = datetime.now(UTC)
        rig.smtp.refusing = True

        async def page_refused() -> bool:
            ledger = await rig.ledger()
            return any(r.kind == "page" and r.status == "pending" and r.tried for r in ledger.rows)

        await rig.must("a page refused and waiting for its retry", page_refused)
        await rig.ack(case)
        left = seconds - (datetime.now(UTC) - start).total_seconds()
        await asyncio.sleep(max(0.0, left))  # the fault's length, not a wait for a condition
        rig.smtp.refusing = False
        end = datetime.now(UTC)
        await rig.alive_since(end)
        await rig.resolve_and_settle()
        await rig.stop()
        summary = await rig.verify()
        check_ready_through_outage(rig.readyz.answers, start, end, DELIVERY_AFTER + SLACK)
    summary.extra.update(outage=f"{seconds:g}s", refused=rig.smtp.refused)
    summary.report()


# SMTP is the same whatever the store: `make test` runs it on SQLite, `-m slow` on both.
@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
async def test_problems_3_5_smtp_421_for_a_while_then_accepting_delivers_all_and_readyz_tells(
    backend: Backend, tmp_path: Path
) -> None:
    await _outage(tmp_path, backend, OUTAGE)


@pytest.mark.slow
@pytest.mark.timeout(SLOW_OUTAGE + 240)
async def test_problems_3_5_smtp_421_for_two_minutes(backend: Backend, tmp_path: Path) -> None:
    await _outage(tmp_path, backend, SLOW_OUTAGE)
