"""The probe target policy: deny/allow networks and the default redirect rule (item 6).

Everything here runs on loopback, so "public" cannot be reached for real: the default
rule is tested as the pure function it is, and the policy's lists against real
listeners on 127.0.0.1 and 127.0.0.2 (Linux answers on all of 127.0.0.0/8).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from ipaddress import ip_network

import pytest
from aiohttp import web

from monitor.clock import SystemClock
from monitor.config.records import HostPort, HttpSpec, TcpSpec, TlsSpec
from monitor.model import ErrorCode, Verdict
from monitor.probes import open_probe_context, run_probe
from monitor.probes.targets import AddressClass, TargetPolicy, classify, redirect_allowed
from tests.probes.conftest import make_check


async def _serve(app: web.Application, host: str) -> tuple[web.AppRunner, int]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, 0).start()
    return runner, runner.addresses[0][1]


@pytest.fixture
async def redirect_to_second_loopback() -> AsyncIterator[str]:
    """A URL on 127.0.0.1 that redirects to a healthy page on 127.0.0.2."""

    async def page(_: web.Request) -> web.Response:
        return web.Response(text="inside")

    inner = web.Application()
    inner.router.add_get("/", page)
    inner_runner, inner_port = await _serve(inner, "127.0.0.2")

    async def redirect(_: web.Request) -> web.Response:
        raise web.HTTPFound(f"http://127.0.0.2:{inner_port}/")

    outer = web.Application()
    outer.router.add_get("/", redirect)
    outer_runner, outer_port = await _serve(outer, "127.0.0.1")
    try:
        yield f"http://127.0.0.1:{outer_port}/"
    finally:
        await outer_runner.cleanup()
        await inner_runner.cleanup()


async def test_problem_6_a_redirect_into_a_denied_network_is_blocked(
    redirect_to_second_loopback: str,
) -> None:
    check = make_check(HttpSpec(url=redirect_to_second_loopback))
    async with open_probe_context(SystemClock()) as ctx:
        followed = await run_probe(check, ctx)
    policy = TargetPolicy(deny=(ip_network("127.0.0.2/32"),))
    async with open_probe_context(SystemClock(), policy=policy) as ctx:
        blocked = await run_probe(check, ctx)
    assert (followed.verdict, followed.status_code) == (Verdict.OK, 200)
    assert (blocked.verdict, blocked.error) == (Verdict.FAILED, ErrorCode.BLOCKED)
    assert "127.0.0.2" in blocked.detail


async def test_problem_6_a_check_whose_own_url_is_denied_is_blocked_and_allow_does_not_win(
    redirect_to_second_loopback: str,
) -> None:
    net = (ip_network("127.0.0.0/8"),)
    check = make_check(HttpSpec(url=redirect_to_second_loopback))
    async with open_probe_context(SystemClock(), policy=TargetPolicy(allow=net, deny=net)) as ctx:
        result = await run_probe(check, ctx)
    assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.BLOCKED)


@pytest.mark.parametrize(
    ("source", "target", "allowed"),
    [
        (None, "loopback", True),  # a check's own URL on loopback: monitoring internals
        (None, "own", True),
        ("public", "public", True),
        ("public", "private", True),
        ("public", "loopback", False),
        ("public", "link_local", False),
        ("public", "own", False),
        ("private", "loopback", True),
        ("loopback", "own", True),
    ],
)
def test_problem_6_the_default_rule_refuses_public_to_loopback_link_local_and_own(
    source: str | None, target: str, allowed: bool
) -> None:
    origin = AddressClass(source) if source else None
    assert redirect_allowed(origin, AddressClass(target)) is allowed


def test_problem_6_a_public_name_rebound_to_loopback_is_refused_like_a_redirect() -> None:
    assert classify("93.184.216.34") is AddressClass.PUBLIC
    assert classify("10.1.2.3") is AddressClass.PRIVATE
    assert classify("::ffff:127.0.0.1") is AddressClass.LOOPBACK
    assert classify("169.254.169.254") is AddressClass.LINK_LOCAL
    policy = TargetPolicy(own=(HostPort("0.0.0.0", 8080),))
    assert policy.refusal("127.0.0.1", 5432, None, "db.internal.example") is None
    assert policy.refusal("93.184.216.34", 80, None, "shop.example") is None
    assert policy.refusal("127.0.0.1", 80, None, "shop.example") is not None  # rebinding
    assert policy.refusal("127.0.0.1", 8080, AddressClass.PUBLIC) is not None
    assert policy.refusal("10.0.0.5", 8080, AddressClass.PUBLIC) is not None  # Vakt's own
    assert policy.refusal("10.0.0.5", 8081, AddressClass.PUBLIC) is None
    allowing = TargetPolicy(allow=(ip_network("127.0.0.1/32"),))
    assert allowing.refusal("127.0.0.1", 80, AddressClass.PUBLIC) is None


async def test_tcp_and_tls_checks_honour_the_deny_list_too() -> None:
    async def page(_: web.Request) -> web.Response:
        return web.Response(text="inside")

    app = web.Application()
    app.router.add_get("/", page)
    runner, port = await _serve(app, "127.0.0.2")
    try:
        tcp = make_check(TcpSpec(host="127.0.0.2", port=port))
        tls = make_check(TlsSpec(host="127.0.0.2", port=port))
        async with open_probe_context(SystemClock()) as ctx:
            reached = await run_probe(tcp, ctx)
        policy = TargetPolicy(deny=(ip_network("127.0.0.2/32"),))
        async with open_probe_context(SystemClock(), policy=policy) as ctx:
            blocked = [await run_probe(check, ctx) for check in (tcp, tls)]
    finally:
        await runner.cleanup()
    assert reached.verdict is Verdict.OK
    assert [(r.verdict, r.error) for r in blocked] == [(Verdict.FAILED, ErrorCode.BLOCKED)] * 2
