"""Templates checked at load: every template parsed, every kind rendered in every language
with samples that take every optional branch; each error a config issue naming the
template's file and line."""

from __future__ import annotations

import shutil
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import Config, ConfigError, ConfigIssue, load_config_text
from monitor.config.records import Language
from monitor.model import Level
from monitor.notify.message import MessageKind, Payload
from monitor.notify.planner import Planner
from monitor.notify.render import LOCALES, TEMPLATES, Renderer
from monitor.notify.templatecheck import (
    ALWAYS_SET,
    ISSUE_PATH,
    check_templates,
    checked_renderer,
    full_sample,
    kinds_and_languages,
    samples,
)
from tests.notify.test_planner import T0 as PLANNER_T0
from tests.notify.test_planner import config as planner_config
from tests.notify.test_planner_properties import build, cases

CONFIG = """\
vakt: 1
settings:
  email: {{templates: "{templates}"}}
customers:
  acme:
    name: ACME AS
    contacts: [{{name: Kari, email: kari@acme.example}}]
    sites:
      shop:
        url: https://shop.acme.example
        checks:
          home: {{path: /}}
"""


def config_with(templates: Path | None) -> Config:
    text = CONFIG.format(templates=templates or "")
    return load_config_text(text if templates else text.replace('  email: {templates: ""}\n', ""))


def overrides(tmp_path: Path, **files: str) -> Config:
    directory = tmp_path / "templates"
    directory.mkdir(exist_ok=True)
    for name, text in files.items():
        (directory / name.replace("__", ".")).write_text(text)
    return config_with(directory)


def where(issues: list[ConfigIssue]) -> list[tuple[str, int | None, str]]:
    return [(Path(i.file).name, i.line, i.path) for i in issues]


# ------------------------------------------------------------------------ built-in set


def test_the_built_in_templates_pass_for_every_kind_and_language() -> None:
    config = config_with(None)
    assert config.settings.email.templates is None
    assert check_templates(config) == []


def test_every_kind_is_checked_and_customer_kinds_in_every_language() -> None:
    checked = set(kinds_and_languages())
    assert {kind for kind, _ in checked} == set(MessageKind)
    for kind in MessageKind:
        languages = {language for k, language in checked if k is kind}
        assert languages == (set(Language) if kind.for_customer else {Language.EN})


# ------------------------------------------------------------------------ samples


def test_the_full_sample_sets_every_payload_field() -> None:
    """A field added to `Payload` needs a sample value (from its type), or no sample
    takes the branch that shows it."""
    full = full_sample(MessageKind.PAGE, Language.NB)
    bare = Payload(kind=MessageKind.PAGE, language=Language.NB)
    unset = [f.name for f in fields(Payload) if getattr(full, f.name) == getattr(bare, f.name)]
    assert unset == ["kind", "language"]


@pytest.mark.parametrize("kind", list(MessageKind))
def test_samples_show_each_optional_field_and_leave_it_out(kind: MessageKind) -> None:
    bare = Payload(kind=kind)
    for f in fields(Payload):
        if f.name in {"kind", "language"} | ALWAYS_SET[kind]:
            continue
        values = [getattr(s.payload, f.name) for s in samples(kind, Language.EN)]
        assert getattr(bare, f.name) in values, f.name
        assert any(v != getattr(bare, f.name) for v in values), f.name


def test_digests_are_sampled_with_one_case_and_with_three() -> None:
    sizes = {len(s.payload.incidents) for s in samples(MessageKind.DIGEST, Language.EN)}
    assert {1, 3} <= sizes


def test_every_kind_says_which_fields_the_planner_always_sets() -> None:
    assert set(ALWAYS_SET) == set(MessageKind)
    names = {f.name for f in fields(Payload)}
    for kind, fixed in ALWAYS_SET.items():
        assert fixed <= names, kind


# ------------------------------------------------------------------------ errors


