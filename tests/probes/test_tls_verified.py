"""Certificates verified lately are vouched for, never anything else (VerifiedCertificates)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import OpenSSL.crypto
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from monitor.clock import SystemClock
from monitor.config.records import HttpSpec
from monitor.demo.targets import CertKind, HostileFleet
from monitor.model import ErrorCode, Verdict
from monitor.probes import ProbeContext, run_probe
from monitor.probes.context import USER_AGENT
from monitor.probes.lean import LeanClient, TlsContext
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


def client(ctx: ProbeContext, tls: TlsContext, verified: VerifiedCertificates) -> LeanClient:
    clock = SystemClock()
    resolver = CachingResolver(ctx.dns, clock.monotonic)
    return LeanClient(resolver, tls, USER_AGENT, clock.monotonic, verified)


async def status(http: LeanClient, url: str) -> int | str:
    """The response status, or the failure's code and detail."""
    try:
        async with asyncio.timeout(5):
            response = await http.fetch(url, Phases(SystemClock().monotonic))
    except Exception as exc:  # a FetchError: the test compares its words
        return f"{getattr(exc, 'code', '?')}: {getattr(exc, 'detail', exc)}"
    return response.status


async def test_a_known_certificate_skips_verification_and_an_unknown_one_gets_it(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    """Client A trusts the fleet's CA and fills the shared answers; client B trusts only
    the system's roots, so a certificate of the fleet passes for B only when A's answer
    vouches for it, while any other certificate meets B's own (failing) verification."""
    verified = VerifiedCertificates(SystemClock().monotonic, SystemClock().now)
    trusting = client(ctx, TlsContext(fleet.ca_file), verified)
    system_only = client(ctx, TlsContext(), verified)
    first = fleet.tls_url(CertKind.VALID)

    assert str(await status(system_only, first)).startswith("tls: ")  # not trusted alone
    assert not verified.knows("localhost")
    assert await status(trusting, first) == 200
    assert verified.knows("localhost")
    assert await status(system_only, first) == 200  # vouched for: the same certificate

    assert fleet.certs is not None
    async with tls_server(fleet, fleet.certs.issue(CertKind.VALID)) as port:
        other = f"https://localhost:{port}/"
        detail = await status(system_only, other)  # same name, another certificate
        assert str(detail).startswith("tls: certificate issued by an untrusted authority")
        assert await status(trusting, other) == 200
        assert await status(system_only, other) == 200  # now both are known
        assert await status(system_only, first) == 200


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
    assert ctx.http.verified.knows("localhost")
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
    verified = ctx.http.verified
    assert verified.knows("localhost")
    assert verified.knows("127.0.0.1")
    der = der_of(str(Path(fleet.ca_file).parent / "valid.pem"))
    assert verified.vouch("localhost", der)[0]
    assert not verified.vouch("vakt.invalid", der)[0]


async def test_repeated_probes_report_the_same_expiry(
    ctx: ProbeContext, fleet: HostileFleet
) -> None:
    check = make_check(HttpSpec(url=fleet.tls_url()))
    first = await run_probe(check, ctx)
    rest = await asyncio.gather(*(run_probe(check, ctx) for _ in range(5)))
    assert first.cert_not_after is not None
    assert {r.cert_not_after for r in rest} == {first.cert_not_after}
    assert {r.verdict for r in rest} == {Verdict.OK}


class Shown:
    """What `VerifiedCertificates.add` reads of a finished handshake."""

    def __init__(self, der: bytes, not_after: datetime, chain_not_after: datetime) -> None:
        self.server_name = "shop.example"
        self._der, self._not_after, self._chain = der, not_after, chain_not_after

    def peer_der(self) -> bytes:
        return self._der

    def not_after(self) -> datetime:
        return self._not_after

    def chain_not_after(self) -> datetime:
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
    assert verified.vouch("shop.example", b"leaf") == (True, leaf_expiry)
    assert verified.vouch("shop.example", b"other") == (False, None)
    clocks.mono += 301
    assert verified.vouch("shop.example", b"leaf") == (False, None)
    assert not verified.knows("shop.example")  # the next probe verifies, on one connection

    verified.add("shop.example", shown)  # type: ignore[arg-type]
    assert verified.knows("shop.example")
    clocks.wall += timedelta(hours=1)  # an intermediate expires before the TTL is out
    assert verified.vouch("shop.example", b"leaf") == (False, None)
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
