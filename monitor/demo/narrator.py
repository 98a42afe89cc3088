"""The demo's voice in the terminal: numbered steps, what happened and where to look, and
a progress line that redraws in place on a terminal (and stays silent in a pipe, so logs
and the `--fast` test read cleanly)."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from typing import TextIO

WIDTH = 88
BAR = 24


def elapsed(seconds: float) -> str:
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}:{rest:02d}"


class Narrator:
    """Writes to `out`; `monotonic` is the clock the elapsed times are read from."""

    def __init__(self, out: TextIO, monotonic: Callable[[], float], *, total: float) -> None:
        self.out = out
        self._monotonic = monotonic
        self._started = self._now()
        self._total = total
        self._tty = out.isatty()
        self._status = ""
        self._steps = 0

    def _now(self) -> float:
        return self._monotonic()

    @property
    def seconds(self) -> float:
        """Seconds since the narration started."""
        return self._now() - self._started

    def _clear(self) -> None:
        if self._tty and self._status:
            self.out.write("\r\x1b[2K")

    def _write(self, text: str) -> None:
        self._clear()
        self.out.write(text + "\n")
        self._redraw()

    def step(self, title: str) -> None:
        """A new chapter of the story."""
        self._steps += 1
        self._write(f"\n[{elapsed(self.seconds)}] {self._steps}. {title}")

    def say(self, text: str) -> None:
        """A paragraph, wrapped and indented under the current step."""
        wrapped = textwrap.fill(
            text, WIDTH, initial_indent="   ", subsequent_indent="   ", break_on_hyphens=False
        )
        self._write(wrapped)

    def look(self, what: str, url: str) -> None:
        """Where to look: one line with a URL (never wrapped, so it stays clickable)."""
        self._write(f"   -> {what}: {url}")

    def raw(self, text: str) -> None:
        self._write(text)

    def status(self, text: str) -> None:
        """Replace the progress line (a terminal only)."""
        self._status = text
        self._redraw()

    def _redraw(self) -> None:
        if self._tty and self._status:
            share = min(self.seconds / self._total, 1.0) if self._total else 1.0
            done = round(share * BAR)
            bar = "#" * done + "." * (BAR - done)
            line = f"[{bar}] {elapsed(self.seconds)}  {self._status}"
            self.out.write("\r\x1b[2K" + line[: WIDTH + 20])
        self.out.flush()

    def done(self) -> None:
        """Remove the progress line for good."""
        self._clear()
        self._status = ""
        self.out.flush()
