"""`validate`: one pydantic model against raw YAML data, pydantic's errors translated into
located `ConfigIssue`s (file, line, YAML path, Vakt's own words). Used by the loader for
each section and by the compiler for each channel and check, whose model depends on a
`type:` key."""

from __future__ import annotations

import difflib
import types
import typing
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from monitor.config.errors import ConfigIssue, Path_
from monitor.config.schema import CHECK_MODELS
from monitor.config.source import Locator
from monitor.config.values import got

M = TypeVar("M", bound=BaseModel)


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
        return locator.issue(path, unknown_key(model, loc))
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return locator.issue(path, f"expected a mapping, got {got(error.get('input'))}")
    if kind in ("tuple_type", "list_type"):
        return locator.issue(path, f"expected a list, got {got(error.get('input'))}")
    if kind in ("too_short",):
        return locator.issue(path, "expected at least one entry, got none")
    message = str(error["msg"])
    for noise in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(noise)
    return locator.issue(path, message)


def unknown_key(model: type[BaseModel], loc: tuple[str | int, ...]) -> str:
    """Vakt's words for a key `model` does not have at `loc`, with a close match if any."""
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
