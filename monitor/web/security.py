"""Security for every route: response headers, CSRF tokens, rate limits, cookie flags.

- Headers: a strict CSP (scripts and styles only from this origin, no inline script),
  `X-Content-Type-Options: nosniff`, `frame-ancestors 'none'` (and `X-Frame-Options`),
  `Referrer-Policy: same-origin` (ack and status tokens never leak in a Referer).
- CSRF: forms of a signed-in person carry the session's token; forms without a session
  (login, acknowledge) use a double-submit cookie. Either way a POST without the matching
  token is refused with 403 and changes nothing.
- Rate limits: a token bucket per key (client address, heartbeat token), bounded in size.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from ipaddress import ip_address

from aiohttp import web

from monitor.clock import Clock
from monitor.config.records import MetricsAuth, Network

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
CSRF_COOKIE = "vakt_csrf"
CSRF_FIELD = "csrf"


@web.middleware
async def security_headers(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Adds the security headers to every response, errors included."""
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        _apply_headers(exc)
        raise
    _apply_headers(response)
    return response


def _apply_headers(response: web.StreamResponse) -> None:
    if response.prepared:
        return
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if response.content_type == "text/html":
        response.headers.setdefault("Cache-Control", "no-store")


def is_secure(request: web.Request, public_url: str | None = None) -> bool:
    """Whether cookies must be `Secure`: TLS here, behind a TLS proxy, or an https URL."""
    if request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https":
        return True
    return public_url is not None and public_url.startswith("https://")


def tokens_match(expected: str | None, given: str | None) -> bool:
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


def anonymous_csrf(request: web.Request) -> str:
    """The double-submit token for a form without a session (reuses the cookie's)."""
    current = request.cookies.get(CSRF_COOKIE, "")
    return current if 20 <= len(current) <= 64 else secrets.token_urlsafe(24)


def set_anonymous_csrf(
    response: web.StreamResponse, token: str, *, secure: bool, path: str = "/"
) -> None:
    response.set_cookie(
        CSRF_COOKIE, token, httponly=True, samesite="Strict", secure=secure, path=path
    )


def check_anonymous_csrf(request: web.Request, form_token: str | None) -> None:
    """Raises 403 unless the form's token equals the double-submit cookie."""
    if not tokens_match(request.cookies.get(CSRF_COOKIE), form_token):
        raise web.HTTPForbidden(text="The form expired or was not sent from this site. Reload.")


def check_session_csrf(session_token: str, form_token: str | None) -> None:
    """Raises 403 unless the form's token is the session's."""
    if not tokens_match(session_token, form_token):
        raise web.HTTPForbidden(text="The form expired or was not sent from this site. Reload.")


@dataclass(frozen=True, slots=True)
class Rate:
    """`burst` requests at once, refilled at `per_second`."""

    burst: float
    per_second: float


class RateLimiter:
    """A token bucket per key. Keeps at most `max_keys` keys (least recently used go)."""

    __slots__ = ("_buckets", "_clock", "_max_keys", "_rate")

    def __init__(self, rate: Rate, clock: Clock, *, max_keys: int = 10_000) -> None:
        self._rate = rate
        self._clock = clock
        self._max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str) -> bool:
        """Take one token for `key`; False when its bucket is empty."""
        now = self._clock.monotonic()
        tokens, last = self._buckets.pop(key, (self._rate.burst, now))
        tokens = min(self._rate.burst, tokens + (now - last) * self._rate.per_second)
        allowed = tokens >= 1.0
        self._buckets[key] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self._max_keys:
            self._buckets.popitem(last=False)
        return allowed


def client_key(request: web.Request, trusted: Sequence[Network] = ()) -> str:
    """The client's address, for rate limits: the peer, unless the peer is a trusted proxy
    (`settings.web.trusted_proxies`); then the rightmost `X-Forwarded-For` address that is
    not a trusted proxy (each proxy appends the address it got the request from, so what
    is left of the first untrusted one may be made up by the client). A malformed entry
    ends the walk at the last address known good."""
    peer = request.remote or "unknown"
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [
        hop.strip()
        for value in request.headers.getall("X-Forwarded-For", ())
        for hop in value.split(",")
    ]
    client = peer
    for hop in reversed(hops):
        try:
            client = str(ip_address(hop))
        except ValueError:
            break
        if not _within(client, trusted):
            break
    return client


def _within(address: str, networks: Sequence[Network]) -> bool:
    try:
        parsed = ip_address(address)
    except ValueError:
        return False
    return any(parsed in network for network in networks)


def metrics_authorized(auth: MetricsAuth | None, authorization: str | None) -> bool:
    """Whether an `Authorization` header opens `/metrics`: always without
    `settings.web.metrics_auth`; else `Bearer SECRET` or basic `username:SECRET`."""
    if auth is None:
        return True
    scheme, _, value = (authorization or "").partition(" ")
    secret: str | None = None
    if scheme.lower() == "bearer":
        secret = value.strip()
    elif scheme.lower() == "basic":
        try:
            user, _, password = (
                base64.b64decode(value.strip(), validate=True).decode().partition(":")
            )
        except (binascii.Error, UnicodeDecodeError):
            return False
        secret = password if hmac.compare_digest(user.encode(), auth.username.encode()) else None
    if not secret:
        return False
    digest = hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()
    return hmac.compare_digest(digest.encode(), auth.sha256.lower().encode())
