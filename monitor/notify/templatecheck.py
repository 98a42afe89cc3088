"""Every email template checked when the config is loaded, so a typo is a config error.

`check_templates(config)` (for `vakt check-config`) and `checked_renderer(config)` (for
`vakt run` at start and the SIGHUP reload, which then send with exactly the renderer that
was checked) take the override directory `settings.email.templates` and the built-in set
(`monitor/notify/templates/`) through three steps:

1. **Parse.** Every file the renderer can load (`*.txt` and `*.html` in the override
   directory and the built-in one, an override hiding the built-in file of its name) is
   parsed and compiled in each language's environment: a syntax error is reported with its
   file and line.
2. **References.** Every `{% include %}`, `{% import %}`, `{% from %}` and `{% extends %}`
   of a literal name must name a template that exists, in every branch, reached or not.
3. **Render.** Every message kind is rendered in every language it is sent in (customer
   kinds in en, nb and nl; pages and team warnings are always English) with each sample of
   `samples`. Anything rendering raises (an undefined name under `StrictUndefined`, a
   missing template, a Babel or catalog format error, an error in an expression) is
   reported with the template file and line of the innermost template frame (Jinja
   rewrites tracebacks so that template frames carry the template's file and line).

Samples are built from `Payload`'s own fields and types (`full_sample`): every field set
(tuples of entries hold a full one and one with only its required fields, digests three
cases), then one sample per optional field left at its default ("without note", "without
next_update_at", "without ack_url", "without resolved_at"...), one per shape (a digest of
one case, a maintenance window without a reason, each other level) and one with only the
fields the planner always sets for that kind (`ALWAYS_SET`). Only the fields the kind's
templates read (`p.note`, `p["note"]`, in the kind's template, `subject.txt`, `layout.html`
and what they include) are varied: a field no template reads cannot change a branch. A field
added to `Payload` gets a sample value from its type (`_value`), so samples cannot fall
behind the payload.

What samples cannot reach: a field in `ALWAYS_SET` is never left out (the planner always
sets it, and a sample without it is not a message Vakt sends); fields are left out one at
a time, so a branch that needs two optional fields missing together (and one present) is
not taken; a condition on a field's *value* rather than its presence (`p.note ==
"x"`, `p.customer.startswith(...)`, a time of day) takes only the branch of the sample's
values; a field read only through a computed name (`p[name]`, `p|attr(name)`) is not
varied; a `{% include %}` of a computed name is followed only as far as samples go. An
error in such a branch is found at send time, where that one notification fails.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import MISSING, Field, dataclass, fields, is_dataclass, replace
from datetime import UTC, datetime, timedelta
from enum import Enum
from functools import cache
from pathlib import Path
from types import MappingProxyType, NoneType, UnionType
from typing import Any, Union, get_args, get_origin, get_type_hints

from jinja2 import (
    Environment,
    TemplateNotFound,
    TemplateSyntaxError,
    UndefinedError,
    meta,
    nodes,
)

from monitor.config.errors import ConfigError, ConfigIssue
from monitor.config.records import Config, Language
from monitor.notify.message import MessageKind, Payload
from monitor.notify.render import LOCALES, Renderer

ISSUE_PATH = "settings.email.templates"
SAMPLE_AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TEMPLATE_SUFFIXES = (".txt", ".html")

_CASE = frozenset({"case", "site", "site_id", "level", "status", "since", "timezone"})
_CUSTOMER = frozenset({"customer", "language"})

ALWAYS_SET: Mapping[MessageKind, frozenset[str]] = MappingProxyType(
    {
        # What the planner sets on every payload of a kind (monitor/notify/planning/).
        MessageKind.PAGE: _CASE | {"title"},
        MessageKind.DIGEST: frozenset({"incidents", "timezone"}),
        MessageKind.TEAM_WARNING: frozenset({"title", "warning"}),
        MessageKind.ACKNOWLEDGED: frozenset({"case", "site"}),
        MessageKind.RECOVERED: frozenset({"case", "site"}),
        MessageKind.TEST: frozenset(),
        **{
            kind: _CASE | _CUSTOMER
            for kind in MessageKind
            if kind.for_customer and kind.value.startswith("customer_")
        },
        MessageKind.MONTHLY_REPORT: _CUSTOMER | {"month", "reports", "attachment"},
        MessageKind.REPORT_SUMMARY: frozenset({"month", "reports"}),
        MessageKind.REPORT_PREVIEW: frozenset(
            {"customer", "month", "reports", "attachment", "approve_url", "hold_url"}
        ),
        **{
            kind: _CUSTOMER | {"maintenance", "sites", "timezone"}
            for kind in MessageKind
            if kind.value.startswith("maintenance_")
        },
    }
)

# Sample values where "a text" or "a time" would not do (a real zone, a URL, ordered times).
_TEXTS = {
    "timezone": "Europe/Oslo",
    "ack_url": "https://status.example.com/ack/sample",
    "approve_url": "https://status.example.com/report-approval/sample",
    "hold_url": "https://status.example.com/report-approval/sample2",
    "address": "kari@acme.example",  # the `to` mailbox
    "status": "open",
    "month": "2026-11",
}
_OFFSETS = {
    "since": timedelta(0),
    "next_update_at": timedelta(minutes=30),
    "respond_by": timedelta(hours=1),
    "resolved_at": timedelta(hours=1, minutes=30),
    "start": timedelta(days=2),
    "end": timedelta(days=2, hours=1),
}
_ENTRIES = 3  # a tuple of entries: full, required-only, full (a digest of three cases)


@dataclass(frozen=True, slots=True)
class Sample:
    """One payload the check renders, and what it is (for the error message)."""

    name: str
    payload: Payload


# ---------------------------------------------------------------------------- entry points


def check_templates(config: Config, *, locales: Path = LOCALES) -> list[ConfigIssue]:
    """Every problem of `config`'s templates (built-in and overrides); [] when they pass."""
    try:
        checked_renderer(config, locales=locales)
    except ConfigError as exc:
        return list(exc.issues)
    return []


