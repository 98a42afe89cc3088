"""Client TLS over memory buffers, on the OpenSSL that `cryptography` ships (via pyOpenSSL).

Python's `ssl` uses the system's OpenSSL; on Debian 12 that is 3.0, and a probe's full
handshake and exchange there cost 6.2 million instructions against 4.5 million on the
current OpenSSL in cryptography's wheel (callgrind, docs/performance.md). A TLS probe is
little more than its handshake, so the library decides how many fit on a core; and the
probes of every machine then speak the same TLS, whatever its distribution ships.

    context = TlsContext(ca_file=None)             # once per process: the system's roots
    tls = context.connect("shop.example")          # per connection
    tls.handshake()      # False: wants the peer's bytes; True: done; TlsError: refused
    wire = tls.outgoing()                          # bytes to send, after each step
    tls.feed(received)                             # bytes from the peer
    tls.write(request); data = tls.read()          # None: wants more; b"": closed

Verification is what `ssl.create_default_context()` does: the chain against the system's
roots (`ssl.get_default_verify_paths()`, so `SSL_CERT_FILE` and `SSL_CERT_DIR` apply)
plus `ca_file`, the host name (no partial wildcards) or IP address, TLS 1.2 at least.
Key share: X25519, as OpenSSL 3.0 and browsers send it (the newer OpenSSL's default adds
a post-quantum share that costs a further million instructions; a server that wants
another group asks for it).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cryptography.hazmat.bindings.openssl.binding import Binding
from OpenSSL import SSL
from OpenSSL.crypto import FILETYPE_ASN1, X509, dump_certificate

_lib: Any = Binding.lib  # the functions pyOpenSSL does not wrap (host name, groups)
_ffi: Any = Binding.ffi
_NEEDED = (
    "SSL_CTX_set1_curves_list",
    "SSL_get0_param",
    "SSL_get_verify_result",
    "X509_VERIFY_PARAM_set1_host",
    "X509_VERIFY_PARAM_set1_ip",
    "X509_VERIFY_PARAM_set_hostflags",
    "X509_verify_cert_error_string",
)
if _missing := [name for name in _NEEDED if not hasattr(_lib, name)]:
    raise ImportError(f"this cryptography's OpenSSL bindings lack {', '.join(_missing)}")

GROUPS = b"X25519:P-256:P-384:P-521"
_NO_PARTIAL_WILDCARDS = 0x4  # X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS, as Python's ssl sets
_CHUNK = 1 << 16  # bytes taken from a buffer per call


class TlsError(Exception):
    """The TLS layer failed: `reason` in OpenSSL's words; `verify_code` (X509_V_ERR_*)
    and `verify_message` when it refused the peer's certificate, else 0 and ""."""

    def __init__(self, reason: str, verify_code: int = 0, verify_message: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.verify_code = verify_code
        self.verify_message = verify_message


class TlsContext:
    """Settings and trust roots shared by every connection; build once per process.

    `verify=False`: encrypt, but trust any certificate for any name (`verify_tls: false`,
    reading a refused certificate, and connections `VerifiedCertificates` vouches for).
    """

    __slots__ = ("_context", "verify")

    def __init__(self, ca_file: str | None = None, *, verify: bool = True) -> None:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_options(SSL.OP_NO_COMPRESSION)
        if not _lib.SSL_CTX_set1_curves_list(context._context, GROUPS):
            raise RuntimeError("OpenSSL refused the key exchange groups")
        self.verify = verify
        if verify:
            paths = ssl.get_default_verify_paths()  # None where they do not exist
            if paths.cafile or paths.capath:
                context.load_verify_locations(paths.cafile, paths.capath)
            else:  # a Python with its own OpenSSL: pyOpenSSL knows where distributions keep them
                context.set_default_verify_paths()
            if ca_file is not None:
                context.load_verify_locations(ca_file)
            context.set_verify(SSL.VERIFY_PEER, None)
        else:
            context.set_verify(SSL.VERIFY_NONE, None)
        self._context = context

    def connect(self, server_name: str) -> TlsConnection:
        """A client connection to `server_name` (a host name or an IP address)."""
        return TlsConnection(self._context, server_name, self.verify)


class TlsConnection:
    """One client connection's TLS over memory buffers (sans I/O)."""

    __slots__ = ("_conn", "server_name")

    def __init__(self, context: SSL.Context, server_name: str, verify: bool) -> None:
        conn = SSL.Connection(context, None)
        conn.set_connect_state()
        self.server_name = server_name
        ip = _packed_ip(server_name)
        name = b""
        if ip is None:  # SNI carries names only
            name = server_name.encode("idna")
            conn.set_tlsext_host_name(name)
        if verify:
            param = _lib.SSL_get0_param(conn._ssl)
            _lib.X509_VERIFY_PARAM_set_hostflags(param, _NO_PARTIAL_WILDCARDS)
            if ip is None:
                done = _lib.X509_VERIFY_PARAM_set1_host(param, name, len(name))
            else:
                done = _lib.X509_VERIFY_PARAM_set1_ip(param, ip, len(ip))
            if not done:
                raise TlsError(f"cannot verify the name {server_name!r}")
        self._conn = conn

    def handshake(self) -> bool:
        """Advance the handshake: True when it is complete, False while it waits for the
        peer. Raises `TlsError` when it failed (send `outgoing()` still: the alert)."""
        conn = self._conn
        try:
            conn.do_handshake()
        except SSL.WantReadError:
            return False
        except SSL.Error as exc:
            code = int(_lib.SSL_get_verify_result(conn._ssl))
            if code:
                raise TlsError("certificate verify failed", code, _verify_message(code)) from None
            raise TlsError(_reason(exc)) from None
        return True

    def feed(self, data: bytes) -> None:
        """Bytes received from the peer."""
        self._conn.bio_write(data)

    def outgoing(self) -> bytes:
        """Bytes to send to the peer (b"" when there are none)."""
        conn = self._conn
        try:
            data = conn.bio_read(_CHUNK)
        except SSL.WantReadError:
            return b""
        while len(data) % _CHUNK == 0:  # rare: a flight over 64 KiB
            try:
                data += conn.bio_read(_CHUNK)
            except SSL.WantReadError:
                break
        return data

    def write(self, data: bytes) -> None:
        """Encrypt application data (then send `outgoing()`)."""
        try:
            self._conn.sendall(data)
        except SSL.Error as exc:
            raise TlsError(_reason(exc)) from None

    def read(self) -> bytes | None:
        """Decrypted application data: None while more bytes are needed, b"" at the
        peer's close_notify. Raises `TlsError` for a broken record."""
        try:
            return self._conn.recv(_CHUNK)
        except SSL.WantReadError:
            return None
        except SSL.ZeroReturnError:
            return b""
        except SSL.Error as exc:
            raise TlsError(_reason(exc)) from None

    def peer_der(self) -> bytes | None:
        """The peer's certificate, DER-encoded (None before the handshake)."""
        cert = self._conn.get_peer_certificate()
        return None if cert is None else dump_certificate(FILETYPE_ASN1, cert)

    def not_after(self) -> datetime | None:
        """When the peer's certificate expires (None before the handshake)."""
        cert = self._conn.get_peer_certificate()
        return None if cert is None else _not_after(cert)

    def chain_not_after(self) -> datetime | None:
        """When the first certificate of the chain the peer sent expires."""
        chain = self._conn.get_peer_cert_chain() or []
        moments = [moment for cert in chain if (moment := _not_after(cert)) is not None]
        return min(moments, default=None)


class VerifiedCertificates:
    """Certificates whose chain and name OpenSSL verified lately, by server name.

    Path validation of an unchanged certificate gives the same answer for a while, and
    costs a fifth of a probe's instructions (a signature check per link); browsers keep
    the answers too (Chromium's CachingCertVerifier). Every handshake stays full: a new
    key exchange, and the server's signature with the certificate's key checked each
    time, so a peer that shows a known certificate without its key fails. An answer is
    kept `ttl` seconds and never past the earliest notAfter of the chain it was given
    for; at most `size` server names (then all are dropped). `ttl=0`: keep nothing.
    """

    __slots__ = ("_entries", "_monotonic", "_size", "_ttl", "_wall")

    def __init__(
        self,
        monotonic: Callable[[], float],
        wall: Callable[[], datetime],
        ttl: float = 300.0,
        size: int = 4096,
    ) -> None:
        self._monotonic = monotonic
        self._wall = wall
        self._ttl = ttl
        self._size = size
        # name -> leaf DER -> (monotonic deadline, wall deadline, the leaf's notAfter)
        self._entries: dict[str, dict[bytes, tuple[float, datetime, datetime | None]]] = {}

    def knows(self, name: str) -> bool:
        """Whether a certificate verified for `name` still counts (then connect without
        verifying, and ask `vouch` about the certificate the server shows)."""
        known = self._entries.get(name)
        if known is None:
            return False
        mono, wall = self._monotonic(), self._wall()
        for der, (deadline, expiry, _) in list(known.items()):
            if deadline <= mono or expiry <= wall:
                del known[der]
        if not known:
            del self._entries[name]
        return bool(known)

    def vouch(self, name: str, der: bytes | None) -> tuple[bool, datetime | None]:
        """(True, its notAfter) when `der` was verified for `name` and still counts."""
        entry = self._entries.get(name, {}).get(der) if der is not None else None
        if entry is None:
            return False, None
        deadline, expiry, not_after = entry
        if deadline <= self._monotonic() or expiry <= self._wall():
            return False, None
        return True, not_after

    def add(self, name: str, tls: TlsConnection) -> None:
        """`tls` was verified for `name` by OpenSSL just now."""
        if self._ttl <= 0:
            return
        der, expiry = tls.peer_der(), tls.chain_not_after()
        if der is None or expiry is None:
            return
        if len(self._entries) >= self._size and name not in self._entries:
            self._entries.clear()
        known = self._entries.setdefault(name, {})
        known[der] = (self._monotonic() + self._ttl, expiry, tls.not_after())


def _reason(exc: SSL.Error) -> str:
    """The last OpenSSL reason of a pyOpenSSL error, e.g. "wrong version number"."""
    errors = exc.args[0] if exc.args else None
    if isinstance(errors, list) and errors and isinstance(errors[-1], tuple):
        return str(errors[-1][-1]) or "TLS error"
    return str(exc) or type(exc).__name__


def _packed_ip(host: str) -> bytes | None:
    try:
        return ipaddress.ip_address(host).packed
    except ValueError:
        return None


@lru_cache(maxsize=256)
def _verify_message(code: int) -> str:
    return str(_ffi.string(_lib.X509_verify_cert_error_string(code)).decode("ascii", "replace"))


def _not_after(cert: X509) -> datetime | None:
    value = cert.get_notAfter()
    return _asn1_time(value) if value else None


@lru_cache(maxsize=4096)
def _asn1_time(value: bytes) -> datetime:
    """`20270105093443Z` (GeneralizedTime, as pyOpenSSL gives it) in UTC. The same few
    certificates come back at every probe, so the answers are kept."""
    return datetime.strptime(value.decode("ascii"), "%Y%m%d%H%M%SZ").replace(tzinfo=UTC)
