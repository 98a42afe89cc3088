"""Which settings a reload adopts and which need a restart (`config.reloading`)."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from monitor.config import load_config_text
from monitor.config.records import ApiToken, Scope, WebLimits
from monitor.config.reloading import keep_start_only, restart_keys
from tests.config.test_fuzz import CUSTOMER


def test_a_changed_listener_limit_needs_a_restart_but_api_tokens_are_adopted() -> None:
    running = load_config_text(CUSTOMER)
    old = running.settings
    web = replace(
        old.web,
        limits=WebLimits(header_timeout=timedelta(seconds=3)),
        api_tokens=(ApiToken("grafana", "0" * 64, Scope.READ),),
    )
    new = replace(running, settings=replace(old, web=web, busy_timeout=timedelta(seconds=2)))

    assert restart_keys(old, new.settings) == ["settings.busy_timeout", "settings.web.limits"]
    adopted = keep_start_only(old, new)
    assert adopted.settings.web.limits == old.web.limits
    assert adopted.settings.busy_timeout == old.busy_timeout
    assert adopted.settings.web.api_tokens == web.api_tokens
