"""What the operator commands share: who is acting."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from monitor.cli._session import actor
from monitor.config import load_config
from tests.cli.support import write_config


@pytest.mark.parametrize(
    ("by", "environ", "expected"),
    [
        ("alice", {}, "alice"),
        (None, {"VAKT_USER": "Alice"}, "alice"),
        (None, {"VAKT_USER": "bob.berg@agency.example"}, "bob"),
        ("Carol the contractor", {"VAKT_USER": "alice"}, "Carol the contractor"),
    ],
)
def test_the_actor_is_a_person_id_when_it_matches_one(
    tmp_path: Path, by: str | None, environ: dict[str, str], expected: str
) -> None:
    config = load_config(str(write_config(tmp_path / "checks.yaml", "sqlite:///x.db")))
    assert actor(argparse.Namespace(by=by), config, environ) == expected


def test_the_actor_defaults_to_the_login_name(tmp_path: Path) -> None:
    import getpass

    config = load_config(str(write_config(tmp_path / "checks.yaml", "sqlite:///x.db")))
    assert actor(argparse.Namespace(by=None), config, {}) == getpass.getuser()
