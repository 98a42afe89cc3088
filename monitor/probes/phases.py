"""Phase timings of one probe, kept by the probe itself (plain floats, one clock)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime

from monitor.model import Timings


class Phases:
    """A stopwatch for one probe: DNS, connect, TLS, first byte, total (seconds).

    Redirect hops add up: `dns` and `connect` are the sums over every hop, `first_byte`
    is measured from the start to the final response's headers. `now` is a monotonic
    clock in seconds (the probe context's).
    """

    __slots__ = (
        "_mark",
        "address",
        "cert_not_after",
        "connect",
        "dns",
        "first_byte",
        "now",
        "start",
        "tls",
        "waiting_for",
    )

    def __init__(self, now: Callable[[], float]) -> None:
        self.now = now
        self.start = self._mark = now()
        self.dns: float | None = None
        self.connect: float | None = None
        self.tls: float | None = None
        self.first_byte: float | None = None
        self.waiting_for = "a connection"  # what a timeout interrupted, for the detail
        self.address: str | None = None  # of the last connection (the final redirect hop)
        self.cert_not_after: datetime | None = None

    def connected(self, transport: asyncio.BaseTransport, cert_not_after: datetime | None) -> None:
        """Note the peer's address and (TLS) certificate expiry of a fresh connection."""
        peer = transport.get_extra_info("peername")
        self.address = str(peer[0]) if peer else None
        self.cert_not_after = cert_not_after

    def begin(self, waiting_for: str) -> None:
        self._mark = self.now()
        self.waiting_for = waiting_for

    def elapsed(self) -> float:
        """Seconds since `begin`."""
        return self.now() - self._mark

    def add_dns(self) -> None:
        self.dns = (self.dns or 0.0) + self.now() - self._mark

    def add_connect(self) -> None:
        self.connect = (self.connect or 0.0) + self.now() - self._mark

    def add_tls(self) -> None:
        self.tls = (self.tls or 0.0) + self.now() - self._mark

    def headers_received(self) -> None:
        self.first_byte = self.now() - self.start
        self.waiting_for = "the body"

    def timings(self) -> Timings:
        return Timings(self.dns, self.connect, self.tls, self.first_byte, self.now() - self.start)
