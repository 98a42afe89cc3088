"""Certificates verified lately are vouched for, never anything else (VerifiedCertificates)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import ssl
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import OpenSSL.crypto
import OpenSSL.SSL
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from monitor.clock import SystemClock
from monitor.config.records import HttpSpec, TlsSpec
from monitor.demo.targets import CertKind, HostileFleet
from monitor.model import ErrorCode, ProbeResult, Verdict
from monitor.probes import ProbeContext, run_probe
from monitor.probes.context import USER_AGENT
from monitor.probes.lean import FetchError, LeanClient, TlsContext
from monitor.probes.lean.tls import VerifiedCertificates
from monitor.probes.phases import Phases
from monitor.probes.resolver import CachingResolver
from tests.probes.conftest import make_check


def der_of(pem_file: str) -> bytes:
    return x509.load_pem_x509_certificate(Path(pem_file).read_bytes()).public_bytes(Encoding.DER)


@asynccontextmanager
async def tls_server(fleet: HostileFleet, pem_file: str) -> AsyncIterator[int]:
    """Another HTTPS target of the fleet, with the certificate in `pem_file`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pem_file)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(fleet.http.protocol, "127.0.0.1", 0, ssl=context)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


def joined(target: Path, *parts: str | Path) -> Path:
    """`parts` in one PEM file (a leaf and its key, then the chain sent along)."""
    target.write_text("".join(Path(part).read_text() for part in parts))
    return target


async def probe_https(ctx: ProbeContext, url: str, **options: object) -> ProbeResult:
    return await run_probe(make_check(HttpSpec(url=url, **options)), ctx)  # type: ignore[arg-type]


async def test_one_chain_is_verified_once_then_vouched_for(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    verified = ctx.tls.verified
    for _ in range(4):
        result = await probe_https(ctx, fleet.tls_url())
        assert result.verdict is Verdict.OK, result.detail
    assert (verified.verified, verified.vouched) == (1, 3)


async def test_another_chain_under_a_known_name_is_verified_not_vouched_for(
    ctx: ProbeContext, fleet: HostileFleet, tmp_path: Path
) -> None:
    """Another leaf, or the same leaf with another chain: each is verified when first
    seen (on a second connection), then vouched for like the first."""
    assert fleet.certs is not None
    with_ca = joined(
        tmp_path / "with-ca.pem", Path(fleet.ca_file).parent / "valid.pem", fleet.ca_file
    )
    other_leaf = fleet.certs.issue(CertKind.VALID)  # a new key and certificate
    verified = ctx.tls.verified
    assert (await probe_https(ctx, fleet.tls_url())).verdict is Verdict.OK
    async with tls_server(fleet, str(with_ca)) as port_a, tls_server(fleet, other_leaf) as port_b:
        for port in (port_a, port_b, port_a, port_b):
            result = await probe_https(ctx, f"https://localhost:{port}/")
            assert result.verdict is Verdict.OK, result.detail
    assert (verified.verified, verified.vouched) == (3, 2)


async def test_a_context_keeps_answers_for_its_own_trust_only(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    """A client that trusts only the system's roots gains nothing from what a context
    trusting the fleet's CA verified: the fleet's certificate stays refused for it."""
    assert (await probe_https(ctx, fleet.tls_url())).verdict is Verdict.OK
    clock = SystemClock()
    system_only = LeanClient(
        CachingResolver(ctx.dns, clock.monotonic), TlsContext(), USER_AGENT, clock.monotonic
    )
    with pytest.raises(FetchError) as refused:
        await system_only.fetch(fleet.tls_url(), Phases(clock.monotonic))
    assert refused.value.code is ErrorCode.TLS
    assert refused.value.detail.startswith("certificate issued by an untrusted authority")


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        (CertKind.EXPIRED, "certificate expired on "),
        (CertKind.SELF_SIGNED, "self-signed certificate"),
        (CertKind.WRONG_HOST, "certificate is for other.example, not localhost"),
    ],
)
async def test_a_name_known_for_a_good_certificate_still_refuses_a_bad_one(
    ctx: ProbeContext, fleet: HostileFleet, kind: CertKind, detail: str
) -> None:
    good = await run_probe(make_check(HttpSpec(url=fleet.tls_url(CertKind.VALID))), ctx)
    assert good.verdict is Verdict.OK, good.detail
    assert ctx.tls.verified.knows("localhost")
    bad = await run_probe(make_check(HttpSpec(url=fleet.tls_url(kind))), ctx)
    assert (bad.verdict, bad.error) == (Verdict.FAILED, ErrorCode.TLS)
    assert bad.detail.startswith(detail)
    again = await run_probe(make_check(HttpSpec(url=fleet.tls_url(CertKind.VALID))), ctx)
    assert again.verdict is Verdict.OK, again.detail


