"""A lean HTTP/1.1 client for the HTTP probe's hot path (asyncio Protocols, no aiohttp).

    client = LeanClient(resolver, TlsContext(ca_file), user_agent, clock.monotonic)
    response = await client.fetch(url, phases, follow_redirects=3)   # or FetchError

`parser` (sans I/O) and `decoding` are usable on their own; `client` adds the sockets.
"""

from monitor.probes.lean.client import LeanClient, Response
from monitor.probes.lean.errors import FetchError
from monitor.probes.lean.tls import TlsContext, TlsError

__all__ = ["FetchError", "LeanClient", "Response", "TlsContext", "TlsError"]
