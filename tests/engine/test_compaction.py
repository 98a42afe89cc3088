"""The engine's compaction is incremental (issue 14 item 2: work proportional to change).

`Engine.compact()` runs after every flush of the writer loop: it writes the latency
baselines and recent rings of the checks whose new results have waited `checkpoint_every`
seconds, at most a bounded number per step, and deletes the journal rows every one of
their samples is now checkpointed. So no step is a checkpoint of every check that
changed in the last 30 s, and a crash between steps still loses nothing (the journal
keeps what no checkpoint holds yet).
"""

from __future__ import annotations

import asyncio
import re
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import event

from monitor.clock import FixedClock
from monitor.config.records import Config, SlowRule
from monitor.engine.engine import Engine
from monitor.model import Verdict
from monitor.store import Store
from tests.engine.support import QUIET_PLANNER, T0, config, no_deadlines, result, site

RULE = SlowRule(
    factor=3.0,
    over=timedelta(seconds=30),
    min=timedelta(milliseconds=100),
    baseline=timedelta(hours=1),
)
SITES = [f"acme/s{n}" for n in range(10)]
_WRITE = re.compile(r"^\s*(INSERT|UPDATE|DELETE)\s+(?:INTO |FROM )?\"?(\w+)", re.I)


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(T0)


def many_sites() -> Config:
    return config(*(site(s, slow=RULE) for s in SITES))


def checks_of(sites: list[str]) -> list[str]:
    return [f"{s}/{name}" for s in sites for name in ("home", "checkout")]


@contextmanager
def rows_written(store: Store) -> Iterator[Counter[str]]:
    """Rows each table receives (executemany rows counted one by one) inside the block."""
    counts: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, sql: str, params: Any, ctx: Any, many: bool) -> None:
        match = _WRITE.match(sql)
        if match is not None:
            counts[match.group(2)] += len(params) if many else 1

    sync = store._require_engine().sync_engine
    event.listen(sync, "before_cursor_execute", count)
    try:
        yield counts
    finally:
        event.remove(sync, "before_cursor_execute", count)


async def engine_on(store: Store, clock: FixedClock, **options: Any) -> Engine:
    engine = Engine(
        store,
        many_sites(),
        clock,
        planner=QUIET_PLANNER,
        deadlines=no_deadlines,
        checkpoint_every=30,
        **options,
    )
    await engine.start()
    return engine


async def probe(engine: Engine, clock: FixedClock, sites: list[str]) -> None:
    for check_id in checks_of(sites):
        engine.submit(result(check_id, clock.now(), Verdict.OK, total=0.05), 0.0)
    await engine.flush()


async def journal_rows(store: Store) -> int:
    async with store.transaction(read_only=True) as tx:
        return len({s.at for s in await tx.memory.samples()})


async def test_a_compaction_step_writes_only_the_checks_that_waited(
    store: Store, clock: FixedClock
) -> None:
    engine = await engine_on(store, clock)
    await probe(engine, clock, SITES[:5])  # t=0: sites 0-4
    clock.advance(20)
    await probe(engine, clock, SITES[5:])  # t=20: sites 5-9
    clock.advance(10)  # t=30: only the first five sites' results have waited 30 s
    with rows_written(store) as rows:
        await engine.compact()
    assert rows["engine_memory"] == len(checks_of(SITES[:5]))  # their baselines only
    assert rows["recent_results"] == len(checks_of(SITES[:5]))
    assert await journal_rows(store) == 1  # the t=0 flush's row is compacted, t=20's kept
    with rows_written(store) as rows:
        await engine.compact()  # nothing more has waited: nothing written
    assert rows["engine_memory"] == rows["recent_results"] == 0
    clock.advance(20)  # t=50: the rest
    with rows_written(store) as rows:
        await engine.compact()
    assert rows["engine_memory"] == len(checks_of(SITES[5:]))
    assert await journal_rows(store) == 0


