"""Loopback ports for servers that a test starts later (a `vakt run` subprocess,
Prometheus, an SMTP sink that is stopped and started again on the same port).

Picking a free port by binding port 0 and closing the socket is a race: between the
pick and the server's bind, the kernel may hand the same port to any other socket (an
outgoing connection's source port, another bind to port 0), and the server then fails
with "address already in use". `free_port()` closes that window: the socket stays open,
bound with SO_REUSEADDR and never listening, for the rest of the test session. The
kernel then gives the port to no bind to port 0 and to no outgoing connection, while a
server that binds it with SO_REUSEADDR (asyncio, uvloop, aiohttp, aiosmtpd and Go all
do) can still listen on it. Nothing listens on a reserved port until its server does, so
it also serves as a port that refuses connections.
"""

from __future__ import annotations

import atexit
import socket

from monitor.demo.targets.fleet import port_of, reserve_port

_reserved: list[socket.socket] = []  # open until the test process exits


def free_port() -> int:
    """A loopback port reserved for this test session (see the module docstring)."""
    holder = reserve_port("127.0.0.1")
    _reserved.append(holder)
    return port_of(holder)


@atexit.register
def _release() -> None:
    for holder in _reserved:
        holder.close()
