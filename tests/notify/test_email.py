"""The email channel against a real aiosmtpd server on 127.0.0.1: plain SMTP, STARTTLS
with AUTH, implicit TLS; multipart text + HTML; stable Message-ID; threading headers;
SMTP replies classified. The MIME writer (`Composer`) is checked by parsing its output
with the standard library's strict parser."""

from __future__ import annotations

import email
import email.policy
import ssl
from datetime import timedelta
from email.message import EmailMessage

import aiohttp
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.clock import FixedClock
from monitor.config.records import (
    Channel as ChannelConfig,
)
from monitor.config.records import (
    ChannelType,
    EmailSettings,
    Language,
    Mailbox,
    SmtpSettings,
)
from monitor.notify.channels import ChannelContext, DeliveryError
from monitor.notify.channels.email import Composer, EmailChannel, message_id
from monitor.notify.message import MessageKind, Outgoing, Rendered
from monitor.notify.render import Renderer
from tests.notify.support import (
    PASSWORD,
    T0,
    USER,
    SmtpSink,
    authenticator,
    client_tls,
    customer_payload,
    free_port,
    page_payload,
    server_tls,
)

SENDER = Mailbox("support@agency.example", "Agency Support")
KEY = "VAKT-2026-000042/customer_update/1/kari@acme.example/email"


def channel(
    session: aiohttp.ClientSession,
    smtp: SmtpSettings,
    tls: ssl.SSLContext | None = None,
) -> EmailChannel:
    ctx = ChannelContext(
        session=session,
        clock=FixedClock(T0),
        email=EmailSettings(sender=SENDER, smtp=smtp),
        smtp_tls_context=tls,
    )
    return EmailChannel(ChannelConfig("email", ChannelType.EMAIL), ctx)


async def test_a_customer_email_arrives_as_text_and_html_in_the_case_thread(
    smtp: SmtpSink, session: aiohttp.ClientSession
) -> None:
    email_channel = channel(session, SmtpSettings(port=smtp.port))
    payload = customer_payload(
        MessageKind.CUSTOMER_UPDATE, Language.NB, note="Databasen er flyttet."
    )
    try:
        await email_channel.send(Renderer().outgoing(KEY, payload))
    finally:
        await email_channel.close()

    [message] = smtp.messages
    assert smtp.handler.recipients == [["kari@acme.example"]]
    assert message["Subject"] == "[VAKT-2026-000042] shop.acme.example"
    assert message["From"] == "Agency Support <support@agency.example>"
    assert message["Message-ID"] == message_id(KEY, "agency.example")
    root = message_id(payload.thread or "", "agency.example")
    assert message["In-Reply-To"] == root
    assert message["References"] == root
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    assert text is not None
    assert html is not None
    assert "Databasen er flyttet." in text.get_content()
    assert "<p" in html.get_content()


def test_message_id_is_stable_for_a_key_and_differs_between_keys() -> None:
    first = message_id(KEY, "agency.example")
    assert first == message_id(KEY, "agency.example")
    assert first != message_id(KEY.replace("/1/", "/2/"), "agency.example")
    assert first.startswith("<")
    assert first.endswith("@vakt.agency.example>")
    assert len(first.split("@")[0]) == 33  # "<" + 32 hex digits


async def test_the_first_message_of_a_thread_replies_to_nothing(
    smtp: SmtpSink, session: aiohttp.ClientSession
) -> None:
    opened_key = "VAKT-2026-000042/customer_opened/0/kari@acme.example/email"
    payload = customer_payload(MessageKind.CUSTOMER_OPENED, Language.EN, thread=opened_key)
    email_channel = channel(session, SmtpSettings(port=smtp.port))
    try:
        await email_channel.send(Renderer().outgoing(opened_key, payload))
    finally:
        await email_channel.close()
    [message] = smtp.messages
    assert message["In-Reply-To"] is None
    assert message["Message-ID"] == message_id(opened_key, "agency.example")


