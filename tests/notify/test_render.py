"""Customer emails in English, Norwegian Bokmål and Dutch from one template set; pages in
English; the catalogs cover every message of the templates; overrides win."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from monitor.config.records import Language
from monitor.model import Level
from monitor.notify.message import DigestEntry, MaintenanceInfo, MessageKind, Payload
from monitor.notify.render import LOCALES, TEMPLATES, Renderer
from tests.notify.support import T0, customer_payload, page_payload

CUSTOMER_KINDS = [k for k in MessageKind if k.for_customer]
MAINTENANCE = MaintenanceInfo(
    T0 + timedelta(days=2), T0 + timedelta(days=2, hours=1), "Server upgrade"
)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def full(kind: MessageKind, language: Language) -> Payload:
    return customer_payload(
        kind,
        language,
        note="",
        resolved_at=T0 + timedelta(hours=1, minutes=30),
        next_update_at=T0 + timedelta(minutes=30),
        summary="",
        maintenance=MAINTENANCE,
        sites=("shop.acme.example",),
        previous_level=Level.B,
    )


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (Language.EN, ["March 2, 2026", "10:00", "unavailable"]),
        (Language.NB, ["2. mars 2026 kl. 10:00 CET", "utilgjengelig", "Hei, Kari Nordmann!"]),
        (Language.NL, ["2 maart 2026 om 10:00 CET", "onbereikbaar", "Beste Kari Nordmann"]),
    ],
)
def test_the_opened_email_speaks_the_customers_language_in_their_time_zone(
    renderer: Renderer, language: Language, words: list[str]
) -> None:
    rendered = renderer.render(full(MessageKind.CUSTOMER_OPENED, language))
    for word in words:
        assert word in rendered.text
        assert word in rendered.html


@pytest.mark.parametrize(
    ("language", "duration"),
    [
        (Language.EN, "1 hour and 30 minutes"),
        (Language.NB, "1 time og 30 minutter"),
        (Language.NL, "1 uur en 30 minuten"),
    ],
)
def test_the_resolved_email_says_how_long_it_lasted(
    renderer: Renderer, language: Language, duration: str
) -> None:
    assert duration in renderer.render(full(MessageKind.CUSTOMER_RESOLVED, language)).text


@pytest.mark.parametrize("language", list(Language))
def test_one_subject_for_every_email_of_a_case(renderer: Renderer, language: Language) -> None:
    case_kinds = [k for k in CUSTOMER_KINDS if k.value.startswith("customer_")]
    subjects = {renderer.render(full(kind, language)).subject for kind in case_kinds}
    assert subjects == {"[VAKT-2026-000042] shop.acme.example"}


@pytest.mark.parametrize("language", list(Language))
@pytest.mark.parametrize("kind", CUSTOMER_KINDS)
def test_every_customer_kind_renders_without_untranslated_text(
    renderer: Renderer, language: Language, kind: MessageKind
) -> None:
    rendered = renderer.render(full(kind, language))
    english = renderer.render(full(kind, Language.EN))
    assert rendered.text.strip()
    assert rendered.subject
    if language is not Language.EN:
        assert rendered.text != english.text


def test_an_update_carries_the_latest_public_note_and_the_next_update_time(
    renderer: Renderer,
) -> None:
    payload = full(MessageKind.CUSTOMER_UPDATE, Language.NB).with_changes(
        note="Vi har byttet ut en defekt disk."
    )
    text = renderer.render(payload).text
    assert "Vi har byttet ut en defekt disk." in text
    assert "senest 2. mars 2026 kl. 10:30" in text


def test_without_a_next_update_time_the_customer_is_promised_updates_until_resolved(
    renderer: Renderer,
) -> None:
    payload = full(MessageKind.CUSTOMER_OPENED, Language.EN).with_changes(next_update_at=None)
    assert "until the problem is resolved" in renderer.render(payload).text


def test_a_fixed_offset_zone_is_honoured(renderer: Renderer) -> None:
    payload = full(MessageKind.CUSTOMER_OPENED, Language.EN).with_changes(timezone="UTC+02:00")
    assert "11:00" in renderer.render(payload).text


def test_html_escapes_what_people_typed(renderer: Renderer) -> None:
    payload = full(MessageKind.CUSTOMER_UPDATE, Language.EN).with_changes(note="<b>fixed</b>")
    rendered = renderer.render(payload)
    assert "&lt;b&gt;fixed&lt;/b&gt;" in rendered.html
    assert "<b>fixed</b>" in rendered.text


def test_a_page_shows_level_since_evidence_respond_by_and_the_ack_link(
    renderer: Renderer,
) -> None:
    rendered = renderer.render(page_payload())
    assert rendered.subject == "[VAKT-2026-000042] shop.acme.example"
    for expected in [
        "Level A",
        "Failing since: March 2, 2026 at 10:00",
        "Respond by: March 2, 2026 at 12:00",
        "Home: no answer within 10 s (from oslo)",
        "Acknowledge: https://status.agency.example/ack/tok123",
    ]:
        assert expected in rendered.text
    assert 'href="https://status.agency.example/ack/tok123"' in rendered.html


def test_a_digest_lists_every_incident_with_one_acknowledge_all(renderer: Renderer) -> None:
    entries = tuple(
        DigestEntry(f"VAKT-2026-{n:06d}", f"site{n}.example", Level.A, T0) for n in range(19)
    )
    payload = Payload(kind=MessageKind.DIGEST, incidents=entries, ack_url="https://x/ack/all")
    rendered = renderer.render(payload)
    assert "19 incidents" in rendered.subject
    assert rendered.text.count("[VAKT-2026-") == 19
    assert rendered.text.count("https://x/ack/all") == 1


def test_templates_can_be_overridden_from_a_directory(tmp_path: Path) -> None:
    (tmp_path / "customer_opened.txt").write_text("Custom: {{ p.site }} ({{ when(p.since) }})")
    renderer = Renderer(overrides=tmp_path)
    payload = full(MessageKind.CUSTOMER_OPENED, Language.NB)
    assert renderer.render(payload).text.startswith("Custom: shop.acme.example (2. mars 2026")
    # the others still come from the built-in set
    assert "løst" in renderer.render(full(MessageKind.CUSTOMER_RESOLVED, Language.NB)).text


def _template_messages() -> set[str]:
    method_map = [("**.txt", "jinja2"), ("**.html", "jinja2")]
    options = {
        "**.txt": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
        "**.html": {"extensions": "jinja2.ext.i18n", "trimmed": "true"},
    }
    found = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(TEMPLATES), method_map, options
    ):
        found.add(message if isinstance(message, str) else message[0])
    return found | {"%(date)s at %(time)s"}  # from render.Formatter.when


@pytest.mark.parametrize("language", [Language.NB, Language.NL])
def test_every_template_message_is_translated(language: Language) -> None:
    with (LOCALES / language.value / "LC_MESSAGES" / "vakt.po").open("rb") as f:
        catalog = read_po(f)
    translated = {
        m.id if isinstance(m.id, str) else m.id[0]
        for m in catalog
        if m.id and (m.string if isinstance(m.string, str) else all(m.string))
    }
    missing = _template_messages() - translated
    assert not missing, f"untranslated in {language.value}: {sorted(missing)}"
    assert len(_template_messages()) > 20