async def test_an_answer_is_for_its_name_only(ctx: ProbeContext, fleet: HostileFleet) -> None:
    """The fleet's certificate is good for localhost and 127.0.0.1, not for vakt.invalid:
    knowing it for one name vouches for nothing under another."""
    port = fleet.tls_ports[CertKind.VALID]
    assert (await run_probe(make_check(HttpSpec(url=fleet.tls_url())), ctx)).verdict is Verdict.OK
    by_ip = await run_probe(make_check(HttpSpec(url=f"https://127.0.0.1:{port}/")), ctx)
    assert by_ip.verdict is Verdict.OK, by_ip.detail  # its IP address SAN, verified
    verified = ctx.tls.verified
    assert verified.knows("localhost")
    assert verified.knows("127.0.0.1")
    der = der_of(str(Path(fleet.ca_file).parent / "valid.pem"))
    assert verified.vouch("localhost", (der,))[0]  # the chain the fleet sends: its leaf
    assert not verified.vouch("vakt.invalid", (der,))[0]


async def test_repeated_probes_report_the_same_expiry(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    check = make_check(HttpSpec(url=fleet.tls_url()))
    first = await run_probe(check, ctx)
    rest = await asyncio.gather(*(run_probe(check, ctx) for _ in range(5)))
    assert first.cert_not_after is not None
    assert {r.cert_not_after for r in rest} == {first.cert_not_after}
    assert {r.verdict for r in rest} == {Verdict.OK}
    assert ctx.tls.verified.vouched == 5  # the expiry came from the kept answer


class Shown:
    """What `VerifiedCertificates.add` reads of a finished handshake."""

    def __init__(self, der: bytes, not_after: datetime, chain_not_after: datetime) -> None:
        self.server_name = "shop.example"
        self._der, self._not_after, self._chain = der, not_after, chain_not_after

    def chain_der(self) -> tuple[bytes, ...]:
        return (self._der,)

    def not_after(self) -> datetime:
        return self._not_after

    def verified_not_after(self) -> datetime:
        return self._chain


class Clocks:
    def __init__(self) -> None:
        self.mono = 100.0
        self.wall = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

    def monotonic(self) -> float:
        return self.mono

    def now(self) -> datetime:
        return self.wall


def test_answers_last_ttl_seconds_and_never_past_the_chains_first_expiry() -> None:
    clocks = Clocks()
    verified = VerifiedCertificates(clocks.monotonic, clocks.now, ttl=300)
    leaf_expiry = clocks.wall + timedelta(days=60)
    shown = Shown(b"leaf", leaf_expiry, clocks.wall + timedelta(hours=1))
    verified.add("shop.example", shown)  # type: ignore[arg-type]
    assert verified.vouch("shop.example", (b"leaf",)) == (True, leaf_expiry)
    assert verified.vouch("shop.example", (b"other",)) == (False, None)
    clocks.mono += 301
    assert verified.vouch("shop.example", (b"leaf",)) == (False, None)
    assert not verified.knows("shop.example")  # the next probe verifies, on one connection

    verified.add("shop.example", shown)  # type: ignore[arg-type]
    assert verified.knows("shop.example")
    clocks.wall += timedelta(hours=1)  # an intermediate expires before the TTL is out
    assert verified.vouch("shop.example", (b"leaf",)) == (False, None)
    assert not verified.knows("shop.example")


def test_ttl_zero_keeps_nothing_and_size_bounds_the_names() -> None:
    clocks = Clocks()
    later = clocks.wall + timedelta(days=1)
    off = VerifiedCertificates(clocks.monotonic, clocks.now, ttl=0)
    off.add("shop.example", Shown(b"leaf", later, later))  # type: ignore[arg-type]
    assert not off.knows("shop.example")

    small = VerifiedCertificates(clocks.monotonic, clocks.now, size=2)
    for name in ("a.example", "b.example", "c.example"):
        small.add(name, Shown(name.encode(), later, later))  # type: ignore[arg-type]
    assert small.knows("c.example")
    assert not (small.knows("a.example") and small.knows("b.example"))


def system_root() -> x509.Certificate | None:
    """A CA certificate from the system's store, where Python's ssl finds it."""
    paths = ssl.get_default_verify_paths()
    files = sorted(Path(paths.capath).glob("*.0")) if paths.capath else []
    if paths.cafile:
        files.insert(0, Path(paths.cafile))
    for file in files:
        try:
            return x509.load_pem_x509_certificate(file.read_bytes())
        except ValueError:
            continue
    return None


def test_the_verifying_context_trusts_the_systems_roots() -> None:
    root = system_root()
    if root is None:
        pytest.skip("this machine has no CA store")
    context = TlsContext()  # alive while its store is used
    store = context._context.get_cert_store()
    assert store is not None
    cert = OpenSSL.crypto.X509.from_cryptography(root)
    OpenSSL.crypto.X509StoreContext(store, cert).verify_certificate()  # raises if untrusted
    with pytest.raises(OpenSSL.crypto.X509StoreContextError):
        OpenSSL.crypto.X509StoreContext(OpenSSL.crypto.X509Store(), cert).verify_certificate()


@contextmanager
def demanding_server(fleet: HostileFleet) -> Iterator[int]:
    """A TLS 1.2 server (blocking, in a thread, so its alert always leaves before the
    close) that demands a client certificate: every handshake fails after the client
    has read and checked the server's certificate."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(str(Path(fleet.ca_file).parent / "valid.pem"))
    context.load_verify_locations(fleet.ca_file)
    context.verify_mode = ssl.CERT_REQUIRED
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(5)

    def serve() -> None:
        with listener:
            for _ in range(2):
                try:
                    conn, _ = listener.accept()
                except OSError:
                    return
                with conn, contextlib.suppress(OSError):
                    conn.settimeout(5)
                    context.wrap_socket(conn, server_side=True)  # fails, sending its alert

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(10)


async def test_a_refused_handshake_is_not_called_a_certificate_refusal_without_verification(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    """Without verification (`verify_tls: false`, or a chain already vouched for) OpenSSL
    still records a verify result; a handshake that fails after the server's certificate
    must be reported as the handshake failure, not as a refused certificate."""
    assert (await probe_https(ctx, fleet.tls_url())).verdict is Verdict.OK  # localhost known
    with demanding_server(fleet) as port:
        url = f"https://localhost:{port}/"
        results = [
            await probe_https(ctx, url, verify_tls=False),
            await probe_https(ctx, url),  # the name is known: connects without verifying
        ]
    for result in results:
        assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.TLS)
        assert (
            result.detail
            == f"TLS handshake with localhost:{port} failed: tls alert handshake failure"
        )


async def test_tls_checks_take_a_trailing_dot_and_refuse_names_nothing_can_match(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    port = fleet.tls_ports[CertKind.VALID]
    dotted = await run_probe(
        make_check(TlsSpec(host="127.0.0.1", port=port, server_name="localhost.")), ctx
    )
    assert dotted.verdict is Verdict.OK, dotted.detail
    for name in (".localhost", "bad\u00a0name"):  # "any subdomain" to OpenSSL; not IDNA
        result = await run_probe(
            make_check(TlsSpec(host="127.0.0.1", port=port, server_name=name)), ctx
        )
        assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.TLS)
        assert "cannot check a certificate for" in result.detail


async def test_refused_handshakes_leave_no_tls_objects_for_the_collector(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    """With the cyclic collector off, refused handshakes must still free their pyOpenSSL
    connections (reference counting alone): no cycle through a future and a traceback."""
    check = make_check(HttpSpec(url=fleet.tls_url(CertKind.SELF_SIGNED)))
    await run_probe(check, ctx)  # the refused certificate is read once, then kept
    gc.collect()
    gc.disable()
    try:
        results = [await run_probe(check, ctx) for _ in range(20)]
        await asyncio.sleep(0)
        alive = sum(isinstance(o, OpenSSL.SSL.Connection) for o in gc.get_objects())
    finally:
        gc.enable()
    assert {r.error for r in results} == {ErrorCode.TLS}
    assert alive == 0
