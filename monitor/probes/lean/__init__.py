"""A lean HTTP/1.1 client for the HTTP probe's hot path (asyncio Protocols, no aiohttp).

    client = LeanClient(resolver, ssl_context, user_agent, clock.monotonic)
    response = await client.fetch(url, phases, follow_redirects=3)   # or FetchError

`parser` (sans I/O) and `decoding` are usable on their own; `client` adds the sockets.
"""

from monitor.probes.lean.client import LeanClient, Response, insecure_context
from monitor.probes.lean.errors import FetchError

__all__ = ["FetchError", "LeanClient", "Response", "insecure_context"]
