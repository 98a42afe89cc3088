"""HTTP(S) probe on the lean client: status, body, JSON, speed, redirects.

Phases: dns, connect, TLS handshake, first byte (the final response's headers), total;
redirect hops add up (see `Phases`). One fresh connection per request.
"""

from __future__ import annotations

import asyncio
import json
import re
from datetime import datetime

from monitor.config.records import Check, HttpSpec, JsonExpectation, StatusMatcher
from monitor.model import ErrorCode, ProbeResult
from monitor.probes.context import ProbeContext
from monitor.probes.lean import FetchError, Response
from monitor.probes.phases import Phases
from monitor.probes.results import failed, ok, seconds, timeout_detail

DEFAULT_TIMEOUT = 10.0


async def probe(check: Check, ctx: ProbeContext) -> ProbeResult:
    """Probe one `type: http` check. Target failures are results, never exceptions."""
    spec = check.spec
    if not isinstance(spec, HttpSpec):
        raise TypeError(f"{check.id}: http probe given {type(spec).__name__}")
    return await probe_http(check.id, spec, check.timeout.total_seconds(), ctx)


async def probe_url(url: str, ctx: ProbeContext, *, limit: float = DEFAULT_TIMEOUT) -> ProbeResult:
    """`vakt probe URL`: default expectations (status 200-399), the URL as the check id."""
    return await probe_http(url, HttpSpec(url=url), limit, ctx)


async def probe_http(check_id: str, spec: HttpSpec, limit: float, ctx: ProbeContext) -> ProbeResult:
    """One request over a fresh connection, bounded by `limit` seconds in total."""
    started_at = ctx.clock.now()
    phases = Phases(ctx.clock.monotonic)
    try:
        async with asyncio.timeout(limit):
            response = await _exchange(spec, ctx, phases)
    except TimeoutError:
        detail = timeout_detail(limit, phases.waiting_for)
        return failed(check_id, ctx, started_at, phases.timings(), ErrorCode.TIMEOUT, detail)
    except FetchError as exc:
        return failed(check_id, ctx, started_at, phases.timings(), exc.code, exc.detail)
    return _judge(check_id, spec, ctx, started_at, phases, response)


async def _exchange(spec: HttpSpec, ctx: ProbeContext, phases: Phases) -> Response:
    return await ctx.http.fetch(
        spec.url,
        phases,
        method=spec.method,
        headers=spec.headers,
        body=spec.body.encode() if spec.body is not None else None,
        follow_redirects=spec.follow_redirects,
        max_body_bytes=spec.max_body_bytes,
        ip_version=spec.ip_version,
        verify_tls=spec.verify_tls,
    )


def _judge(
    check_id: str,
    spec: HttpSpec,
    ctx: ProbeContext,
    started_at: datetime,
    phases: Phases,
    response: Response,
) -> ProbeResult:
    timings = phases.timings()
    size = len(response.body) if response.body is not None else None
    problem = _problem(spec, response, timings.total)
    if problem is None:
        return ok(
            check_id,
            ctx,
            started_at,
            timings,
            status_code=response.status,
            response_bytes=size,
            cert_not_after=response.cert_not_after,
            address=response.address,
        )
    code, detail = problem
    return failed(
        check_id,
        ctx,
        started_at,
        timings,
        code,
        detail,
        status_code=response.status,
        response_bytes=size,
        cert_not_after=response.cert_not_after,
        address=response.address,
    )


def _problem(spec: HttpSpec, response: Response, total: float) -> tuple[ErrorCode, str] | None:
    if response.body is None:
        return ErrorCode.TOO_LARGE, f"response exceeded {_size(spec.max_body_bytes)}"
    if not _status_matches(spec.status, response.status):
        return ErrorCode.HTTP_STATUS, (
            f"expected status {describe_status(spec.status)}, got {response.status}"
        )
    problem = _body_problem(spec, response)
    if problem is not None:
        return problem
    limit = spec.max_response_time
    if limit is not None and total > limit.total_seconds():
        return ErrorCode.SLOW, (
            f"responded in {seconds(total)}, over the {seconds(limit.total_seconds())} limit"
        )
    return None


