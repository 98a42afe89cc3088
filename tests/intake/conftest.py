"""The web tests' fixtures: a migrated SQLite store, a fixed clock, apps on loopback."""

from tests.web.conftest import env, make_client, private, public

__all__ = ["env", "make_client", "private", "public"]
