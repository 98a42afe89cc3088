"""Issue 16 item 7: sizes are bounded at load (`max_body` at most 64 MiB)."""

from __future__ import annotations

import pytest

from monitor.config import ConfigError, load_config_text

BASE = """\
vakt: 1
settings: {{timezone: UTC}}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari, email: kari@acme.example}}]
    status_page: {{token: {status}}}
    sites:
      shop:
        url: https://shop.example
        checks:
          home: {{path: /, max_body: {size}}}
          cron: {{type: heartbeat, every: 1h, token: {beat}}}
"""
STRONG = "Kq3vN8xZp2LmR7tY4wB9cD1fG6hJ0sA"  # 31 of 62 symbols: ~185 bits


def load(size: str = "1MiB", status: str = STRONG, beat: str = STRONG + "x") -> object:
    return load_config_text(BASE.format(size=size, status=status, beat=beat))


@pytest.mark.parametrize("size", ["99999999999GiB", "65GiB", f"{(64 << 20) + 1}"])
def test_problem_7_a_size_past_the_bound_is_an_error_at_its_line(size: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load(size=size)
    [issue] = caught.value.issues
    assert issue.line == 12
    assert issue.path.endswith("checks.home.max_body")


def test_a_size_within_the_bound_loads() -> None:
    load(size="64MiB")
