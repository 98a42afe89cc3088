"""Issue 17 item 2: customer emails name what is affected in the customer's words — the
site's and the failing checks' display names (`title`), never their URLs unless the policy
sets `technical_details` — in every language. Planned by the real planner from a loaded
config, rendered and composed for real, and read back with Python's `email` package."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from monitor.config import Config, load_config_text
from monitor.config.records import Language, Mailbox
from monitor.incidents import Event, EventKind, Incident, IncidentKind
from monitor.model import IncidentStatus, Level
from monitor.notify.channels.email import Composer
from monitor.notify.message import MessageKind
from monitor.notify.planner import CaseView, Planner
from monitor.notify.render import Renderer
from tests.notify.test_customer_words import english_fragments, plain

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
MIN = timedelta(minutes=1)

CONFIG = """\
vakt: 1
settings:
  timezone: Europe/Oslo
  email: {{from: "Byrå <support@agency.example>", team: ops@agency.example}}
policies:
  quick:
    technical_details: {technical}
    levels:
      A: {{respond: 2h, clock: always, customer_email_after: 5m, update_every: [30m]}}
customers:
  acme:
    name: ACME AS
    language: {language}
    timezone: Europe/Oslo
    policy: quick
    contacts: [{{name: Kari Nordmann, email: kari@acme.example}}]
    sites:
      shop:
        url: https://shop.acme.example
        title: Nettbutikken
        checks:
          home: {{path: /, title: Forsiden}}
          pay: {{path: /pay, title: Betalingen}}
          cart: {{path: /cart, title: Handlekurven}}
"""


def loaded(language: Language, *, technical: bool = False) -> Config:
    return load_config_text(
        CONFIG.format(language=language.value, technical=str(technical).lower())
    )


def case(**changes: object) -> Incident:
    value = Incident(
        site_id="acme/shop",
        customer_id="acme",
        kind=IncidentKind.SITE,
        case="VAKT-2026-000007",
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=T0,
        contact=None,
        description="Betalingen (https://shop.acme.example/pay) fails: HTTP 500",
        policy="quick",
        respond_by=T0 + timedelta(hours=2),
        checks=frozenset({"acme/shop/pay", "acme/shop/cart"}),
        timeline=(Event(EventKind.OPENED, T0, level=Level.A),),
    )
    return replace(value, **changes)  # type: ignore[arg-type]


def emails(cfg: Config, incident: Incident, now: datetime) -> dict[MessageKind, EmailMessage]:
    out: dict[MessageKind, EmailMessage] = {}
    for p in Planner(cfg).plan([CaseView(incident)], now):
        if not p.kind.for_customer:
            continue
        assert p.payload.to is not None
        outgoing = Renderer().outgoing(str(p.key), p.payload)
        data = Composer(Mailbox("vakt@agency.example")).compose(
            outgoing, p.payload.to, datetime.now(UTC)
        )
        message = message_from_bytes(data, policy=policy.default)
        assert isinstance(message, EmailMessage)
        out[p.kind] = message
    return out


def resolved() -> Incident:
    done = T0 + 50 * MIN
    return case(
        status=IncidentStatus.RESOLVED,
        resolved_at=done,
        timeline=(
            Event(EventKind.OPENED, T0, level=Level.A),
            Event(EventKind.RESOLVED, done),
        ),
    )


@pytest.mark.parametrize("language", [Language.NB, Language.NL, Language.EN])
def test_customer_emails_name_the_site_and_the_failing_checks_by_their_display_names(
    language: Language,
) -> None:
    cfg = loaded(language)
    sent = emails(cfg, case(), T0 + 40 * MIN)
    sent |= emails(cfg, resolved(), T0 + 51 * MIN)
    assert set(sent) == {
        MessageKind.CUSTOMER_OPENED,
        MessageKind.CUSTOMER_UPDATE,
        MessageKind.CUSTOMER_RESOLVED,
    }
    fragments = english_fragments() if language is not Language.EN else set()
    for kind, message in sent.items():
        text = plain(message)
        assert message["Content-Language"] == language.value
        assert "Nettbutikken" in text, kind
        assert "Betalingen" in text, kind
        assert "Handlekurven" in text, kind
        assert "Forsiden" not in text, kind  # not failing: not named
        assert "http" not in text, kind
        assert "/pay" not in text, kind
        assert [f for f in fragments if f in text] == [], kind


@pytest.mark.parametrize("language", [Language.NB, Language.NL])
def test_one_failing_check_is_named_in_the_singular(language: Language) -> None:
    one = case(checks=frozenset({"acme/shop/pay"}))
    text = plain(emails(loaded(language), one, T0 + 6 * MIN)[MessageKind.CUSTOMER_OPENED])
    assert "Betalingen" in text
    assert "Handlekurven" not in text
    assert [f for f in english_fragments() if f in text] == []


def test_technical_details_still_add_the_engines_account_to_the_resolved_email() -> None:
    sent = emails(loaded(Language.NB, technical=True), resolved(), T0 + 51 * MIN)
    text = plain(sent[MessageKind.CUSTOMER_RESOLVED])
    assert "https://shop.acme.example/pay" in text
