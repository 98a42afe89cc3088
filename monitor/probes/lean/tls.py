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
plus `ca_file`, the host name (no partial wildcards) or IP address, TLS 1.2 at least
with Python's cipher suites. `TlsContext.verified` keeps its answers (see
`VerifiedCertificates`). Key share: X25519, as OpenSSL 3.0 and browsers send it (the
newer OpenSSL's default adds a post-quantum share that costs a further million
instructions; a server that wants another group asks for it).
"""

from __future__ import annotations

import ipaddress
import ssl
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from cryptography.hazmat.bindings.openssl.binding import Binding
from OpenSSL import SSL
from OpenSSL.crypto import FILETYPE_ASN1, X509, dump_certificate

from monitor.clock import SystemClock

_lib: Any = Binding().lib  # the functions pyOpenSSL does not wrap (host name, groups)
_ffi: Any = Binding().ffi
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
# Python's ssl's default for TLS 1.2 (forward secrecy, AEAD or AES-CBC, no SHA-1 suites)
CIPHERS = (
    b"@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
)
KEEP_FOR = 300.0  # seconds an answer of path validation counts
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
    reading a refused certificate, and the connections `verified` vouches for). A
    verifying context keeps its answers in `verified` (`keep_for` seconds, 0: none): they
    hold for its own trust roots only.
    """

    __slots__ = ("_context", "verified", "verify")

    def __init__(
        self, ca_file: str | None = None, *, verify: bool = True, keep_for: float = KEEP_FOR
    ) -> None:
        context = SSL.Context(SSL.TLS_CLIENT_METHOD)
        context.set_min_proto_version(SSL.TLS1_2_VERSION)
        context.set_options(SSL.OP_NO_COMPRESSION)
        context.set_cipher_list(CIPHERS)
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
        self.verified = VerifiedCertificates(ttl=keep_for if verify else 0.0)

    def connect(self, server_name: str) -> TlsConnection:
        """A client connection to `server_name` (a host name or an IP address; a trailing
        dot is dropped). Raises `TlsError` for a name no certificate can be checked for."""
        return TlsConnection(self._context, server_name, self.verify)


class TlsConnection:
    """One client connection's TLS over memory buffers (sans I/O)."""

    __slots__ = ("_conn", "_verify", "server_name")

    def __init__(self, context: SSL.Context, server_name: str, verify: bool) -> None:
        server_name = server_name.rstrip(".")
        self.server_name = server_name
        self._verify = verify
        ip = _packed_ip(server_name)
        name = b"" if ip is not None else _host_name(server_name)
        conn = SSL.Connection(context, None)
        conn.set_connect_state()
        if ip is None:  # SNI carries names only
            conn.set_tlsext_host_name(name)
        if verify:
            param = _lib.SSL_get0_param(conn._ssl)
            _lib.X509_VERIFY_PARAM_set_hostflags(param, _NO_PARTIAL_WILDCARDS)
            if ip is None:
                done = _lib.X509_VERIFY_PARAM_set1_host(param, name, len(name))
            else:
                done = _lib.X509_VERIFY_PARAM_set1_ip(param, ip, len(ip))
            if not done:
                raise TlsError(f"cannot check a certificate for {server_name!r}")
        self._conn = conn

    def handshake(self) -> bool:
        """Advance the handshake: True when it is complete, False while it waits for the
        peer. Raises `TlsError` when it failed (send `outgoing()` still: the alert)."""
        try:
            self._conn.do_handshake()
        except SSL.WantReadError:
            return False
        except SSL.Error as exc:
            error = self._refusal() or TlsError(_reason(exc))
        else:
            return True
        raise error  # outside the handler: no context, no cycle through its traceback

    def _refusal(self) -> TlsError | None:
        """The certificate refusal that failed the handshake, if it was one (a context
        that does not verify still records a result: it is not asked)."""
        if not self._verify:
            return None
        code = int(_lib.SSL_get_verify_result(self._conn._ssl))
        if not code:
            return None
        return TlsError("certificate verify failed", code, _verify_message(code))

    def feed(self, data: bytes) -> None:
        """Bytes received from the peer."""
        _translated(self._conn.bio_write, data)

    def outgoing(self) -> bytes:
        """Bytes to send to the peer (b"" when there are none)."""
        conn, data = self._conn, b""
        while True:
            try:
                chunk = conn.bio_read(_CHUNK)
            except SSL.Error:  # WantReadError: nothing (more) to send
                return data
            data += chunk
            if len(chunk) < _CHUNK:
                return data

    def write(self, data: bytes) -> None:
        """Encrypt application data (then send `outgoing()`)."""
        _translated(self._conn.sendall, data)

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
            error = TlsError(_reason(exc))
        raise error

    def peer_der(self) -> bytes | None:
        """The peer's certificate, DER-encoded (None before the handshake)."""
        cert = self._conn.get_peer_certificate()
        return None if cert is None else dump_certificate(FILETYPE_ASN1, cert)

    def chain_der(self) -> tuple[bytes, ...]:
        """Every certificate the peer sent, leaf first, DER-encoded."""
        chain = self._conn.get_peer_cert_chain() or []
        return tuple(dump_certificate(FILETYPE_ASN1, cert) for cert in chain)

    def not_after(self) -> datetime | None:
        """When the peer's certificate expires (None before the handshake)."""
        cert = self._conn.get_peer_certificate()
        return None if cert is None else _not_after(cert)

    def verified_not_after(self) -> datetime | None:
        """When the first certificate of the chain OpenSSL verified (up to the trusted
        root, from the store or not) expires; None when it verified none."""
        chain = self._conn.get_verified_chain() or []
        moments = [moment for cert in chain if (moment := _not_after(cert)) is not None]
        return min(moments, default=None)


