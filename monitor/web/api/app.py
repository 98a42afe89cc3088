"""`api_routes(deps)`: the `/api/v1` routes, added to the private listener's app.

    app.router.add_routes(api_routes(deps))

Besides the operations of `OPERATIONS` and `GET /api/v1/openapi.json`, a catch-all
answers any other path below `/api/v1` with a JSON 404 (or 405 with `Allow` for a known
path and a wrong method), so clients only ever see the API's error shape.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence

from aiohttp import web

from monitor import __version__
from monitor.web.api.deps import ApiDeps
from monitor.web.api.errors import ApiError, error_response, guarded
from monitor.web.api.openapi import DOC_PATH, openapi_document
from monitor.web.api.operations import Operation, handler_for
from monitor.web.api.routes import OPERATIONS

PREFIX = "/api/v1"


def _pattern(path: str) -> re.Pattern[str]:
    return re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")


def _fallback(operations: Sequence[Operation]) -> web.RouteDef:
    methods: dict[str, set[str]] = {}
    for op in operations:
        methods.setdefault(op.path, set()).add(op.method)
    methods[DOC_PATH] = {"GET", "HEAD"}
    patterns = [(_pattern(path), allowed) for path, allowed in methods.items()]

    async def unknown(request: web.Request) -> web.StreamResponse:
        tail = "/" + request.match_info["tail"]
        for pattern, allowed in patterns:
            if pattern.match(tail):
                allow = ", ".join(sorted(allowed))
                return error_response(405, f"use {allow} on this path", headers={"Allow": allow})
        raise ApiError(404, "no such API operation; see /api/v1/openapi.json")

    return web.route("*", PREFIX + "/{tail:.*}", guarded(unknown))


def api_routes(deps: ApiDeps) -> list[web.AbstractRouteDef]:
    """Every `/api/v1` route: the operations, the OpenAPI document and the catch-all.

    The document needs no token: it holds no data and no secret.
    """
    document = json.dumps(openapi_document(OPERATIONS, version=__version__, server=PREFIX))

    async def openapi(request: web.Request) -> web.StreamResponse:
        return web.Response(text=document, content_type="application/json")

    routes: list[web.AbstractRouteDef] = [web.get(PREFIX + DOC_PATH, openapi)]
    routes.extend(
        web.route(op.method, PREFIX + op.path, guarded(handler_for(op, deps))) for op in OPERATIONS
    )
    routes.append(_fallback(OPERATIONS))
    return routes