def checked_renderer(config: Config, *, locales: Path = LOCALES) -> Renderer:
    """A renderer for `config` whose every template is compiled (and kept: see
    `Renderer`) and every kind rendered with every sample. Raises `ConfigError` with
    one issue per problem (file and line of the template). `locales`: the catalogs
    (`Renderer`'s)."""
    overrides = config.settings.email.templates
    if overrides is not None and not Path(overrides).is_dir():
        where = Path(overrides).resolve()
        message = f"expected a directory of templates, got '{overrides}' ({where})"
        raise ConfigError([ConfigIssue(config.path, None, ISSUE_PATH, message)])
    renderer = Renderer(overrides=overrides, locales=locales)
    compiled = _compile_all(renderer)
    issues = [*compiled.issues, *_render_all(renderer, compiled)]
    if issues:
        raise ConfigError(_unique(issues))
    return renderer


# ---------------------------------------------------------------------------- parse


def template_names(env: Environment) -> list[str]:
    """The names the renderer can load and the check compiles (editor and hidden files
    in the override directory are left alone; they are reachable only by name)."""

    def wanted(name: str) -> bool:
        return name.endswith(TEMPLATE_SUFFIXES) and not any(
            part.startswith(".") for part in name.split("/")
        )

    return env.list_templates(filter_func=wanted)


@dataclass(frozen=True, slots=True)
class _Compiled:
    files: frozenset[str]  # the template files (to find template frames in tracebacks)
    reads: Mapping[str, frozenset[str]]  # per template: the attributes and keys it reads
    uses: Mapping[str, frozenset[str | None]]  # per template: what it includes (None: computed)
    issues: tuple[ConfigIssue, ...]

    def read_by(self, kind: MessageKind) -> frozenset[str] | None:
        """Every attribute or key the templates rendering `kind` read (None: unknown, as
        one of them includes a computed name or failed to parse)."""
        todo, seen = [f"{kind.value}.txt", "subject.txt", "layout.html"], set[str]()
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            uses = self.uses.get(name)
            if uses is None or None in uses:
                return None
            seen.add(name)
            todo.extend(use for use in uses if use is not None)
        return frozenset().union(*(self.reads[name] for name in seen))


