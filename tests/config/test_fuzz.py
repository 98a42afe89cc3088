"""Whatever text it is given, the loader returns a Config or raises ConfigError, nothing else.

A traceback from `vakt check-config` is a bug: every problem must be a located message.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import Config, ConfigError, ConfigIssue, load_config_text

EXAMPLE_TEXT = (Path(__file__).resolve().parents[2] / "checks.yaml").read_text(encoding="utf-8")
# Every scalar as text, as Vakt reads it, so a dump round-trips `NO` and `1:30` faithfully.
EXAMPLE: Any = yaml.load(EXAMPLE_TEXT, Loader=yaml.BaseLoader)

# The C dumper keeps each example to milliseconds; the pure-Python one is 10x slower.
Dumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)

FUZZ = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Words the schema knows, so random documents reach past the first unknown key.
# fmt: off
KEYS = (
    "vakt", "settings", "calendars", "policies", "people", "oncall", "channels", "customers",
    "maintenance", "timezone", "hours", "holidays", "country", "subdivision", "closed", "open",
    "calendar", "warn_at", "levels", "A", "B", "priorities", "respond", "resolve", "clock",
    "page", "update_every", "priority", "schedules", "escalation", "layers", "rotation",
    "handoff", "members", "overrides", "person", "from", "to", "steps", "after", "notify",
    "via", "repeat_every", "max_repeats", "type", "url", "contacts", "name", "email",
    "primary", "sites", "checks", "path", "expect", "status", "json", "body_regex", "interval",
    "timeout", "target", "locations", "quorum", "depends_on", "slow", "every", "duration",
)
SCALARS = (
    "1", "0", "-1", "0755", "1:30", "NO", "no", "yes", "on", "off", "~", "null", "2026-12-24",
    "2026-12-24T22:00", "30s", "5m", "0s", "1d", "4 business hours", "1 business day",
    "majority", "all", "700", "2xx", "200-299", "Europe/Oslo", "UTC+02:00", "mon-fri",
    "09:00-16:00", "16:00-09:00", "24:00", "daily", "weekly", "every 12h", "sun 03:00",
    "acme/shop", "acme/*", "schedule:x", "person:x", "http", "tcp", "tls", "dns", "heartbeat",
    "https://a.example/", "a@b.example", "75%", "150%", "${X}", "$$", "${X:-d}", "[", "]", "{",
    "}", "*", "&", "!", "|", ">", "%", "@", "`", "#", "-", "?", ":",
)
# fmt: on


def dump(data: Any) -> str:
    return yaml.dump(data, Dumper=Dumper, sort_keys=False)


def check(text: str) -> None:
    """The one property: a Config, or a ConfigError whose issues are all located messages."""
    issues: tuple[ConfigIssue, ...] = ()
    try:
        result: Config | None = load_config_text(text)
    except ConfigError as exc:
        result, issues = None, exc.issues
    if result is not None:
        assert isinstance(result, Config)
        return
    assert issues, "a ConfigError must say what is wrong"
    for issue in issues:
        assert issue.message, issue
        assert issue.file == "checks.yaml", issue
        assert str(issue).startswith("checks.yaml"), issue


# ------------------------------------------------------------------ (a) YAML-ish text

token = st.one_of(
    st.sampled_from([f"{key}: " for key in KEYS]),
    st.sampled_from(SCALARS),
    st.sampled_from(
        ["\n", "\n  ", "\n    ", "- ", ", ", ": ", "{", "}", "[", "]", "<<: *a", "&a "]
    ),
    st.text(max_size=6),
)


@FUZZ
@given(st.lists(token, max_size=40).map("".join))
def test_random_yaml_like_text_gives_a_config_or_a_config_error(text: str) -> None:
    check(text)


# ------------------------------------------------------- (b) random structured data

scalar = st.one_of(
    st.sampled_from(SCALARS),
    st.text(max_size=10),
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=True),
)
key = st.one_of(st.sampled_from(KEYS), st.text(max_size=8))
tree = st.recursive(
    scalar,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(key, children, max_size=5)
    ),
    max_leaves=30,
)


@FUZZ
@given(st.dictionaries(key, tree, max_size=6))
def test_random_structured_data_gives_a_config_or_a_config_error(data: dict[str, Any]) -> None:
    check(dump(data))


# --------------------------------------------------------- (c) mutations of the example


def paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into the example: keys of mappings and indexes of lists."""
    out: list[tuple[Any, ...]] = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, value in node.items():
            out.extend(paths(value, (*prefix, k)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            out.extend(paths(value, (*prefix, i)))
    return out


EXAMPLE_PATHS = paths(EXAMPLE)
replacement = st.one_of(
    scalar, st.lists(scalar, max_size=3), st.dictionaries(key, scalar, min_size=1, max_size=3)
)


def mutated(path: tuple[Any, ...], value: Any, delete: bool) -> Any:
    data = copy.deepcopy(EXAMPLE)
    parent = data
    for part in path[:-1]:
        parent = parent[part]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return data


@FUZZ
@given(st.sampled_from(EXAMPLE_PATHS), replacement, st.booleans())
def test_the_example_with_a_key_deleted_or_a_value_replaced_still_fails_cleanly(
    path: tuple[Any, ...], value: Any, delete: bool
) -> None:
    check(dump(mutated(path, value, delete)))


LINES = EXAMPLE_TEXT.splitlines(keepends=True)


@FUZZ
@given(st.integers(0, len(LINES) - 1), st.sampled_from(["drop", "duplicate", "indent", "dedent"]))
def test_the_example_with_a_line_dropped_duplicated_or_moved_fails_cleanly(
    index: int, how: str
) -> None:
    lines = list(LINES)
    line = lines[index]
    if how == "drop":
        del lines[index]
    elif how == "duplicate":
        lines.insert(index, line)
    elif how == "indent":
        lines[index] = "  " + line
    else:
        lines[index] = line.removeprefix("  ")
    check("".join(lines))


def test_the_unmutated_example_is_a_config() -> None:
    # The mutation tests start from a valid document; if it were not, they would prove little.
    assert isinstance(load_config_text(dump(EXAMPLE)), Config)
    assert isinstance(load_config_text(EXAMPLE_TEXT), Config)


# ------------------------------------------------- inputs that once crashed the loader

CUSTOMER = """\
customers:
  acme:
    contacts: [{name: Kari Nordmann, email: kari@acme.example}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {path: /}
"""
YAML = "invalid YAML: "  # Vakt's prefix; what follows is the parser's words, which change


# Each case asserts what the error means (file, line, YAML path and kind), not the YAML
# library's wording: PyYAML 6.0.4's C loader reports deep nesting itself ("exceeded maximum
# nesting depth", on line 1) where earlier versions let Vakt's reader hit a RecursionError.
@pytest.mark.parametrize(
    ("text", "line", "path", "words"),
    [
        pytest.param(
            "x: " + "[" * 5000 + "]" * 5000 + "\n" + CUSTOMER, {None, 1}, "", YAML, id="deep"
        ),
        pytest.param("x: &loop [*loop]\n" + CUSTOMER, {None, 1}, "", YAML, id="anchor-in-itself"),
        pytest.param(
            CUSTOMER + "\x07\n",
            {9},
            "",
            "invalid YAML: character #x0007 is not allowed in YAML text",
            id="control-character",
        ),
        pytest.param(CUSTOMER + "---\nvakt: 1\n", {9}, "", YAML, id="two-documents"),
        pytest.param(
            "oncall: {schedules: {p: {layers: [{rotation: every 99999999999w, members: [a]}]}}}\n"
            "people: {a: {}}\n" + CUSTOMER,
            {1},
            "oncall.schedules.p.layers[0].rotation",
            "expected daily, weekly or every <duration> (such as 'every 3d' or 'every 12h'), "
            "got 'every 99999999999w'",
            id="rotation-beyond-timedelta",
        ),
    ],
)
def test_inputs_that_once_crashed_the_loader_are_config_errors(
    text: str, line: set[int | None], path: str, words: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(text)

    [issue] = caught.value.issues
    assert (issue.file, issue.path) == ("checks.yaml", path)
    assert issue.line in line
    assert issue.message.startswith(words)
