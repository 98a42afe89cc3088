"""docs/configuration.md documents every key of checks.yaml, and its examples are true.

Each schema model has a heading in the doc whose backquoted words identify it (for example
"### SMTP: `settings.email.smtp`" or "#### HTTP: `type: http`"). The table under that
heading must have one row per key the model accepts, `| `key` | ... |`, and no row for a
key the model does not accept, and a default the doc states must parse to the schema's
default. A new model, check type or channel type fails here until it is documented. The
doc's complete examples must load, and its error example must match the loader's output
exactly.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from pydantic import (
    BaseModel,
    ConfigDict,
    PydanticSchemaGenerationError,
    TypeAdapter,
    ValidationError,
)
from pydantic.fields import FieldInfo

from monitor.config import ConfigError, load_config_text
from monitor.config import schema as s

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"

CHECK_COMMON = ("customers.ID.sites.SITE.checks.CHECK",)
"""The heading of the keys every check type shares (the fields of `CheckBase`)."""

STATIC_IDS: dict[type[BaseModel], tuple[str, ...]] = {
    s.ConfigModel: ("checks.yaml",),
    s.SettingsModel: ("settings",),
    s.DeadmanModel: ("settings.deadman",),
    s.WebModel: ("settings.web",),
    s.ApiTokenModel: ("settings.web.api_tokens[]",),
    s.WebLimitsModel: ("settings.web.limits",),
    s.ProbesModel: ("settings.probes",),
    s.SentryModel: ("settings.sentry",),
    s.ResolverModel: ("settings.resolver",),
    s.EmailModel: ("settings.email",),
    s.SmtpModel: ("settings.email.smtp",),
    s.PagingModel: ("settings.paging",),
    s.MassOutageModel: ("settings.paging.mass_outage",),
    s.FlappingModel: ("settings.flapping",),
    s.DefaultsModel: ("settings.defaults",),
    s.DeliveryModel: ("settings.delivery",),
    s.RetryModel: ("settings.delivery.retry",),
    s.HealthModel: ("settings.health",),
    s.ClusterModel: ("settings.cluster",),
    s.CalendarModel: ("calendars.NAME",),
    s.HolidaysModel: ("calendars.NAME.holidays",),
    s.PolicyModel: ("policies.NAME",),
    s.LevelModel: ("policies.NAME.levels.LEVEL",),
    s.PriorityModel: ("policies.NAME.priorities.PRIORITY",),
    s.PersonModel: ("people.ID",),
    s.OncallModel: ("oncall",),
    s.ScheduleModel: ("oncall.schedules.NAME",),
    s.LayerModel: ("oncall.schedules.NAME.layers[]",),
    s.OverrideModel: ("oncall.schedules.NAME.overrides[]",),
    s.EscalationModel: ("oncall.escalation.NAME",),
    s.StepModel: ("oncall.escalation.NAME.steps[]",),
    s.CustomerModel: ("customers.ID",),
    s.ContactModel: ("customers.ID.contacts[]",),
    s.StatusPageModel: ("customers.ID.status_page",),
    s.SiteModel: ("customers.ID.sites.SITE",),
    s.SlowModel: ("customers.ID.sites.SITE.slow",),
    s.MaintenanceModel: ("maintenance[]",),
}


def _expect_model(check_model: type[s.CheckBase]) -> type[BaseModel] | None:
    field = check_model.model_fields.get("expect")
    annotation: object = field.annotation if field is not None else None
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def section_ids() -> dict[type[BaseModel], tuple[str, ...]]:
    """The heading words of every model; check and channel types are derived from the registries."""
    ids = dict(STATIC_IDS)
    for kind, model in s.CHANNEL_MODELS.items():
        ids[model] = (f"type: {kind.value}",)
    for check_kind, check_model in s.CHECK_MODELS.items():
        ids[check_model] = (f"type: {check_kind.value}",)
        expect = _expect_model(check_model)
        if expect is not None:
            ids[expect] = ("expect", f"type: {check_kind.value}")
    return ids


# ------------------------------------------------------------------------- reading the doc


@dataclass(frozen=True, slots=True)
class Section:
    heading: str
    line: int
    body: tuple[str, ...]

    @property
    def words(self) -> frozenset[str]:
        return frozenset(re.findall(r"`([^`]+)`", self.heading))

    @property
    def keys(self) -> frozenset[str]:
        """The keys of the section's table rows (`| `key` | format | default | meaning |`)."""
        rows = (re.match(r"\|\s*`([^`]+)`\s*\|", line) for line in self.body)
        return frozenset(row.group(1) for row in rows if row)


