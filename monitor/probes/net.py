"""Name resolution and connection helpers for the TLS and TCP probes."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiodns

from monitor.model import ErrorCode
from monitor.probes.lean.errors import connect_error, raise_if_local
from monitor.probes.phases import Phases
from monitor.probes.targets import TargetPolicy

T = TypeVar("T")


class ResolveError(Exception):
    """A name that did not resolve; the message is the human detail."""


class Blocked(Exception):
    """The probe target policy refused every address; the message is the human detail."""


async def resolve(dns: aiodns.DNSResolver, host: str, phases: Phases) -> list[str]:
    """The addresses of `host` in the resolver's order; an IP literal is its own answer."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        return [host]
    phases.begin("the name to resolve")
    try:
        answer = await dns.getaddrinfo(host, family=socket.AF_UNSPEC, type=socket.SOCK_STREAM)
    except aiodns.error.DNSError as exc:
        raise_if_local()
        message = exc.args[1] if len(exc.args) > 1 else str(exc)
        raise ResolveError(f"cannot resolve {host}: {message}") from exc
    phases.add_dns()
    addresses = list(dict.fromkeys(node.addr[0].decode() for node in answer.nodes))
    if not addresses:
        raise ResolveError(f"cannot resolve {host}: no address")
    return addresses


async def first_reachable(
    addresses: list[str], connect: Callable[[str], Awaitable[T]]
) -> tuple[T, str]:
    """Connect to each address in turn (like a browser's fallback); the last error wins."""
    error: OSError | None = None
    for address in addresses:
        try:
            return await connect(address), address
        except OSError as exc:
            error = exc
    assert error is not None  # `resolve` never returns an empty list
    raise error


def connect_problem(exc: OSError, address: str, port: int) -> tuple[ErrorCode, str]:
    """Why no connection could be made (the lean client's rule: refused, reset, local)."""
    error = connect_error(exc, address, port)
    return error.code, error.detail


def permitted(policy: TargetPolicy, addresses: list[str], port: int, host: str) -> list[str]:
    """The addresses of `host` the target policy allows (raises `Blocked` for none)."""
    kept: list[str] = []
    refusal: str | None = None
    for address in addresses:
        why = policy.refusal(address, port, None, None if address == host else host)
        if why is None:
            kept.append(address)
        else:
            refusal = refusal or why
    if not kept:
        raise Blocked(refusal or f"{host}: no permitted address")
    return kept
