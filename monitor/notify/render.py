"""Render a payload into a subject, a plain-text body and an HTML body.

One template set (`monitor/notify/templates/`), translated with gettext catalogs
(`monitor/notify/locale/<lang>/LC_MESSAGES/vakt.po`) through `jinja2.ext.i18n` and
`babel.support.Translations`: customer emails in English, Norwegian Bokmål or Dutch,
with dates, times and durations formatted by Babel for that language in the customer's
time zone. Pages and team warnings are for the team and rendered in English.

Templates, per message kind: `<kind>.txt` is the plain-text body; `subject.txt` the
subject line (one subject for a whole case: `[VAKT-2026-000042] shop.acme.example`);
`layout.html` turns the text's paragraphs into the HTML body, with the acknowledge and
case links as buttons instead of the text lines that carry them (`html_paragraphs`).
A directory given as `overrides` (`settings.email.templates`) is searched first, so any
of them can be replaced by a file of the same name. Templates are read once: a
`Renderer` keeps what it compiled (`auto_reload` off), so an edited override takes
effect when the config is reloaded and `monitor.notify.templatecheck` has checked it,
never half-way between.

Catalogs: the `.po` files are the source and are compiled into memory when a `Renderer`
is built (`babel.messages.pofile.read_po` + `mofile.write_mo`), so no compiled `.mo` can
drift from its `.po`. To update them after changing a template's text:

    pybabel extract -F monitor/notify/babel.cfg -o /tmp/vakt.pot monitor/notify/templates
    pybabel update -i /tmp/vakt.pot -d monitor/notify/locale -D vakt

and translate the new entries (`tests/notify/test_render.py` fails while any message
of the templates is missing or untranslated in a catalog).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from types import CodeType, MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import Locale
from babel.dates import (
    DateTimePattern,
    format_date,
    format_timedelta,
    get_date_format,
    get_time_format,
)
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_percent
from babel.support import Translations
from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    select_autoescape,
)
from jinja2.bccache import Bucket

from monitor.config.records import Language
from monitor.notify.message import MessageKind, Outgoing, Payload, Rendered

PACKAGE_DIR = Path(__file__).parent
TEMPLATES = PACKAGE_DIR / "templates"
LOCALES = PACKAGE_DIR / "locale"
DOMAIN = "vakt"

_OFFSET = re.compile(r"^UTC([+-])(\d{2}):(\d{2})$")


def zone(name: str) -> tzinfo:
    """An IANA zone or a fixed offset written `UTC+02:00` (as in checks.yaml)."""
    match = _OFFSET.match(name)
    if match:
        sign = 1 if match[1] == "+" else -1
        return timezone(sign * timedelta(hours=int(match[2]), minutes=int(match[3])))
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def load_translations(language: Language, locales: Path = LOCALES) -> Translations:
    """The compiled catalog of `language` (English: the identity catalog)."""
    po = locales / language.value / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return Translations()
    with po.open("rb") as f:
        catalog = read_po(f, locale=language.value, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer, domain=DOMAIN)


class LocaleFormats:
    """One language's Babel locale and its long-date and short-time patterns, looked up
    once: `babel.dates.format_date` would parse the locale and find the pattern again on
    every call (a third of the time of rendering an email)."""

    __slots__ = ("date", "locale", "time")

    def __init__(self, language: Language) -> None:
        self.locale = Locale.parse(language.value)
        self.date: DateTimePattern = get_date_format("long", locale=self.locale)
        self.time: DateTimePattern = get_time_format("short", locale=self.locale)


class Formatter:
    """Dates, times and durations in one language and time zone."""

    __slots__ = ("_formats", "_gettext", "_named", "language", "zone")

    def __init__(
        self,
        language: Language,
        zone_: tzinfo,
        translations: Translations,
        formats: LocaleFormats | None = None,
    ) -> None:
        self.language = language
        self.zone = zone_
        self._gettext = translations.gettext
        self._formats = formats or LocaleFormats(language)
        self._named: set[str] = set()  # zone abbreviations already written

    def when(self, value: datetime | None) -> str:
        """`2. mars 2026 kl. 10:05 CET`, `2 maart 2026 om 10:05 CET`,
        `March 2, 2026 at 10:05 AM CET`. Every time is in the reader's zone; a zone is
        named the first time it is written in a message (one formatter per message), and
        again only when it changes (a message spanning a switch to summer time)."""
        if value is None:
            return ""
        local = value.astimezone(self.zone)
        formats = self._formats
        # What format_date / format_time(…, "long" / "short") do, minus the look-ups.
        date = formats.date.apply(local.date(), formats.locale)
        time = formats.time.apply(local.timetz(), formats.locale, reference_date=local.date())
        abbreviation = local.strftime("%Z")
        text = self._gettext("%(date)s at %(time)s") % {"date": date, "time": time}
        if not abbreviation or abbreviation in self._named:
            return text
        self._named.add(abbreviation)
        return f"{text} {abbreviation}"

    def month_name(self, month: str) -> str:
        """`2026-11` as `november 2026` / `November 2026`; other text as it is."""
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError:
            return month
        return format_date(first, "LLLL y", locale=self._formats.locale)

    def percent(self, share: float | None) -> str:
        """`0.9984` as `99,84 %` / `99.84%`; None (no measurements) as a dash."""
        if share is None:
            return "–"
        return format_percent(share, "#,##0.00 %", locale=self._formats.locale)

    def listing(self, items: Sequence[str]) -> str:
        """Names as the language lists them: `Kassen og Handlekurven`."""
        return format_list(list(items), locale=self._formats.locale)

    def duration(self, start: datetime, end: datetime) -> str:
        """The time between two moments in at most two units: `1 time og 30 minutter`."""
        minutes = max(1, round((end - start).total_seconds() / 60))
        days, rest = divmod(minutes, 24 * 60)
        hours, minutes = divmod(rest, 60)
        units = [(days, "day"), (hours, "hour"), (minutes, "minute")]
        locale = self._formats.locale
        parts = [
            format_timedelta(timedelta(**{f"{unit}s": amount}), threshold=1, locale=locale)
            for amount, unit in units
            if amount
        ][:2]
        return format_list(parts, locale=locale)


class SharedCode(BytecodeCache):
    """Jinja's compiled code kept in memory and shared by the environments of one
    `Renderer`: they differ only in their catalogs, which a template looks up when it is
    rendered, so each template is compiled once instead of once per language."""

    def __init__(self) -> None:
        self._code: dict[tuple[str, str], CodeType] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get((bucket.key, bucket.checksum))
        if code is not None:
            bucket.code = code

    def dump_bytecode(self, bucket: Bucket) -> None:
        if bucket.code is not None:
            self._code[(bucket.key, bucket.checksum)] = bucket.code


class Renderer:
    """Renders payloads; built once (catalogs compiled, templates cached) and reused.

    `overrides`: a directory whose templates replace the built-in ones of the same name.
    """

    __slots__ = ("_languages", "search_path")

    def __init__(self, *, overrides: str | Path | None = None, locales: Path = LOCALES) -> None:
        self.search_path: tuple[Path, ...] = (
            *([Path(overrides)] if overrides else []),
            TEMPLATES,
        )
        loader = ChoiceLoader([FileSystemLoader(str(path)) for path in self.search_path])
        code = SharedCode()
        self._languages: Mapping[Language, _Language] = MappingProxyType(
            {language: _language(loader, code, language, locales) for language in Language}
        )

    def environment(self, language: Language) -> Environment:
        """The Jinja environment of `language` (for `templatecheck`: list and compile)."""
        return self._languages[language].env

    def adopt(self, other: Renderer) -> None:
        """Render from now on with `other`'s templates and catalogs: a reload whose
        templates passed the check swaps them into the renderer the dispatcher holds
        (one assignment: a render reads either the old set or the new one)."""
        self._languages, self.search_path = other._languages, other.search_path

    def render(self, payload: Payload) -> Rendered:
        """Subject, text and HTML for `payload`: customer kinds in the payload's language."""
        language = payload.language if payload.kind.for_customer else Language.EN
        one = self._languages[language]
        env = one.env
        formatter = Formatter(language, zone(payload.timezone), one.translations, one.formats)
        context: dict[str, Any] = {
            "p": payload,
            "when": formatter.when,
            "duration": formatter.duration,
            "month_name": formatter.month_name,
            "percent": formatter.percent,
            "listing": formatter.listing,
        }
        subject = " ".join(env.get_template("subject.txt").render(context).split())
        text = _tidy(env.get_template(f"{payload.kind.value}.txt").render(context))
        paragraphs = html_paragraphs(text, (payload.ack_url, payload.incident_url))
        html = env.get_template("layout.html").render(
            context, subject=subject, paragraphs=paragraphs
        )
        return Rendered(subject=subject, text=text, html=html)

    def outgoing(self, key: str, payload: Payload) -> Outgoing:
        """The message a channel sends for the outbox row with dedupe key `key`."""
        return Outgoing(key=key, payload=payload, rendered=self.render(payload))


