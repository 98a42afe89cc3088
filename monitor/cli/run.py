"""`vakt run`: the daemon. Probes every check, opens and resolves incidents, until
SIGTERM/SIGINT (drains with a deadline); SIGHUP reloads the config. On a terminal it first
prints where to look (`startup_lines`) to stderr; the logs are JSON lines either way."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from monitor import __version__, app
from monitor.cli._common import add_config_option, config_path, load_or_report
from monitor.cli._session import fail, moved_database
from monitor.config.isolated import load_config_isolated
from monitor.config.records import Config
from monitor.scheduler import run as run_loop
from monitor.store import Store


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
    parser.add_argument(
        "--location",
        default=os.environ.get("VAKT_LOCATION") or None,
        metavar="NAME",
        help="where this instance probes from (env VAKT_LOCATION; default: "
        "settings.location). Other locations than settings.location need PostgreSQL",
    )
    parser.add_argument(
        "--probe-source-address",
        default=os.environ.get("VAKT_PROBE_SOURCE_ADDRESS") or None,
        metavar="ADDR",
        help="bind every probe connection (HTTP, TCP, TLS) to this local address "
        "(env VAKT_PROBE_SOURCE_ADDRESS)",
    )
    parser.set_defaults(handler=_run)


def startup_lines(config: Config, path: str) -> list[str]:
    """What `vakt run` tells a person at a terminal before the JSON logs start: where the
    UI and the public pages listen, which store, how many checks, how to log in."""
    s = config.settings
    checks, sites = len(config.checks()), len(config.sites())
    first = next(iter(config.people), None)
    login = (
        f"Create a login:       vakt user set-password {first} -c {path}"
        if first is not None
        else f"Create a login:       add `people:` to {path}, then "
        f"`vakt user set-password PERSON -c {path}`"
    )
    return [
        f"Vakt {__version__}: {checks} checks on {sites} sites, from {path}",
        f"Team UI and API:      http://{s.listen}/   (/metrics)",
        f"Status pages:         {s.public_url}/   (listening on {s.public_listen})",
        f"Store:                {Store(s.store).display_url}",
        login,
        "Logs follow as JSON lines; Ctrl-C stops (running probes drain first).",
    ]


def _run(args: argparse.Namespace) -> int:
    # Loaded once, in a child process (only the records reach the daemon's heap), and
    # handed to the daemon; SIGHUP reloads from the path.
    config = load_or_report(args, load_config_isolated)
    if config is None:
        return 2
    moved = moved_database(config.settings, Path.cwd())
    if moved is not None:
        return fail("run", moved, 2)
    if sys.stderr.isatty():
        for line in startup_lines(config, config_path(args)):
            print(line, file=sys.stderr)
    app.configure_logging(args.log_level)
    options = app.Options(
        drain=args.drain, location=args.location, source_address=args.probe_source_address
    )
    path = config_path(args)
    return run_loop(lambda: app.run(config, config_path=path, options=options))
