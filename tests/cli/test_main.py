"""The `vakt` entry point: lazy command loading and the summaries `vakt --help` shows."""

from __future__ import annotations

import argparse
import importlib
import pkgutil

import pytest

import monitor.cli
from monitor.cli import COMMANDS, build_parser, command_name, main


def registered_help(module: str) -> str | None:
    parser = argparse.ArgumentParser()
    subparsers = parser.add_subparsers()
    importlib.import_module(f"monitor.cli.{module}").register(subparsers)
    [action] = subparsers._choices_actions
    return action.help


@pytest.mark.parametrize("module", sorted(COMMANDS))
def test_help_summary_matches_the_command_module(module: str) -> None:
    assert registered_help(module) == COMMANDS[module]


def test_every_command_module_is_listed() -> None:
    modules = {
        info.name
        for info in pkgutil.iter_modules(monitor.cli.__path__)
        if not info.name.startswith("_")
    }
    assert modules == set(COMMANDS)


def test_help_lists_every_command_without_importing_them(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["--help"])
    assert exit_.value.code == 0
    out = capsys.readouterr().out
    for module, summary in COMMANDS.items():
        assert command_name(module) in out
        assert summary.split()[0] in out


def test_a_command_is_parsed_by_its_full_parser() -> None:
    args = build_parser(only="check_config").parse_args(["check-config", "-c", "x.yaml"])
    assert (args.command, args.config) == ("check-config", "x.yaml")


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "COMMAND" in capsys.readouterr().out
