"""Where probe connections come from: `vakt run --probe-source-address ADDR` binds every
probe's outgoing connection (HTTP, TCP, TLS, and the re-read of a refused certificate)
to one local address, on multi-homed hosts and in tests that give each probe location
its own loopback address. The one home of that rule: the probes' connectors ask it.
DNS queries are not bound (they go to the resolver as configured)."""

from __future__ import annotations

import socket
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Source:
    """The local address of probe connections; `address` None: the system chooses."""

    address: str | None = None

    @property
    def family(self) -> int:
        if self.address is None:
            return socket.AF_UNSPEC
        return socket.AF_INET6 if ":" in self.address else socket.AF_INET

    def local_addr(self, family: int) -> tuple[str, int] | None:
        """What to bind a connection of `family` to: None without a source address, or
        when the target's family differs (an IPv6 target from an IPv4 source)."""
        if self.address is None or family not in (self.family, socket.AF_UNSPEC):
            return None
        return (self.address, 0)

    def local_addr_for(self, address: str) -> tuple[str, int] | None:
        """`local_addr` for a connection to the IP literal `address`."""
        return self.local_addr(socket.AF_INET6 if ":" in address else socket.AF_INET)

    def local_infos(self) -> list[tuple[int, int, int, str, tuple[str, int]]] | None:
        """The source as address infos (happy eyeballs' `local_addr_infos`)."""
        if self.address is None:
            return None
        return [(self.family, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (self.address, 0))]

    def bind(self, sock: socket.socket) -> None:
        """Bind `sock` (not connected yet) to the source address of its family."""
        local = self.local_addr(sock.family)
        if local is not None:
            sock.bind(local)


ANY = Source()
"""No source address: the system chooses (the default)."""


__all__ = ["ANY", "Source"]
