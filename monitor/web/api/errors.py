"""JSON errors with one stable shape: `{"error": {"code": ..., "message": ...}}`.

Handlers raise `ApiError`; `guarded` turns it, and aiohttp's own HTTP errors (e.g. a
body too large), into that shape. Anything else is a
bug: it is logged at error level (which Sentry's logging integration reports) and the
client sees a generic 500 that gives nothing away.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Final

from aiohttp import web

from monitor.web.api.deps import Handler
from monitor.web.api.schemas import ErrorBody, ErrorDetail

log = logging.getLogger(__name__)

_CODES: Final[Mapping[int, str]] = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    500: "internal",
}


class ApiError(Exception):
    """An answer other than success, for the client: status, stable code, message."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code or _CODES.get(status, "error")
        self.message = message


def error_response(
    status: int, message: str, code: str | None = None, headers: Mapping[str, str] | None = None
) -> web.Response:
    body = ErrorBody(error=ErrorDetail(code=code or _CODES.get(status, "error"), message=message))
    return web.json_response(
        body.model_dump(mode="json"), status=status, headers=dict(headers or {})
    )


def _unauthorized_headers(status: int) -> Mapping[str, str]:
    return {"WWW-Authenticate": 'Bearer realm="vakt"'} if status == 401 else {}


def guarded(handler: Handler) -> Handler:
    """`handler`, with every error leaving it as JSON in the stable shape."""

    async def handle(request: web.Request) -> web.StreamResponse:
        return await _json_errors(request, handler)

    return handle


async def _json_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    try:
        return await handler(request)
    except ApiError as exc:
        return error_response(exc.status, exc.message, exc.code, _unauthorized_headers(exc.status))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        headers = {"Allow": exc.headers["Allow"]} if "Allow" in exc.headers else {}
        return error_response(exc.status, exc.reason, headers=headers)
    except Exception:
        log.exception("api.error", extra={"path": request.path, "method": request.method})
        return error_response(500, "internal error")
