"""`vakt run` keeps malloc to one arena on glibc (`tune_malloc`), unless told otherwise."""

from __future__ import annotations

import platform

import pytest

from monitor.app import tune_malloc


def test_an_arena_limit_in_the_environment_is_left_as_it_is() -> None:
    assert tune_malloc({"MALLOC_ARENA_MAX": "4"}) is False


@pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only"
)
def test_glibc_takes_the_one_arena_limit() -> None:
    assert tune_malloc({}) is True