def test_a_syntax_error_is_reported_with_the_templates_file_and_line(tmp_path: Path) -> None:
    config = overrides(tmp_path, page__txt="Level {{ p.level }}\n\n{% if p.note %}{{ p.note }\n")
    issues = check_templates(config)
    assert where(issues) == [("page.txt", 3, ISSUE_PATH)]
    assert issues[0].file == str(tmp_path / "templates" / "page.txt")
    assert issues[0].message.startswith("syntax error")


@pytest.mark.parametrize(
    ("kind", "condition"),
    [
        (MessageKind.PAGE, "p.note"),
        (MessageKind.PAGE, "not p.note"),
        (MessageKind.CUSTOMER_UPDATE, "p.next_update_at"),
        (MessageKind.CUSTOMER_UPDATE, "not p.next_update_at"),
        (MessageKind.CUSTOMER_RESOLVED, "p.resolved_at"),
        (MessageKind.CUSTOMER_RESOLVED, "not p.resolved_at"),
        (MessageKind.PAGE, "p.ack_url"),
        (MessageKind.DIGEST, "not p.ack_url"),
        (MessageKind.DIGEST, "p.incidents|length == 1"),
        (MessageKind.DIGEST, "p.incidents|length == 3"),
        (MessageKind.MAINTENANCE_STARTED, "not p.maintenance.reason"),
        (MessageKind.CUSTOMER_OPENED, "p.level == 'B'"),
        (MessageKind.TEAM_WARNING, "not p.case"),
    ],
)
def test_an_undefined_name_in_an_optional_branch_is_reported_with_file_and_line(
    tmp_path: Path, kind: MessageKind, condition: str
) -> None:
    text = f"{{{{ p.site }}}}\n{{% if {condition} %}}\n{{{{ p.nte }}}}\n{{% endif %}}\n"
    issues = check_templates(overrides(tmp_path, **{f"{kind.value}__txt": text}))
    assert where(issues) == [(f"{kind.value}.txt", 3, ISSUE_PATH)]
    assert issues[0].message.startswith("undefined")
    assert f"rendering {kind.value}" in issues[0].message


@pytest.mark.parametrize(
    ("kind", "entries", "condition"),
    [
        (MessageKind.DIGEST, "p.incidents", "i.ack_url"),
        (MessageKind.DIGEST, "p.incidents", "not i.ack_url"),
        (MessageKind.PAGE, "p.evidence", "i.location"),
        (MessageKind.PAGE, "p.evidence", "not i.detail"),
    ],
)
def test_entries_are_sampled_with_and_without_their_optional_fields(
    tmp_path: Path, kind: MessageKind, entries: str, condition: str
) -> None:
    loop = f"{{% for i in {entries} %}}{{% if {condition} %}}"
    text = loop + "\n{{ i.nte }}\n{% endif %}{% endfor %}"
    issues = check_templates(overrides(tmp_path, **{f"{kind.value}__txt": text}))
    assert where(issues) == [(f"{kind.value}.txt", 2, ISSUE_PATH)]


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("{% trans %}Hello,{% endtrans %}", 5),
        (
            "{% trans %}We will keep you updated by email until the problem is resolved."
            "{% endtrans %}",
            13,
        ),
    ],
)
def test_an_error_inside_a_macro_names_the_macros_file_and_line(
    tmp_path: Path, text: str, line: int
) -> None:
    macros = (TEMPLATES / "_customer_macros.txt").read_text()
    assert text in macros
    broken = macros.replace(text, "{{ p.greting }}")
    issues = check_templates(overrides(tmp_path, _customer_macros__txt=broken))
    assert {(file, n) for file, n, _ in where(issues)} == {("_customer_macros.txt", line)}


def test_an_include_of_a_missing_template_is_reported_even_where_no_sample_goes(
    tmp_path: Path,
) -> None:
    text = 'Resolved.\n{% if p.note == "never" %}\n{% include "footer.txt" %}\n{% endif %}\n'
    issues = check_templates(overrides(tmp_path, recovered__txt=text))
    assert where(issues) == [("recovered.txt", 3, ISSUE_PATH)]
    assert "footer.txt" in issues[0].message