@dataclass(frozen=True, slots=True)
class _Language:
    """What rendering in one language needs: its environment, catalog and formats."""

    env: Environment
    translations: Translations
    formats: LocaleFormats


def _language(
    loader: ChoiceLoader, code: SharedCode, language: Language, locales: Path
) -> _Language:
    translations = load_translations(language, locales)
    return _Language(
        _environment(loader, code, translations), translations, LocaleFormats(language)
    )


def _environment(loader: ChoiceLoader, code: SharedCode, translations: Translations) -> Environment:
    env = Environment(
        loader=loader,
        bytecode_cache=code,
        autoescape=select_autoescape(["html"]),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        keep_trailing_newline=False,
        auto_reload=False,  # what was checked is what is sent (see the module docstring)
        cache_size=-1,  # and no compiled template is dropped and read again later
    )
    env.policies["ext.i18n.trimmed"] = True
    env.install_gettext_translations(translations, newstyle=True)  # type: ignore[attr-defined]
    return env


def html_paragraphs(text: str, links: tuple[str | None, ...]) -> list[str]:
    """The text's paragraphs for the HTML part, without the lines that carry `links`: the
    layout shows those as buttons, so a long signed URL never runs out of a phone's
    screen (the plain-text part keeps every URL in full)."""
    urls = [link for link in links if link]
    kept = (
        "\n".join(line for line in part.splitlines() if not any(u in line for u in urls))
        for part in text.split("\n\n")
    )
    return [part.strip() for part in kept if part.strip()]


def _tidy(text: str) -> str:
    """Trim trailing spaces and collapse runs of blank lines that conditionals leave."""
    lines = [line.rstrip() for line in text.strip().splitlines()]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)) + "\n"


__all__ = ["MessageKind", "Renderer", "load_translations", "zone"]
