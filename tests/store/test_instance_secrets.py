"""Instance secrets (migration 0046_secret): the first value kept wins, for every caller,
on SQLite and PostgreSQL; the signing secret is generated once per database."""

from __future__ import annotations

from datetime import UTC, datetime

from monitor.config import load_config_text
from monitor.notify.signing import signing_secret, stored_signing_secret
from monitor.store import Store

T0 = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)


async def test_the_first_kept_secret_wins(store: Store) -> None:
    async with store.transaction() as tx:
        assert await tx.web.instance_secret("s") is None
        assert await tx.web.keep_instance_secret("s", "first", T0) == "first"
    async with store.transaction() as tx:
        assert await tx.web.keep_instance_secret("s", "second", T0) == "first"
        assert await tx.web.instance_secret("s") == "first"


CONFIG = """\
vakt: 1
customers:
  acme:
    contacts: [{name: Kari, email: kari@acme.example}]
    sites:
      shop: {url: "https://shop.acme.example", checks: {home: {path: /}}}
"""


async def test_the_signing_secret_is_generated_once_and_read_back(store: Store) -> None:
    config = load_config_text(CONFIG)
    assert await stored_signing_secret(config, store) is None  # read-only: nothing made
    first = await signing_secret(config, store, T0)
    again = await signing_secret(config, store, T0)
    assert first.generated
    assert not again.generated
    assert again.value == first.value == await stored_signing_secret(config, store)
    assert len(first.value) >= 40
