"""The operator commands' output: tables and colour (drawn by rich), times, spinners."""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest

from monitor.cli._output import (
    Cell,
    Painter,
    colour_wanted,
    iso,
    latency,
    span,
    table,
    working,
)

ANSI = re.compile(r"\x1b\[[0-9;]*m")


class Terminal(io.StringIO):
    """A text stream that says it is a terminal, as a real TTY does."""

    def isatty(self) -> bool:
        return True


ROWS: list[list[Cell]] = [
    ["acme/shop", ("Level A", "A"), "1"],
    ["globex/web", ("ok", "ok"), "22"],
]


def test_piped_tables_are_plain_columns_two_spaces_apart() -> None:
    assert table(("SITE", "STATE", "N"), ROWS, Painter(False)) == [
        "SITE        STATE    N",
        "acme/shop   Level A  1",
        "globex/web  ok       22",
    ]


def test_coloured_tables_line_up_like_plain_ones_and_colour_the_states() -> None:
    coloured = table(("SITE", "STATE", "N"), ROWS, Painter(True, 80))
    assert [ANSI.sub("", line).rstrip() for line in coloured] == table(
        ("SITE", "STATE", "N"), ROWS, Painter(False)
    )
    assert re.search(r"\x1b\[31mLevel A\s*\x1b\[0m", coloured[1])  # Level A in red
    assert re.search(r"\x1b\[32mok\s*\x1b\[0m", coloured[2])  # ok in green
    assert "\x1b[1m" in coloured[0]  # bold headers


def test_a_piped_row_is_never_wrapped_however_long() -> None:
    long = "word " * 400
    [_header, row] = table(("CASE", "TEXT"), [["VAKT-1", long]], Painter(False))
    assert row == f"VAKT-1  {long.rstrip()}"


def test_on_a_terminal_a_long_column_wraps_to_its_width() -> None:
    lines = table(("CASE", "TEXT"), [["VAKT-1", "word " * 40]], Painter(True, 60), indent=2)
    plain = [ANSI.sub("", line) for line in lines]
    assert len(plain) > 2
    assert all(len(line) <= 60 for line in plain)
    assert all(line.startswith("  ") for line in plain)
    assert plain[1].split()[0] == "VAKT-1"
    assert " ".join(plain[1:]).split() == ["VAKT-1", *["word"] * 40]  # every word, in order


def test_a_spinner_shows_nothing_when_stderr_is_not_a_terminal() -> None:
    stream = io.StringIO()
    with working("Migrating", stream):
        pass
    assert stream.getvalue() == ""


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


def test_a_spinner_says_what_is_happening_on_a_terminal() -> None:
    stream = Terminal()
    with working("Migrating", stream):
        pass
    assert "Migrating" in stream.getvalue()
