"""`load_config`: read, validate and compile `checks.yaml`, reporting every problem at once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, PlainValidator

from monitor.config.collector import collector_paused
from monitor.config.compile import Broken, compile_config
from monitor.config.errors import ConfigError, ConfigIssue, Path_
from monitor.config.records import Config
from monitor.config.schema import (
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
from monitor.config.source import Locator, environment, read_path, read_text
from monitor.config.validation import unknown_key, validate
from monitor.config.values import got

M = TypeVar("M", bound=BaseModel)


def load_config(path: str, env: Mapping[str, str] | None = None) -> Config:
    """Load a file or a directory of `*.yaml` files; raise `ConfigError` listing all problems."""
    with collector_paused():
        issues: list[ConfigIssue] = []
        data, locator = read_path(path, environment() if env is None else env, issues)
        return _finish(path, data, locator, issues)


def load_config_text(text: str, name: str = "checks.yaml", env: Mapping[str, str] = {}) -> Config:
    """Load a config from a string (tests, `vakt demo`'s generated config)."""
    with collector_paused():
        issues: list[ConfigIssue] = []
        locator = Locator(default_file=name)
        data = read_text(text, name, env, locator, issues)
        return _finish(name, data or {}, locator, issues)


def located(
    path: str | None, found: Iterable[tuple[Path_, str]], env: Mapping[str, str] | None = None
) -> ConfigError:
    """A `ConfigError` for problems found in an already loaded config (`found`: each
    YAML path with its message), each with the file and line of its key: the file is read
    again, which costs a load only when there is something to report. Without a file (a
    config built in memory) the issues name no line."""
    if path is None:
        locator = Locator(default_file="<config>")
    else:
        _, locator = read_path(path, environment() if env is None else env, [])
    return ConfigError(locator.issue(where, message) for where, message in found)


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
            issues.append(locator.issue((key,), unknown_key(ConfigModel, (key,))))
    if "customers" not in data:
        issues.append(locator.issue((), "missing required key 'customers'"))
    if data.get("vakt") is not None:
        validate(_VersionModel, {"vakt": data["vakt"]}, (), locator, issues)
    settings = validate(SettingsModel, data.get("settings") or {}, ("settings",), locator, issues)
    oncall = data.get("oncall") or {}
    if not isinstance(oncall, dict):
        issues.append(locator.issue(("oncall",), f"expected a mapping, got {got(oncall)}"))
        oncall = {}
    for key in oncall:
        if key not in OncallModel.model_fields:
            issues.append(locator.issue(("oncall", key), unknown_key(OncallModel, (key,))))
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
            self.issues.append(self.locator.issue(path, f"expected a mapping, got {got(value)}"))
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
            self.issues.append(self.locator.issue(path, f"expected a list, got {got(value)}"))
            return ()
        found = (
            validate(model, raw, (*path, i), self.locator, self.issues)
            for i, raw in enumerate(value)
        )
        return tuple(item for item in found if item is not None)
