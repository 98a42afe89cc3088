"""Acknowledge tokens: signed, expiring, bound to incidents and one person.

A token is `<claims>.<signature>`, both URL-safe base64 without padding. The claims are
compact JSON: the incidents (case numbers; a digest names several), the person, the expiry
(Unix seconds) and a token id (`nonce`) so the web layer can record a token as used. The
signature is HMAC-SHA256 over the encoded claims with `settings.secret`.

Pure: no clock reads (`now` is passed in) and no I/O. Verification never raises for bad
input: it returns a `TokenError` saying whether the token is malformed, forged (signature
does not match), expired, or issued to someone else.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

VERSION = 1


@dataclass(frozen=True, slots=True)
class TokenClaims:
    """What a valid token grants: `person` may acknowledge `incidents` until `expires_at`."""

    incidents: tuple[str, ...]
    person: str
    expires_at: datetime  # aware UTC, whole seconds
    nonce: str  # the token id, for the web layer's "already used" record


class TokenProblem(StrEnum):
    MALFORMED = "malformed"
    FORGED = "forged"
    EXPIRED = "expired"
    WRONG_PERSON = "wrong_person"
    UNKNOWN_PERSON = "unknown_person"  # the person is no longer configured (web layer)


@dataclass(frozen=True, slots=True)
class TokenError:
    """Why a token was refused (a value, not an exception)."""

    problem: TokenProblem
    detail: str = ""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, body: str) -> str:
    digest = hmac.new(secret.encode(), body.encode("ascii"), hashlib.sha256).digest()
    return _b64(digest)


def issue_token(
    secret: str,
    incident_ids: Sequence[str],
    person: str,
    expires_at: datetime,
    nonce: str | None = None,
) -> str:
    """A token letting `person` acknowledge `incident_ids` until `expires_at` (aware).

    `nonce` defaults to a random id; the planner passes one derived from the notification's
    dedupe key so re-planning yields the same token (and the same payload).
    """
    if not secret:
        raise ValueError("signing a token needs a secret")
    if not incident_ids:
        raise ValueError("a token names at least one incident")
    if expires_at.tzinfo is None:
        raise ValueError("expires_at must be timezone-aware")
    claims = {
        "v": VERSION,
        "i": list(incident_ids),
        "p": person,
        "e": int(expires_at.timestamp()),
        "n": nonce or secrets.token_urlsafe(12),
    }
    body = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{body}.{_sign(secret, body)}"


def ack_url(public_url: str, token: str) -> str:
    """`{settings.public_url}/ack/{token}`."""
    return f"{public_url.rstrip('/')}/ack/{token}"


def _parse(body: str) -> TokenClaims | TokenError:
    try:
        data: Any = json.loads(_unb64(body))
        incidents = data["i"]
        ok = (
            data["v"] == VERSION
            and isinstance(incidents, list)
            and incidents
            and all(isinstance(i, str) for i in incidents)
            and isinstance(data["p"], str)
            and isinstance(data["e"], int)
            and isinstance(data["n"], str)
        )
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        return TokenError(TokenProblem.MALFORMED, f"unreadable claims: {exc}")
    if not ok:
        return TokenError(TokenProblem.MALFORMED, "claims of the wrong shape")
    try:
        expires = datetime.fromtimestamp(data["e"], UTC)
    except (OverflowError, OSError, ValueError):  # beyond what a datetime can hold
        return TokenError(TokenProblem.MALFORMED, "an expiry out of range")
    return TokenClaims(tuple(incidents), data["p"], expires, data["n"])


def verify_token(
    secret: str, token: str, now: datetime, person: str | None = None
) -> TokenClaims | TokenError:
    """The claims of a genuine, unexpired token; otherwise why not.

    Checked in this order: shape (MALFORMED), signature (FORGED), expiry at `now`
    (EXPIRED: a token is valid strictly before `expires_at`), and, when `person` is given,
    that the token was issued to that person (WRONG_PERSON).
    """
    body, dot, signature = token.partition(".")
    if not token.isascii() or not dot or not body or not signature or "." in signature:
        return TokenError(TokenProblem.MALFORMED, "expected <claims>.<signature>")
    if not hmac.compare_digest(_sign(secret, body).encode(), signature.encode()):
        return TokenError(TokenProblem.FORGED, "the signature does not match")
    claims = _parse(body)
    if isinstance(claims, TokenError):
        return claims
    if now >= claims.expires_at:
        return TokenError(TokenProblem.EXPIRED, f"expired at {claims.expires_at.isoformat()}")
    if person is not None and person != claims.person:
        return TokenError(TokenProblem.WRONG_PERSON, "issued to someone else")
    return claims
