"""The secret that signs acknowledge links: one home for where it comes from.

`settings.secret` when the config sets one. Otherwise the secret Vakt generated and keeps
in the store (`instance_secrets`), so every daemon on the database and the CLI sign and
verify with the same value, and a restart keeps every link in a page valid. `vakt run`
generates it on its first start without `settings.secret` (`signing_secret`); read-only
commands only read it (`stored_signing_secret`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, replace
from datetime import datetime

from monitor.config.records import Config
from monitor.store import Store

SECRET_NAME = "ack_signing"  # its row in `instance_secrets`


@dataclass(frozen=True, slots=True)
class SigningSecret:
    """The secret, and whether this call generated it (the first start without
    `settings.secret` on this database: say so once)."""

    value: str
    generated: bool = False


async def signing_secret(config: Config, store: Store, now: datetime) -> SigningSecret:
    """`settings.secret`, else the stored secret, generated and kept now when there is
    none yet (atomically: daemons starting together keep one value). Raises `StoreError`."""
    if config.settings.secret:
        return SigningSecret(config.settings.secret)
    candidate = secrets.token_urlsafe(32)
    async with store.transaction() as tx:
        kept = await tx.web.keep_instance_secret(SECRET_NAME, candidate, now)
    return SigningSecret(kept, generated=kept == candidate)


async def stored_signing_secret(config: Config, store: Store) -> str | None:
    """`settings.secret`, else the stored one; None before any `vakt run` generated it.
    Writes nothing."""
    if config.settings.secret:
        return config.settings.secret
    async with store.transaction(read_only=True) as tx:
        return await tx.web.instance_secret(SECRET_NAME)


def with_secret(config: Config, secret: str) -> Config:
    """`config` signing with `secret` when it sets none itself (what every part that signs
    or verifies a link then reads: `settings.secret`)."""
    if config.settings.secret:
        return config
    return replace(config, settings=replace(config.settings, secret=secret))