def _composed(payload_thread: str | None, in_reply_to: str | None) -> EmailMessage:
    key = "VAKT-2026-000042/customer_receipt/7/contact:kari@acme.example/email"
    payload = customer_payload(
        MessageKind.CUSTOMER_RECEIPT, Language.EN, thread=payload_thread
    ).with_changes(in_reply_to=in_reply_to)
    assert payload.to is not None
    raw = Composer(SENDER).compose(Renderer().outgoing(key, payload), payload.to, T0)
    message = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def test_a_reply_to_the_customers_own_email_names_it_and_the_thread() -> None:
    root = "VAKT-2026-000042/customer_opened/0/contact:kari@acme.example/email"
    message = _composed(root, "<kari.42@acme.example>")
    assert message["In-Reply-To"] == "<kari.42@acme.example>"
    refs = str(message["References"]).split()
    assert refs == [message_id(root, "agency.example"), "<kari.42@acme.example>"]


@pytest.mark.parametrize(
    "theirs", ["kari.42@acme.example", "<a b@acme.example>", "<x@y>\r\nBcc: evil@example.com"]
)
def test_a_malformed_customer_message_id_is_not_written_into_a_header(theirs: str) -> None:
    message = _composed(None, theirs)
    assert message["In-Reply-To"] is None
    assert message["Bcc"] is None


async def test_starttls_with_auth(certs: tuple[str, str], session: aiohttp.ClientSession) -> None:
    cert, ca = certs
    sink = SmtpSink(
        options={
            "tls_context": server_tls(cert),
            "require_starttls": True,
            "authenticator": authenticator,
            "auth_required": True,
        }
    )
    sink.start()
    settings = SmtpSettings(port=sink.port, starttls=True, username=USER, password=PASSWORD)
    email_channel = channel(session, settings, client_tls(ca))
    try:
        await email_channel.send(Renderer().outgoing("k/page/0:0/alice/email", page_payload()))
    finally:
        await email_channel.close()
        sink.stop()
    [message] = sink.messages
    assert message["Subject"] == "[VAKT-2026-000042] shop.acme.example"


async def test_a_wrong_password_is_a_permanent_failure(
    certs: tuple[str, str], session: aiohttp.ClientSession
) -> None:
    cert, ca = certs
    sink = SmtpSink(
        options={
            "tls_context": server_tls(cert),
            "require_starttls": True,
            "authenticator": authenticator,
            "auth_required": True,
        }
    )
    sink.start()
    settings = SmtpSettings(port=sink.port, starttls=True, username=USER, password="wrong")
    email_channel = channel(session, settings, client_tls(ca))
    try:
        with pytest.raises(DeliveryError) as failure:
            await email_channel.send(Renderer().outgoing("k/page/0:0/a/email", page_payload()))
    finally:
        await email_channel.close()
        sink.stop()
    assert failure.value.permanent
    assert "535" in failure.value.message
    assert sink.messages == []


async def test_implicit_tls(certs: tuple[str, str], session: aiohttp.ClientSession) -> None:
    cert, ca = certs
    sink = SmtpSink(options={"ssl_context": server_tls(cert)})
    sink.start()
    email_channel = channel(session, SmtpSettings(port=sink.port, tls=True), client_tls(ca))
    try:
        await email_channel.send(Renderer().outgoing("k/page/0:0/alice/email", page_payload()))
    finally:
        await email_channel.close()
        sink.stop()
    assert len(sink.messages) == 1


async def test_an_untrusted_certificate_is_not_accepted(
    certs: tuple[str, str], session: aiohttp.ClientSession
) -> None:
    cert, _ = certs
    sink = SmtpSink(options={"ssl_context": server_tls(cert)})
    sink.start()
    email_channel = channel(session, SmtpSettings(port=sink.port, tls=True))  # system CAs
    try:
        with pytest.raises(DeliveryError):
            await email_channel.send(Renderer().outgoing("k/page/0:0/a/email", page_payload()))
    finally:
        await email_channel.close()
        sink.stop()
    assert sink.messages == []


