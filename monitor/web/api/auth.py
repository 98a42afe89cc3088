"""Bearer tokens from `settings.web.api_tokens`, kept only as sha256 digests.

The presented token is hashed and compared with every configured digest in constant
time (`hmac.compare_digest`), without stopping at the first match, so neither the
answer's timing nor the config's order tells which part of a guess was right. A `write`
token may also read (and file customers' reports); a `read` token may only read; a
`requests:write` token may only file customers' reports (`POST /api/v1/requests`).
"""

from __future__ import annotations

import hashlib
import hmac

from monitor.config.records import ApiToken, Config, Scope
from monitor.web.api.errors import ApiError

_PREFIX = "bearer "
_GRANTS: dict[Scope, frozenset[Scope]] = {
    Scope.READ: frozenset({Scope.READ}),
    Scope.WRITE: frozenset({Scope.READ, Scope.WRITE, Scope.REQUESTS_WRITE}),
    Scope.REQUESTS_WRITE: frozenset({Scope.REQUESTS_WRITE}),
}


def token_digest(token: str) -> str:
    """The hex sha256 of a token, as written in `settings.web.api_tokens[].sha256`."""
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def find_token(config: Config, presented: str) -> ApiToken | None:
    """The configured token whose digest matches `presented`, or None."""
    digest = token_digest(presented).encode()
    found: ApiToken | None = None
    for candidate in config.settings.web.api_tokens:
        if hmac.compare_digest(digest, candidate.sha256.lower().encode()):
            found = candidate
    return found


def authenticate(config: Config, authorization: str | None) -> ApiToken:
    """The token named by an `Authorization: Bearer ...` header; ApiError 401 otherwise."""
    if not authorization or authorization[: len(_PREFIX)].lower() != _PREFIX:
        raise ApiError(401, "an `Authorization: Bearer <token>` header is required")
    token = find_token(config, authorization[len(_PREFIX) :].strip())
    if token is None:
        raise ApiError(401, "the bearer token is not valid")
    return token


def require(token: ApiToken, scope: Scope) -> None:
    """ApiError 403 unless `token` grants `scope`."""
    if scope not in _GRANTS[token.scope]:
        raise ApiError(403, f"this needs a token with the {scope.value!r} scope")
