"""`load_config`: read, validate and compile `checks.yaml`, reporting every problem at once."""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, PlainValidator, ValidationError

from monitor.config.compile import Broken, compile_config
from monitor.config.errors import ConfigError, ConfigIssue
from monitor.config.records import Config
from monitor.config.schema import (
    CHECK_MODELS,
    CalendarModel,
    ConfigModel,
    CustomerModel,
    EscalationModel,
    MaintenanceModel,
    OncallModel,
    PersonModel,
    PolicyModel,
    ScheduleModel,
    SettingsModel,
    Strict,
    _version,
)
from monitor.config.source import Locator, Path_, environment, read_path, read_text

M = TypeVar("M", bound=BaseModel)


def load_config(path: str, env: Mapping[str, str] | None = None) -> Config:
    """Load a file or a directory of `*.yaml` files; raise `ConfigError` listing all problems."""
    issues: list[ConfigIssue] = []
    data, locator = read_path(path, environment() if env is None else env, issues)
    return _finish(path, data, locator, issues)


def load_config_text(text: str, name: str = "checks.yaml", env: Mapping[str, str] = {}) -> Config:
    """Load a config from a string (tests, `vakt demo`'s generated config)."""
    issues: list[ConfigIssue] = []
    locator = Locator(default_file=name)
    data = read_text(text, name, env, locator, issues)
    return _finish(name, data or {}, locator, issues)


def _finish(path: str, data: dict[str, Any], locator: Locator, issues: list[ConfigIssue]) -> Config:
    if issues:
        raise ConfigError(issues)
    model, broken = _validate_sections(data, locator, issues)
    config = compile_config(path, model, locator, issues, broken)
    if issues or config is None:
        raise ConfigError(issues)
    return config


def _validate_sections(
    data: dict[str, Any], locator: Locator, issues: list[ConfigIssue]
) -> tuple[ConfigModel, Broken]:
    """Validate each section entry on its own, so one bad entry hides no other error.

    Entries that fail are left out and remembered in `broken`, so references to them
    are not reported a second time as unknown.
    """
    broken: Broken = {}
    fields = ConfigModel.model_fields
    for key in data:
        if key not in {f.alias or n for n, f in fields.items()}:
            issues.append(locator.issue((key,), _unknown_key(ConfigModel, (key,))))
    if "customers" not in data:
        issues.append(locator.issue((), "missing required key 'customers'"))
    if data.get("vakt") is not None:
        validate(_VersionModel, {"vakt": data["vakt"]}, (), locator, issues)
    settings = validate(SettingsModel, data.get("settings") or {}, ("settings",), locator, issues)
    oncall = data.get("oncall") or {}
    if not isinstance(oncall, dict):
        issues.append(locator.issue(("oncall",), f"expected a mapping, got {_got(oncall)}"))
        oncall = {}
    for key in oncall:
        if key not in OncallModel.model_fields:
            issues.append(locator.issue(("oncall", key), _unknown_key(OncallModel, (key,))))
    section = _Sections(data, locator, issues, broken)
    model = ConfigModel.model_construct(
        settings=settings or SettingsModel(),
        calendars=section.entries(("calendars",), CalendarModel, data.get("calendars")),
        policies=section.entries(("policies",), PolicyModel, data.get("policies")),
        people=section.entries(("people",), PersonModel, data.get("people")),
        oncall=OncallModel.model_construct(
            schedules=section.entries(
                ("oncall", "schedules"), ScheduleModel, oncall.get("schedules")
            ),
            escalation=section.entries(
                ("oncall", "escalation"), EscalationModel, oncall.get("escalation")
            ),
        ),
        channels=section.mapping(("channels",), data.get("channels")),
        customers=section.entries(("customers",), CustomerModel, data.get("customers")),
        maintenance=section.items(("maintenance",), MaintenanceModel, data.get("maintenance")),
    )
    return model, broken


class _VersionModel(Strict):
    vakt: Annotated[int, PlainValidator(_version)]


