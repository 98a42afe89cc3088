"""Templates (Jinja2, autoescaped everywhere), formatting filters and the status-page
translations (a small gettext domain, `monitor/web/locale/<lang>/LC_MESSAGES/web.po`)."""

from __future__ import annotations

import gettext
import io
from collections.abc import Callable, Mapping
from datetime import date, datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from aiohttp import web
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from jinja2 import Environment, PackageLoader, StrictUndefined

LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "web"
LANGUAGES = ("en", "nb", "nl")


def load_translations(language: str) -> gettext.NullTranslations:
    """The catalog of `language` (compiled from its .po in memory); English: identity."""
    po = LOCALE_DIR / language / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.is_file():
        return gettext.NullTranslations()
    with po.open("rb") as handle:
        catalog = read_po(handle, locale=language)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return gettext.GNUTranslations(buffer)


def duration(span: timedelta) -> str:
    """`2h 5m`, `3d 4h`, `45s`: the two largest units."""
    total = abs(int(span.total_seconds()))
    parts: list[str] = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if total >= size or (unit == "s" and not parts):
            parts.append(f"{total // size}{unit}")
            total %= size
        if len(parts) == 2:
            break
    return " ".join(parts)


def latency(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def when(at: datetime | None, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M %Z") -> str:
    """A time in `tz`; by default with the zone's abbreviation (`2026-11-24 11:00 CET`)."""
    return "–" if at is None else at.astimezone(tz).strftime(fmt)


def localized(at: datetime | None, tz: tzinfo, language: str) -> str:
    """A date and time in the customer's language and zone, with the zone's abbreviation
    (`1. des. 2026, 22:00:00 CET`), so no reader has to guess which clock it is."""
    if at is None:
        return ""
    locale = {"nb": "nb_NO", "nl": "nl_NL"}.get(language, "en_GB")
    local = at.astimezone(tz)
    text = format_datetime(local, "medium", tzinfo=tz, locale=locale)
    return f"{text} {local.tzname() or ''}".rstrip()


def day(value: date, language: str) -> str:
    """A date in the customer's language (`24 Nov 2026`)."""
    locale = {"nb": "nb_NO", "nl": "nl_NL"}.get(language, "en_GB")
    return format_date(value, "medium", locale=locale)


class Renderer:
    """Renders templates into HTML responses. One per app; holds the loaded catalogs."""

    __slots__ = ("_catalogs", "env")

    def __init__(self) -> None:
        self.env = Environment(
            loader=PackageLoader("monitor.web", "templates"),
            autoescape=True,  # every template, whatever its name
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.env.filters.update(duration=duration, latency=latency, when=when)
        self.env.filters["localized"] = localized
        self.env.filters["day"] = day
        self._catalogs = {lang: load_translations(lang) for lang in LANGUAGES}

    def gettext(self, language: str) -> Callable[[str], str]:
        catalog = self._catalogs.get(language) or self._catalogs["en"]
        return catalog.gettext

    def text(self, name: str, context: Mapping[str, Any]) -> str:
        return self.env.get_template(name).render(**context)

    def page(self, name: str, context: Mapping[str, Any], *, status: int = 200) -> web.Response:
        return web.Response(text=self.text(name, context), status=status, content_type="text/html")
