"""Issue 16 item 7: tokens under 128 bits are reported as weak; the config still loads, so
upgraded daemons and customers' heartbeat jobs keep working."""

from __future__ import annotations

import secrets

from monitor.config.tokens import token_bits, weak_tokens
from tests.config.test_bounds import STRONG, load


def test_generated_tokens_count_as_strong_and_short_words_as_weak() -> None:
    assert token_bits(secrets.token_urlsafe(16)) >= 128
    assert token_bits(secrets.token_hex(16)) >= 128
    assert token_bits("fixedtoken") < 64
    assert token_bits(STRONG) >= 128


def test_weak_status_and_heartbeat_tokens_are_named_and_still_load() -> None:
    config = load(status="fixedtoken", beat="hunter2")
    found = sorted(w.path for w in weak_tokens(config))
    assert found == [
        "customers.acme.sites.shop.checks.cron.token",
        "customers.acme.status_page.token",
    ]


def test_strong_tokens_are_not_reported() -> None:
    assert weak_tokens(load()) == []
