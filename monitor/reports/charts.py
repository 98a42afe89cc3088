"""The report's charts, drawn by matplotlib to SVG text to embed in the HTML (and the PDF).

Each chart is a pure function of the figures and the words to label it with. The plot
area (the axes' background) carries the id `plot-area` and each day's availability bar
`day-YYYY-MM-DD`, so a reader (and the tests) can tell the bars apart: a bar's height over
the plot area's is the day's availability (the axis runs from 0 to 100 %).
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any, Final

from matplotlib import rc_context
from matplotlib.figure import Figure

from monitor.reports.figures import CaseFigure, DayFigure, SiteFigures

_STYLE: Final[Any] = {  # matplotlib types rcParams keys as literals
    "svg.fonttype": "none",  # text stays text: searchable, copyable, in the PDF's text
    "svg.hashsalt": "vakt-report",  # the same figures give the same SVG
    "font.family": "DejaVu Sans",
    "font.size": 8,
    "axes.spines.top": False,
    "axes.spines.right": False,
}
_UP, _PARTIAL, _DOWN, _NONE = "#2e7d32", "#f9a825", "#c62828", "#bdbdbd"
_SITE_COLOURS = ("#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037", "#37474f")


def _svg(figure: Figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _colour(uptime: float | None) -> str:
    if uptime is None:
        return _NONE
    if uptime >= 0.999:
        return _UP
    return _PARTIAL if uptime >= 0.95 else _DOWN


def availability_bars(days: Sequence[DayFigure], label: str) -> str:
    """One bar per day; its height is the day's availability in % (no data: no height)."""
    with rc_context(_STYLE):
        figure = Figure(figsize=(7.0, 2.2))
        axes = figure.add_subplot()
        axes.patch.set_gid("plot-area")
        heights = [
            0.0 if d.availability.uptime is None else d.availability.uptime * 100 for d in days
        ]
        positions = [d.day.day for d in days]
        bars = axes.bar(
            positions, heights, width=0.8, color=[_colour(d.availability.uptime) for d in days]
        )
        for bar, day in zip(bars, days, strict=True):
            bar.set_gid(f"day-{day.day.isoformat()}")
        axes.set_ylim(0, 100)
        axes.set_xlim(0.4, len(days) + 0.6)
        axes.set_xticks(positions[::2] if len(days) > 16 else positions)
        axes.set_ylabel(label)
        figure.tight_layout()
        return _svg(figure)


def latency_chart(sites: Sequence[SiteFigures], labels: Mapping[str, str]) -> str:
    """Each site's daily median and 95th percentile (seconds, the histogram's bounds)."""
    with rc_context(_STYLE):
        figure = Figure(figsize=(7.0, 2.2))
        axes = figure.add_subplot()
        for index, site in enumerate(sites):
            colour = _SITE_COLOURS[index % len(_SITE_COLOURS)]
            days = [d.day.day for d in site.days]
            for attr, style in (("p50", "-"), ("p95", ":")):
                shown = [
                    (x, value)
                    for x, value in zip(days, (getattr(d, attr) for d in site.days), strict=True)
                    if value is not None
                ]
                if shown:
                    axes.step(
                        [x for x, _ in shown],
                        [min(v, 60.0) for _, v in shown],
                        where="mid",
                        color=colour,
                        linestyle=style,
                        label=f"{site.label} {labels[attr]}",
                    )
        axes.set_ylabel(labels["seconds"])
        axes.set_ylim(bottom=0)
        count = max((len(s.days) for s in sites), default=31)
        axes.set_xlim(0.4, count + 0.6)
        axes.set_xticks(range(1, count + 1, 2))
        if axes.get_legend_handles_labels()[0]:
            axes.legend(loc="upper right", fontsize=7, frameon=False)
        figure.tight_layout()
        return _svg(figure)


def case_timeline(
    cases: Sequence[CaseFigure],
    period: tuple[datetime, datetime],
    tz: tzinfo,
    labels: Mapping[str, str],
) -> str:
    """One row per case along the month (x: day of the month, in the customer's zone):
    from opening to resolution (or the period's end), its respond-by deadline (a line) and
    its acknowledgement (a dot)."""
    start, end = period
    first = datetime.combine(start.astimezone(tz).date(), datetime.min.time(), tzinfo=tz)

    def day(moment: datetime) -> float:
        return 1 + (moment - first) / timedelta(days=1)

    with rc_context(_STYLE):
        figure = Figure(figsize=(7.0, 0.8 + 0.3 * max(1, len(cases))))
        axes = figure.add_subplot()
        for row, case in enumerate(reversed(cases)):
            opened, stop = day(case.opened_at), day(case.resolved_at or end)
            colour = _DOWN if case.met is False else _UP if case.met else _PARTIAL
            axes.barh(row, max(stop - opened, 0.02), left=opened, height=0.5, color=colour)
            deadline = day(case.respond_by)
            axes.plot([deadline, deadline], [row - 0.35, row + 0.35], color="black")
            if case.acknowledged_at is not None:
                axes.plot(day(case.acknowledged_at), row, "o", color="black", markersize=3)
        axes.set_yticks(range(len(cases)), [c.case_number for c in reversed(cases)])
        axes.set_xlim(1, day(end))
        axes.set_xlabel(labels["timeline"])
        figure.tight_layout()
        return _svg(figure)
