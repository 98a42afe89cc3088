"""Issue 16 item 7: the team overview names configured tokens under 128 bits."""

from __future__ import annotations

from dataclasses import replace

from tests.web.conftest import Client
from tests.web.support import Env, add_password, login


async def test_the_overview_names_a_weak_status_token(env: Env, private: Client) -> None:
    await add_password(env.store)
    await login(private)
    assert "Weak tokens" not in await (await private.get("/")).text()
    acme = env.config.customers["acme"]
    weak = replace(acme, status_page=replace(acme.status_page, token="fixedtoken"))
    customers = {**env.config.customers, "acme": weak}
    env.config = replace(env.config, customers=customers)
    html = await (await private.get("/")).text()
    assert "Weak tokens (1)" in html
    assert "customers.acme.status_page.token" in html