def _body_problem(spec: HttpSpec, response: Response) -> tuple[ErrorCode, str] | None:
    if not (spec.body_contains or spec.body_not_contains or spec.body_regex or spec.json):
        return None  # nothing to decode
    assert response.body is not None
    text = response.body.decode(response.charset or "utf-8", errors="replace")
    if spec.body_contains is not None and spec.body_contains not in text:
        return ErrorCode.BODY, f"body does not contain {spec.body_contains!r}"
    if spec.body_not_contains is not None and spec.body_not_contains in text:
        return ErrorCode.BODY, f"body contains {spec.body_not_contains!r}"
    if spec.body_regex is not None and re.search(spec.body_regex, text) is None:
        return ErrorCode.BODY, f"body does not match /{spec.body_regex}/"
    if spec.json:
        return json_problem(text, spec.json)
    return None


def _status_matches(matcher: StatusMatcher, status: int) -> bool:
    return any(low <= status <= high for low, high in matcher)


def describe_status(matcher: StatusMatcher) -> str:
    """`200`, `2xx`, `200-399`, `200 or 302`: the matcher as a person would write it."""
    parts = []
    for low, high in matcher:
        if low == high:
            parts.append(str(low))
        elif low % 100 == 0 and high == low + 99:
            parts.append(f"{low // 100}xx")
        else:
            parts.append(f"{low}-{high}")
    return " or ".join(parts)


def _size(limit: int) -> str:
    if limit % (1 << 20) == 0:
        return f"{limit >> 20} MiB"
    if limit % (1 << 10) == 0:
        return f"{limit >> 10} KiB"
    return f"{limit} bytes"


_MISSING = object()


MAX_JSON_DEPTH = 64
"""Deeper JSON bodies fail as `json_limit` before they are decoded: Python's decoder
recurses per level and a hostile body of nested arrays would exhaust its stack. The body's
size is already capped by the check's `max_body`."""

_JSON_NESTING = re.compile(r'[\[\]{}"\\]')


def json_problem(
    text: str, expectations: tuple[JsonExpectation, ...]
) -> tuple[ErrorCode, str] | None:
    """Why a JSON body does not meet `expectations` (code and detail), or None when it does."""
    depth = json_depth(text, MAX_JSON_DEPTH)
    if depth > MAX_JSON_DEPTH:
        return ErrorCode.JSON_LIMIT, f"JSON nested deeper than {MAX_JSON_DEPTH} levels"
    try:
        document = json.loads(text)
    except ValueError:
        return ErrorCode.JSON, "body is not valid JSON"
    for expectation in expectations:
        name = ".".join(str(p) for p in expectation.path)
        value = _lookup(document, expectation.path)
        if value is _MISSING:
            return ErrorCode.JSON, f"JSON {name}: missing"
        if expectation.value is not None and _as_text(value) != expectation.value:
            got = _as_text(value)
            return ErrorCode.JSON, f"JSON {name}: expected {expectation.value!r}, got {got!r}"
    return None


def json_depth(text: str, limit: int) -> int:
    """How deep `text`'s arrays and objects nest (brackets inside strings do not count);
    stops counting at `limit` + 1. Malformed text gives some number: the decoder judges it."""
    depth = deepest = 0
    in_string = False
    escaped_at = -1  # the position a backslash escapes
    for match in _JSON_NESTING.finditer(text):
        char, at = match.group(), match.start()
        if in_string:
            if at == escaped_at:
                continue
            if char == "\\":
                escaped_at = at + 1
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > limit:
                break
        elif char in "]}":
            depth -= 1
    return deepest


def _lookup(document: object, path: tuple[str | int, ...]) -> object:
    node = document
    for part in path:
        if isinstance(node, dict) and str(part) in node:
            node = node[str(part)]
        elif isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
            node = node[part]
        else:
            return _MISSING
    return node


def _as_text(value: object) -> str:
    """JSON scalars as YAML would have written them (expectations are kept as text)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ":"))
