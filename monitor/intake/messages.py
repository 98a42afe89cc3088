"""A support-mailbox message read once into typed facts (pure: bytes in, a value out).

What the mailbox poller decides from:
- `automatic`: an auto-reply or a bounce (`Auto-Submitted` other than `no`, `Precedence:
  bulk/junk/list/auto_reply`, a delivery status report, a null or daemon sender): such a
  message never opens or joins a case.
- `authenticated`: the topmost `Authentication-Results` header (the one the receiving
  server added; lower ones may come from anyone) shows `dkim=pass` for the `From` domain
  (`header.d`) or `dmarc=pass` for it (`header.from`).
- `references`: the Message-IDs of `In-Reply-To` and `References`, to find the case whose
  email this one answers; `cases`: case numbers written in the subject.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from email.utils import getaddresses

_CASE = re.compile(r"\b[A-Za-z][A-Za-z0-9]*-\d{4}-\d{6}\b")
_MSGID = re.compile(r"<[^<>\s]+>")
_AUTO_PRECEDENCE = frozenset({"bulk", "junk", "list", "auto_reply"})
_DAEMONS = ("mailer-daemon@", "postmaster@")
MAX_TEXT = 10_000


@dataclass(frozen=True, slots=True)
class Incoming:
    message_id: str | None
    sender: str  # the From address ("" when there is none)
    sender_name: str
    subject: str
    text: str  # the plain-text body (or a stand-in), capped
    references: tuple[str, ...]
    cases: tuple[str, ...]
    automatic: bool
    authenticated: bool

    @property
    def sender_domain(self) -> str:
        return self.sender.rpartition("@")[2].casefold()


def read_message(raw: bytes) -> Incoming:
    msg = message_from_bytes(raw, policy=policy.default)
    name, sender = _from(msg)
    subject = str(msg.get("Subject", "") or "")
    refs = _MSGID.findall(f"{msg.get('In-Reply-To', '')} {msg.get('References', '')}")
    message_id = _MSGID.search(str(msg.get("Message-ID", "") or ""))
    return Incoming(
        message_id=None if message_id is None else message_id.group(0),
        sender=sender,
        sender_name=name,
        subject=subject,
        text=_text(msg)[:MAX_TEXT],
        references=tuple(dict.fromkeys(refs)),
        cases=tuple(dict.fromkeys(_CASE.findall(subject))),
        automatic=is_automatic(msg, sender),
        authenticated=is_authenticated(msg, sender.rpartition("@")[2]),
    )


def _from(msg: Message) -> tuple[str, str]:
    pairs = getaddresses([str(msg.get("From", "") or "")])
    if not pairs or "@" not in pairs[0][1]:
        return "", ""
    return pairs[0][0].strip(), pairs[0][1].strip()


def is_automatic(msg: Message, sender: str) -> bool:
    """An auto-reply, a list or bulk message, or a bounce (RFC 3834, RFC 3464)."""
    auto = str(msg.get("Auto-Submitted", "") or "").strip().casefold()
    if auto and not auto.startswith("no"):
        return True
    if str(msg.get("Precedence", "") or "").strip().casefold() in _AUTO_PRECEDENCE:
        return True
    if msg.get_content_type() == "multipart/report":
        return True
    if msg.get("X-Autoreply") is not None or msg.get("X-Autorespond") is not None:
        return True
    return_path = str(msg.get("Return-Path", "") or "").strip()
    return return_path == "<>" or not sender or sender.casefold().startswith(_DAEMONS)


def is_authenticated(msg: Message, domain: str) -> bool:
    """DKIM or DMARC pass for the From domain, in the topmost Authentication-Results."""
    header = msg.get("Authentication-Results")
    if header is None or not domain:
        return False
    domain = domain.casefold()
    for clause in str(header).split(";")[1:]:
        words = clause.split()
        if not words:
            continue
        method, _, result = words[0].casefold().partition("=")
        props = dict(w.casefold().partition("=")[::2] for w in words[1:] if "=" in w)
        if result != "pass":
            continue
        if method == "dkim" and props.get("header.d") == domain:
            return True
        if method == "dmarc" and props.get("header.from") == domain:
            return True
    return False


def _text(msg: Message) -> str:
    if isinstance(msg, EmailMessage):
        part = msg.get_body(preferencelist=("plain",))
        if part is not None:
            try:
                return str(part.get_content()).strip()
            except (LookupError, ValueError):
                return ""
    return ""
