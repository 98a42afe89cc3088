"""Team logins: hashing, sign-in, sessions, CSRF on every form, rate limits, cookie flags."""

from __future__ import annotations

import pytest

from monitor.web.auth import PasswordHasher
from monitor.web.ui.login import _next as login_next
from tests.web.conftest import Client, deps_of
from tests.web.support import FAST, PASSWORD, Env, add_incident, add_password, csrf_of, login


def test_a_hash_verifies_its_password_only() -> None:
    hashed = FAST.hash("a long password")
    assert hashed.startswith("scrypt$4$8$1$")
    assert FAST.verify("a long password", hashed)
    assert not FAST.verify("a long passworD", hashed)


def test_each_hash_has_its_own_salt() -> None:
    assert FAST.hash("same password") != FAST.hash("same password")


def test_the_default_cost_is_modern() -> None:
    default = PasswordHasher()
    assert (default.log2_n, default.r) == (15, 8)  # 32 MiB per hash (OWASP scrypt minimum)


def test_malformed_hashes_never_verify() -> None:
    for stored in ("", "plain", "scrypt$99$8$1$AAAA$AAAA", "bcrypt$x", "scrypt$4$8$1$!!$??"):
        assert not FAST.verify("anything", stored)


async def test_pages_redirect_to_login_without_a_session(private: Client) -> None:
    response = await private.get("/incidents/VAKT-2026-000001", allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/login?next=/incidents/VAKT-2026-000001"


async def test_a_person_signs_in_and_sees_the_overview(env: Env, private: Client) -> None:
    await add_password(env.store)
    await login(private)
    page = await private.get("/")
    assert page.status == 200
    assert "Alice Hansen" in await page.text()


async def test_the_session_cookie_is_httponly_and_lax(env: Env, private: Client) -> None:
    await add_password(env.store)
    form = csrf_of(await (await private.get("/login")).text())
    response = await private.post(
        "/login",
        data={"csrf": form, "person": "alice", "password": PASSWORD},
        allow_redirects=False,
    )
    cookie = response.cookies["vakt_session"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert not cookie["secure"]  # plain http on loopback


async def test_the_session_cookie_is_secure_behind_a_tls_proxy(env: Env, private: Client) -> None:
    await add_password(env.store)
    form = csrf_of(await (await private.get("/login")).text())
    response = await private.post(
        "/login",
        data={"csrf": form, "person": "alice", "password": PASSWORD},
        headers={"X-Forwarded-Proto": "https"},
        allow_redirects=False,
    )
    assert response.cookies["vakt_session"]["secure"] is True


async def test_a_wrong_password_is_refused(env: Env, private: Client) -> None:
    await add_password(env.store)
    form = csrf_of(await (await private.get("/login")).text())
    response = await private.post(
        "/login", data={"csrf": form, "person": "alice", "password": "wrong password!"}
    )
    assert response.status == 401
    assert "wrong password" in await response.text()
    assert "vakt_session" not in response.cookies


async def test_a_person_without_a_password_cannot_sign_in(private: Client) -> None:
    form = csrf_of(await (await private.get("/login")).text())
    response = await private.post(
        "/login", data={"csrf": form, "person": "alice", "password": PASSWORD}
    )
    assert response.status == 401


async def test_login_without_the_csrf_token_is_forbidden(env: Env, private: Client) -> None:
    await add_password(env.store)
    await private.get("/login")
    response = await private.post("/login", data={"person": "alice", "password": PASSWORD})
    assert response.status == 403


async def test_login_attempts_are_rate_limited(env: Env, private: Client) -> None:
    form = csrf_of(await (await private.get("/login")).text())
    statuses = []
    for _ in range(12):
        response = await private.post(
            "/login", data={"csrf": form, "person": "alice", "password": "guess guess guess"}
        )
        statuses.append(response.status)
    assert statuses[:10] == [401] * 10
    assert statuses[10:] == [429, 429]


async def test_login_only_redirects_within_the_site(env: Env, private: Client) -> None:
    await add_password(env.store)
    form = csrf_of(await (await private.get("/login")).text())
    response = await private.post(
        "/login",
        data={"csrf": form, "person": "alice", "password": PASSWORD, "next": "//evil.example/"},
        allow_redirects=False,
    )
    assert response.headers["Location"] == "/"


async def test_a_post_without_a_session_is_forbidden(env: Env, private: Client) -> None:
    await add_incident(env.store)
    response = await private.post("/incidents/VAKT-2026-000001/ack", data={})
    assert response.status == 403


async def test_a_post_with_a_wrong_csrf_token_changes_nothing(env: Env, private: Client) -> None:
    await add_password(env.store)
    await add_incident(env.store)
    await login(private)
    for data in ({}, {"csrf": "forged-token-value-1234567890"}):
        response = await private.post("/incidents/VAKT-2026-000001/ack", data=data)
        assert response.status == 403
    async with env.store.transaction() as tx:
        row = await tx.incidents.by_case("VAKT-2026-000001")
    assert row is not None
    assert row.acknowledged_at is None


async def test_sign_out_ends_the_session(env: Env, private: Client) -> None:
    await add_password(env.store)
    token = await login(private)
    cookie = private.session.cookie_jar.filter_cookies(private.make_url("/"))["vakt_session"]
    response = await private.post("/logout", data={"csrf": token})
    assert response.status == 200
    assert str(response.url).endswith("/login")
    private.session.cookie_jar.update_cookies({"vakt_session": cookie.value})
    again = await private.get("/", allow_redirects=False)
    assert again.status == 303


async def test_sessions_expire(env: Env, private: Client) -> None:
    await add_password(env.store)
    await login(private)
    env.clock.advance(deps_of(env).session_ttl.total_seconds() + 1)
    response = await private.get("/", allow_redirects=False)
    assert response.status == 303


HOSTILE_NEXT = [
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r/evil.example",
    "/%09/evil.example",
    "/%0a/evil.example",
    "//evil.example",
    "/%2f/evil.example",
    "/%5c/evil.example",
    "/\\evil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    " /incidents",
]


@pytest.mark.parametrize("raw", HOSTILE_NEXT)
def test_after_sign_in_a_path_that_could_leave_the_site_goes_to_the_overview(raw: str) -> None:
    """Browsers drop tabs and newlines from URLs and read `\\` as `/`, so `/\t/evil.example`
    is `//evil.example`: scheme-relative in the Location header."""
    assert login_next(raw) == "/"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("/incidents/VAKT-2026-000001?x=1", "/incidents/VAKT-2026-000001?x=1"),
        ("/sites/acme/./shop", "/sites/acme/shop"),
        ("/silences/", "/silences/"),
        ("/a/../..//evil.example", "/evil.example"),  # a path on this site
        ("/", "/"),
    ],
)
def test_after_sign_in_a_same_origin_path_is_kept_normalised(raw: str, expected: str) -> None:
    assert login_next(raw) == expected


async def test_a_tab_in_next_does_not_redirect_off_site_after_sign_in(
    env: Env, private: Client
) -> None:
    await add_password(env.store)
    for raw, expected in (("/\t/evil.example", "/"), ("/incidents", "/incidents")):
        form = csrf_of(await (await private.get("/login")).text())
        response = await private.post(
            "/login",
            data={"csrf": form, "person": "alice", "password": PASSWORD, "next": raw},
            allow_redirects=False,
        )
        assert response.status == 303
        assert response.headers["Location"] == expected