@dataclass(frozen=True, slots=True)
class Example:
    kind: str
    line: int
    yaml: str
    output: str | None  # the ```text block right after an `errors` example


def read_doc() -> str:
    return DOC.read_text(encoding="utf-8")


def sections(text: str) -> list[Section]:
    """Headings outside code fences, each with the lines up to the next heading."""
    found: list[Section] = []
    heading, start = "", 0
    body: list[str] = []
    fenced = False
    for number, line in enumerate(text.splitlines(), start=1):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and re.match(r"#{1,6} ", line):
            found.append(Section(heading, start, tuple(body)))
            heading, start, body = line, number, []
        else:
            body.append(line)
    found.append(Section(heading, start, tuple(body)))
    return found[1:]


def fences(lines: list[str], start: int) -> list[tuple[int, str, str]]:
    """Code blocks from line index `start`: (index of the opening fence, language, text)."""
    blocks = []
    i = start
    while i < len(lines):
        if lines[i].startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
            blocks.append((i, lines[i][3:].strip(), "\n".join(lines[i + 1 : end]) + "\n"))
            i = end
        i += 1
    return blocks


def examples(text: str) -> list[Example]:
    """Blocks after `<!-- example: KIND -->`; an `errors` example takes the next block too."""
    lines = text.splitlines()
    found = []
    for i, line in enumerate(lines):
        marker = re.fullmatch(r"<!-- example: (\w+) -->", line.strip())
        if not marker:
            continue
        blocks = fences(lines, i + 1)
        first_at, language, yaml_text = blocks[0]
        if first_at != i + 1 or language != "yaml":
            raise ValueError(f"line {i + 1}: put a ```yaml block right after the example marker")
        output = blocks[1][2] if marker.group(1) == "errors" else None
        found.append(Example(marker.group(1), i + 1, yaml_text, output))
    return found


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.lstrip("#").strip().lower()
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def find_section(all_sections: list[Section], words: tuple[str, ...]) -> Section:
    hits = [x for x in all_sections if x.words == frozenset(words)]
    assert len(hits) == 1, (
        f"expected exactly one heading in {DOC.name} whose backquoted words are "
        f"{sorted(words)}, found {[h.heading for h in hits] or 'none'}"
    )
    return hits[0]


def yaml_keys(model: type[BaseModel], exclude: type[BaseModel] | None = None) -> set[str]:
    skip = set(exclude.model_fields) if exclude is not None else set()
    return {field.alias or name for name, field in model.model_fields.items() if name not in skip}


DOC_EXAMPLES = examples(read_doc())


# ------------------------------------------------------------------------------- the tests


def test_every_model_has_a_heading_id() -> None:
    missing = [m.__name__ for m in s.ALL_MODELS if m not in section_ids()]
    assert not missing, f"add the doc heading of these models to STATIC_IDS: {missing}"


@pytest.mark.parametrize("model", s.ALL_MODELS, ids=lambda m: m.__name__)
def test_every_key_of_a_model_is_documented_in_its_section(model: type[BaseModel]) -> None:
    section = find_section(sections(read_doc()), section_ids()[model])
    # Keys every check shares are documented once, in the common section.
    expected = yaml_keys(model, s.CheckBase if model in s.CHECK_MODELS.values() else None)
    missing = sorted(expected - section.keys)
    unknown = sorted(section.keys - expected)
    assert not missing, f"{section.heading} (line {section.line}) lacks rows for {missing}"
    assert not unknown, f"{section.heading} (line {section.line}) documents no such keys {unknown}"


def test_keys_every_check_shares_are_documented_once() -> None:
    section = find_section(sections(read_doc()), CHECK_COMMON)
    assert section.keys == yaml_keys(s.CheckBase)


@pytest.mark.parametrize("kind", list(s.CHECK_MODELS), ids=str)
def test_every_check_type_has_a_section(kind: str) -> None:
    find_section(sections(read_doc()), (f"type: {kind}",))


@pytest.mark.parametrize("kind", list(s.CHANNEL_MODELS), ids=str)
def test_every_channel_type_has_a_section(kind: str) -> None:
    find_section(sections(read_doc()), (f"type: {kind}",))


