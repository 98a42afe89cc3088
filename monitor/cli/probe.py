"""`vakt probe URL|customer/site/check`: probe once and print what a visitor would see."""

from __future__ import annotations

import argparse
import asyncio
from datetime import timedelta

from monitor.cli._common import add_config_option, load_or_report
from monitor.clock import SystemClock
from monitor.config.records import Check, HostPort
from monitor.model import ProbeResult, Verdict
from monitor.probes import open_probe_context, probe_url, run_probe
from monitor.probes.targets import TargetPolicy, target_policy


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "probe",
        help="probe a URL or a configured check once and print the result",
        description="Probe once and print phases, status, certificate and verdict. "
        "Exit 0 when ok, 1 when degraded or failed, 2 on a usage or config error.",
    )
    parser.add_argument("target", help="a URL (http://, https://) or customer/site/check")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds (URL form)")
    parser.add_argument("--ca-file", help="also trust this CA bundle (PEM)")
    parser.add_argument("--resolver", help="DNS server HOST:PORT (default: the system's)")
    add_config_option(parser)
    parser.set_defaults(handler=handle)


def handle(args: argparse.Namespace) -> int:
    target: str = args.target
    resolver = _host_port(args.resolver) if args.resolver else None
    if "://" in target:
        result = asyncio.run(_probe_url(target, args.timeout, resolver, args.ca_file))
    else:
        config = load_or_report(args)
        if config is None:
            return 2
        check = config.check(target)
        if check is None:
            print(f"vakt probe: no check {target!r} in {config.path}")
            return 2
        resolver = resolver or config.settings.resolver
        policy = target_policy(config.settings)
        result = asyncio.run(
            _probe_check(check, config.settings.location, resolver, args.ca_file, policy)
        )
    print(render(result))
    return 0 if result.verdict is Verdict.OK else 1


def _host_port(text: str) -> HostPort:
    host, _, port = text.rpartition(":")
    return HostPort(host.strip("[]") or text, int(port) if port.isdigit() else 53)


async def _probe_url(
    url: str, limit: float, resolver: HostPort | None, ca_file: str | None
) -> ProbeResult:
    async with open_probe_context(SystemClock(), resolver=resolver, ca_file=ca_file) as ctx:
        return await probe_url(url, ctx, limit=limit)


async def _probe_check(
    check: Check,
    location: str,
    resolver: HostPort | None,
    ca_file: str | None,
    policy: TargetPolicy,
) -> ProbeResult:
    async with open_probe_context(
        SystemClock(), location=location, resolver=resolver, ca_file=ca_file, policy=policy
    ) as ctx:
        return await run_probe(check, ctx)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value * 1000:.1f} ms"


def render(result: ProbeResult) -> str:
    """A two-column table a person reads at a glance."""
    t = result.timings
    rows = [
        ("check", result.check_id),
        ("verdict", result.verdict.value.upper()),
        ("error", result.error.value if result.error else "-"),
        ("detail", result.detail or "-"),
        ("status", str(result.status_code) if result.status_code is not None else "-"),
        ("size", f"{result.response_bytes} bytes" if result.response_bytes is not None else "-"),
        ("address", result.address or "-"),
        ("certificate", _cert(result)),
        ("dns", _ms(t.dns)),
        ("connect", _ms(t.connect)),
        ("tls", _ms(t.tls)),
        ("first byte", _ms(t.first_byte)),
        ("total", _ms(t.total)),
        ("started", result.started_at.isoformat(timespec="seconds")),
    ]
    width = max(len(name) for name, _ in rows)
    return "\n".join(f"{name.ljust(width)}  {value}" for name, value in rows)


def _cert(result: ProbeResult) -> str:
    not_after = result.cert_not_after
    if not_after is None:
        return "-"
    left = not_after - result.started_at
    days = left // timedelta(days=1)
    return f"valid until {not_after.date().isoformat()} ({days} days left)"
