"""The operator commands' output helpers: tables, colour, durations, who is acting."""

from __future__ import annotations

import argparse
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from monitor.cli._table import Cell, Painter, actor, colour_wanted, iso, latency, span, table
from monitor.config import load_config
from tests.cli.support import write_config


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as a real TTY does."""

    def isatty(self) -> bool:
        return True


def test_columns_line_up_by_their_visible_text_even_when_coloured() -> None:
    rows: list[list[Cell]] = [
        ["acme/shop", ("Level A", "A"), "1"],
        ["globex/web", ("ok", "ok"), "22"],
    ]
    plain = table(("SITE", "STATE", "N"), rows, Painter(False))
    assert plain == [
        "SITE        STATE    N",
        "acme/shop   Level A  1",
        "globex/web  ok       22",
    ]
    coloured = table(("SITE", "STATE", "N"), rows, Painter(True))
    assert coloured[1] == "acme/shop   \x1b[31mLevel A\x1b[0m  1"
    assert coloured[2] == "globex/web  \x1b[32mok\x1b[0m       22"


@pytest.mark.parametrize(("key", "code"), [("A", "31"), ("B", "33"), ("ok", "32")])
def test_level_a_is_red_b_yellow_ok_green(key: str, code: str) -> None:
    assert Painter(True).state("x", key) == f"\x1b[{code}mx\x1b[0m"
    assert Painter(False).state("x", key) == "x"


@pytest.mark.parametrize(
    ("stream", "environ", "wanted"),
    [
        (Terminal(), {}, True),
        (Terminal(), {"NO_COLOR": "1"}, False),
        (Terminal(), {"NO_COLOR": ""}, True),
        (io.StringIO(), {}, False),
    ],
)
def test_colour_only_on_a_terminal_without_no_color(
    stream: io.StringIO, environ: dict[str, str], wanted: bool
) -> None:
    assert colour_wanted(stream, environ) is wanted


@pytest.mark.parametrize(
    ("delta", "text"),
    [
        (timedelta(seconds=0), "0s"),
        (timedelta(seconds=45), "45s"),
        (timedelta(minutes=12, seconds=3), "12m 3s"),
        (timedelta(hours=2, minutes=5, seconds=59), "2h 5m"),
        (timedelta(days=3, hours=4, minutes=1), "3d 4h"),
        (timedelta(days=1, minutes=7), "1d 7m"),
        (-timedelta(minutes=5), "5m"),
    ],
)
def test_spans_show_at_most_two_units(delta: timedelta, text: str) -> None:
    assert span(delta) == text


def test_latency_and_iso() -> None:
    assert [latency(v) for v in (None, 0.1204, 2.44)] == ["-", "120 ms", "2.4 s"]
    oslo = datetime.fromisoformat("2026-12-01T22:00:00+01:00")
    assert iso(oslo) == "2026-12-01T21:00:00+00:00"
    assert iso(None) is None
    assert iso(datetime(2026, 1, 1, tzinfo=UTC)) == "2026-01-01T00:00:00+00:00"


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
