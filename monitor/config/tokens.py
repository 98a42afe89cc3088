"""Weak tokens: status-page and heartbeat tokens guessable in fewer than 2^128 tries.

A weak token is a warning, never an error: refusing it at load would stop an upgraded
daemon and break the customers' heartbeat jobs that call the configured URL. `vakt
check-config` prints each one, the daemon counts them (`vakt_weak_tokens`) and the team
overview shows a notice. Neither the API nor the UI creates status-page or heartbeat
tokens (they come from the config only), so nothing else has to refuse weak ones.
"""

from __future__ import annotations

import math
import string
from dataclasses import dataclass

from monitor.config.records import Config

STRONG_BITS = 128
_CLASSES = (
    (frozenset(string.ascii_lowercase), 26),
    (frozenset(string.ascii_uppercase), 26),
    (frozenset(string.digits), 10),
)


def token_bits(token: str) -> float:
    """An upper estimate of a token's strength: its length times log2 of the alphabet its
    character classes span (lower case, upper case, digits, anything else as 32 symbols).
    `secrets.token_urlsafe(16)` gives ~131 bits, `fixedtoken` ~47."""
    chars = set(token)
    alphabet = sum(size for members, size in _CLASSES if chars & members)
    if chars - set(string.ascii_letters + string.digits):
        alphabet += 32
    return len(token) * math.log2(alphabet) if alphabet > 1 else 0.0


def is_weak(token: str) -> bool:
    return token_bits(token) < STRONG_BITS


@dataclass(frozen=True, slots=True)
class WeakToken:
    path: str  # the YAML path of the token (`customers.acme.status_page.token`)
    bits: int  # its estimated strength


def weak_tokens(config: Config) -> list[WeakToken]:
    """Every configured status-page token, heartbeat token and `settings.heartbeat_key`
    estimated under `STRONG_BITS`, in config order."""
    found: list[tuple[str, str]] = []
    if config.settings.heartbeat_key:
        found.append(("settings.heartbeat_key", config.settings.heartbeat_key))
    for customer in config.customers.values():
        if customer.status_page.token:
            found.append((f"customers.{customer.id}.status_page.token", customer.status_page.token))
        for site in customer.sites:
            for check in site.checks:
                token = getattr(check.spec, "token", None)
                if isinstance(token, str) and token:
                    path = f"customers.{customer.id}.sites.{site.name}.checks.{check.name}.token"
                    found.append((path, token))
    return [WeakToken(path, int(token_bits(token))) for path, token in found if is_weak(token)]