class VerifiedCertificates:
    """Certificate chains a context verified lately, by server name.

    Path validation of an unchanged chain gives the same answer for a while, and costs a
    fifth of a probe's instructions (a signature check per link); browsers keep the
    answers too (Chromium's CachingCertVerifier). Every handshake stays full: a new key
    exchange, and the server's signature with the certificate's key checked each time,
    so a peer that shows a known chain without its key fails. An answer is for the exact
    chain the server sent, for `ttl` seconds (on the monotonic and the wall clock) and
    never past the earliest notAfter of the chain that was verified; at most `size`
    server names (then all are dropped). `ttl=0`: keep nothing. `vouched` and `verified`
    count the answers given and taken.
    """

    __slots__ = ("_entries", "_monotonic", "_size", "_ttl", "_wall", "verified", "vouched")

    def __init__(
        self,
        monotonic: Callable[[], float] | None = None,
        wall: Callable[[], datetime] | None = None,
        ttl: float = KEEP_FOR,
        size: int = 4096,
    ) -> None:
        clock = SystemClock()  # the clock OpenSSL checks validity against
        self._monotonic = monotonic or clock.monotonic
        self._wall = wall or clock.now
        self._ttl = ttl
        self._size = size
        # name -> chain -> (monotonic deadline, wall deadline, the leaf's notAfter)
        self._entries: dict[str, dict[tuple[bytes, ...], tuple[float, datetime, datetime]]] = {}
        self.verified = 0  # chains added after OpenSSL verified them
        self.vouched = 0  # connections made without verification and vouched for

    def knows(self, name: str) -> bool:
        """Whether a chain verified for `name` still counts (then connect without
        verifying, and ask `vouch` about the chain the server shows)."""
        known = self._entries.get(name)
        if known is None:
            return False
        mono, wall = self._monotonic(), self._wall()
        for chain, (deadline, expiry, _) in list(known.items()):
            if deadline <= mono or expiry <= wall:
                del known[chain]
        if not known:
            del self._entries[name]
        return bool(known)

    def vouch(self, name: str, chain: tuple[bytes, ...]) -> tuple[bool, datetime | None]:
        """(True, the leaf's notAfter) when `chain` was verified for `name` and counts."""
        entry = self._entries.get(name, {}).get(chain)
        if entry is None:
            return False, None
        deadline, expiry, not_after = entry
        if deadline <= self._monotonic() or expiry <= self._wall():
            return False, None
        self.vouched += 1
        return True, not_after

    def add(self, name: str, tls: TlsConnection) -> None:
        """`tls` was verified for `name` by OpenSSL just now."""
        if self._ttl <= 0:
            return
        chain, expiry, not_after = tls.chain_der(), tls.verified_not_after(), tls.not_after()
        if not chain or expiry is None or not_after is None:
            return
        if len(self._entries) >= self._size and name not in self._entries:
            self._entries.clear()
        wall_deadline = min(expiry, self._wall() + timedelta(seconds=self._ttl))
        known = self._entries.setdefault(name, {})
        known[chain] = (self._monotonic() + self._ttl, wall_deadline, not_after)
        self.verified += 1


def _translated(call: Callable[[bytes], object], data: bytes) -> None:
    """`call(data)`, its pyOpenSSL error raised as a `TlsError` (outside the handler: no
    context, no cycle through its traceback)."""
    try:
        call(data)
    except SSL.Error as exc:
        error = TlsError(_reason(exc))
    else:
        return
    raise error


def _reason(exc: SSL.Error) -> str:
    """The last OpenSSL reason of a pyOpenSSL error, e.g. "wrong version number"."""
    errors = exc.args[0] if exc.args else None
    if isinstance(errors, list):
        if errors and isinstance(errors[-1], tuple) and errors[-1][-1]:
            return str(errors[-1][-1])
        return "TLS error"
    return str(exc) or type(exc).__name__


def _host_name(name: str) -> bytes:
    """`name` for SNI and the certificate check; an empty or dot-led name (which OpenSSL
    would read as "no check" or "any subdomain") is refused."""
    if not name or name.startswith("."):
        raise TlsError(f"cannot check a certificate for {name!r}")
    try:
        return name.encode("idna")
    except UnicodeError:
        raise TlsError(f"cannot check a certificate for {name!r}") from None


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
