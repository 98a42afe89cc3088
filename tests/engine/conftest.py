"""The engine's tests run on SQLite and PostgreSQL with the store's backend fixtures."""

from tests.store.conftest import backend, pg_available, store

__all__ = ["backend", "pg_available", "store"]