@pytest.mark.parametrize(
    ("reply", "permanent"), [("550 5.1.1 no such mailbox", True), ("451 4.3.0 try later", False)]
)
async def test_smtp_5xx_is_permanent_and_4xx_transient(
    smtp: SmtpSink, session: aiohttp.ClientSession, reply: str, permanent: bool
) -> None:
    smtp.handler.reply = reply
    email_channel = channel(session, SmtpSettings(port=smtp.port))
    try:
        with pytest.raises(DeliveryError) as failure:
            await email_channel.send(Renderer().outgoing("k/page/0:0/a/email", page_payload()))
    finally:
        await email_channel.close()
    assert failure.value.permanent is permanent
    assert reply.split()[0] in failure.value.message


async def test_a_refused_connection_is_transient(session: aiohttp.ClientSession) -> None:
    email_channel = channel(session, SmtpSettings(port=free_port(), timeout=timedelta(seconds=5)))
    with pytest.raises(DeliveryError) as failure:
        await email_channel.send(Renderer().outgoing("k/page/0:0/a/email", page_payload()))
    await email_channel.close()
    assert not failure.value.permanent


async def test_no_address_is_a_permanent_failure(
    smtp: SmtpSink, session: aiohttp.ClientSession
) -> None:
    email_channel = channel(session, SmtpSettings(port=smtp.port))
    with pytest.raises(DeliveryError) as failure:
        await email_channel.send(Renderer().outgoing("k/p/0/a/email", page_payload(to=None)))
    await email_channel.close()
    assert failure.value.permanent


async def test_one_connection_carries_many_messages_and_survives_a_server_restart(
    smtp: SmtpSink, session: aiohttp.ClientSession
) -> None:
    email_channel = channel(session, SmtpSettings(port=smtp.port))
    renderer = Renderer()
    try:
        for n in range(5):
            await email_channel.send(renderer.outgoing(f"k/page/0:{n}/a/email", page_payload()))
        assert len(set(smtp.handler.peers)) == 1
        smtp.stop()  # the pooled connection dies with the server
        smtp.start()
        await email_channel.send(renderer.outgoing("k/page/0:9/a/email", page_payload()))
    finally:
        await email_channel.close()
    assert len(smtp.messages) == 6
    assert len(set(smtp.handler.peers)) == 2


async def test_non_ascii_names_and_subjects_arrive_intact_with_the_date_of_sending(
    smtp: SmtpSink, session: aiohttp.ClientSession
) -> None:
    payload = customer_payload(
        MessageKind.CUSTOMER_OPENED,
        Language.NB,
        site="blåbær.acme.example",
        to=Mailbox("kare@acme.example", "Kåre Ødegård"),
        to_name="Kåre Ødegård",
    )
    outgoing = Renderer().outgoing(KEY, payload)
    email_channel = channel(session, SmtpSettings(port=smtp.port))
    try:
        await email_channel.send(outgoing)
    finally:
        await email_channel.close()
    [message] = smtp.messages
    assert message["Subject"] == "[VAKT-2026-000042] blåbær.acme.example"
    assert message["To"] == "Kåre Ødegård <kare@acme.example>"
    assert message["Date"].datetime == T0
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["X-Vakt-Case"] == "VAKT-2026-000042"
    assert smtp.handler.recipients == [["kare@acme.example"]]
    assert_body_is(message, outgoing.rendered)


async def test_an_internationalised_domain_is_sent_with_smtputf8_when_the_server_offers_it(
    smtp: SmtpSink, session: aiohttp.ClientSession
) -> None:
    payload = page_payload(to=Mailbox("kare@blåbær.example", "Kåre"))
    email_channel = channel(session, SmtpSettings(port=smtp.port))  # aiosmtpd offers it
    try:
        await email_channel.send(Renderer().outgoing("k/page/0:0/a/email", payload))
    finally:
        await email_channel.close()
    [message] = smtp.messages
    assert smtp.handler.recipients == [["kare@blåbær.example"]]
    assert message["To"] == "Kåre <kare@blåbær.example>"
    assert message["From"] == "Agency Support <support@agency.example>"


