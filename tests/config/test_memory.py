"""A compiled http check costs well under a kilobyte, so 100k checks fit in ~100 MB.

These are memory bounds, not timings: the numbers do not depend on the machine's speed.
"""

from __future__ import annotations

import gc
import os
import sys
import tracemalloc
from collections.abc import Iterator
from enum import Enum
from pathlib import Path
from typing import Any

import pytest

from monitor.config import Config, ConfigError, load_config, load_config_text
from monitor.config.records import HttpSpec

CHECKS_PER_SITE = 5
BUDGET = 1024  # bytes per check


def fleet(sites: int) -> str:
    """One customer with `sites` sites of five http checks each, as people write them."""
    lines = [
        "customers:",
        "  acme:",
        "    contacts: [{name: Kari Nordmann, email: kari@acme.example}]",
        "    sites:",
    ]
    for n in range(sites):
        lines += [
            f"      site{n}:",
            f"        url: https://site{n}.acme.example",
            "        checks:",
            "          home: {path: /, expect: {status: 200, max_response_time: 3s}}",
            "          checkout: {path: /checkout, expect: {status: [200, 302]}, impact: function}",
            "          search: {path: /search, expect: {body_contains: results}, interval: 5m}",
            "          api: {path: /api/health, expect: {json: {status: ok}}, impact: function}",
            "          admin: {path: /wp-admin/, method: HEAD, follow_redirects: 0}",
        ]
    return "\n".join(lines) + "\n"


def retained(text: str) -> tuple[int, Config]:
    """Bytes still allocated after loading `text`, while the Config is alive."""
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        config = load_config_text(text)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    return after - before, config


def test_each_compiled_http_check_costs_under_a_kilobyte() -> None:
    load_config_text(fleet(2))  # warm the parsers' caches and lazy imports first
    small, one = retained(fleet(1))
    large, many = retained(fleet(500))

    extra_checks = len(many.checks()) - len(one.checks())
    per_check = (large - small) / extra_checks

    assert extra_checks == 499 * CHECKS_PER_SITE
    assert all(isinstance(check.spec, HttpSpec) for check in many.checks())
    assert 0 < per_check < BUDGET, f"{per_check:.0f} bytes per check"


# ---------------------------------------------------------------- a deep sizeof


def own_objects(root: Any, shared: set[int]) -> Iterator[Any]:
    """`root` and every object it reaches through slots and containers, except shared ones."""
    stack, seen = [root], set[int]()
    while stack:
        obj = stack.pop()
        if id(obj) in seen or id(obj) in shared or is_singleton(obj):
            continue
        seen.add(id(obj))
        yield obj
        stack.extend(children(obj))


def is_singleton(obj: Any) -> bool:
    return (
        obj is None
        or isinstance(obj, bool | Enum | type)
        or (isinstance(obj, int) and -5 <= obj <= 256)
    )


def children(obj: Any) -> list[Any]:
    if isinstance(obj, tuple | list | frozenset | set):
        return list(obj)
    if isinstance(obj, dict):
        return [*obj.keys(), *obj.values()]
    slots = getattr(type(obj), "__slots__", ())
    return [getattr(obj, name) for name in slots if hasattr(obj, name)]


def test_a_checks_own_objects_take_under_a_kilobyte() -> None:
    config = load_config_text(fleet(50))
    checks = config.checks()
    # Objects reachable from more than one check (enums, interned names, cached durations,
    # the default status range) are shared: they cost nothing per check.
    counts: dict[int, int] = {}
    for check in checks:
        for obj in own_objects(check, set()):
            counts[id(obj)] = counts.get(id(obj), 0) + 1
    shared = {key for key, count in counts.items() if count > 1}

    sizes = [sum(sys.getsizeof(o) for o in own_objects(check, shared)) for check in checks]

    assert max(sizes) < BUDGET, f"largest check: {max(sizes)} bytes"
    assert min(sizes) > 100  # it did measure something: the record and its spec at least


# ------------------------------------------------- the daemon's load, in a child process


def isolated(path: Path) -> Config:
    from monitor.config.isolated import load_config_isolated

    return load_config_isolated(str(path), {})


def test_a_config_loaded_in_a_child_process_is_the_config_loaded_here(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    path.write_text(fleet(20))

    config = isolated(path)

    assert config == load_config(str(path), {})
    assert len(config.checks()) == 20 * CHECKS_PER_SITE
    assert config.customers["acme"].sites[3].checks[1].id == "acme/site3/checkout"


def test_a_child_process_reports_each_problem_with_its_file_line_and_key(tmp_path: Path) -> None:
    path = tmp_path / "checks.yaml"
    text = fleet(3).replace("interval: 5m", "interval: soon", 1)
    path.write_text(text.replace("method: HEAD", "methd: HEAD", 1))

    with pytest.raises(ConfigError) as caught:
        isolated(path)

    with pytest.raises(ConfigError) as here:
        load_config(str(path), {})
    assert caught.value.issues == here.value.issues
    assert [(i.file, i.line, i.path) for i in caught.value.issues] == [
        (str(path), 10, "customers.acme.sites.site0.checks.search.interval"),
        (str(path), 12, "customers.acme.sites.site0.checks.admin.methd"),
    ]


def test_equal_settings_of_many_checks_and_sites_are_one_object() -> None:
    text = """\
customers:
  acme:
    contacts: [{name: Kari Nordmann, email: kari@acme.example}]
    sites:
      shop: {url: 'https://acme.example', checks: {home: {path: /}, api: {path: /api}}}
      blog: {url: 'https://acme.example', checks: {home: {path: /}, api: {path: /v2}}}
"""
    shop, blog = load_config_text(text).customers["acme"].sites
    (shop_home, shop_api), (blog_home, blog_api) = shop.checks, blog.checks

    assert shop_home.spec is blog_home.spec  # the same URL and expectations
    assert shop_api.spec != blog_api.spec
    assert shop.slow is not None
    assert shop.slow is blog.slow
    assert shop.locations is blog.locations
    assert shop.quorum is blog.quorum
    assert shop_home.label is blog_home.label
    assert shop_home.name is blog_home.name
    assert shop.label is blog.label  # both named after their host
    assert shop_home.id != blog_home.id


def test_a_load_leaves_its_objects_in_the_oldest_generation() -> None:
    # Else the first collection after the load is a young pass over every object it made
    # (millions at 100,000 checks), and the survivors wait in the middle generation for
    # another. A frozen daemon is left alone (see the loader).
    assert gc.get_freeze_count() == 0
    gc.collect()
    config = load_config_text(fleet(400))
    young = len(gc.get_objects(generation=0)) + len(gc.get_objects(generation=1))

    assert len(config.checks()) == 400 * CHECKS_PER_SITE
    assert young < 2000, young  # a few from this test; the load made ~100,000


def test_a_child_process_that_dies_leaves_the_load_to_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from monitor.config import isolated as module

    path = tmp_path / "checks.yaml"
    path.write_text(fleet(3))
    # the fault: the child exits without an answer (as if killed while loading)
    monkeypatch.setattr(module, "_answer", lambda fd, p, env: os._exit(3))

    with caplog.at_level("WARNING", logger="monitor.config.isolated"):
        config = isolated(path)

    assert config == load_config(str(path), {})
    assert [r.getMessage() for r in caplog.records] == ["config.isolated_load_failed"]
