"""Reading the certificate a server presents, to explain why verification refused it."""

from __future__ import annotations

import asyncio
import socket
import ssl

from cryptography import x509

_READ = 16 * 1024


async def peer_certificate(
    context: ssl.SSLContext, address: str, port: int, server_name: str
) -> x509.Certificate | None:
    """The leaf certificate of `address`, read with `context` (which must not verify).

    A handshake driven over memory buffers on a plain socket: no transport, no 256 KiB
    read buffer per connection, so a burst of refused certificates stays cheap. Returns
    None when the server cannot be reached again; the caller's timeout bounds it.
    """
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        await loop.sock_connect(sock, (address, port))
        der = await _handshake(loop, sock, context, server_name)
    except (OSError, ssl.SSLError):
        return None
    finally:
        sock.close()
    return x509.load_der_x509_certificate(der) if der else None


async def _handshake(
    loop: asyncio.AbstractEventLoop, sock: socket.socket, context: ssl.SSLContext, name: str
) -> bytes | None:
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    tls = context.wrap_bio(incoming, outgoing, server_hostname=name)
    while True:
        try:
            tls.do_handshake()
        except ssl.SSLWantReadError:
            pass
        else:
            return tls.getpeercert(binary_form=True)
        if outgoing.pending:
            await loop.sock_sendall(sock, outgoing.read())
        data = await loop.sock_recv(sock, _READ)
        if not data:
            return None
        incoming.write(data)
