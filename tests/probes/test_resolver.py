"""The probes' DNS cache, run against the real fleet DNS."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import aiodns
import pytest

from monitor.demo.targets import DOMAIN, HostileFleet
from monitor.probes.context import nameserver
from monitor.probes.resolver import CachingResolver


class Ticks:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def test_ttl_zero_answer_is_kept_for_the_floor_then_asked_again(tmp_path: Path) -> None:
    async with HostileFleet(tmp_path) as fleet:
        fleet.dns.zone.ttl = 0
        ticks = Ticks()
        dns = aiodns.DNSResolver(nameservers=[nameserver(fleet.resolver)])
        cache = CachingResolver(dns, ticks, floor=1.0)
        first = await cache.lookup(f"shop.{DOMAIN}", socket.AF_INET)
        queries = fleet.dns.zone.queries
        fleet.dns.zone.set(f"shop.{DOMAIN}", "A", "198.51.100.7")
        ticks.now += 0.5
        assert await cache.lookup(f"shop.{DOMAIN}", socket.AF_INET) == first
        assert fleet.dns.zone.queries == queries
        ticks.now += 0.6
        again = await cache.lookup(f"shop.{DOMAIN}", socket.AF_INET)
        assert again == ((socket.AF_INET, "198.51.100.7"),)
        dns.cancel()


async def test_concurrent_lookups_share_one_query_and_failures_are_not_cached(
    tmp_path: Path,
) -> None:
    async with HostileFleet(tmp_path) as fleet:
        dns = aiodns.DNSResolver(nameservers=[nameserver(fleet.resolver)])
        cache = CachingResolver(dns, Ticks())
        answers = await asyncio.gather(
            *(cache.lookup(f"shop.{DOMAIN}", socket.AF_INET) for _ in range(20))
        )
        assert fleet.dns.zone.queries == 1
        assert set(answers) == {((socket.AF_INET, "127.0.0.1"),)}
        for _ in range(2):
            with pytest.raises(aiodns.error.DNSError):
                await cache.lookup(f"nope.{DOMAIN}", socket.AF_INET)
        assert fleet.dns.zone.queries == 3
        dns.cancel()
