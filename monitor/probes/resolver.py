"""Name resolution for probes: one aiodns channel and a small cache of positive answers.

Every probe of a host name needs its addresses; asking the DNS server for each probe
costs two queries (A and AAAA) and a hand-off from c-ares's thread. Like a browser, a
stub resolver or blackbox_exporter's Go resolver, Vakt keeps an answer for its TTL. An
answer with a TTL under `floor` (TTL 0 included) is kept for `floor` seconds, so a zone
change is seen by the probes at most `max(TTL, floor)` later. Failures are never cached:
the next probe asks again, so a name that stops resolving fails at once and a name that
comes back recovers at once.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from functools import partial
from typing import Any

import aiodns

Addresses = tuple[tuple[socket.AddressFamily, str], ...]
"""(family, address) pairs in the resolver's order, duplicates removed."""

_Key = tuple[str, socket.AddressFamily]


def addresses_of(answer: Any) -> Addresses:
    """The addresses of a pycares `getaddrinfo` answer (its `nodes`), first seen first."""
    seen: dict[tuple[socket.AddressFamily, str], None] = {}
    for node in answer.nodes:
        seen[(socket.AddressFamily(node.family), node.addr[0].decode())] = None
    return tuple(seen)


def ttl_of(answer: Any) -> float:
    """The smallest TTL of the answer's addresses (0 when it carries none)."""
    return float(min((node.ttl for node in answer.nodes), default=0))


class CachingResolver:
    """Host name -> addresses on one aiodns channel; positive answers kept for their TTL.

    Concurrent lookups of one (name, family) share one query; a waiter that is cancelled
    (its probe timed out) does not cancel the query for the others. At most `max_entries`
    answers are kept (expired ones are dropped first, then all).
    """

    __slots__ = ("_cache", "_dns", "_floor", "_max_entries", "_now", "_pending")

    def __init__(
        self,
        dns: aiodns.DNSResolver,
        now: Callable[[], float],
        *,
        floor: float = 1.0,
        max_entries: int = 65536,
    ) -> None:
        self._dns = dns
        self._now = now  # monotonic seconds
        self._floor = floor
        self._max_entries = max_entries
        self._cache: dict[_Key, tuple[float, Addresses]] = {}
        self._pending: dict[_Key, asyncio.Future[Any]] = {}

    @property
    def dns(self) -> aiodns.DNSResolver:
        return self._dns

    async def lookup(self, host: str, family: socket.AddressFamily) -> Addresses:
        """The addresses of `host`; raises `aiodns.error.DNSError` when it does not resolve.

        The answer may be empty (a name with no address of that family).
        """
        key = (host, family)
        cached = self._cache.get(key)
        if cached is not None and cached[0] > self._now():
            return cached[1]
        query = self._pending.get(key)
        if query is None:
            query = self._dns.getaddrinfo(host, family=family, type=socket.SOCK_STREAM)
            self._pending[key] = query
            query.add_done_callback(partial(self._answered, key))
        return addresses_of(await asyncio.shield(query))

    def _answered(self, key: _Key, query: asyncio.Future[Any]) -> None:
        del self._pending[key]
        if query.cancelled() or query.exception() is not None:
            return  # not cached: the next probe asks again
        answer = query.result()
        if len(self._cache) >= self._max_entries:
            self._evict()
        expires = self._now() + max(ttl_of(answer), self._floor)
        self._cache[key] = (expires, addresses_of(answer))

    def _evict(self) -> None:
        now = self._now()
        for key in [k for k, (expires, _) in self._cache.items() if expires <= now]:
            del self._cache[key]
        if len(self._cache) >= self._max_entries:
            self._cache.clear()
