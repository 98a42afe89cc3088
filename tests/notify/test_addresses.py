"""Email addresses from the config to the SMTP envelope (issue 16 item 1): names and
addresses travel apart, so a contact's or a person's *name* can never change where an
email goes, and any name (commas, quotes, `<`, `@`, non-ASCII) arrives intact.

The first tests run the real path: YAML text -> `load_config_text` -> `Planner` -> the
outbox's JSON and back -> `Renderer` -> `EmailChannel` -> a real aiosmtpd on 127.0.0.1,
which records the envelope recipients (RCPT TO) and the message; the `To` header is
parsed back with the standard library's `email.policy.default`. The last ones go through
a real outbox and the `Dispatcher` (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage

import aiohttp
import pytest
from aiosmtpd.smtp import SMTP, Envelope, Session
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.clock import FixedClock
from monitor.config.loader import load_config_text
from monitor.config.records import Channel as ChannelConfig
from monitor.config.records import ChannelType, Config, EmailSettings, Mailbox, SmtpSettings
from monitor.incidents import Event, EventKind, Incident, IncidentKind
from monitor.model import IncidentStatus, Level
from monitor.notify.channels import ChannelContext, EmailChannel, build_channels
from monitor.notify.dispatcher import Dispatcher
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planner import CaseView, Planned, Planner
from monitor.notify.render import Renderer
from monitor.store import Notification, OutboxKey, Store
from tests.notify.support import T0, SinkHandler, SmtpSink

RENDERER = Renderer()


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    """One aiosmtpd for the whole module (the property test sends ~50 emails to it)."""
    server = SmtpSink()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def config_text(port: int, contact: tuple[str, str], person: tuple[str, str]) -> str:
    """A config whose customer contact and on-call person are (name, address); JSON
    strings are YAML double-quoted scalars, so any name can be written."""
    q = json.dumps
    return f"""
settings:
  email:
    from: '"Agency Support, Oslo" <support@agency.example>'
    team: ops@agency.example
    smtp: {{host: 127.0.0.1, port: {port}, timeout: 10s}}
people:
  kari: {{name: {q(person[0], ensure_ascii=False)}, email: {q(person[1])}}}
oncall:
  escalation:
    default:
      steps: [{{notify: [person:kari], via: [email]}}]
