"""The API's route table: each operation declared once, served and documented from it.

An `Operation` names its method, path, scope, query and body models and its response
models. `handler_for` turns it into an aiohttp handler that authenticates, checks the
scope, validates the query and body, calls the endpoint and serialises its reply with
the same models; `monitor.web.api.openapi` describes the same table, so the document
cannot drift from what is served.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from monitor.config.records import ApiToken, Config, Scope
from monitor.web.api.auth import authenticate, require
from monitor.web.api.deps import ApiDeps, Handler
from monitor.web.api.errors import ApiError

M = TypeVar("M", bound=BaseModel)

Reply = tuple[int, BaseModel]
_MAX_ERRORS = 5


@dataclass(frozen=True, slots=True)
class PathParam:
    name: str
    description: str


@dataclass(frozen=True, slots=True)
class Call:
    """One validated request: who asks, the config in force, `now`, and the inputs."""

    request: web.Request
    token: ApiToken
    config: Config
    now: datetime
    path: Mapping[str, str]
    query: BaseModel | None = None
    body: BaseModel | None = None

    def query_as(self, kind: type[M]) -> M:
        if not isinstance(self.query, kind):
            raise TypeError(f"expected query {kind.__name__}, got {type(self.query).__name__}")
        return self.query

    def body_as(self, kind: type[M]) -> M:
        if not isinstance(self.body, kind):
            raise TypeError(f"expected body {kind.__name__}, got {type(self.body).__name__}")
        return self.body

    def actor(self, person: str | None) -> str:
        """Who the timeline names: the given person (who must exist) or `api:<token>`."""
        if person is None:
            return f"api:{self.token.name}"[:64]
        if person not in self.config.people:
            raise ApiError(400, f"no person {person!r} in the config")
        return person


Endpoint = Callable[[ApiDeps, Call], Awaitable[Reply]]


@dataclass(frozen=True, slots=True)
class Operation:
    """One API operation. `responses` maps success statuses to their body models;
    `errors` lists the error statuses it may answer beyond those every operation may
    (401, 400 when it takes input, 403 when it needs `write`)."""

    method: str
    path: str  # aiohttp pattern below /api/v1, e.g. "/incidents/{case}"
    operation_id: str
    summary: str
    tag: str
    endpoint: Endpoint
    responses: Mapping[int, type[BaseModel]]
    scope: Scope = Scope.READ
    path_params: tuple[PathParam, ...] = ()
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    body_required: bool = True
    errors: tuple[int, ...] = ()
    description: str = ""

    def error_statuses(self) -> tuple[int, ...]:
        statuses = {401, *self.errors}
        if self.query is not None or self.body is not None or self.path_params:
            statuses.add(400)
        if self.body is not None:
            statuses.add(415)
        if self.scope is not Scope.READ:
            statuses.add(403)
        return tuple(sorted(statuses))


def handler_for(op: Operation, deps: ApiDeps) -> Handler:
    """The aiohttp handler serving `op`."""

    async def handle(request: web.Request) -> web.StreamResponse:
        config = deps.config()
        token = authenticate(config, request.headers.get("Authorization"))
        require(token, op.scope)
        path = {p.name: _text(request.match_info[p.name], p.name) for p in op.path_params}
        call = Call(
            request=request,
            token=token,
            config=config,
            now=deps.clock.now(),
            path=path,
            query=None if op.query is None else _parse_query(op.query, request),
            body=None if op.body is None else await _parse_body(op, request),
        )
        status, reply = await op.endpoint(deps, call)
        return web.json_response(reply.model_dump(mode="json"), status=status)

    return handle


def _text(value: str, where: str) -> str:
    # Percent-decoding may leave lone surrogates or NULs that no database can compare.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ApiError(400, f"{where}: not valid UTF-8") from None
    if "\x00" in value:
        raise ApiError(400, f"{where}: contains a NUL character")
    return value


def _parse_query(kind: type[M], request: web.Request) -> M:
    values = {key: _text(request.query.getone(key), key) for key in set(request.query.keys())}
    known = {k: v for k, v in values.items() if k in kind.model_fields}
    return _validate(kind, known, "query")


async def _parse_body(op: Operation, request: web.Request) -> BaseModel:
    assert op.body is not None
    raw = await request.read()
    if not raw.strip():
        if op.body_required:
            raise ApiError(400, "a JSON request body is required")
        return _validate(op.body, {}, "body")
    if request.content_type not in ("application/json", "application/octet-stream", ""):
        raise ApiError(415, "send the request body as application/json")
    try:
        return op.body.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiError(400, _describe(exc, "body")) from None


def _validate(kind: type[M], data: Mapping[str, Any], where: str) -> M:
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, _describe(exc, where)) from None


def _describe(exc: ValidationError, where: str) -> str:
    """The first few problems, by location; never the offending input itself."""
    parts = []
    for error in exc.errors(include_input=False, include_url=False)[:_MAX_ERRORS]:
        loc = ".".join(str(p) for p in (where, *error["loc"]))
        parts.append(f"{loc}: {error['msg']}")
    return "; ".join(parts)
