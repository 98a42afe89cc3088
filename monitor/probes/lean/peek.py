"""TLS handshakes on a plain non-blocking socket: the TLS probe's, and reading the
certificate a server presents to explain why verification refused it."""

from __future__ import annotations

import asyncio
import contextlib
import socket

from cryptography import x509

from monitor.probes.lean.source import ANY, Source
from monitor.probes.lean.tls import TlsConnection, TlsContext, TlsError

_READ = 16 * 1024


async def shake(loop: asyncio.AbstractEventLoop, sock: socket.socket, tls: TlsConnection) -> None:
    """Run `tls`'s handshake over `sock` (connected, non-blocking). Raises `TlsError`,
    or `OSError` for the socket (`ConnectionResetError` when the peer closes)."""
    while True:
        try:
            done = tls.handshake()
        except TlsError:
            with contextlib.suppress(OSError):  # the alert that says why, if it still goes
                await loop.sock_sendall(sock, tls.outgoing())
            raise
        wire = tls.outgoing()  # the next flight
        if wire:
            await loop.sock_sendall(sock, wire)
        if done:
            return
        data = await loop.sock_recv(sock, _READ)
        if not data:
            raise ConnectionResetError("connection closed during the TLS handshake")
        tls.feed(data)


async def connect(
    loop: asyncio.AbstractEventLoop, address: str, port: int, source: Source = ANY
) -> socket.socket:
    """A non-blocking socket connected to `address` (an IP literal), from `source`."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        source.bind(sock)
        await loop.sock_connect(sock, (address, port))
    except BaseException:
        sock.close()
        raise
    return sock


async def peer_certificate(
    context: TlsContext, address: str, port: int, server_name: str, source: Source = ANY
) -> x509.Certificate | None:
    """The leaf certificate of `address`, read with `context` (which must not verify).

    A handshake driven over memory buffers on a plain socket: no transport, no 256 KiB
    read buffer per connection, so a burst of refused certificates stays cheap. Returns
    None when the server cannot be reached again; the caller's timeout bounds it.
    """
    loop = asyncio.get_running_loop()
    try:
        sock = await connect(loop, address, port, source)
    except OSError:
        return None
    with sock:
        tls = context.connect(server_name)
        try:
            await shake(loop, sock, tls)
        except (OSError, TlsError):
            return None
    der = tls.peer_der()
    return x509.load_der_x509_certificate(der) if der else None