customers:
  acme:
    name: ACME AS
    escalation: default
    contacts: [{{name: {q(contact[0], ensure_ascii=False)}, email: {q(contact[1])}}}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {{path: /}}
"""


def incident(config: Config) -> Incident:
    return Incident(
        site_id="acme/shop",
        customer_id="acme",
        kind=IncidentKind.SITE,
        case="VAKT-2026-000042",
        level=Level.A,
        status=IncidentStatus.OPEN,
        opened_at=T0,
        contact=None,
        description="Home fails: HTTP 500",
        policy=config.customers["acme"].policy,
        respond_by=T0 + timedelta(hours=2),
        timeline=(Event(EventKind.OPENED, T0, level=Level.A),),
    )


def planned(config: Config, kind: MessageKind) -> Planned:
    """The one message of `kind` the planner plans an hour into the incident."""
    plans = Planner(config).plan([CaseView(incident(config))], T0 + timedelta(hours=1))
    [first] = [p for p in plans if p.kind is kind][:1]
    return first


async def deliver(config: Config, message: Planned) -> None:
    """Send `message` as the dispatcher would: its payload read back from the outbox's JSON."""
    stored = Payload.from_json(message.payload.to_json())
    assert stored == message.payload
    async with aiohttp.ClientSession() as session:
        ctx = ChannelContext(session=session, clock=FixedClock(T0), email=config.settings.email)
        channel = EmailChannel(ChannelConfig("email", ChannelType.EMAIL), ctx)
        try:
            await channel.send(RENDERER.outgoing(str(message.key), stored))
        finally:
            await channel.close()


def received(sink: SmtpSink, before: int) -> tuple[list[str], EmailMessage]:
    """(envelope recipients, message) of the one message received after `before`."""
    assert len(sink.messages) == before + 1
    return sink.handler.recipients[-1], sink.messages[-1]


def mailbox_of(message: EmailMessage, header: str) -> tuple[str, str]:
    [address] = message[header].addresses
    return address.display_name, address.addr_spec


def send_and_receive(
    sink: SmtpSink, kind: MessageKind, contact: tuple[str, str], person: tuple[str, str]
) -> tuple[list[str], EmailMessage]:
    config = load_config_text(config_text(sink.port, contact, person))
    before = len(sink.messages)
    asyncio.run(deliver(config, planned(config, kind)))
    return received(sink, before)


def test_problem_1_a_contact_named_like_an_address_is_emailed_at_her_configured_address(
    sink: SmtpSink,
) -> None:
    contact = ("support@wrong.example", "per@acme.example")
    person = ("Alice Hansen", "alice@agency.example")
    recipients, message = send_and_receive(sink, MessageKind.CUSTOMER_OPENED, contact, person)
    assert recipients == ["per@acme.example"]
    assert mailbox_of(message, "To") == contact
    assert mailbox_of(message, "From") == ("Agency Support, Oslo", "support@agency.example")


@pytest.mark.parametrize(
    "name", ["Hansen, Kari", "Kari; Hansen", "Kari [ops]", "Kari <boss>", 'Kari "K" Hansen']
)
def test_problem_1_a_contact_whose_name_has_specials_gets_her_email(
    sink: SmtpSink, name: str
) -> None:
    contact = (name, "kari@acme.example")
    person = ("Alice Hansen", "alice@agency.example")
    recipients, message = send_and_receive(sink, MessageKind.CUSTOMER_OPENED, contact, person)
    assert recipients == ["kari@acme.example"]
    assert mailbox_of(message, "To") == contact


def test_problem_1_an_on_call_person_named_hansen_comma_kari_gets_her_pages(
    sink: SmtpSink,
) -> None:
    contact = ("Per", "per@acme.example")
    person = ("Hansen, Kari", "kari@agency.example")
    recipients, message = send_and_receive(sink, MessageKind.PAGE, contact, person)
    assert recipients == ["kari@agency.example"]
    assert mailbox_of(message, "To") == person


# Names as people write them in YAML: any printable character (YAML cannot carry control
# characters, which the config refuses anyway), with specials and address look-alikes.
names = st.one_of(
    st.text(
        st.characters(exclude_categories=("Cc", "Cs", "Cn", "Zl", "Zp")), min_size=1, max_size=40
    ),
    st.sampled_from(["support@wrong.example", "Hansen, Kari", '"quoted"', "=?utf-8?q?x?="]),
    st.lists(st.sampled_from([",", ";", "<", ">", "@", '"', "\\", "(", "Kari", "Ø", " "])).map(
        "".join
    ),
).filter(lambda name: bool(" ".join(name.split())))
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
addresses = st.from_regex(
    rf"{_ATEXT}{{1,12}}(\.{_ATEXT}{{1,6}})?@([a-z0-9]([a-z0-9-]{{0,8}}[a-z0-9])?\.){{1,2}}[a-z]{{2,5}}",
    fullmatch=True,
)


def normal(name: str) -> str:
    """A name as the config keeps it: trimmed, runs of spaces made one."""
    return " ".join(part for part in name.strip().split(" ") if part)


@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(name=names, address=addresses)
def test_problem_1_any_name_and_address_reach_exactly_the_configured_address(
    sink: SmtpSink, name: str, address: str
) -> None:
    person = ("Alice Hansen", "alice@agency.example")
    recipients, message = send_and_receive(
        sink, MessageKind.CUSTOMER_OPENED, (name, address), person
    )
    assert recipients == [address]
    assert mailbox_of(message, "To") == (normal(name), address)


# ------------------------------------------------------------- through the outbox


class RefusingHandler(SinkHandler):
    """Refuses RCPT TO for the addresses in `refused` (550: that mailbox does not exist)."""

    def __init__(self, refused: set[str]) -> None:
        super().__init__()
        self.refused = refused

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        if address in self.refused:
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def dispatch(store: Store, sink: SmtpSink, rows: list[Notification]) -> dict[str, str]:
    """Queue `rows`, run one dispatcher round against `sink`; {dedupe recipient: status}."""
    async with store.transaction() as tx:
        await tx.outbox.add(rows)
    email = EmailSettings(
        sender=Mailbox("support@agency.example", "Support"),
        smtp=SmtpSettings(port=sink.port, timeout=timedelta(seconds=5)),
    )
    async with aiohttp.ClientSession() as session:
        channels = build_channels({}, ChannelContext(session, FixedClock(T0), email))
        worker = Dispatcher(store, channels, FixedClock(T0), "w1", renderer=RENDERER)
        try:
            assert await worker.run_once() == len(rows)
        finally:
            for channel in channels.values():
                await channel.close()
    async with store.transaction(read_only=True) as tx:
        return {item.key.recipient: item.status.value for item in await tx.outbox.find()}


def row(recipient: str, payload: str) -> Notification:
    key = OutboxKey("VAKT-2026-000042", "customer_opened", "0", recipient, "email")
    return Notification(key, created_at=T0, due_at=T0, payload=payload)


async def test_a_row_queued_before_the_upgrade_is_delivered_to_its_configured_address(
    store: Store,
) -> None:
    sink = SmtpSink()
    sink.start()
    old = json.dumps(
        {
            "kind": "customer_opened",
            "case": "VAKT-2026-000042",
            "site": "shop.acme.example",
            "to": "support@wrong.example <per@acme.example>",  # how 0030-era planners wrote it
            "to_name": "support@wrong.example",
        }
    )
    try:
        statuses = await dispatch(store, sink, [row("contact:per@acme.example", old)])
    finally:
        sink.stop()
    assert statuses == {"contact:per@acme.example": "sent"}
    assert sink.handler.recipients == [["per@acme.example"]]
    assert mailbox_of(sink.messages[0], "To") == ("support@wrong.example", "per@acme.example")


async def test_one_recipient_refused_for_good_does_not_hold_back_the_others(
    store: Store,
) -> None:
    sink = SmtpSink(handler=RefusingHandler({"gone@acme.example"}))
    sink.start()
    rows = [
        row(
            f"contact:{address}",
            Payload(MessageKind.CUSTOMER_OPENED, to=Mailbox(address, name)).to_json(),
        )
        for name, address in [
            ("Gone, Kari", "gone@acme.example"),
            ("Hansen, Per", "per@acme.example"),
            ("Ødegård, Kåre", "kare@acme.example"),
        ]
    ]
    try:
        statuses = await dispatch(store, sink, rows)
    finally:
        sink.stop()
    assert statuses == {
        "contact:gone@acme.example": "failed",
        "contact:per@acme.example": "sent",
        "contact:kare@acme.example": "sent",
    }
    assert sorted(r for [r] in sink.handler.recipients) == ["kare@acme.example", "per@acme.example"]
