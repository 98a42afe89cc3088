"""Helpers shared by the subcommand modules."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

from monitor.config import Config, ConfigError

DEFAULT_CONFIG = "checks.yaml"


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "-c",
        "--config",
        metavar="PATH",
        help="checks.yaml, or a directory of *.yaml files "
        "(default: $VAKT_CONFIG, else ./checks.yaml)",
    )


def config_path(args: argparse.Namespace) -> str:
    explicit: str | None = getattr(args, "config", None)
    return explicit or os.environ.get("VAKT_CONFIG") or DEFAULT_CONFIG


def load_or_report(
    args: argparse.Namespace, load: Callable[[str], Config] | None = None
) -> Config | None:
    """Load the config with `load` (default: `load_config`, in this process); on failure
    print every error to stderr and return None."""
    if load is None:
        from monitor.config.loader import load_config

        load = load_config
    try:
        return load(config_path(args))
    except ConfigError as exc:
        print(exc.render(), file=sys.stderr)
        return None