async def test_an_internationalised_domain_fails_permanently_without_smtputf8(
    session: aiohttp.ClientSession,
) -> None:
    sink = SmtpSink(options={"enable_SMTPUTF8": False})
    sink.start()
    payload = page_payload(to=Mailbox("kari@blåbær.example"))
    email_channel = channel(session, SmtpSettings(port=sink.port))
    try:
        with pytest.raises(DeliveryError) as failure:
            await email_channel.send(Renderer().outgoing("k/page/0:0/a/email", payload))
    finally:
        await email_channel.close()
        sink.stop()
    assert failure.value.permanent
    assert "SMTPUTF8" in failure.value.message
    assert sink.messages == []


# ------------------------------------------------------------------------ the MIME writer


def parse(data: bytes) -> EmailMessage:
    message = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(message, EmailMessage)
    return message


def assert_body_is(message: EmailMessage, rendered: Rendered) -> None:
    """Both parts decode to exactly what was rendered (line breaks as LF)."""
    assert message.get_content_type() == "multipart/alternative"
    text, html = message.get_body(("plain",)), message.get_body(("html",))
    assert text is not None
    assert html is not None
    for part, expected in ((text, rendered.text), (html, rendered.html)):
        assert part["Content-Transfer-Encoding"] == "quoted-printable"
        assert part.get_content_charset() == "utf-8"
        assert part.get_content().replace("\r\n", "\n") == expected.replace("\r\n", "\n")


def outgoing(subject: str, text: str, html: str, **changes: object) -> Outgoing:
    payload = page_payload(**changes)
    return Outgoing(KEY, payload, Rendered(subject=subject, text=text, html=html))


def test_a_composed_message_is_7bit_with_crlf_lines_of_at_most_78_characters() -> None:
    long_line = "Vi har flyttet databasen til en ny server, og " * 10
    data = Composer(SENDER).compose(
        outgoing("Æ" * 120, f"{long_line}\n.\n. leading dot\n=3D stays text\n", "<p>ø</p>"),
        Mailbox("a@acme.example", "Ærlig Navn"),
        T0,
    )
    assert data.isascii()
    lines = data.split(b"\r\n")
    assert b"\n" not in b"".join(lines)
    assert b"\r" not in b"".join(lines)
    assert max(len(line) for line in lines) <= 78
    message = parse(data)
    assert message["Subject"] == "Æ" * 120
    assert message["To"] == "Ærlig Navn <a@acme.example>"
    body = f"{long_line}\n.\n. leading dot\n=3D stays text\n"
    assert_body_is(message, Rendered("Æ" * 120, body, "<p>ø</p>"))


def test_a_long_ascii_subject_is_folded_and_unfolds_to_the_same_text() -> None:
    subject = "[VAKT-2026-000042] " + " ".join(f"site{n}.acme.example" for n in range(12))
    data = Composer(SENDER).compose(
        outgoing(subject, "x\n", "<p>x</p>"), Mailbox("a@acme.example"), T0
    )
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    assert parse(data)["Subject"] == subject


def test_a_utf8_message_still_folds_a_subject_too_long_for_one_line() -> None:
    subject = "[VAKT-2026-000042] " + " ".join(f"blåbær{n}.acme.example" for n in range(8))
    data = Composer(SENDER).compose(
        outgoing(subject, "x\n", "<p>x</p>"), Mailbox("kare@blåbær.example", "Kåre"), T0
    )
    assert not data.isascii()  # the address is raw UTF-8 (SMTPUTF8)
    assert max(len(line) for line in data.split(b"\r\n")) <= 78
    message = parse(data)
    assert message["Subject"] == subject
    assert message["To"] == "Kåre <kare@blåbær.example>"


def test_line_breaks_in_names_or_subjects_cannot_add_headers() -> None:
    data = Composer(SENDER).compose(
        outgoing("Down\r\nBcc: victim@example.com", "x\n", "<p>x</p>"),
        Mailbox("eve@acme.example", "Eve\r\nBcc: victim@example.com"),
        T0,
    )
    message = parse(data)
    assert message["Bcc"] is None
    assert message["Subject"] == "Down Bcc: victim@example.com"
    assert message["To"].addresses[0].addr_spec == "eve@acme.example"


