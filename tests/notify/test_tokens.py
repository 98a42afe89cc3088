"""Acknowledge tokens: signed, expiring, bound to incidents and one person."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.notify.tokens import (
    TokenClaims,
    TokenError,
    TokenProblem,
    ack_url,
    issue_token,
    verify_token,
)

SECRET = "s3cret"
NOW = datetime(2026, 3, 3, 9, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=24)


def problem(result: TokenClaims | TokenError) -> TokenProblem | None:
    return result.problem if isinstance(result, TokenError) else None


def test_a_token_round_trips_its_claims() -> None:
    token = issue_token(SECRET, ["VAKT-2026-000001"], "alice", LATER, nonce="n1")
    assert verify_token(SECRET, token, NOW) == TokenClaims(
        ("VAKT-2026-000001",), "alice", LATER, "n1"
    )


def test_a_digest_token_names_all_its_incidents() -> None:
    token = issue_token(SECRET, ["VAKT-2026-000001", "VAKT-2026-000002"], "alice", LATER)
    claims = verify_token(SECRET, token, NOW, person="alice")
    assert isinstance(claims, TokenClaims)
    assert claims.incidents == ("VAKT-2026-000001", "VAKT-2026-000002")
    assert claims.nonce  # a random token id when none is given


def test_tokens_are_url_safe_and_the_ack_url_has_the_token() -> None:
    token = issue_token(SECRET, ["VAKT-2026-000001"], "ålice", LATER)
    assert all(c.isalnum() or c in "-_." for c in token)
    assert ack_url("https://status.example/", token) == f"https://status.example/ack/{token}"


def test_a_token_signed_with_another_secret_is_forged() -> None:
    token = issue_token("other", ["VAKT-2026-000001"], "alice", LATER)
    assert problem(verify_token(SECRET, token, NOW)) is TokenProblem.FORGED


def test_a_token_with_edited_claims_is_forged() -> None:
    genuine = issue_token(SECRET, ["VAKT-2026-000001"], "alice", LATER)
    edited = issue_token(SECRET, ["VAKT-2026-000001"], "mallory", LATER)
    tampered = f"{edited.split('.')[0]}.{genuine.split('.')[1]}"
    assert problem(verify_token(SECRET, tampered, NOW)) is TokenProblem.FORGED


@pytest.mark.parametrize(
    ("now", "expected"), [(LATER - timedelta(seconds=1), None), (LATER, TokenProblem.EXPIRED)]
)
def test_a_token_expires_at_its_expiry(now: datetime, expected: TokenProblem | None) -> None:
    token = issue_token(SECRET, ["VAKT-2026-000001"], "alice", LATER)
    assert problem(verify_token(SECRET, token, now)) is expected


def test_a_token_of_another_person_is_refused() -> None:
    token = issue_token(SECRET, ["VAKT-2026-000001"], "alice", LATER)
    assert problem(verify_token(SECRET, token, NOW, person="bob")) is TokenProblem.WRONG_PERSON


@pytest.mark.parametrize("token", ["", "abc", "a.b.c", ".sig", "body.", "Zm9v.!!", "ünïcode.x"])
def test_garbage_is_malformed_or_forged_never_an_exception(token: str) -> None:
    assert problem(verify_token(SECRET, token, NOW)) in (
        TokenProblem.MALFORMED,
        TokenProblem.FORGED,
    )


def test_signed_garbage_claims_are_malformed() -> None:
    import base64
    import hashlib
    import hmac

    body = base64.urlsafe_b64encode(b'{"v":1}').rstrip(b"=").decode()
    sig = base64.urlsafe_b64encode(
        hmac.new(SECRET.encode(), body.encode(), hashlib.sha256).digest()
    )
    token = f"{body}.{sig.rstrip(b'=').decode()}"
    assert problem(verify_token(SECRET, token, NOW)) is TokenProblem.MALFORMED


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=80))
def test_any_text_is_refused_without_raising(token: str) -> None:
    assert isinstance(verify_token(SECRET, token, NOW), TokenError)


def signed(claims: bytes, secret: str = SECRET) -> str:
    """A token over raw `claims` JSON, signed as `issue_token` signs (for hostile claims)."""
    import base64
    import hashlib
    import hmac

    body = base64.urlsafe_b64encode(claims).rstrip(b"=").decode()
    sig = base64.urlsafe_b64encode(
        hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
    )
    return f"{body}.{sig.rstrip(b'=').decode()}"


@pytest.mark.parametrize("expiry", [10**19, -(10**19), 10**40, 10**12, -(10**12)])
def test_issue16_7_a_genuine_token_with_an_absurd_expiry_is_malformed(expiry: int) -> None:
    claims = f'{{"e":{expiry},"i":["VAKT-2026-000001"],"n":"n1","p":"alice","v":1}}'
    assert problem(verify_token(SECRET, signed(claims.encode()), NOW)) is TokenProblem.MALFORMED


# Made by the token code of December 2026 (before any change of signing library):
# issue_token(SECRET, ["VAKT-2026-000001"], "alice", LATER, nonce="n1"). Links already in
# mailboxes must keep verifying until they expire, whatever signs new ones.
MAILED = (
    "eyJlIjoxNzcyNjE0ODAwLCJpIjpbIlZBS1QtMjAyNi0wMDAwMDEiXSwibiI6Im4xIiwicCI6ImFsaWNlIiwidiI6MX0"
    ".LRPAnVlM2geK-cO01Urz05Nlue0SrEN5mgfVyMqbZAw"
)


def test_a_link_already_in_a_mailbox_verifies_until_it_expires() -> None:
    assert verify_token(SECRET, MAILED, NOW) == TokenClaims(
        ("VAKT-2026-000001",), "alice", LATER, "n1"
    )
    assert problem(verify_token(SECRET, MAILED, LATER)) is TokenProblem.EXPIRED
