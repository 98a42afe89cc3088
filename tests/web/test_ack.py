"""`/ack/{token}`: GET shows, POST acknowledges once; bad tokens change nothing."""

from __future__ import annotations

from datetime import timedelta

from monitor.model import IncidentStatus
from monitor.notify.tokens import issue_token
from tests.notify.test_tokens import signed
from tests.web.conftest import Client
from tests.web.support import SECRET, T0, XSS, Env, add_incident, csrf_of

CASE = "VAKT-2026-000001"


def token(*cases: str, person: str = "alice", hours: float = 1, secret: str = SECRET) -> str:
    return issue_token(secret, cases or (CASE,), person, T0 + timedelta(hours=hours))


async def status_of(env: Env, case: str = CASE) -> IncidentStatus:
    async with env.store.transaction() as tx:
        row = await tx.incidents.by_case(case)
    assert row is not None
    return row.status


async def test_get_shows_what_will_be_acknowledged_and_changes_nothing(
    env: Env, public: Client
) -> None:
    await add_incident(env.store)
    response = await public.get(f"/ack/{token()}")
    html = await response.text()
    assert response.status == 200
    assert CASE in html
    assert "Alice Hansen" in html
    assert '<button type="submit" class="primary">Acknowledge</button>' in html
    assert XSS not in html  # the site's hostile title is escaped
    assert await status_of(env) is IncidentStatus.OPEN


async def test_post_acknowledges_as_the_tokens_person(env: Env, public: Client) -> None:
    await add_incident(env.store)
    link = f"/ack/{token()}"
    csrf = csrf_of(await (await public.get(link)).text())
    response = await public.post(link, data={"csrf": csrf})
    assert response.status == 200
    assert "acknowledged" in await response.text()
    async with env.store.transaction() as tx:
        row = await tx.incidents.by_case(CASE)
    assert row is not None
    assert (row.status, row.acknowledged_by) == (IncidentStatus.ACKNOWLEDGED, "alice")


async def test_a_digest_token_acknowledges_all_its_incidents(env: Env, public: Client) -> None:
    cases = ("VAKT-2026-000001", "VAKT-2026-000002")
    await add_incident(env.store, case=cases[0])
    await add_incident(env.store, case=cases[1], site_id="open/web")
    link = f"/ack/{token(*cases)}"
    html = await (await public.get(link)).text()
    assert "Acknowledge 2 incidents" in html
    await public.post(link, data={"csrf": csrf_of(html)})
    assert [await status_of(env, c) for c in cases] == [IncidentStatus.ACKNOWLEDGED] * 2


async def test_a_used_token_gets_a_clear_page_and_changes_nothing(env: Env, public: Client) -> None:
    await add_incident(env.store)
    link = f"/ack/{token()}"
    csrf = csrf_of(await (await public.get(link)).text())
    await public.post(link, data={"csrf": csrf})
    async with env.store.transaction() as tx:
        before = await tx.incidents.by_case(CASE)
    again = await public.post(link, data={"csrf": csrf})
    assert again.status == 410
    assert "already used" in await again.text()
    shown = await public.get(link)
    assert shown.status == 410
    async with env.store.transaction() as tx:
        after = await tx.incidents.by_case(CASE)
    assert after == before


async def test_a_forged_token_is_refused(env: Env, public: Client) -> None:
    await add_incident(env.store)
    forged = token(secret="someone-elses-secret")
    for response in (
        await public.get(f"/ack/{forged}"),
        await public.post(
            f"/ack/{forged}", data={"csrf": "x" * 32}, cookies={"vakt_csrf": "x" * 32}
        ),
    ):
        assert response.status == 400
        assert "not valid" in await response.text()
    assert await status_of(env) is IncidentStatus.OPEN


async def test_an_expired_token_is_refused(env: Env, public: Client) -> None:
    await add_incident(env.store)
    link = f"/ack/{token(hours=1)}"
    csrf = csrf_of(await (await public.get(link)).text())
    env.clock.advance(3600)
    response = await public.post(link, data={"csrf": csrf})
    assert response.status == 410
    assert "expired" in await response.text()
    assert await status_of(env) is IncidentStatus.OPEN


async def test_a_malformed_token_is_refused(public: Client) -> None:
    for bad in ("nonsense", "a.b", "x" * 3000 + ".y"):
        response = await public.get(f"/ack/{bad}")
        assert response.status == 400
        assert "Nothing was acknowledged" in await response.text()


async def test_post_without_the_csrf_cookie_changes_nothing(env: Env, public: Client) -> None:
    await add_incident(env.store)
    link = f"/ack/{token()}"
    csrf = csrf_of(await (await public.get(link)).text())
    public.session.cookie_jar.clear()
    response = await public.post(link, data={"csrf": csrf})
    assert response.status == 403
    assert await status_of(env) is IncidentStatus.OPEN
    # and the token is still good: the refused POST did not use it up
    retry = await public.get(link)
    assert retry.status == 200


async def test_a_resolved_incident_is_reported_not_acknowledged(env: Env, public: Client) -> None:
    await add_incident(env.store, status=IncidentStatus.RESOLVED)
    link = f"/ack/{token()}"
    csrf = csrf_of(await (await public.get(link)).text())
    html = await (await public.post(link, data={"csrf": csrf})).text()
    assert "already resolved" in html


async def test_issue16_7_a_genuine_token_with_an_absurd_expiry_is_refused_cleanly(
    env: Env, public: Client
) -> None:
    await add_incident(env.store)
    claims = f'{{"e":{10**19},"i":["{CASE}"],"n":"n1","p":"alice","v":1}}'
    link = f"/ack/{signed(claims.encode(), SECRET)}"
    for response in (
        await public.get(link),
        await public.post(link, data={"csrf": "x" * 32}, cookies={"vakt_csrf": "x" * 32}),
    ):
        assert response.status == 400
        assert "Nothing was acknowledged" in await response.text()
    assert await status_of(env) is IncidentStatus.OPEN


async def test_issue16_7_the_link_of_a_person_no_longer_configured_is_refused(
    env: Env, public: Client
) -> None:
    await add_incident(env.store)
    link = f"/ack/{token(person='carol')}"  # carol was paged, then removed from `people`
    shown = await public.get(link)
    assert shown.status == 403
    assert "no longer" in await shown.text()
    posted = await public.post(link, data={"csrf": "x" * 32}, cookies={"vakt_csrf": "x" * 32})
    assert posted.status == 403
    assert await status_of(env) is IncidentStatus.OPEN