def _compile_all(renderer: Renderer) -> _Compiled:
    """Parse every template once (syntax, references) and compile it once; every
    language's environment then loads that code, so the renderer holds all of them."""
    first = renderer.environment(Language.EN)
    names = template_names(first)
    compiled: list[str] = []
    files: set[str] = set()
    reads: dict[str, frozenset[str]] = {}
    uses: dict[str, frozenset[str | None]] = {}
    issues: list[ConfigIssue] = []
    for name in names:
        try:
            source, filename, _ = first.loader.get_source(first, name)  # type: ignore[union-attr]
            tree = first.parse(source, name, filename)
            _keep(first, name, filename, source, first.compile(tree, name, filename))
        except TemplateSyntaxError as exc:
            issues.append(_issue(exc.filename or name, exc.lineno, f"syntax error: {exc.message}"))
            continue
        except (OSError, UnicodeDecodeError) as exc:
            issues.append(_issue(_file_of(renderer, name), None, f"cannot read: {exc}"))
            continue
        compiled.append(name)
        files.add(filename or name)
        reads[name] = _names_read(tree)
        uses[name] = frozenset(meta.find_referenced_templates(tree))
        issues.extend(_missing_references(first, tree, filename or name))
    for language in Language:
        env = renderer.environment(language)
        for name in compiled:
            try:
                env.get_template(name)  # the parsed code, unless the file changed since
            except (TemplateNotFound, TemplateSyntaxError, OSError, UnicodeDecodeError) as exc:
                file = _file_of(renderer, name)
                issues.append(_issue(file, None, f"changed while being checked: {exc}"))
    return _Compiled(frozenset(files), reads, uses, tuple(issues))


def _keep(env: Environment, name: str, filename: str | None, source: str, code: Any) -> None:
    """Hand compiled code to the environments' shared cache (`render.SharedCode`)."""
    cache = env.bytecode_cache
    if cache is not None:
        bucket = cache.get_bucket(env, name, filename, source)
        bucket.code = code
        cache.set_bucket(bucket)


def _names_read(tree: nodes.Template) -> frozenset[str]:
    """The attributes (`p.note`) and constant keys (`p["note"]`) a template reads."""
    found = {node.attr for node in tree.find_all(nodes.Getattr)}
    for node in tree.find_all(nodes.Getitem):
        if isinstance(node.arg, nodes.Const) and isinstance(node.arg.value, str):
            found.add(node.arg.value)
    return frozenset(found)


def _missing_references(env: Environment, tree: nodes.Template, file: str) -> Iterator[ConfigIssue]:
    kinds = (nodes.Extends, nodes.Include, nodes.Import, nodes.FromImport)
    for node in tree.find_all(kinds):
        target = getattr(node, "template", None)  # each of the four kinds has one
        if not isinstance(target, nodes.Const) or not isinstance(target.value, str):
            continue  # a computed name: followed only as far as the samples go
        if isinstance(node, nodes.Include) and node.ignore_missing:
            continue
        try:
            env.loader.get_source(env, target.value)  # type: ignore[union-attr]
        except TemplateNotFound:
            yield _issue(file, node.lineno, f"template not found: '{target.value}'")


def _file_of(renderer: Renderer, name: str) -> str:
    for directory in renderer.search_path:
        if (directory / name).exists():
            return str(directory / name)
    return name


# ---------------------------------------------------------------------------- render


def kinds_and_languages() -> Iterator[tuple[MessageKind, Language]]:
    """Each kind in each language it is rendered in (the renderer shows the team's
    messages in English whatever the payload's language)."""
    for kind in MessageKind:
        for language in Language if kind.for_customer else (Language.EN,):
            yield kind, language


def _render_all(renderer: Renderer, compiled: _Compiled) -> list[ConfigIssue]:
    issues: list[ConfigIssue] = []
    for kind, language in kinds_and_languages():
        for sample in samples(kind, language, compiled.read_by(kind)):
            try:
                renderer.render(sample.payload)
            except Exception as exc:  # any error of a template is the template's: report it
                fallback = _file_of(renderer, f"{kind.value}.txt")
                file, line = _template_frame(exc, compiled.files, fallback)
                context = f"rendering {kind.value} in {language.value}, sample {sample.name}"
                issues.append(_issue(file, line, f"{_describe(exc)} ({context})"))
    return issues


def _template_frame(
    exc: BaseException, files: frozenset[str], fallback: str
) -> tuple[str, int | None]:
    """The file and line of the innermost template frame of `exc`'s traceback (none:
    `fallback`, the kind's template, without a line)."""
    if isinstance(exc, TemplateSyntaxError) and exc.filename:
        return exc.filename, exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename in files:
            return frame.filename, frame.lineno
    return fallback, None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TemplateNotFound):
        return f"template not found: '{exc.name}'"
    if isinstance(exc, TemplateSyntaxError):
        return f"syntax error: {exc.message}"
    if isinstance(exc, UndefinedError):
        return f"undefined: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


def _issue(file: str, line: int | None, message: str) -> ConfigIssue:
    return ConfigIssue(file, line, ISSUE_PATH, message)


