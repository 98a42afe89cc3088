"""The payload the planner stores and the dispatcher reads back: a lossless JSON round trip."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from monitor.config.records import Language, Mailbox
from monitor.model import Level
from monitor.notify.message import (
    DigestEntry,
    MaintenanceInfo,
    MessageKind,
    Payload,
    PayloadError,
)
from tests.notify.support import T0, customer_payload, page_payload


@pytest.mark.parametrize(
    "payload",
    [
        page_payload(),
        customer_payload(MessageKind.CUSTOMER_RESOLVED, Language.NL, resolved_at=T0),
        Payload(
            kind=MessageKind.DIGEST,
            incidents=(DigestEntry("VAKT-2026-000001", "a.example", Level.B, T0, "https://x"),),
        ),
        Payload(
            kind=MessageKind.MAINTENANCE_ANNOUNCED,
            maintenance=MaintenanceInfo(T0, T0 + timedelta(hours=1), "Upgrade"),
            sites=("a.example", "b.example"),
            previous_level=Level.A,
        ),
        Payload(kind=MessageKind.TEST),
    ],
)
def test_a_payload_survives_the_json_round_trip(payload: Payload) -> None:
    assert Payload.from_json(payload.to_json()) == payload


def test_defaults_are_left_out_of_the_stored_json() -> None:
    assert Payload(kind=MessageKind.TEST).to_json() == '{"kind":"test"}'


@pytest.mark.parametrize(
    "text",
    [
        "{]",
        "[]",
        '{"kind": "nope"}',
        '{"kind": "page", "bogus": 1}',
        '{"level": "A"}',
        '{"kind": "page", "since": "2026-03-02T09:00:00"}',
    ],
)
def test_an_invalid_payload_is_a_payload_error(text: str) -> None:
    with pytest.raises(PayloadError):
        Payload.from_json(text)


def test_naive_times_are_refused_when_writing() -> None:
    with pytest.raises(ValueError, match="aware"):
        Payload(kind=MessageKind.PAGE, since=datetime(2026, 3, 2, 9, 0)).to_json()


def test_customer_kinds_are_told_apart_from_team_kinds() -> None:
    assert MessageKind.CUSTOMER_OPENED.for_customer
    assert MessageKind.MAINTENANCE_FINISHED.for_customer
    assert not MessageKind.PAGE.for_customer
    assert not MessageKind.TEAM_WARNING.for_customer


def test_a_mailbox_is_stored_as_name_and_address_apart() -> None:
    payload = Payload(kind=MessageKind.PAGE, to=Mailbox("per@acme.example", "Hansen, Kari"))
    assert '"to":{"address":"per@acme.example","name":"Hansen, Kari"}' in payload.to_json()


@pytest.mark.parametrize(
    ("to", "to_name", "mailbox"),
    [
        # as the planner wrote them before names and addresses were kept apart
        (
            "support@wrong.example <per@acme.example>",
            "support@wrong.example",
            Mailbox("per@acme.example", "support@wrong.example"),
        ),
        (
            "Hansen, Kari <kari@acme.example>",
            "Hansen, Kari",
            Mailbox("kari@acme.example", "Hansen, Kari"),
        ),
        (
            "Kari <boss> <kari@acme.example>",
            "Kari <boss>",
            Mailbox("kari@acme.example", "Kari <boss>"),
        ),
        ("kari@acme.example", "kari@acme.example", Mailbox("kari@acme.example")),  # contact:<email>
        ("ops@agency.example", "team", Mailbox("ops@agency.example")),  # settings.email.team
        ('"Ops, Oslo" <ops@agency.example>', "team", Mailbox("ops@agency.example", "Ops, Oslo")),
        ("ops@agency.example", "", Mailbox("ops@agency.example")),  # a delivery warning
    ],
)
def test_an_old_payload_with_a_name_and_address_string_is_still_read(
    to: str, to_name: str, mailbox: Mailbox
) -> None:
    old = {"kind": "page", "to": to}
    if to_name:
        old["to_name"] = to_name
    assert Payload.from_json(json.dumps(old)).to == mailbox


@pytest.mark.parametrize(
    "to",
    ['"not an address"', '{"address": "kari hansen@acme.example"}', '{"name": "Kari"}', "42"],
)
def test_a_stored_mailbox_that_is_not_an_address_is_a_payload_error(to: str) -> None:
    with pytest.raises(PayloadError):
        Payload.from_json(f'{{"kind": "page", "to": {to}}}')
