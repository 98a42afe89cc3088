"""TLS, TCP, DNS and heartbeat probes against real local servers (and a real clock log)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from monitor.clock import FixedClock
from monitor.config.records import (
    Check,
    DnsRecord,
    DnsSpec,
    HeartbeatSpec,
    Settings,
    TcpSpec,
    TlsSpec,
)
from monitor.demo.targets import DOMAIN, CertKind, HostileFleet
from monitor.model import CheckType, ErrorCode, Verdict
from monitor.probes import (
    PROBES,
    InMemoryHeartbeatLog,
    ProbeContext,
    check_token,
    heartbeat_token,
    heartbeat_url,
    open_probe_context,
    run_probe,
)
from monitor.probes import base as probes_base
from monitor.probes.canary import canary_checks, is_canary
from tests.probes.conftest import make_check


def test_every_check_type_has_exactly_one_registered_and_documented_probe() -> None:
    assert set(PROBES) == set(CheckType)
    for kind, probe in PROBES.items():
        assert probe.__doc__, f"the {kind} probe states its contract"
        assert probe.__module__ == f"monitor.probes.{kind.value}"
    assert probes_base.__doc__


async def test_tls_valid_certificate_reports_phases_and_expiry(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    check = make_check(TlsSpec(host="localhost", port=fleet.tls_ports[CertKind.VALID]))
    result = await run_probe(check, ctx)
    assert result.verdict is Verdict.OK, result.detail
    assert result.address == "127.0.0.1"  # ::1 refused first, then IPv4 like a browser
    assert result.timings.connect is not None
    assert result.timings.tls is not None
    assert result.cert_not_after is not None


async def test_tls_certificate_expiring_within_valid_for_is_degraded(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    spec = TlsSpec(
        host="localhost", port=fleet.tls_ports[CertKind.EXPIRING], valid_for=timedelta(days=14)
    )
    result = await run_probe(make_check(spec), ctx)
    assert (result.verdict, result.error) == (Verdict.DEGRADED, ErrorCode.CERT_EXPIRING)
    assert "(in 5 days)" in result.detail
    relaxed = TlsSpec(
        host="localhost", port=fleet.tls_ports[CertKind.EXPIRING], valid_for=timedelta(days=2)
    )
    assert (await run_probe(make_check(relaxed), ctx)).verdict is Verdict.OK


@pytest.mark.parametrize(
    ("kind", "server_name", "detail"),
    [
        (CertKind.EXPIRED, None, "certificate expired on "),
        (CertKind.SELF_SIGNED, None, "self-signed certificate"),
        (CertKind.WRONG_HOST, None, "certificate is for other.example, not 127.0.0.1"),
        (CertKind.VALID, "shop.example", "certificate is for localhost, vakt.test, *.vakt.test"),
    ],
)
async def test_tls_refused_certificates_name_the_reason(
    fleet: HostileFleet, ctx: ProbeContext, kind: CertKind, server_name: str | None, detail: str
) -> None:
    spec = TlsSpec(host="127.0.0.1", port=fleet.tls_ports[kind], server_name=server_name)
    result = await run_probe(make_check(spec), ctx)
    assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.TLS)
    assert result.detail.startswith(detail)


async def test_tls_against_a_plain_or_silent_port(fleet: HostileFleet, ctx: ProbeContext) -> None:
    plain = await run_probe(make_check(TlsSpec(host="127.0.0.1", port=fleet.port)), ctx)
    silent = await run_probe(
        make_check(TlsSpec(host="127.0.0.1", port=fleet.silent_port), timeout=0.3), ctx
    )
    refused = await run_probe(make_check(TlsSpec(host="127.0.0.1", port=fleet.closed_port)), ctx)
    assert plain.error is ErrorCode.TLS
    assert silent.error is ErrorCode.TIMEOUT
    assert silent.detail == "no answer within 0.3 s while waiting for the TLS handshake"
    assert refused.error is ErrorCode.REFUSED


async def test_tcp_connect_send_and_expect(fleet: HostileFleet, ctx: ProbeContext) -> None:
    port = fleet.banner_port
    good = TcpSpec(host=f"shop.{DOMAIN}", port=port, send="PING\r\n", banner="+PONG")
    silent = TcpSpec(host="127.0.0.1", port=port, banner="+PONG")
    wrong = TcpSpec(
        host="127.0.0.1", port=fleet.port, send="GET / HTTP/1.1\r\n\r\n", banner="+PONG"
    )
    connect_only = TcpSpec(host="127.0.0.1", port=fleet.silent_port)
    assert (await run_probe(make_check(good), ctx)).verdict is Verdict.OK
    assert (await run_probe(make_check(connect_only), ctx)).verdict is Verdict.OK
    waited = await run_probe(make_check(silent, timeout=0.3), ctx)
    assert waited.error is ErrorCode.TIMEOUT
    assert "'+PONG'" in waited.detail
    mismatch = await run_probe(make_check(wrong), ctx)
    assert mismatch.error is ErrorCode.BODY
    assert mismatch.detail.startswith("expected '+PONG' from the server, got 'HTTP/1.1 200 OK")
    refused = await run_probe(make_check(TcpSpec(host="127.0.0.1", port=fleet.closed_port)), ctx)
    assert refused.error is ErrorCode.REFUSED


@pytest.mark.parametrize(
    ("name", "record", "values"),
    [
        (f"shop.{DOMAIN}", DnsRecord.A, ("127.0.0.1",)),
        (f"shop.{DOMAIN}", DnsRecord.AAAA, ("0:0:0:0:0:0:0:1",)),
        (f"www.{DOMAIN}", DnsRecord.CNAME, (f"shop.{DOMAIN}.",)),
        (f"www.{DOMAIN}", DnsRecord.A, ("127.0.0.1",)),
        (DOMAIN, DnsRecord.MX, (f"mail.{DOMAIN}",)),
        (DOMAIN, DnsRecord.MX, (f"10 mail.{DOMAIN}",)),
        (DOMAIN, DnsRecord.TXT, ("v=spf1 -all",)),
        (DOMAIN, DnsRecord.NS, (f"ns2.{DOMAIN}", f"NS1.{DOMAIN}")),
        (DOMAIN, DnsRecord.NS, ()),
    ],
)
async def test_dns_records_match_expected_values(
    fleet: HostileFleet, ctx: ProbeContext, name: str, record: DnsRecord, values: tuple[str, ...]
) -> None:
    spec = DnsSpec(name=name, record=record, values=values, server=fleet.resolver)
    result = await run_probe(make_check(spec), ctx)
    assert result.verdict is Verdict.OK, result.detail


async def test_dns_nxdomain_wrong_records_and_no_data(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    nx = await run_probe(make_check(DnsSpec(name=f"nope.{DOMAIN}")), ctx)
    wrong = await run_probe(make_check(DnsSpec(name=f"wrong.{DOMAIN}", values=("127.0.0.1",))), ctx)
    nodata = await run_probe(make_check(DnsSpec(name=DOMAIN, record=DnsRecord.AAAA)), ctx)
    assert (nx.error, nx.detail) == (ErrorCode.DNS, f"A nope.{DOMAIN}: no such domain (NXDOMAIN)")
    assert (wrong.error, wrong.detail) == (
        ErrorCode.DNS,
        f"A wrong.{DOMAIN}: expected 127.0.0.1, got 127.0.0.2",
    )
    assert nodata.error is ErrorCode.DNS
    assert "no AAAA records" in nodata.detail


async def test_dns_zone_changes_are_seen_at_the_next_probe(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    fleet.dns.zone.ttl = 0  # c-ares caches answers for their TTL, like any resolver
    check = make_check(DnsSpec(name=f"shop.{DOMAIN}", values=("127.0.0.1",)))
    assert (await run_probe(check, ctx)).verdict is Verdict.OK
    fleet.dns.zone.set(f"shop.{DOMAIN}", "A", "198.51.100.7")
    assert (await run_probe(check, ctx)).error is ErrorCode.DNS


async def test_dns_server_that_never_answers_times_out(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    from monitor.config.records import HostPort

    # a UDP port nobody answers on: the fleet's TCP banner port number, on UDP
    silent = HostPort("127.0.0.1", fleet.banner_port)
    result = await run_probe(make_check(DnsSpec(name=DOMAIN, server=silent), timeout=0.5), ctx)
    assert result.verdict is Verdict.FAILED
    assert result.error in (ErrorCode.TIMEOUT, ErrorCode.DNS)


def test_heartbeat_token_is_stable_url_safe_and_per_check() -> None:
    token = heartbeat_token("k3y", "acme/shop/backup")
    assert token == heartbeat_token("k3y", "acme/shop/backup")
    assert token != heartbeat_token("k3y", "acme/shop/other")
    assert token != heartbeat_token("other-key", "acme/shop/backup")
    assert len(token) == 24
    assert all(c.isalnum() or c in "-_" for c in token)
    assert heartbeat_url("https://status.example/", token) == (
        f"https://status.example/heartbeat/{token}"
    )


def test_explicit_token_wins_over_the_derived_one() -> None:
    settings = Settings(timezone=UTC, timezone_name="UTC", heartbeat_key="k")
    derived = make_check(HeartbeatSpec(every=timedelta(hours=1), grace=timedelta(minutes=5)))
    explicit = make_check(HeartbeatSpec(timedelta(hours=1), timedelta(minutes=5), token="abc"))
    assert check_token(derived, settings) == heartbeat_token("k", derived.id)
    assert check_token(explicit, settings) == "abc"
    no_key = Settings(timezone=UTC, timezone_name="UTC")
    assert check_token(derived, no_key) is None


async def test_heartbeat_ok_late_and_reported() -> None:
    clock = FixedClock(datetime(2026, 3, 2, 12, 0, tzinfo=UTC))
    log = InMemoryHeartbeatLog()
    check: Check = make_check(
        HeartbeatSpec(every=timedelta(hours=1), grace=timedelta(minutes=10)), name="backup"
    )
    async with open_probe_context(clock, heartbeats=log) as ctx:
        assert (await run_probe(check, ctx)).verdict is Verdict.OK  # just started watching
        clock.advance(3600 + 601)
        never = await run_probe(check, ctx)
        assert (never.error, never.detail) == (
            ErrorCode.LATE,
            "no ping received in 1h 10m (expected every 1h)",
        )
        log.record(check.id, clock.now())
        clock.advance(3600 + 600)
        assert (await run_probe(check, ctx)).verdict is Verdict.OK  # exactly every + grace
        clock.advance(1)
        late = await run_probe(check, ctx)
        assert late.error is ErrorCode.LATE
        assert late.detail.startswith("last ping 1h 10m ago at 2026-03-02 13:10 UTC")
        log.record(check.id, clock.now(), failed=True)
        reported = await run_probe(check, ctx)
        assert (reported.verdict, reported.error) == (Verdict.FAILED, ErrorCode.REPORTED)


def test_canaries_are_none_by_default_and_recognisable() -> None:
    assert canary_checks(Settings(timezone=UTC, timezone_name="UTC")) == ()
    settings = Settings(timezone=UTC, timezone_name="UTC", canaries=("https://one.one.one.one/",))
    (canary,) = canary_checks(settings)
    assert is_canary(canary.id)
    assert not is_canary("acme/shop/home")
    assert canary.type is CheckType.HTTP
