"""(e) SIGKILL of `vakt run` at random moments during an open Level A case, and restarts.

The daemon is killed `kills` times, each at a random moment 0.5-3 s after it was started
(during start-up, planning, sending or settling). Half-way it stays down for longer than
the page repeat interval and the case is acknowledged meanwhile, so an escalation slot
falls due while nobody runs and is only planned after the acknowledgement. After
the last restart a notification planned since is delivered, the case resolves, and every
invariant holds: each notification ended sent, failed or cancelled with its attempts
recorded, no page went out after the acknowledgement unless its send began before, and
the only duplicates at the SMTP sink are repeats from a crash window, with the original's
Message-ID (a page delivered just before a kill may be cancelled after the restart, its
case acknowledged meanwhile: the store cannot know the server had it). The seed is
printed ($VAKT_CRASH_SEED replays one).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
from pathlib import Path

import pytest

from tests.faults.harness import Backend, Rig

DOWN = 2.5  # seconds down half-way: longer than the page repeat interval (2 s)


async def _crash(tmp_path: Path, backend: Backend, kills: int) -> None:
    seed = int(os.environ.get("VAKT_CRASH_SEED", random.randrange(1 << 30)))
    draw = random.Random(seed)
    async with Rig(tmp_path, backend, f"sigkill_x{kills}") as rig:
        case = await rig.opened()
        for kill in range(kills):
            await asyncio.sleep(draw.uniform(0.5, 3.0))  # a random moment, by design
            assert await rig.daemon.stop(signal.SIGKILL) == -signal.SIGKILL
            if kill == kills // 2:
                await asyncio.sleep(DOWN)  # down past a page slot, by design
                await rig.ack(case)
            await rig.daemon.start()
        # The dispatcher lives: the resolved emails, planned after the last restart, must
        # be delivered for the outbox to settle.
        await rig.resolve_and_settle()
        await rig.stop()
        summary = await rig.verify(crash_window=True)
    summary.extra.update(seed=seed, kills=kills)
    summary.report()


# `make test` runs it on PostgreSQL (tests/e2e/test_crash.py kills a SQLite daemon too);
# `-m slow` on both.
@pytest.mark.parametrize(
    "backend", [pytest.param("postgresql", marks=pytest.mark.pg)], indirect=True
)
async def test_problems_5_7_sigkill_at_random_moments_loses_nothing_and_never_pages_after_the_ack(
    backend: Backend, tmp_path: Path
) -> None:
    await _crash(tmp_path, backend, kills=2)


@pytest.mark.slow
async def test_problems_5_7_sigkill_twenty_times_loses_nothing_and_never_pages_after_the_ack(
    backend: Backend, tmp_path: Path
) -> None:
    await _crash(tmp_path, backend, kills=20)