class _Sections:
    def __init__(
        self, data: Any, locator: Locator, issues: list[ConfigIssue], broken: Broken
    ) -> None:
        self.locator, self.issues, self.broken = locator, issues, broken

    def mapping(self, path: Path_, value: Any) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            self.issues.append(self.locator.issue(path, f"expected a mapping, got {_got(value)}"))
            return {}
        if path == ("customers",) and not value:
            self.issues.append(self.locator.issue(path, "expected at least one customer"))
        return value

    def entries(self, path: Path_, model: type[M], value: Any) -> dict[str, M]:
        out: dict[str, M] = {}
        for name, raw in self.mapping(path, value).items():
            item = validate(
                model, raw if raw is not None else {}, (*path, name), self.locator, self.issues
            )
            if item is None:
                self.broken.setdefault(str(path[-1]), set()).add(name)
            else:
                out[name] = item
        return out

    def items(self, path: Path_, model: type[M], value: Any) -> tuple[M, ...]:
        if value is None:
            return ()
        if not isinstance(value, list):
            self.issues.append(self.locator.issue(path, f"expected a list, got {_got(value)}"))
            return ()
        found = (
            validate(model, raw, (*path, i), self.locator, self.issues)
            for i, raw in enumerate(value)
        )
        return tuple(item for item in found if item is not None)


def validate(
    model: type[M], data: Any, prefix: Path_, locator: Locator, issues: list[ConfigIssue]
) -> M | None:
    """Validate `data` against `model`; translate pydantic's errors into located issues."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [
            (tuple(part for part in error["loc"] if part != "[key]"), error)
            for error in exc.errors(include_url=False)
        ]
        for loc, error in errors:
            if not _follows_from_item(loc, error, errors):
                issues.append(_issue(model, prefix, loc, error, locator))
        return None


def _follows_from_item(loc: tuple[str | int, ...], error: Any, errors: list[Any]) -> bool:
    """A list reported too short only because an entry of it failed (that error suffices)."""
    return error["type"] == "too_short" and any(
        len(other) > len(loc) and other[: len(loc)] == loc for other, _ in errors
    )


def _issue(
    model: type[BaseModel],
    prefix: Path_,
    loc: tuple[str | int, ...],
    error: Any,
    locator: Locator,
) -> ConfigIssue:
    kind = error["type"]
    path = (*prefix, *loc)
    if kind == "missing":
        return locator.issue(path[:-1], f"missing required key '{path[-1]}'")
    if kind == "extra_forbidden":
        return locator.issue(path, _unknown_key(model, loc))
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return locator.issue(path, f"expected a mapping, got {_got(error.get('input'))}")
    if kind in ("tuple_type", "list_type"):
        return locator.issue(path, f"expected a list, got {_got(error.get('input'))}")
    if kind in ("too_short",):
        return locator.issue(path, "expected at least one entry, got none")
    message = str(error["msg"])
    for noise in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(noise)
    return locator.issue(path, message)


def _got(value: Any) -> str:
    from monitor.config.values import got

    return got(value)


def _unknown_key(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    key = str(loc[-1])
    parent = _model_at(model, loc[:-1])
    if parent is None:
        return f"unknown key '{key}'"
    known = [field.alias or name for name, field in parent.model_fields.items()]
    other = _other_check_type(parent, key)
    if other is not None:
        kind = _check_type_of(parent)
        return f"unknown key '{key}' for a {kind} check (it belongs to {other} checks)"
    # 0.75: close enough for typos (intervall, timout), not 'alerts' -> 'calendars'
    close = difflib.get_close_matches(key, known, n=1, cutoff=0.75)
    if close:
        return f"unknown key '{key}' (did you mean '{close[0]}'?)"
    return f"unknown key '{key}' (expected one of: {', '.join(known)})"


def _check_type_of(model: type[BaseModel]) -> str:
    return next((t.value for t, m in CHECK_MODELS.items() if m is model), "")


def _other_check_type(model: type[BaseModel], key: str) -> str | None:
    """For a key of another check type (`path` on a tcp check): that type's name."""
    if model not in CHECK_MODELS.values():
        return None
    owners = [
        t.value
        for t, m in CHECK_MODELS.items()
        if m is not model and key in {f.alias or n for n, f in m.model_fields.items()}
    ]
    return " or ".join(owners) if owners else None


def _model_at(model: type[BaseModel], loc: tuple[str | int, ...]) -> type[BaseModel] | None:
    """The model class that validated the mapping at `loc` (for suggestions)."""
    current: Any = model
    for part in loc:
        current = _step(current, part)
        if current is None:
            return None
    current = _unwrap(current)
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _step(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        fields = {f.alias or n: f for n, f in annotation.model_fields.items()}
        field = fields.get(str(part))
        return None if field is None else field.annotation
    args = typing.get_args(annotation)
    origin = typing.get_origin(annotation)
    if origin is dict and len(args) == 2:
        return args[1]
    if origin in (tuple, list) and args:
        return args[0]
    return None


def _unwrap(annotation: Any) -> Any:
    """Strip `Annotated[...]` and `X | None`."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
            continue
        if origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) == 1:
                annotation = args[0]
                continue
        return annotation
