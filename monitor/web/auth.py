"""Team logins: password hashes with scrypt, sessions in the store, a login rate limit.

A password hash is `scrypt$<log2 n>$<r>$<p>$<salt>$<key>` (salt and key URL-safe base64):
the cost travels with the hash, so raising the default cost later keeps old hashes
verifiable. The default (n = 2^15, r = 8: 32 MiB and about 0.1 s per hash) follows
OWASP's scrypt guidance. Hashing runs in a worker thread, never on the event loop.

A session cookie is 32 random bytes; the store keeps only its SHA-256, so a copy of the
database holds no usable session. Each session carries its own CSRF token.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from monitor.store import Store
from monitor.store.queries.web import WebSession

SCHEME = "scrypt"
MIN_PASSWORD = 10


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True, slots=True)
class PasswordHasher:
    """scrypt with a per-hash random salt. `log2_n`, `r`, `p` set the cost of new hashes."""

    log2_n: int = 15
    r: int = 8
    p: int = 1
    key_bytes: int = 32

    def hash(self, password: str) -> str:
        """A new hash of `password` (blocking: call `hash_async` on the event loop)."""
        salt = secrets.token_bytes(16)
        key = _scrypt(password, salt, self.log2_n, self.r, self.p, self.key_bytes)
        return f"{SCHEME}${self.log2_n}${self.r}${self.p}${_b64(salt)}${_b64(key)}"

    def verify(self, password: str, stored: str) -> bool:
        """True when `password` matches `stored`; False for any malformed hash."""
        parts = stored.split("$")
        if len(parts) != 6 or parts[0] != SCHEME:
            return False
        try:
            log2_n, r, p = int(parts[1]), int(parts[2]), int(parts[3])
            salt, key = _unb64(parts[4]), _unb64(parts[5])
        except ValueError:
            return False
        if not (1 <= log2_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16 and key):
            return False
        return hmac.compare_digest(_scrypt(password, salt, log2_n, r, p, len(key)), key)

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, password: str, stored: str) -> bool:
        return await asyncio.to_thread(self.verify, password, stored)


def _scrypt(password: str, salt: bytes, log2_n: int, r: int, p: int, size: int) -> bytes:
    n = 1 << log2_n
    return hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=256 * n * r, dklen=size
    )


def password_problem(password: str) -> str | None:
    """Why `password` is not acceptable, or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if password.strip() != password:
        return "a password may not start or end with whitespace"
    return None


def session_hash(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Sessions:
    """Sign-in, sign-out and session lookup against the store."""

    store: Store
    hasher: PasswordHasher
    ttl: timedelta = timedelta(hours=12)

    async def check_password(self, person: str, password: str) -> bool:
        """True when `person` has a password and it is `password`.

        A person without one costs a hash too, so timing does not tell who has a login.
        """
        async with self.store.transaction(read_only=True) as tx:
            stored = await tx.web.password_hash(person)
        if stored is None:
            await self.hasher.hash_async(password)
            return False
        return await self.hasher.verify_async(password, stored)

    async def start(self, person: str, now: datetime) -> tuple[str, WebSession]:
        """A new session for `person`: (cookie value, session)."""
        cookie = secrets.token_urlsafe(32)
        session = WebSession(
            id_hash=session_hash(cookie),
            person=person,
            csrf=secrets.token_urlsafe(24),
            created_at=now,
            expires_at=now + self.ttl,
        )
        async with self.store.transaction() as tx:
            await tx.web.add_session(session)
        return cookie, session

    async def find(self, cookie: str, now: datetime) -> WebSession | None:
        if not cookie or len(cookie) > 128:
            return None
        async with self.store.transaction(read_only=True) as tx:
            return await tx.web.session(session_hash(cookie), now)

    async def end(self, cookie: str) -> None:
        async with self.store.transaction() as tx:
            await tx.web.end_session(session_hash(cookie))


async def set_password(
    store: Store, hasher: PasswordHasher, person: str, password: str, now: datetime
) -> None:
    """Store a new password for `person` and sign them out everywhere."""
    problem = password_problem(password)
    if problem is not None:
        raise ValueError(problem)
    hashed = await hasher.hash_async(password)
    async with store.transaction() as tx:
        await tx.web.set_password(person, hashed, now)
        await tx.web.end_sessions_of(person)