def _unique(issues: Sequence[ConfigIssue]) -> list[ConfigIssue]:
    """One issue per file, line and error (the same error fails many samples)."""
    seen: dict[tuple[str, int | None, str], ConfigIssue] = {}
    for issue in issues:
        seen.setdefault((issue.file, issue.line, issue.message.split(" (rendering ")[0]), issue)
    return list(seen.values())


# ---------------------------------------------------------------------------- samples


@cache
def samples(
    kind: MessageKind, language: Language, read: frozenset[str] | None = None
) -> tuple[Sample, ...]:
    """The payloads `kind` is rendered with (see the module docstring). `read`: the
    fields some template reads (None: all); leaving out or reshaping a field that no
    template reads cannot take another branch, so only these are varied."""
    full = full_sample(kind, language)
    fixed = ALWAYS_SET.get(kind, frozenset()) | {"kind", "language"}
    defaults = {f.name: _default(f) for f in fields(Payload)}
    found = [
        Sample("with every field set", full),
        Sample(
            "with only the fields always set",
            Payload(**{name: getattr(full, name) for name in fixed}),
        ),
    ]
    for name in (f.name for f in fields(Payload)):
        if name in {"kind", "language"} or (read is not None and name not in read):
            continue
        if name not in fixed:
            found.append(Sample(f"without {name}", replace(full, **{name: defaults[name]})))
        for shape, value in _shapes(name, getattr(full, name)):
            found.append(Sample(f"with {name} {shape}", replace(full, **{name: value})))
    return tuple(found)


def full_sample(kind: MessageKind, language: Language) -> Payload:
    """`kind` in `language` with every field of `Payload` set."""
    values = _fields_of(Payload, required_only=False)
    return Payload(**{**values, "kind": kind, "language": language})


def _shapes(name: str, value: Any) -> Iterator[tuple[str, Any]]:
    """Other shapes of a full value: one entry of several, only the required fields of an
    entry, each other member of an enum."""
    if isinstance(value, tuple) and len(value) > 1:
        yield "of one entry", value[:1]
    elif is_dataclass(value) and not isinstance(value, type):
        yield "of only required fields", _build(type(value), required_only=True)
    elif isinstance(value, Enum):
        for member in type(value):
            if member is not value:
                yield f"= {member.value}", member


def _build(cls: type[Any], *, required_only: bool) -> Any:
    return cls(**_fields_of(cls, required_only=required_only))


def _fields_of(cls: type[Any], *, required_only: bool) -> dict[str, Any]:
    hints = get_type_hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        if required_only and _default(f) is not MISSING:
            continue
        value = _value(f.name, hints[f.name])
        if value is not None:
            values[f.name] = value
    return values


def _default(f: Field[Any]) -> Any:
    if f.default is not MISSING:
        return f.default
    if f.default_factory is not MISSING:
        return f.default_factory()
    return MISSING


def _value(name: str, hint: Any) -> Any:
    """A sample value of type `hint` for the field `name` (None: no sample for the type)."""
    hint = _without_none(hint)
    if get_origin(hint) is tuple:
        item = get_args(hint)[0]
        if isinstance(item, type) and is_dataclass(item):
            full, bare = _build(item, required_only=False), _build(item, required_only=True)
            return tuple(bare if n % 2 else full for n in range(_ENTRIES))
        return tuple(f"{_value(name, item)} {n + 1}" for n in range(_ENTRIES))
    if is_dataclass(hint):
        return _build(hint, required_only=False)  # type: ignore[arg-type]
    if isinstance(hint, type) and issubclass(hint, Enum):
        return next(iter(hint))
    return _scalar(name, hint)


def _scalar(name: str, hint: Any) -> Any:
    if hint is str:
        return _TEXTS.get(name, f"sample {name.replace('_', ' ')}")
    if hint is datetime:
        return SAMPLE_AT + _OFFSETS.get(name, timedelta(hours=2))
    if hint is timedelta:
        return timedelta(hours=2, minutes=5)
    if hint is bool:
        return True
    if hint in (int, float):
        return hint(3)
    return None


def _without_none(hint: Any) -> Any:
    if get_origin(hint) in (Union, UnionType):
        rest = [arg for arg in get_args(hint) if arg is not NoneType]
        return rest[0] if len(rest) == 1 else hint
    return hint


__all__ = [
    "ALWAYS_SET",
    "ISSUE_PATH",
    "Sample",
    "check_templates",
    "checked_renderer",
    "full_sample",
    "kinds_and_languages",
    "samples",
    "template_names",
]
