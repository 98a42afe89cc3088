"""The event loop's longest pause while a reload loads a large config (issue 16 item 5).

Compares loading in a worker thread (what a reload did before) with the child process of
`monitor.config.reloading` (what it does now), both followed by the template check in a
thread as the daemon does. A 1 ms ticker on the loop records the longest gap.

    .venv/bin/python bench/reload_pause.py [--sites 2000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from config_load import generate

from monitor.app import RELOAD_CHECK, tune_gc
from monitor.config import load_config
from monitor.config.reloading import load_in_child
from monitor.notify.templatecheck import checked_renderer


async def longest_pause(work: Callable[[], Awaitable[object]]) -> float:
    gaps: list[float] = []
    done = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.create_task(tick())
    await asyncio.sleep(0.05)
    await work()
    done.set()
    await ticker
    return max(gaps)


def write(path: Path, sites: int) -> str:
    path.write_text(generate(sites))
    return str(path)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument(
        "--daemon-gc", action="store_true", help="the collector tuned as `vakt run` tunes it"
    )
    args = parser.parse_args()
    if args.daemon_gc:
        tune_gc()
    with tempfile.TemporaryDirectory() as tmp:
        path = write(Path(tmp) / "checks.yaml", args.sites)

        async def thread() -> None:
            config = await asyncio.to_thread(load_config, path)
            await asyncio.to_thread(checked_renderer, config)

        async def child() -> None:
            config = await load_in_child(path, RELOAD_CHECK)
            await asyncio.to_thread(checked_renderer, config)

        for name, work in (("thread (before)", thread), ("child process (now)", child)):
            pauses = [await longest_pause(work) for _ in range(args.repeat)]
            shown = ", ".join(f"{p * 1000:.0f}" for p in pauses)
            print(
                f"{name}: longest loop pause median {statistics.median(pauses) * 1000:.0f} ms"
                f" ({shown} ms) at {args.sites} sites"
            )


if __name__ == "__main__":
    asyncio.run(main())
