"""The report a person reads: HTML in the customer's language with its charts, and its PDF.

Words come from the emails' gettext catalogs (`monitor/notify/locale`, domain `vakt`),
dates, times and durations from the emails' `Formatter` (Babel, the customer's zone). The
charts are SVG from `monitor.reports.charts`, embedded in the page, so the HTML is one
self-contained file and the PDF (WeasyPrint) shows exactly the same.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from babel.dates import format_date, format_datetime
from babel.numbers import format_decimal, format_percent
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from monitor.config.records import Language
from monitor.notify.render import Formatter, LocaleFormats, load_translations
from monitor.reports.charts import availability_bars, case_timeline, latency_chart
from monitor.reports.figures import MonthFigures

TEMPLATES = Path(__file__).parent / "templates"


@dataclass(frozen=True, slots=True)
class Reader:
    """Who the report is for: the customer's name, language and zone."""

    name: str
    language: Language
    zone: tzinfo
    zone_name: str


def environment(language: Language) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
    )
    env.policies["ext.i18n.trimmed"] = True
    translations = load_translations(language)
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


def html(figures: MonthFigures, reader: Reader) -> str:
    """The report as one self-contained HTML page in the reader's language."""
    env = environment(reader.language)
    translations = load_translations(reader.language)
    gettext = translations.gettext
    formats = LocaleFormats(reader.language)
    formatter = Formatter(reader.language, reader.zone, translations, formats)
    locale = formats.locale
    labels = {s.site_id: s.label for s in figures.sites}
    start, end = figures.period
    month_name = format_date(figures.month.first, "LLLL y", locale=locale)
    charts = {
        "availability": availability_bars(figures.days, gettext("Availability (%)")),
        "latency": latency_chart(
            figures.sites,
            {
                "p50": gettext("median"),
                "p95": gettext("95th percentile"),
                "seconds": gettext("seconds"),
            },
        ),
        "timeline": case_timeline(
            figures.cases,
            figures.period,
            reader.zone,
            {
                "timeline": gettext(
                    "Day of the month: each case from opening to resolution, "
                    "its respond-by deadline (line) and acknowledgement (dot)"
                )
            },
        ),
    }
    last_day = (end - timedelta(microseconds=1)).astimezone(reader.zone).date()
    context: dict[str, Any] = {
        "f": figures,
        "language": reader.language.value,
        "customer": reader.name,
        "month_name": month_name,
        "period": f"{format_date(start.astimezone(reader.zone).date(), 'long', locale=locale)}"
        f" – {format_date(last_day, 'long', locale=locale)}",
        "running": figures.now < figures.month.next().bounds(reader.zone)[0],
        "charts": charts,
        "windows": [(s.label, w) for s in figures.sites for w in s.windows],
        "zone": reader.zone_name,
        "when": lambda t: "" if t is None else format_datetime(t, "short", reader.zone, locale),
        "span": lambda d: _span(formatter, d),
        "hours": lambda d: _span(formatter, d) if d else "0",
        "percent": lambda v: "–" if v is None else format_percent(v, "#,##0.00 %", locale=locale),
        "seconds": lambda v: _seconds(v, locale),
        "label": labels.get,
    }
    return env.get_template("report.html").render(context)


def _span(formatter: Formatter, span: timedelta | None) -> str:
    if span is None:
        return "–"
    if span <= timedelta(0):
        return "0"
    anchor = datetime(2000, 1, 1)
    return formatter.duration(anchor, anchor + span)


def _seconds(value: float | None, locale: Any) -> str:
    if value is None:
        return "–"
    if value == float("inf"):
        return "> 30 s"
    return f"≤ {format_decimal(value, locale=locale)} s"


def pdf(page: str, base: Path | None = None) -> bytes:
    """The HTML page as PDF (WeasyPrint, imported here: it needs Pango from the system)."""
    from weasyprint import HTML

    document: bytes = HTML(string=page, base_url=str(base or TEMPLATES)).write_pdf()
    return document
