"""What every probe shares: the lean HTTP client, resolvers, the TLS context, the clock.

`open_probe_context()` (an async context manager) is called once by the composition
root. Probes read the context and never change it, except for the per-server resolver
cache, which only grows to the number of distinct DNS servers named in the config.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import aiodns

from monitor import __version__
from monitor.clock import Clock
from monitor.config.records import HostPort
from monitor.probes.lean import LeanClient
from monitor.probes.lean.source import ANY, Source
from monitor.probes.lean.tls import TlsContext
from monitor.probes.resolver import CachingResolver
from monitor.probes.targets import TargetPolicy

USER_AGENT = f"Vakt/{__version__}"


@dataclass(frozen=True, slots=True)
class Beat:
    """The last ping a heartbeat check received."""

    at: datetime
    failed: bool = False  # the job called `/fail`


class HeartbeatLog(Protocol):
    """Read-only view of the last beat per check (the store implements it later)."""

    def last(self, check_id: str) -> Beat | None: ...


class InMemoryHeartbeatLog:
    """A `HeartbeatLog` in memory: tests, `vakt probe` and the demo."""

    __slots__ = ("_beats",)

    def __init__(self) -> None:
        self._beats: dict[str, Beat] = {}

    def record(self, check_id: str, at: datetime, *, failed: bool = False) -> None:
        self._beats[check_id] = Beat(at, failed)

    def last(self, check_id: str) -> Beat | None:
        return self._beats.get(check_id)


def nameserver(server: HostPort) -> str:
    """c-ares server syntax: `1.2.3.4:53`, `[::1]:5353`."""
    return str(server)


class ProbeContext:
    """Shared probe dependencies. Build it with `open_probe_context`, never per probe."""

    __slots__ = (
        "_resolvers",
        "clock",
        "dns",
        "heartbeats",
        "http",
        "location",
        "policy",
        "resolver_server",
        "source",
        "started_at",
        "tls",
        "unverified",
    )

    def __init__(
        self,
        *,
        dns: aiodns.DNSResolver,
        resolver_server: HostPort | None,
        tls: TlsContext,
        clock: Clock,
        location: str,
        heartbeats: HeartbeatLog,
        http: LeanClient | None = None,
        policy: TargetPolicy | None = None,
        source: Source = ANY,
    ) -> None:
        self.tls = tls  # verifying: the system's CAs (and the demo's or tests' own)
        self.source = source  # the local address of every probe connection
        self.unverified = TlsContext(verify=False)  # to read a refused certificate
        self.policy = policy or TargetPolicy()  # where probes may connect
        # the HTTP probe's client; by default on its own caching resolver over `dns`
        self.http = http or LeanClient(
            CachingResolver(dns, clock.monotonic),
            tls,
            USER_AGENT,
            clock.monotonic,
            unverified=self.unverified,
            policy=self.policy,
            source=source,
        )
        self.dns = dns
        self.resolver_server = resolver_server
        self.clock = clock
        self.location = location
        self.heartbeats = heartbeats
        self.started_at = clock.now()
        self._resolvers: dict[HostPort, aiodns.DNSResolver] = {}

    def dns_for(self, server: HostPort | None) -> aiodns.DNSResolver:
        """The resolver for `server` (one channel per distinct server, kept for reuse)."""
        if server is None or server == self.resolver_server:
            return self.dns
        resolver = self._resolvers.get(server)
        if resolver is None:
            resolver = aiodns.DNSResolver(nameservers=[nameserver(server)])
            self._resolvers[server] = resolver
        return resolver

    def close_resolvers(self) -> None:
        for resolver in self._resolvers.values():
            resolver.cancel()
        self._resolvers.clear()


@asynccontextmanager
async def open_probe_context(
    clock: Clock,
    *,
    location: str = "default",
    resolver: HostPort | None = None,
    heartbeats: HeartbeatLog | None = None,
    ca_file: str | None = None,
    policy: TargetPolicy | None = None,
    source_address: str | None = None,
) -> AsyncIterator[ProbeContext]:
    """Build the shared client and resolver; close the resolvers on exit.

    `resolver` is `settings.resolver` (None: the system's resolvers); `ca_file` adds a
    trusted CA (the demo and tests use their own); `policy` says where HTTP probes may
    connect (None: the default rule only, see `monitor.probes.targets`);
    `source_address` binds every probe connection to that local address
    (`monitor.probes.lean.source`; None: the system chooses).
    """
    dns = aiodns.DNSResolver(nameservers=[nameserver(resolver)] if resolver else None)
    ctx = ProbeContext(
        dns=dns,
        resolver_server=resolver,
        tls=TlsContext(ca_file),
        clock=clock,
        location=location,
        heartbeats=heartbeats if heartbeats is not None else InMemoryHeartbeatLog(),
        policy=policy,
        source=Source(source_address),
    )
    try:
        yield ctx
    finally:
        ctx.close_resolvers()
        dns.cancel()
