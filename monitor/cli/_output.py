"""What the operator commands print: tables and colour (drawn by `rich`), times for people
and for scripts, JSON.

Colour is used only when stdout is a terminal and `NO_COLOR` is unset (https://no-color.org);
piped output is plain text, one row per line, columns two spaces apart, never wrapped, so
`grep` and `awk` work on it. On a terminal, tables fit its width (long text wraps in its
column) and a long command may show a spinner on stderr (`working`).
JSON times are ISO 8601 in UTC; human times are in the configured time zone.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TextIO

from rich.console import Console, RenderableType
from rich.style import Style
from rich.table import Table
from rich.text import Text

UNBOUNDED = 1_000_000
"""Console width for piped output: wide enough that no row is ever wrapped."""

# What a state or level looks like: Level A red, Level B yellow, ok green.
_STATE_STYLES: Mapping[str, Style] = {
    **dict.fromkeys(("A", "failing", "open", "failed"), Style(color="red")),
    **dict.fromkeys(("B", "degraded", "acknowledged"), Style(color="yellow")),
    **dict.fromkeys(("ok", "up", "resolved", "sent"), Style(color="green")),
    **dict.fromkeys(("unknown", "cancelled"), Style(dim=True)),
}
_HEADER = Style(bold=True)

Cell = str | tuple[str, str]
"""Plain text, or (text, state key) to colour the text like that state."""


def colour_wanted(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """True when `stream` is a terminal and `NO_COLOR` is unset or empty."""
    if environ.get("NO_COLOR"):
        return False
    isatty = getattr(stream, "isatty", None)
    return bool(isatty is not None and isatty())


@dataclass(frozen=True, slots=True)
class Painter:
    """How output is drawn: in colour or plain, fitted to `width` columns or unbounded."""

    enabled: bool
    width: int = UNBOUNDED

    @classmethod
    def for_stdout(cls) -> Painter:
        """Colour and the terminal's width on a terminal; plain and unbounded when piped."""
        if not colour_wanted(sys.stdout, os.environ):
            return cls(False)
        return cls(True, shutil.get_terminal_size().columns)

    def render(self, renderable: RenderableType) -> list[str]:
        """`renderable` as printed lines (ANSI colour codes only when `enabled`)."""
        buffer = io.StringIO()
        console = Console(
            file=buffer,
            width=self.width,
            color_system="standard" if self.enabled else None,
            force_terminal=self.enabled,
            no_color=not self.enabled,
            highlight=False,
            markup=False,
            emoji=False,
            legacy_windows=False,
        )
        console.print(renderable, crop=False)
        return [line.rstrip() for line in buffer.getvalue().splitlines()]

    def state(self, text: str, key: str | None = None) -> str:
        """`text` in the colour of the state or level `key` (default: `text` itself)."""
        if not self.enabled or not text:
            return text
        [line] = self.render(_styled(text, key if key is not None else text))
        return line

    def cell(self, cell: Cell) -> str:
        """A table cell as it is printed outside a table: plain, or coloured like its key."""
        return cell if isinstance(cell, str) else self.state(cell[0], cell[1])


def _styled(text: str, key: str | None) -> Text:
    style = _STATE_STYLES.get(key) if key is not None else None
    return Text(text, style=style or "")


def _cell(cell: Cell) -> Text:
    return _styled(cell, None) if isinstance(cell, str) else _styled(cell[0], cell[1])


def table(
    headers: Sequence[str], rows: Sequence[Sequence[Cell]], painter: Painter, indent: int = 0
) -> list[str]:
    """Left-aligned columns two spaces apart under bold headers, `indent` spaces in; cells
    coloured like their state key. Piped, no cell wraps; on a terminal the widest column
    wraps to fit."""
    grid = Table(
        box=None,
        padding=(0, 1),
        pad_edge=False,
        show_edge=False,
        header_style=_HEADER,
        expand=False,
    )
    wrap = painter.width < UNBOUNDED
    for header in headers:
        grid.add_column(header, no_wrap=not wrap, overflow="fold")
    for row in rows:
        grid.add_row(*(_cell(c) for c in row))
    fitted = replace(painter, width=painter.width - indent) if wrap else painter
    pad = " " * indent
    return [pad + line if line else line for line in fitted.render(grid)]


@contextmanager
def working(message: str, stream: TextIO | None = None) -> Iterator[None]:
    """A spinner with `message` on `stream` (stderr) while the block runs, only when that
    is a terminal (uncoloured under `NO_COLOR`); otherwise nothing is shown."""
    out = sys.stderr if stream is None else stream
    if not colour_wanted(out, {}):  # a terminal, whatever NO_COLOR says
        yield
        return
    console = Console(
        file=out, highlight=False, markup=False, emoji=False, no_color=bool(os.getenv("NO_COLOR"))
    )
    with console.status(message):
        yield


# ------------------------------------------------------------------------------- times


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 in UTC (`2026-12-01T21:00:00+00:00`) for JSON; None stays None."""
    return None if moment is None else moment.astimezone(UTC).isoformat()


def local(moment: datetime | None, zone: tzinfo) -> str:
    """`2026-12-01 22:00 CET` in `zone`; `-` for None."""
    if moment is None:
        return "-"
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M %Z")


def span(delta: timedelta) -> str:
    """A duration in at most two units: `45s`, `12m`, `2h 5m`, `3d 4h`."""
    seconds = int(abs(delta).total_seconds())
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    units = [(days, "d"), (hours, "h"), (minutes, "m"), (secs, "s")]
    shown = [f"{n}{u}" for n, u in units if n][:2]
    return " ".join(shown) or "0s"


def latency(seconds: float | None) -> str:
    """`120 ms`, `2.4 s`; `-` when there is no measurement."""
    if seconds is None:
        return "-"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.1f} s"


def print_json(value: object) -> None:
    print(json.dumps(value, indent=2, ensure_ascii=False))
