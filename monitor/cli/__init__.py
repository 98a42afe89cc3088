"""The `vakt` command. Each subcommand lives in its own module and registers itself here."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from monitor import __version__

# One entry per subcommand module (`monitor/cli/<module>.py` defines `register(subparsers)`),
# with the summary `vakt --help` shows. `main` imports only the module of the command being
# run, so `vakt status` does not pay for importing the daemon, the web UI and the rest.
# tests/cli/test_main.py keeps these summaries equal to each module's own help.
COMMANDS: dict[str, str] = {
    "run": "run the monitor daemon",
    "check_config": "validate checks.yaml and summarise it",
    "probe": "probe a URL or a configured check once and print the result",
    "db": "migrate the database schema",
    "cluster": "members of the PostgreSQL cluster, the leader and its term",
    "oncall": "who is on call now, and the next handoffs",
    "status": "every site with its state, level, latency and since when",
    "incidents": "list, show, acknowledge, resolve and annotate incidents",
    "maintenance": "add, list and end maintenance windows",
    "silence": "stop pages and customer emails for a while",
    "notify": "send a test notification",
    "notifications": "list notifications and retry failed ones",
    "user": "manage web UI logins",
    "report": "monthly agreement reports per customer (HTML, PDF, CSV, JSON)",
    "demo": "run Vakt on simulated customer sites, with a mail sink and the web UI",
}


def command_name(module: str) -> str:
    return module.replace("_", "-")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The `vakt` parser. With `only`, that command is registered in full and the others
    as one-line stubs (enough for `vakt --help`); without it, every command in full."""
    parser = argparse.ArgumentParser(
        prog="vakt",
        description=(
            "Vakt watches your customers' websites, opens Level A/B incidents, pages the "
            "on-call engineer and keeps customers informed until the incident is resolved."
        ),
    )
    parser.add_argument("--version", action="version", version=f"vakt {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module, summary in COMMANDS.items():
        if only is None or module == only:
            import_module(f"monitor.cli.{module}").register(subparsers)
        else:
            subparsers.add_parser(command_name(module), help=summary, add_help=False)
    return parser


def _selected(argv: Sequence[str]) -> str | None:
    """The module of the command named in `argv`, if any (the first non-option word)."""
    names = {command_name(module): module for module in COMMANDS}
    for word in argv:
        if not word.startswith("-"):
            return names.get(word)
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_selected(words) or "")
    args = parser.parse_args(words)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return 2
    try:
        code: int = handler(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        sys.stderr.close()
        return 0
    return code
