"""`vakt demo`: Vakt end to end on loopback, with a scripted story and a demo mailbox."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Coroutine, Iterator, Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from monitor import app
from monitor.config import Config
from monitor.demo.runner import DemoOptions, run_demo
from monitor.scheduler import run as run_loop


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "demo",
        help="run Vakt on simulated customer sites, with a mail sink and the web UI",
        description="Start simulated customer sites, a local mail server and Vakt itself on "
        "127.0.0.1, then play a three-minute story of outages while narrating what happens "
        "and where to look. Keeps serving until Ctrl-C. Exit codes: 0 every expected "
        "outcome happened, 1 some did not (listed), 2 the demo could not start, "
        "130 interrupted before the summary.",
    )
    parser.add_argument(
        "--fast",
        action="store_true",
        help="play the story without pauses for a reader, check the outcomes and exit",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        metavar="PATH",
        help="keep the config, database and log here (default: a temporary directory)",
    )
    parser.set_defaults(handler=_demo)


def _vakt(
    config: Config,
    *,
    ca_file: str,
    routes: Sequence[web.AbstractRouteDef],
    ready: asyncio.Event,
    stop: asyncio.Event,
) -> Coroutine[Any, Any, int]:
    """The daemon as `vakt run` runs it, with the demo's CA, mailbox routes and quicker
    ticks; the demo owns Ctrl-C."""
    options = app.Options(
        signals=False,
        ca_file=ca_file,
        drain=5.0,
        tick_every=1.0,
        planner_every=1.0,
        dispatch_poll=0.25,
    )
    return app.serve(
        config,
        options=options,
        extra_private_routes=routes,
        ready=ready,
        stop=stop,
        config_path=config.path,
    )


@contextlib.contextmanager
def foreground() -> Iterator[None]:
    """Make this process the terminal's foreground process group while the block runs,
    as a shell does for a job: Ctrl-C then reaches the demo alone, not a `make` that
    started it (which would print `make: *** ... Interrupt`). Without a terminal, or when
    it cannot, or when stdin is not a terminal (a script, a test), nothing changes. The
    previous foreground group gets the terminal back."""
    try:
        tty = os.open("/dev/tty", os.O_RDWR) if sys.stdin.isatty() else -1
    except OSError:
        tty = -1
    if tty < 0:
        yield
        return
    previous = signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background tcsetpgrp
    try:
        before = os.tcgetpgrp(tty)
        os.setpgid(0, 0)
        os.tcsetpgrp(tty, os.getpgrp())
    except OSError:
        signal.signal(signal.SIGTTOU, previous)
        os.close(tty)
        yield
        return
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(tty, before)
        signal.signal(signal.SIGTTOU, previous)
        os.close(tty)


def _demo(args: argparse.Namespace) -> int:
    options = DemoOptions(fast=args.fast, keep_serving=not args.fast, directory=args.dir)
    with foreground():
        return run_loop(lambda: run_demo(_vakt, sys.stdout, options))
