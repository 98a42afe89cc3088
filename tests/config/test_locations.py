"""A site's `locations`: with SQLite only `settings.location` (one instance); with
PostgreSQL any location, probed by the instances started with `--location NAME`."""

from __future__ import annotations

import pytest

from monitor.config import ConfigError
from monitor.config.loader import load_config_text

SITE = """\
vakt: 1
settings:
  timezone: UTC
  location: oslo
  store: "{store}"
customers:
  acme:
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: https://shop.acme.example
        locations: [oslo, frankfurt]
        checks:
          home: {{path: /}}
      blog:
        url: https://blog.acme.example
        checks:
          home: {{path: /}}
"""


def test_postgresql_lets_a_site_name_any_location() -> None:
    config = load_config_text(SITE.format(store="postgresql://vakt@db.example/vakt"))
    sites = {s.id: s for s in config.sites()}
    assert sites["acme/shop"].locations == ("oslo", "frankfurt")
    assert sites["acme/blog"].locations == ("oslo",)  # settings.location: the default


def test_sqlite_keeps_the_single_location() -> None:
    with pytest.raises(ConfigError, match="need the PostgreSQL cluster"):
        load_config_text(SITE.format(store="sqlite:////tmp/vakt.db"))
