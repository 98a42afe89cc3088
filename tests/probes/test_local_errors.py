"""Vakt's own trouble during a probe is no evidence about the target (issue 16 items 2, 4).

Out of descriptors (EMFILE) is produced for real: a subprocess with a small descriptor
limit fills its table, then probes real listeners on loopback. A probe bug is a check
whose record asks one probe type to run another's spec: a real path to an exception.
"""

from __future__ import annotations

import asyncio
import json
import logging
import resource
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families

from monitor.config.records import HttpSpec
from monitor.evaluate.checkstate import LocationState, step
from monitor.metrics import MetricsHub
from monitor.model import CheckState, CheckType, ErrorCode, Verdict
from monitor.probes import ProbeContext, run_probe
from monitor.store.aggregates import fold
from tests.evaluate.builders import T0, result
from tests.probes.conftest import make_check

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = textwrap.dedent(
    """
    import asyncio, json, os, sys
    from monitor.clock import SystemClock
    from monitor.config.records import DnsSpec, HostPort, HttpSpec, TcpSpec, TlsSpec
    from monitor.probes import open_probe_context, run_probe
    from monitor.scheduler import run
    from tests.probes.conftest import make_check

    PORT = int(sys.argv[1])
    DNS = HostPort("127.0.0.1", 9)  # nothing answers: a name fails either way
    SPECS = {
        "http": HttpSpec(url=f"http://127.0.0.1:{PORT}/"),
        "http by name": HttpSpec(url=f"http://shop.example:{PORT}/"),
        "dns": DnsSpec(name="shop.example", server=DNS),
        "tcp": TcpSpec(host="127.0.0.1", port=PORT),
        "tls": TlsSpec(host="127.0.0.1", port=PORT),
    }

    async def main():
        async with open_probe_context(SystemClock(), resolver=DNS) as ctx:
            out = {}
            ok = await run_probe(make_check(SPECS["http"]), ctx)
            out["before"] = [ok.verdict, ok.error]
            held = []
            for name, spec in SPECS.items():
                for _ in range(5):  # fill the table, again after closes still pending
                    try:
                        while True:
                            held.append(os.open(os.devnull, os.O_RDONLY))
                    except OSError:
                        pass
                    await asyncio.sleep(0)
                result = await run_probe(make_check(spec), ctx)
                out[name] = [result.verdict, result.error]
            for fd in held:
                os.close(fd)
            print(json.dumps(out))

    run(main)  # uvloop, as `vakt run`
    """
)


def _small_descriptor_table() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    async def hello(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/", hello)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1]
    finally:
        await runner.cleanup()


async def test_problem_2_a_probe_out_of_descriptors_fails_as_local_resource(
    listener: int,
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        _SCRIPT,
        str(listener),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_small_descriptor_table,
    )
    async with asyncio.timeout(60):
        out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()[-2000:]
    seen = json.loads(out)
    assert seen["before"] == [Verdict.OK, None]  # the same listener answers normally
    for kind in ("http", "http by name", "dns", "tcp", "tls"):
        assert seen[kind] == [Verdict.FAILED, ErrorCode.LOCAL_RESOURCE], kind


def test_problem_2_local_resource_results_leave_the_check_state_alone() -> None:
    check = make_check(HttpSpec(url="http://127.0.0.1:9/"))
    healthy = step(LocationState(), result(check.id, Verdict.OK, T0), check)
    state = healthy
    for _ in range(10):
        local = result(check.id, Verdict.FAILED, T0, error=ErrorCode.LOCAL_RESOURCE)
        state = step(state, local, check)
    assert state == healthy
    assert state.state is CheckState.OK


async def test_problem_4_a_probe_that_raises_is_an_internal_result_reported_as_a_bug(
    ctx: ProbeContext, caplog: pytest.LogCaptureFixture
) -> None:
    # A record whose type names another probe than its spec: the TCP probe raises.
    check = replace(make_check(HttpSpec(url="http://127.0.0.1:9/")), type=CheckType.TCP)
    with caplog.at_level(logging.ERROR):
        result = await run_probe(check, ctx)
    assert (result.verdict, result.error) == (Verdict.FAILED, ErrorCode.INTERNAL)
    assert not result.is_evidence
    crashed = [r for r in caplog.records if r.getMessage() == "probe.crashed"]
    assert len(crashed) == 1
    assert crashed[0].exc_info is not None  # with the traceback: Sentry gets the bug
    state = step(LocationState(), result, check)
    assert state == LocationState()


def test_problem_2_local_errors_are_counted_by_reason_and_leave_check_gauges_alone() -> None:
    check = make_check(HttpSpec(url="http://127.0.0.1:9/"))
    hub = MetricsHub(version="1", location="oslo", checks=[check])
    hub.observe_probe(result(check.id, Verdict.OK, T0), 0.0)
    for code in (ErrorCode.LOCAL_RESOURCE, ErrorCode.LOCAL_RESOURCE, ErrorCode.INTERNAL):
        hub.observe_probe(result(check.id, Verdict.FAILED, T0, error=code), 0.0)
    found = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(hub.render().decode())
        for s in family.samples
    }
    assert found[("vakt_probe_local_errors_total", (("reason", "local_resource"),))] == 2
    assert found[("vakt_probe_local_errors_total", (("reason", "internal"),))] == 1
    up = (("check", "home"), ("customer", "acme"), ("site", "shop"))
    assert found[("vakt_check_up", up)] == 1.0


def test_problem_2_local_errors_are_not_downtime_in_the_aggregates() -> None:
    check_id = "acme/shop/home"
    batch = [
        result(check_id, Verdict.OK, T0),
        result(check_id, Verdict.FAILED, T0, error=ErrorCode.LOCAL_RESOURCE),
        result(check_id, Verdict.FAILED, T0, error=ErrorCode.INTERNAL),
    ]
    [aggregate] = fold(batch)
    assert (aggregate.ok, aggregate.failed) == (1, 0)
