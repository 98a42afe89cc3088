"""Fixtures for the policy tests (the seed agreements live in support.py)."""

from __future__ import annotations

import pytest

from tests.policy.support import Seed, all_seeds


@pytest.fixture(scope="session")
def seeds() -> dict[str, Seed]:
    """The five seed agreements by short name; clocks are shared (they only cache holidays)."""
    return all_seeds()