async def test_a_line_break_in_the_recipient_cannot_redirect_the_envelope(
    smtp: SmtpSink, session: aiohttp.ClientSession
) -> None:
    payload = page_payload(to=Mailbox("eve@acme.example", "Eve\r\nBcc: victim@example.com"))
    email_channel = channel(session, SmtpSettings(port=smtp.port))
    try:
        await email_channel.send(Renderer().outgoing("k/page/0:0/a/email", payload))
    finally:
        await email_channel.close()
    assert smtp.handler.recipients == [["eve@acme.example"]]
    assert smtp.messages[0]["Bcc"] is None


@pytest.mark.parametrize(
    ("display", "address"),
    [
        ("", "kari@acme.example"),
        ("Kari Nordmann", "kari@acme.example"),
        ("Nordmann, Kari", "kari@acme.example"),
        ('J. "Jo" Doe', "jo@acme.example"),
        ("Kåre Ødegård", "kare@acme.example"),
        ("support@wrong.example", "per@acme.example"),
        ("Per <per@wrong.example>", "per@acme.example"),
        ("=?utf-8?q?evil=40wrong.example?=", "per@acme.example"),
        ('Ødegård, Kåre; [ops] \\ "x"', "kare@acme.example"),
        ("Å" * 400, "kare@acme.example"),  # past one line: several encoded-words
    ],
)
def test_the_recipient_mailbox_keeps_its_name_and_address(display: str, address: str) -> None:
    data = Composer(SENDER).compose(outgoing("s", "x\n", "<p>x</p>"), Mailbox(address, display), T0)
    assert data.isascii()
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    [mailbox] = parse(data)["To"].addresses
    assert mailbox.addr_spec == address
    if len(display) < 400:  # Python's parser puts a space between split encoded-words
        assert mailbox.display_name == display
    else:
        assert mailbox.display_name.replace(" ", "") == display


def test_a_reply_names_its_thread_and_the_first_message_does_not() -> None:
    thread = "VAKT-2026-000042/customer_opened/0/kari@acme.example/email"
    composer = Composer(SENDER)
    reply = parse(
        composer.compose(outgoing("s", "x\n", "h", thread=thread), Mailbox("a@b.example"), T0)
    )
    first = parse(
        composer.compose(outgoing("s", "x\n", "h", thread=KEY), Mailbox("a@b.example"), T0)
    )
    root = message_id(thread, "agency.example")
    assert (reply["In-Reply-To"], reply["References"]) == (root, root)
    assert (first["In-Reply-To"], first["References"]) == (None, None)
    assert first["Message-ID"] == message_id(KEY, "agency.example")


# Text as templates and notes produce it: any characters, including lines that look like
# MIME boundaries, quoted-printable escapes, SMTP's end of data, or trailing white space.
bodies = st.lists(
    st.one_of(
        st.text(st.characters(exclude_categories=["Cs"]), max_size=120),
        st.sampled_from(["--=_vakt_", ".", "=", "=3D", " ", "\t", "From x", "\r"]),
    ),
    max_size=12,
).map("\n".join)


@settings(max_examples=150, deadline=None)
@given(subject=st.text(max_size=200), text=bodies, html=bodies)
def test_any_subject_and_body_survive_the_round_trip(subject: str, text: str, html: str) -> None:
    data = Composer(SENDER).compose(outgoing(subject, text, html), Mailbox("a@acme.example"), T0)
    assert data.isascii()
    message = parse(data)
    assert str(message["Subject"] or "") == " ".join(subject.split())
    normal = {"\r\n": "\n", "\r": "\n"}
    expected = {}
    for name, value in (("text", text), ("html", html)):
        for old, new in normal.items():
            value = value.replace(old, new)
        expected[name] = value
    assert_body_is(message, Rendered(subject, expected["text"], expected["html"]))