def test_extending_a_missing_template_is_reported(tmp_path: Path) -> None:
    issues = check_templates(overrides(tmp_path, test__txt='{% extends "base.txt" %}\n'))
    assert where(issues) == [("test.txt", 1, ISSUE_PATH)]


def test_a_bad_format_string_in_a_catalog_is_reported_where_a_template_uses_it(
    tmp_path: Path,
) -> None:
    locales = tmp_path / "locale"
    shutil.copytree(LOCALES, locales)
    po = locales / "nl" / "LC_MESSAGES" / "vakt.po"
    po.write_text(po.read_text().replace("uiterlijk %(at)s een", "uiterlijk %(op)s een"))
    issues = check_templates(config_with(None), locales=locales)
    assert where(issues) == [("_customer_macros.txt", 11, ISSUE_PATH)]
    assert " in nl," in issues[0].message


def test_errors_of_several_templates_are_all_reported_once_each(tmp_path: Path) -> None:
    config = overrides(
        tmp_path,
        acknowledged__txt="{{ p.case }\n",
        page__txt="{% if p.note %}\n{{ when(p.since, 3) }}\n{% endif %}\n",
    )
    assert where(check_templates(config)) == [
        ("acknowledged.txt", 1, ISSUE_PATH),
        ("page.txt", 2, ISSUE_PATH),
    ]


def test_a_missing_override_directory_is_a_config_error(tmp_path: Path) -> None:
    issues = check_templates(config_with(tmp_path / "nowhere"))
    assert [(i.file, i.line, i.path) for i in issues] == [("checks.yaml", None, ISSUE_PATH)]


def test_hidden_and_other_files_in_the_override_directory_are_left_alone(
    tmp_path: Path,
) -> None:
    config = overrides(tmp_path, page__txt="Level {{ p.level }}: {{ p.site }}\n")
    (tmp_path / "templates" / ".page.txt.swp").write_bytes(b"\xff\xfe{{ nonsense")
    (tmp_path / "templates" / "README").write_bytes(b"\xff{% if")
    assert check_templates(config) == []


# ------------------------------------------------------------------------ what is sent


def test_the_checked_renderer_sends_what_was_checked_until_it_adopts_a_new_check(
    tmp_path: Path,
) -> None:
    config = overrides(tmp_path, test__txt="first\n")
    renderer = checked_renderer(config)
    (tmp_path / "templates" / "test.txt").write_text("second {{ p.nte }}\n")
    payload = Payload(kind=MessageKind.TEST)
    assert renderer.render(payload).text == "first\n"  # the edit is not read unchecked
    with pytest.raises(ConfigError):
        checked_renderer(config)
    (tmp_path / "templates" / "test.txt").write_text("second\n")
    renderer.adopt(checked_renderer(config))
    assert renderer.render(payload).text == "second\n"


def test_a_checked_renderer_renders_like_a_plain_one() -> None:
    checked, plain = checked_renderer(config_with(None)), Renderer()
    for kind, language in kinds_and_languages():
        payload = full_sample(kind, language)
        assert checked.render(payload) == plain.render(payload)


# ------------------------------------------------------------------------ the planner


@settings(max_examples=40, deadline=None)
@given(cases, st.integers(0, 20000))
def test_what_the_planner_plans_sets_every_field_the_samples_always_set(
    spec: list[tuple[int, Level, int | None, int | None]], offset: int
) -> None:
    """`ALWAYS_SET` says which fields samples never leave out; it must hold for what the
    real planner writes, or a branch that runs in production would go unsampled."""
    planned = Planner(planner_config(len(spec), mass_sites=50)).plan(
        build(spec), PLANNER_T0 + timedelta(seconds=offset)
    )
    for p in planned:
        payload = p.payload
        unset = {n for n in ALWAYS_SET[payload.kind] if getattr(payload, n) in (None, "", ())}
        assert not unset, (payload.kind, unset)