def test_every_heading_anchor_is_unique_and_every_link_resolves() -> None:
    text = read_doc()
    anchors = Counter(slug(x.heading) for x in sections(text))
    assert [a for a, n in anchors.items() if n > 1] == []
    links = set(re.findall(r"\]\(#([^)]+)\)", text))
    assert sorted(links - set(anchors)) == []


def test_the_smallest_config_is_ten_lines_and_the_doc_has_complete_examples() -> None:
    complete = [x for x in DOC_EXAMPLES if x.kind == "complete"]
    assert len(complete) >= 5
    assert len(complete[0].yaml.splitlines()) <= 10


@pytest.mark.parametrize(
    "example",
    [x for x in DOC_EXAMPLES if x.kind == "complete"],
    ids=lambda x: f"line{x.line}",
)
def test_complete_example_loads(example: Example) -> None:
    try:
        config = load_config_text(example.yaml, env={})
    except ConfigError as exc:
        pytest.fail(f"the example on line {example.line} does not load:\n{exc.render()}")
    assert config.checks()


@pytest.mark.parametrize(
    "example",
    [x for x in DOC_EXAMPLES if x.kind == "errors"],
    ids=lambda x: f"line{x.line}",
)
def test_error_example_shows_exactly_what_the_loader_reports(example: Example) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(example.yaml, env={})
    assert caught.value.render() + "\n" == example.output


def test_the_doc_has_an_error_example() -> None:
    assert [x for x in DOC_EXAMPLES if x.kind == "errors"]


# ---------------------------------------------------------------------------- the defaults


def table_rows(section: Section) -> dict[str, list[str]]:
    """Each table row's cells by key (`\\|` inside a cell is not a column break)."""
    rows = {}
    for line in section.body:
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        key = re.fullmatch(r"`([^`]+)`", cells[0]) if cells else None
        if key:
            rows[key.group(1)] = cells
    return rows


def stated_defaults(field: FieldInfo) -> list[Any]:
    """The schema's default where the doc can state it as a value; [] when it cannot."""
    default = field.default
    if field.is_required() or default is None or isinstance(default, BaseModel | dict):
        return []
    return [] if default == () else [default]


def type_adapter(field: FieldInfo) -> TypeAdapter[Any]:
    """The field's own parser (its `PlainValidator`), usable on one value."""
    annotation = field.rebuild_annotation()
    try:
        return TypeAdapter(annotation)
    except PydanticSchemaGenerationError:  # tzinfo and the like: only the validator matters
        return TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))


def parses_to(field: FieldInfo, cell: str, default: Any) -> bool:
    """Whether the first backquoted value of the default cell parses, as the schema parses
    it, to `default` (later values in the cell may explain it: `10` (`true` = 10))."""
    tokens = re.findall(r"`([^`]+)`", cell)
    if not tokens:
        return False
    candidates: list[Any] = [tokens[0]]
    if tokens[0].startswith("[") and tokens[0].endswith("]"):  # a flow list: `[email]`
        candidates.append([item.strip() for item in tokens[0][1:-1].split(",")])
    adapter = type_adapter(field)
    for value in candidates:
        try:
            if adapter.validate_python(value) == default:
                return True
        except ValidationError:
            continue
    return False


def default_cases() -> list[tuple[type[BaseModel], str]]:
    ids = section_ids()
    cases = [(model, name) for model in s.ALL_MODELS for name in model.model_fields]
    cases += [(s.CheckBase, name) for name in s.CheckBase.model_fields]
    return [
        (model, name)
        for model, name in cases
        if (model is s.CheckBase or model in ids)
        and not (model in s.CHECK_MODELS.values() and name in s.CheckBase.model_fields)
        and stated_defaults(model.model_fields[name])
    ]


@pytest.mark.parametrize(
    ("model", "name"), default_cases(), ids=lambda x: getattr(x, "__name__", x)
)
def test_documented_default_is_the_schemas_default(model: type[BaseModel], name: str) -> None:
    words = CHECK_COMMON if model is s.CheckBase else section_ids()[model]
    section = find_section(sections(read_doc()), words)
    field = model.model_fields[name]
    key = field.alias or name
    default_cell = table_rows(section)[key][2]
    (default,) = stated_defaults(field)
    assert parses_to(field, default_cell, default), (
        f"{section.heading}: the default of `{key}` is {default!r} in the schema, "
        f"but the doc says {default_cell!r}"
    )
