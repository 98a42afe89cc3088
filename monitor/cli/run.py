"""`vakt run`: the daemon. Probes every check, opens and resolves incidents, until
SIGTERM/SIGINT (drains with a deadline); SIGHUP reloads the config."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from monitor import app
from monitor.cli._common import add_config_option, config_path, load_or_report
from monitor.cli._session import fail, moved_database
from monitor.scheduler import run as run_loop


def register(subparsers: Any) -> None:
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "run",
        help="run the monitor daemon",
        description="Run the monitor until SIGTERM or SIGINT; SIGHUP reloads the config. "
        "Exit codes: 0 stopped cleanly, 1 the store is unusable or locked, 2 invalid config "
        "or the database is at the old working-directory path.",
    )
    add_config_option(parser)
    parser.add_argument(
        "--drain",
        type=float,
        default=10.0,
        metavar="SECONDS",
        help="how long running probes and the last commit get at shutdown (default: 10)",
    )
    parser.add_argument("--log-level", default="info", help="debug, info, warning, error")
    parser.set_defaults(handler=_run)


def _run(args: argparse.Namespace) -> int:
    config = load_or_report(args)
    if config is None:
        return 2
    moved = moved_database(config.settings, Path.cwd())
    if moved is not None:
        return fail("run", moved, 2)
    app.configure_logging(args.log_level)
    options = app.Options(drain=args.drain)
    return run_loop(lambda: app.run(config_path(args), options=options))
