"""Customer emails without internals (issue 17 item 2): planned by the real planner for a
Norwegian and a Dutch customer, rendered and composed for real and read back with Python's
`email` package. No English sentence (from the English catalog's messages or the engine's
descriptions), no check URL, every time in the customer's zone with the zone named once,
the latest public note in the resolved email, `Content-Language` and `Reply-To`."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from babel.messages.extract import extract_from_dir

from monitor.config.records import Config, Language, Mailbox
from monitor.incidents import Event, EventKind
from monitor.model import IncidentStatus
from monitor.notify.channels.email import Composer
from monitor.notify.message import MessageKind
from monitor.notify.planner import CaseView, Planner
from monitor.notify.render import TEMPLATES, Renderer
from tests.notify.test_planner import MIN, T0, config, incident

SUPPORT = Mailbox("support@agency.example", "Agency support")
NOTE = "Betalingsleverandøren byttet sertifikat; vi har rullet tilbake."
DESCRIPTION = (
    "Kasse (http://127.0.0.1:19101/kasse/) fails since 10:45 CET from default: "
    "expected status 200-399, got 404."
)


def customer_config(language: Language) -> Config:
    cfg = config()
    customers = {cid: replace(c, language=language) for cid, c in cfg.customers.items()}
    email = replace(cfg.settings.email, support=SUPPORT)
    return replace(cfg, customers=customers, settings=replace(cfg.settings, email=email))  # type: ignore[arg-type]


def resolved_email(language: Language) -> EmailMessage:
    done = T0 + 50 * MIN
    case = incident(
        description=DESCRIPTION,
        events=(Event(EventKind.RESOLVED, done),),
        status=IncidentStatus.RESOLVED,
        resolved_at=done,
    )
    cfg = customer_config(language)
    planned = Planner(cfg).plan([CaseView(case, public_note=NOTE)], done + MIN)
    [resolved] = [p for p in planned if p.kind is MessageKind.CUSTOMER_RESOLVED]
    outgoing = Renderer().outgoing(str(resolved.key), resolved.payload)
    assert resolved.payload.to is not None
    data = Composer(Mailbox("vakt@agency.example"), cfg.settings.email.support).compose(
        outgoing, resolved.payload.to, datetime.now(UTC)
    )
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    return message


def english_fragments() -> set[str]:
    """Every run of three or more words of the templates' English messages."""
    method_map = [("**.txt", "jinja2")]
    options = {"**.txt": {"extensions": "jinja2.ext.i18n", "trimmed": "true"}}
    found: set[str] = set()
    for _file, _line, message, _c, _ctx in extract_from_dir(str(TEMPLATES), method_map, options):
        for text in message if isinstance(message, tuple) else (message,):
            for part in re.split(r"%\(\w+\)s", text):
                if len(part.split()) >= 3:
                    found.add(part.strip())
    return found


def plain(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


@pytest.mark.parametrize("language", [Language.NB, Language.NL])
def test_problem_2_a_resolved_email_is_in_the_customers_words_only(language: Language) -> None:
    message = resolved_email(language)
    text = plain(message)
    assert message["Content-Language"] == language.value
    assert message["Reply-To"] is not None
    assert SUPPORT.address in message["Reply-To"]
    assert "http" not in text
    assert "fails since" not in text
    assert "expected status" not in text
    for fragment in english_fragments():
        assert fragment not in text, fragment
    assert NOTE in text
    assert len(re.findall(r"\bCET\b", text)) == 1


def test_a_policy_with_technical_details_gets_the_engines_account_in_the_resolved_email() -> None:
    cfg = customer_config(Language.NB)
    policies = {name: replace(p, technical_details=True) for name, p in cfg.policies.items()}
    cfg = replace(cfg, policies=policies)  # type: ignore[arg-type]
    done = T0 + 50 * MIN
    case = incident(
        description=DESCRIPTION,
        events=(Event(EventKind.RESOLVED, done),),
        status=IncidentStatus.RESOLVED,
        resolved_at=done,
    )
    planned = Planner(cfg).plan([CaseView(case, public_note=NOTE)], done + MIN)
    [resolved] = [p for p in planned if p.kind is MessageKind.CUSTOMER_RESOLVED]
    assert resolved.payload.summary == DESCRIPTION
    assert DESCRIPTION in Renderer().render(resolved.payload).text


def customer_emails(language: Language, now: datetime) -> list[EmailMessage]:
    """Every customer email of an open case (opened and one update) as composed."""
    cfg = customer_config(language)
    case = incident(description=DESCRIPTION)
    planned = Planner(cfg).plan([CaseView(case, public_note=NOTE)], now)
    out: list[EmailMessage] = []
    for p in planned:
        if not p.kind.for_customer:
            continue
        assert p.payload.to is not None
        outgoing = Renderer().outgoing(str(p.key), p.payload)
        data = Composer(Mailbox("vakt@agency.example"), SUPPORT).compose(
            outgoing, p.payload.to, datetime.now(UTC)
        )
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        out.append(message)
    return out


@pytest.mark.parametrize("language", [Language.NB, Language.NL])
def test_the_opened_email_and_the_updates_are_in_the_customers_words_only(
    language: Language,
) -> None:
    emails = customer_emails(language, T0 + 40 * MIN)
    assert len(emails) == 2  # opened (after 5 min) and the first update (30 min later)
    fragments = english_fragments()
    for message in emails:
        text = plain(message)
        assert message["Content-Language"] == language.value
        assert "http" not in text
        assert NOTE in text
        assert [f for f in fragments if f in text] == []
        assert len(re.findall(r"\bCET\b", text)) == 1
