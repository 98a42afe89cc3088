"""Email addresses and display names in `checks.yaml` (issue 16 item 1): an address is
checked at load (addr-spec, IDNA domain); a name may hold anything but control
characters; `settings.email.from`/`team` are parsed once into name and address."""

from __future__ import annotations

import json

import pytest

from monitor.config import ConfigError, load_config_text
from monitor.config.records import Mailbox


def config(*, contact: tuple[str, str], sender: str = "support@agency.example") -> str:
    name, address = (json.dumps(part, ensure_ascii=False) for part in contact)
    q = json.dumps
    return f"""
settings:
  email: {{from: {q(sender, ensure_ascii=False)}, team: '"Ops, Oslo" <ops@agency.example>'}}
people:
  kari: {{name: {name}, email: {address}}}
customers:
  acme:
    contacts: [{{name: {name}, email: {address}}}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {{path: /}}
"""


@pytest.mark.parametrize(
    "name",
    [
        "Hansen, Kari",
        "support@wrong.example",
        'Kari "K" <Hansen>; [ops] (on call)',
        "Kåre Ødegård",
        "山田 太郎",
        "=?utf-8?q?x?=",
        "Kari\u00a0Hansen",  # a no-break space stays: only control characters are refused
    ],
)
def test_any_display_name_without_control_characters_is_kept_apart_from_the_address(
    name: str,
) -> None:
    cfg = load_config_text(config(contact=(name, "kari@acme.example")))
    assert cfg.customers["acme"].contacts[0].mailbox == Mailbox("kari@acme.example", name)
    assert cfg.people["kari"].mailbox == Mailbox("kari@acme.example", name)


def test_runs_of_spaces_in_a_name_become_one() -> None:
    cfg = load_config_text(config(contact=("  Kari    Hansen ", "kari@acme.example")))
    assert cfg.customers["acme"].contacts[0].name == "Kari Hansen"


@pytest.mark.parametrize(
    "address",
    ["kari@acme.example", "kari.h+vakt@sub.acme.example", "kåre@blåbær.example", "ops@localhost"],
)
def test_an_address_is_kept_exactly_as_written(address: str) -> None:
    cfg = load_config_text(config(contact=("Kari", address)))
    assert cfg.customers["acme"].contacts[0].email == address


@pytest.mark.parametrize(
    "address",
    [
        "kari",
        "kari@",
        "@acme.example",
        "kari@@acme.example",
        "kari hansen@acme.example",
        "kari@acme..example",
        "kari@-acme.example",
        "kari.@acme.example",
        "kari@acme_example.com",
        "kari@[127.0.0.1]",
        "Kari <kari@acme.example>",
        "kari@acme.example\nbcc@evil.example",
        "k" * 65 + "@acme.example",
        "kari@" + "a" * 64 + ".example",
        "kari@xn--.example",
    ],
)
def test_a_bad_address_is_an_error_at_its_line_and_path(address: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config_text(config(contact=("Kari", address)))
    where = {(issue.file, issue.line, issue.path) for issue in error.value.issues}
    assert where == {
        ("checks.yaml", 5, "people.kari.email"),
        ("checks.yaml", 8, "customers.acme.contacts[0].email"),
    }


@pytest.mark.parametrize(
    "name", ["Kari\nHansen", "Kari\rBcc: x@evil.example", "\x1b[31mKari", "\x00"]
)
def test_a_name_with_a_control_character_is_an_error(name: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config_text(config(contact=(name, "kari@acme.example")))
    where = {(issue.line, issue.path) for issue in error.value.issues}
    assert where == {(5, "people.kari.name"), (8, "customers.acme.contacts[0].name")}


@pytest.mark.parametrize(
    ("sender", "mailbox"),
    [
        (
            "Agency Support <support@agency.example>",
            Mailbox("support@agency.example", "Agency Support"),
        ),
        (
            '"Support, Agency" <support@agency.example>',
            Mailbox("support@agency.example", "Support, Agency"),
        ),
        ('"A \\"B\\" C" <support@agency.example>', Mailbox("support@agency.example", 'A "B" C')),
        ("support@agency.example", Mailbox("support@agency.example")),
        (
            "support@wrong.example <support@agency.example>",
            Mailbox("support@agency.example", "support@wrong.example"),
        ),
    ],
)
def test_the_sender_is_parsed_once_into_name_and_address(sender: str, mailbox: Mailbox) -> None:
    cfg = load_config_text(config(contact=("Kari", "kari@acme.example"), sender=sender))
    assert cfg.settings.email.sender == mailbox
    assert cfg.settings.email.team == Mailbox("ops@agency.example", "Ops, Oslo")