async def test_checks_probed_less_often_than_the_wait_are_compacted_at_the_next_step(
    store: Store, clock: FixedClock
) -> None:
    """Waiting `checkpoint_every` groups a check's results into one write only when it
    gets several meanwhile: one probed every minute would only keep its ring in memory."""
    minutely = [
        replace(s, checks=tuple(replace(c, interval=timedelta(minutes=1)) for c in s.checks))
        for s in (site(name, slow=RULE) for name in SITES[:5])
    ]
    engine = Engine(
        store,
        config(*minutely, *(site(name, slow=RULE) for name in SITES[5:])),
        clock,
        planner=QUIET_PLANNER,
        deadlines=no_deadlines,
        checkpoint_every=30,
    )
    await engine.start()
    await probe(engine, clock, SITES)  # t=0: every site
    with rows_written(store) as rows:
        await engine.compact()  # at once: the minutely checks only
    assert rows["engine_memory"] == rows["recent_results"] == len(checks_of(SITES[:5]))
    clock.advance(30)
    with rows_written(store) as rows:
        await engine.compact()  # t=30: the others have waited
    assert rows["engine_memory"] == rows["recent_results"] == len(checks_of(SITES[5:]))
    assert await journal_rows(store) == 0


async def test_a_compaction_step_writes_at_most_its_slice(store: Store, clock: FixedClock) -> None:
    engine = await engine_on(store, clock, compact_slice=6)
    await probe(engine, clock, SITES)  # 20 checks
    clock.advance(30)
    written = []
    for _ in range(5):
        with rows_written(store) as rows:
            await engine.compact()
        written.append(rows["engine_memory"])
    assert written == [6, 6, 6, 2, 0]
    assert await journal_rows(store) == 0


async def test_a_crash_between_compaction_steps_loses_no_sample(
    store: Store, clock: FixedClock
) -> None:
    first = await engine_on(store, clock, compact_slice=5)
    for _ in range(8):  # several rounds, a step after each flush as the writer loop does
        await probe(first, clock, SITES)
        await first.compact()
        clock.advance(10)
    assert await journal_rows(store) > 0  # a part is journaled, a part checkpointed
    second = await engine_on(store, clock)  # no close(): a SIGKILL
    assert second.memory.baselines == first.memory.baselines
    assert second.memory.seq == first.memory.seq


async def test_closed_five_minute_buckets_are_written_a_slice_per_flush(
    store: Store, clock: FixedClock
) -> None:
    """At 100,000 checks every check's bucket closes at the same boundary: one flush
    writing them all held the event loop for a second. A flush writes at most
    `compact_slice` of them, the next flushes the rest: none lost, none twice."""
    engine = await engine_on(store, clock, compact_slice=6)
    await probe(engine, clock, SITES)  # 20 checks, one bucket each
    clock.advance(300)  # the bucket closed
    written = []
    for _ in range(5):
        with rows_written(store) as rows:
            await engine.flush()
        written.append(rows["aggregates"])
    assert written == [6, 6, 6, 2, 0]


async def test_the_event_loop_turns_while_a_big_batch_is_absorbed(
    store: Store, clock: FixedClock
) -> None:
    """A flush steps its results in slices and lets the loop turn between them (the
    scheduler's timers fire meanwhile): another task sees the batch partly stepped."""
    sites = [f"big/s{n}" for n in range(600)]
    engine = Engine(
        store,
        config(*(site(s) for s in sites)),
        clock,
        planner=QUIET_PLANNER,
        deadlines=no_deadlines,
    )
    await engine.start()
    for check_id in checks_of(sites):  # 1,200 results
        engine.submit(result(check_id, clock.now(), Verdict.OK), 0.0)
    seen: set[int] = set()
    flush = asyncio.create_task(engine.flush())
    while not flush.done():
        seen.add(len(engine.memory.locations))
        await asyncio.sleep(0)
    await flush
    assert any(0 < stepped < 1200 for stepped in seen)
