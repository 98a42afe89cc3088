"""The HTTP probe against real local servers, including every hostile behaviour."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st

from monitor import __version__
from monitor.config.records import HttpSpec, JsonExpectation
from monitor.demo.targets import DOMAIN, CertKind, HostileFleet, SiteState
from monitor.model import ErrorCode, ProbeResult, Verdict
from monitor.probes import ProbeContext, run_probe
from monitor.probes.http import MAX_JSON_DEPTH, json_depth
from tests.probes.conftest import make_check


async def probe(ctx: ProbeContext, spec: HttpSpec, limit: float = 2.0) -> ProbeResult:
    return await run_probe(make_check(spec, timeout=limit), ctx)


async def test_healthy_page_is_ok_with_phases_status_size_and_address(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    result = await probe(ctx, HttpSpec(url=f"http://shop.{DOMAIN}:{fleet.port}/"))
    assert result.verdict is Verdict.OK, result.detail
    assert result.error is None
    assert result.status_code == 200
    assert result.response_bytes is not None
    assert result.response_bytes > 0
    assert result.address == "127.0.0.1"
    assert result.location == "oslo"
    t = result.timings
    assert t.dns is not None
    assert t.connect is not None
    assert t.first_byte is not None
    assert 0 < t.first_byte <= t.total


async def test_requests_carry_vakt_user_agent_and_no_tracing_headers(ctx: ProbeContext) -> None:
    seen: list[dict[str, str]] = []

    async def record(request: web.Request) -> web.Response:
        seen.append({name.lower(): value for name, value in request.headers.items()})
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", record)
    runner = web.AppRunner(app)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = runner.addresses[0][1]
        result = await probe(ctx, HttpSpec(url=f"http://127.0.0.1:{port}/"))
    finally:
        await runner.cleanup()
    assert result.verdict is Verdict.OK, result.detail
    [headers] = seen
    assert headers["user-agent"] == f"Vakt/{__version__}"
    assert headers.keys().isdisjoint({"sentry-trace", "baggage", "traceparent", "tracestate"})
    assert headers["connection"] == "close"  # a fresh connection per probe


@pytest.mark.parametrize(
    ("path", "status", "detail"),
    [
        ("/status/500", ((200, 200),), "expected status 200, got 500"),
        ("/status/404", ((200, 299),), "expected status 2xx, got 404"),
        ("/status/503", ((200, 200), (302, 302)), "expected status 200 or 302, got 503"),
    ],
)
async def test_unexpected_status_fails_with_http_status(
    fleet: HostileFleet,
    ctx: ProbeContext,
    path: str,
    status: tuple[tuple[int, int], ...],
    detail: str,
) -> None:
    result = await probe(ctx, HttpSpec(url=fleet.url(path), status=status))
    assert (result.verdict, result.error, result.detail) == (
        Verdict.FAILED,
        ErrorCode.HTTP_STATUS,
        detail,
    )


async def test_status_200_with_an_error_page_fails_on_body(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    contains = await probe(ctx, HttpSpec(url=fleet.url("/error-page"), body_contains="ACME"))
    not_contains = await probe(
        ctx, HttpSpec(url=fleet.url("/error-page"), body_not_contains="Fatal")
    )
    regex = await probe(ctx, HttpSpec(url=fleet.url("/error-page"), body_regex=r"Welcome\s+to"))
    assert (contains.error, contains.detail) == (ErrorCode.BODY, "body does not contain 'ACME'")
    assert (not_contains.error, not_contains.detail) == (ErrorCode.BODY, "body contains 'Fatal'")
    assert regex.error is ErrorCode.BODY
    assert contains.status_code == 200


async def test_json_expectations_by_key_path(fleet: HostileFleet, ctx: ProbeContext) -> None:
    good = (JsonExpectation(("status",), "ok"), JsonExpectation(("checks", "db"), "ok"))
    ok = await probe(ctx, HttpSpec(url=fleet.url("/json/ok"), json=good))
    wrong = await probe(ctx, HttpSpec(url=fleet.url("/json/error"), json=good))
    broken = await probe(ctx, HttpSpec(url=fleet.url("/json/broken"), json=good))
    missing = await probe(
        ctx, HttpSpec(url=fleet.url("/json/ok"), json=(JsonExpectation(("uptime",), None),))
    )
    number = await probe(
        ctx, HttpSpec(url=fleet.url("/json/ok"), json=(JsonExpectation(("version",), "3"),))
    )
    assert ok.verdict is Verdict.OK
    assert number.verdict is Verdict.OK
    assert (wrong.error, wrong.detail) == (
        ErrorCode.JSON,
        "JSON status: expected 'ok', got 'error'",
    )
    assert (broken.error, broken.detail) == (ErrorCode.JSON, "body is not valid JSON")
    assert (missing.error, missing.detail) == (ErrorCode.JSON, "JSON uptime: missing")


async def test_over_max_response_time_is_degraded_not_failed(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    spec = HttpSpec(url=fleet.url("/slow/0.3"), max_response_time=timedelta(milliseconds=100))
    result = await probe(ctx, spec)
    assert (result.verdict, result.error) == (Verdict.DEGRADED, ErrorCode.SLOW)
    assert "over the 0.1 s limit" in result.detail


async def test_redirects_are_followed_up_to_the_limit(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    followed = await probe(ctx, HttpSpec(url=fleet.url("/redirect/3"), follow_redirects=3))
    too_many = await probe(ctx, HttpSpec(url=fleet.url("/redirect/3"), follow_redirects=2))
    loop = await probe(ctx, HttpSpec(url=fleet.url("/loop")))
    not_followed = await probe(
        ctx, HttpSpec(url=fleet.url("/loop"), follow_redirects=0, status=((302, 302),))
    )
    assert followed.verdict is Verdict.OK
    assert followed.status_code == 200
    assert (too_many.error, too_many.detail) == (ErrorCode.REDIRECTS, "more than 2 redirects")
    assert (loop.error, loop.detail) == (ErrorCode.REDIRECTS, "more than 10 redirects")
    assert not_followed.verdict is Verdict.OK
    assert not_followed.status_code == 302


@pytest.mark.parametrize("path", ["/huge", "/endless"])
async def test_bodies_beyond_the_cap_fail_too_large_without_reading_them(
    fleet: HostileFleet, ctx: ProbeContext, path: str
) -> None:
    result = await probe(ctx, HttpSpec(url=fleet.url(path)))
    assert (result.error, result.detail) == (ErrorCode.TOO_LARGE, "response exceeded 1 MiB")
    small_cap = await probe(ctx, HttpSpec(url=fleet.url("/"), max_body_bytes=16))
    assert (small_cap.error, small_cap.detail) == (
        ErrorCode.TOO_LARGE,
        "response exceeded 16 bytes",
    )


@pytest.mark.parametrize(
    ("path", "waiting_for"),
    [("/hang", "the response headers"), ("/slow-headers", "the response headers")],
)
async def test_servers_that_stall_time_out_and_say_where(
    fleet: HostileFleet, ctx: ProbeContext, path: str, waiting_for: str
) -> None:
    result = await probe(ctx, HttpSpec(url=fleet.url(path)), limit=0.5)
    assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.TIMEOUT)
    assert result.detail == f"no answer within 0.5 s while waiting for {waiting_for}"
    assert result.timings.total >= 0.5


async def test_accept_then_silence_times_out(fleet: HostileFleet, ctx: ProbeContext) -> None:
    result = await probe(ctx, HttpSpec(url=f"http://127.0.0.1:{fleet.silent_port}/"), 0.3)
    assert result.error is ErrorCode.TIMEOUT


async def test_connection_reset_and_refused_and_garbage(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    reset = await probe(ctx, HttpSpec(url=fleet.url("/reset")))
    refused = await probe(ctx, HttpSpec(url=f"http://127.0.0.1:{fleet.closed_port}/"))
    garbage = await probe(ctx, HttpSpec(url=fleet.url("/garbage")))
    assert reset.error is ErrorCode.RESET
    assert (refused.error, refused.detail) == (
        ErrorCode.REFUSED,
        f"connection refused by 127.0.0.1:{fleet.closed_port}",
    )
    assert garbage.error is ErrorCode.PROTOCOL
    assert garbage.detail.startswith("invalid HTTP response")


async def test_names_that_do_not_resolve_or_point_wrong(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    nxdomain = await probe(ctx, HttpSpec(url=f"http://nope.{DOMAIN}:{fleet.port}/"))
    wrong = await probe(ctx, HttpSpec(url=f"http://wrong.{DOMAIN}:{fleet.port}/"))
    assert nxdomain.error is ErrorCode.DNS
    assert nxdomain.detail.startswith(f"cannot resolve nope.{DOMAIN}")
    assert wrong.error is ErrorCode.REFUSED  # 127.0.0.2: nobody listens there


async def test_ipv4_only_and_ipv6_only(fleet: HostileFleet, ctx: ProbeContext) -> None:
    v4 = await probe(ctx, HttpSpec(url=f"http://shop.{DOMAIN}:{fleet.port}/", ip_version=4))
    v6 = await probe(ctx, HttpSpec(url=f"http://shop.{DOMAIN}:{fleet.port}/", ip_version=6))
    assert v4.verdict is Verdict.OK
    assert v4.address == "127.0.0.1"
    # the fleet listens on 127.0.0.1 only, so the IPv6 address (::1) cannot connect
    assert v6.verdict is Verdict.FAILED
    assert v6.error is ErrorCode.REFUSED


async def test_https_reports_certificate_expiry(fleet: HostileFleet, ctx: ProbeContext) -> None:
    result = await probe(ctx, HttpSpec(url=fleet.tls_url(CertKind.VALID)))
    assert result.verdict is Verdict.OK, result.detail
    assert result.cert_not_after is not None
    assert result.cert_not_after - result.started_at > timedelta(days=80)


@pytest.mark.parametrize(
    ("kind", "detail"),
    [
        (CertKind.EXPIRED, "certificate expired on "),
        (CertKind.SELF_SIGNED, "self-signed certificate"),
        (CertKind.WRONG_HOST, "certificate is for other.example, not localhost"),
    ],
)
async def test_bad_certificates_fail_tls_with_the_reason(
    fleet: HostileFleet, ctx: ProbeContext, kind: CertKind, detail: str
) -> None:
    result = await probe(ctx, HttpSpec(url=fleet.tls_url(kind)))
    assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.TLS)
    assert result.detail.startswith(detail)


async def test_expired_detail_names_the_day(fleet: HostileFleet, ctx: ProbeContext) -> None:
    assert fleet.certs is not None
    expired_on = (fleet.certs.now - timedelta(days=3)).date().isoformat()
    result = await probe(ctx, HttpSpec(url=fleet.tls_url(CertKind.EXPIRED)))
    assert result.detail == f"certificate expired on {expired_on}"


async def test_verification_can_be_switched_off(fleet: HostileFleet, ctx: ProbeContext) -> None:
    spec = HttpSpec(url=fleet.tls_url(CertKind.SELF_SIGNED), verify_tls=False)
    assert (await probe(ctx, spec)).verdict is Verdict.OK


async def test_controllable_site_follows_its_mode(fleet: HostileFleet, ctx: ProbeContext) -> None:
    home = HttpSpec(url=fleet.url("/sites/shop/"))
    checkout = HttpSpec(url=fleet.url("/sites/shop/checkout"), status=((200, 200),))
    assert (await probe(ctx, home)).verdict is Verdict.OK
    fleet.http.site("shop").state = SiteState.BROKEN_CHECKOUT
    assert (await probe(ctx, home)).verdict is Verdict.OK
    assert (await probe(ctx, checkout)).error is ErrorCode.HTTP_STATUS
    fleet.http.site("shop").state = SiteState.DOWN
    assert (await probe(ctx, home)).error is ErrorCode.RESET


async def test_a_site_broken_for_one_hit_heals_itself(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    home = HttpSpec(url=fleet.url("/sites/blip/"))
    site = fleet.http.site("blip")
    site.break_for(SiteState.ERROR, hits=1)
    assert (await probe(ctx, home)).error is ErrorCode.HTTP_STATUS
    assert site.state is SiteState.HEALTHY
    assert (await probe(ctx, home)).verdict is Verdict.OK
    site.break_for(SiteState.DOWN, hits=2)
    assert (await probe(ctx, home)).error is ErrorCode.RESET
    assert (await probe(ctx, home)).error is ErrorCode.RESET
    assert (await probe(ctx, home)).verdict is Verdict.OK
    assert site.hits == 5


async def test_a_json_body_nested_past_the_limit_fails_as_json_limit_not_a_crash(
    fleet: HostileFleet, ctx: ProbeContext
) -> None:
    """50,000 nested arrays once raised RecursionError in the probe every interval, so the
    check stayed unknown and never opened an incident."""
    spec = HttpSpec(url=fleet.url("/json/deep"), json=(JsonExpectation(("status",), "ok"),))
    result = await probe(ctx, spec)
    assert result.verdict is Verdict.FAILED
    assert result.error is ErrorCode.JSON_LIMIT
    assert str(MAX_JSON_DEPTH) in result.detail


@pytest.mark.parametrize(
    ("text", "depth"),
    [
        ('{"a": [1, {"b": []}]}', 4),
        ('{"a": "[[[[[[", "b": "\\\\"}', 1),  # brackets in strings, an escaped backslash
        ('{"a": "\\"[[[["}', 1),  # an escaped quote does not end the string
        ('"[[["', 0),
        ("[" * 70 + "]" * 70, MAX_JSON_DEPTH + 1),  # counting stops past the limit
    ],
)
def test_json_depth_counts_only_structure(text: str, depth: int) -> None:
    assert json_depth(text, MAX_JSON_DEPTH) == depth


def _json_containers(children: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3)


def _depth(document: object) -> int:
    if isinstance(document, list):
        return 1 + max((_depth(item) for item in document), default=0)
    if isinstance(document, dict):
        return 1 + max((_depth(item) for item in document.values()), default=0)
    return 0


@given(st.recursive(st.none() | st.integers() | st.text(), _json_containers, max_leaves=20))
def test_json_depth_agrees_with_the_decoded_document(document: object) -> None:
    assert json_depth(json.dumps(document), 1000) == _depth(document)
