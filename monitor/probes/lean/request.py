"""URLs to connection targets, request bytes, and the next hop of a redirect."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import quote, urljoin, urlsplit

from monitor.probes.lean.errors import FetchError, redirect_error

_DEFAULT_PORTS = {"http": 80, "https": 443}
_SAFE = "/%:@!$&'()*+,;=-._~?#[]"  # what may stay in a request target as written
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Target:
    """Where one request goes: `host` without brackets, `target` as sent on the wire."""

    url: str
    tls: bool
    host: str
    port: int
    target: str
    authority: str  # the Host header
    is_ip: bool

    @property
    def origin(self) -> tuple[bool, str, int]:
        return (self.tls, self.host, self.port)


def parse_url(url: str) -> Target:
    """Split an http(s) URL; raise `ValueError` when it cannot be requested."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"not an http(s) URL: {url}")
    host = parts.hostname
    port = parts.port or _DEFAULT_PORTS[scheme]  # ValueError for a bad port
    is_ip = _is_ip(host)
    name = host if is_ip or host.isascii() else host.encode("idna").decode("ascii")
    shown = f"[{name}]" if ":" in name else name
    authority = shown if port == _DEFAULT_PORTS[scheme] else f"{shown}:{port}"
    path = parts.path or "/"
    target = f"{path}?{parts.query}" if parts.query else path
    if not target.isascii() or " " in target:
        target = quote(target, safe=_SAFE)
    return Target(url, scheme == "https", name, port, target, authority, is_ip)


def _is_ip(host: str) -> bool:
    if ":" not in host and not host[-1:].isdigit():
        return False  # the common case, without ipaddress's cost: a name
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def build_request(
    method: str,
    target: Target,
    headers: tuple[tuple[str, str], ...],
    body: bytes | None,
    user_agent: str,
) -> bytes:
    """The request bytes: defaults first, overridden by `headers` (case-insensitive)."""
    fields: dict[str, tuple[str, str]] = {
        "host": ("Host", target.authority),
        "user-agent": ("User-Agent", user_agent),
        "accept": ("Accept", "*/*"),
        "accept-encoding": ("Accept-Encoding", "gzip, deflate"),
    }
    if body is not None:
        fields["content-type"] = ("Content-Type", "text/plain; charset=utf-8")
    for name, value in headers:
        if "\r" in name or "\n" in name or "\r" in value or "\n" in value:
            raise FetchError.protocol(f"request header {name!r} contains a line break")
        fields[name.lower()] = (name, value)
    if body is not None or method in _BODY_METHODS:
        fields["content-length"] = ("Content-Length", str(len(body or b"")))
    fields["connection"] = ("Connection", "close")  # a fresh connection per probe
    lines = [f"{method} {target.target} HTTP/1.1", *(f"{n}: {v}" for n, v in fields.values())]
    head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", errors="replace")
    return head + body if body else head


@dataclass(frozen=True, slots=True)
class Hop:
    """One request of a (possibly redirected) exchange."""

    method: str
    target: Target
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    wire: bytes | None = None  # the request bytes, when already built


def next_hop(hop: Hop, status: int, location: str) -> Hop:
    """The request a redirect asks for, as browsers and aiohttp make it.

    303 (and 301/302 after a POST) turn into a body-less GET; a new origin does not get
    the `Authorization` header. Raises `FetchError` for a Location that is not http(s).
    """
    url = urljoin(hop.target.url, location.strip()).split("#", 1)[0]
    try:
        target = parse_url(url)
    except ValueError as exc:
        raise redirect_error(f"redirect to an invalid URL: {location}") from exc
    method, body, headers = hop.method, hop.body, hop.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", None
        drop = {"content-length", "content-type"}
        headers = tuple((n, v) for n, v in headers if n.lower() not in drop)
    if target.origin != hop.target.origin:
        headers = tuple((n, v) for n, v in headers if n.lower() != "authorization")
    return Hop(method, target, headers, body)
