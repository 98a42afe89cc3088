"""Check bodies written alike are validated and compiled once, and still mean the same.

At 100,000 checks most bodies repeat from site to site (`home: {path: /}`); the compiler
validates each distinct body once (`_Compiler.check_body`). These tests hold what that
must not change: every check keeps its own site, bodies that differ in any value stay
apart, and a problem is reported at every place it is written.
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from monitor.config import ConfigError, load_config_text
from monitor.config import compile as compiler
from monitor.config.records import Config, HttpSpec, TlsSpec
from monitor.config.source import Locator
from tests.config.test_loader import MINIMAL

HEAD = MINIMAL[: MINIMAL.index("      shop:")]  # settings, one customer, `sites:`


def sites(checks: dict[str, list[str]]) -> str:
    """The config of `HEAD` with these sites (`https://NAME.acme.example`) and checks."""
    lines = [HEAD.rstrip("\n")]
    for name, bodies in checks.items():
        lines += [f"      {name}:", f"        url: https://{name}.acme.example", "        checks:"]
        lines += [f"          {body}" for body in bodies]
    return "\n".join(lines) + "\n"


TEMPLATE = ["home: {path: /, expect: {status: 200}}", "tls: {type: tls}"]
THREE_SITES = sites({"one": TEMPLATE, "two": TEMPLATE, "three": TEMPLATE})


def errors_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        load_config_text(textwrap.dedent(text))
    return [str(issue) for issue in caught.value.issues]


def counting_validations(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    seen: list[Any] = []
    real = compiler.validate

    def counted(model: Any, data: Any, *args: Any) -> Any:
        seen.append(data)
        return real(model, data, *args)

    monkeypatch.setattr(compiler, "validate", counted)
    return seen


def spec(config: Config, check_id: str) -> Any:
    return next(c.spec for c in config.checks() if c.id == check_id)


def test_bodies_written_alike_are_validated_once_and_keep_their_own_site(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validated = counting_validations(monkeypatch)
    config = load_config_text(THREE_SITES)
    assert len(validated) == 2  # six checks, two distinct bodies
    for site in ("one", "two", "three"):
        home = spec(config, f"acme/{site}/home")
        assert isinstance(home, HttpSpec)
        assert home.url == f"https://{site}.acme.example/"
        assert home.status == ((200, 200),)
        tls = spec(config, f"acme/{site}/tls")
        assert isinstance(tls, TlsSpec)
        assert tls.host == f"{site}.acme.example"


def test_bodies_that_differ_in_one_value_are_not_shared(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    validated = counting_validations(monkeypatch)
    other = ["home: {path: /, expect: {status: 201}}", "tls: {type: tls}"]
    text = sites({"one": TEMPLATE, "two": other, "three": TEMPLATE})
    config = load_config_text(text)
    assert len(validated) == 3
    assert spec(config, "acme/one/home").status == ((200, 200),)
    assert spec(config, "acme/two/home").status == ((201, 201),)
    assert spec(config, "acme/three/home").status == ((200, 200),)


def test_an_empty_value_and_an_empty_string_are_different_bodies() -> None:
    bodies = [
        "a: {path: /, expect: {body_contains: }}",
        "b: {path: /, expect: {body_contains: ''}}",
    ]
    config = load_config_text(sites({"shop": bodies}))
    assert spec(config, "acme/shop/a").body_contains is None
    assert spec(config, "acme/shop/b").body_contains == ""


def test_a_body_that_fails_validation_is_reported_at_every_place() -> None:
    errors = errors_of(THREE_SITES.replace("status: 200", "status: twohundred"))
    assert [e.split(":")[1] for e in errors] == ["10", "15", "20"]
    assert all("expect.status" in e for e in errors)


def test_a_timeout_longer_than_the_interval_is_reported_at_every_place() -> None:
    body = "{path: /, interval: 1m, timeout: 2m}"
    errors = errors_of(THREE_SITES.replace("{path: /, expect: {status: 200}}", body))
    assert len(errors) == 3
    assert {e.split(":")[1] for e in errors} == {"10", "15", "20"}
    assert all(e.split(": ")[1].endswith(".home.timeout") for e in errors)


def test_a_json_expectation_problem_is_reported_at_every_place_even_on_one_url() -> None:
    """Two sites of the same url: the second finds the spec compiled for the first."""
    text = THREE_SITES.replace("two.acme.example", "one.acme.example").replace(
        "{path: /, expect: {status: 200}}", "{path: /, expect: {json: {items: [1, 2]}}}"
    )
    errors = errors_of(text)
    assert {e.split(":")[1] for e in errors} == {"10", "15", "20"}
    assert all("expected a value or a mapping, got a list" in e for e in errors)


@pytest.mark.parametrize("kind", ["[]", "[tls]", "{a: b}", "TLS"])
def test_a_check_type_that_is_not_one_of_the_types_is_reported_at_its_key(kind: str) -> None:
    errors = errors_of(THREE_SITES.replace("tls: {type: tls}", f"tls: {{type: {kind}}}", 1))
    assert len(errors) == 1
    assert errors[0].split(": ")[1] == "customers.acme.sites.one.checks.tls.type"
    assert "unknown check type" in errors[0]


def test_a_locator_finds_lines_from_the_text_it_kept() -> None:
    locator = Locator(default_file="checks.yaml", texts=[("checks.yaml", THREE_SITES)])
    assert locator.nodes is None  # nothing composed until a line is asked for
    where = ("customers", "acme", "sites", "two", "checks", "tls")
    assert locator.find(where) == ("checks.yaml", 16)
