"""What a contact's report does when no monitoring case is open: the site's checks are
probed at once (asked for through the store; every instance's scheduler runs those it
owns), and if the
probes confirm a failure within the window the report joins the monitoring case, whose
response clock then starts at the report's submission; otherwise the customer-reported
case stays, for a person to resolve."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any, cast

from monitor.incidents.reports import Filed, Receipt, ReportSource, make_report
from monitor.intake import Desk, ProbeAsks
from monitor.intake.asks import HORIZON, KEEP
from monitor.model import Level
from monitor.store import CustomerRequest, RequestStatus, Store
from tests.web.support import T0, Env, add_incident


class Shard:
    """One instance's scheduler run-now: it probes only the checks it owns."""

    def __init__(self, *owns: str) -> None:
        self.owns = set(owns)
        self.ran: list[str] = []

    def __call__(self, check_ids: Sequence[str]) -> int:
        mine = [c for c in check_ids if c in self.owns]
        self.ran += mine
        return len(mine)


HOME, BACKUP = "acme/shop/home", "acme/shop/backup"


async def _file(env: Env, desk: Desk) -> Receipt:
    report = make_report(
        env.config.customers["acme"], site="shop", name="Kari Nordmann",
        email="kari@acme.example", description="Kassen feiler", urgent=False,
        submitted_at=env.clock.now(), source=ReportSource.FORM,
    )  # fmt: skip
    return await desk.file(report)


async def _request(env: Env) -> CustomerRequest:
    async with env.store.transaction(read_only=True) as tx:
        (request,) = await tx.intake.with_status(*RequestStatus)
    return request


async def test_a_report_asks_every_instance_for_its_checks_at_once_and_only_once(
    env: Env,
) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    leader, standby = Shard(HOME), Shard(BACKUP)  # a cluster: each owns one of the checks
    on_leader, on_standby = ProbeAsks(env.store, env.clock), ProbeAsks(env.store, env.clock)
    receipt = await _file(env, desk)
    assert receipt.filed is Filed.OPENED
    assert await on_standby.poll(standby) == 0  # nothing asked before the follow-up
    await desk.follow_up()
    await desk.follow_up()  # the report is asked for once
    assert await on_leader.poll(leader) == 1
    assert await on_standby.poll(standby) == 1
    env.clock.advance(2)
    assert await on_leader.poll(leader) == 0
    assert await on_standby.poll(standby) == 0
    assert (leader.ran, standby.ran) == ([HOME], [BACKUP])


async def test_an_instance_that_starts_runs_the_recent_asks_and_old_ones_are_forgotten(
    env: Env,
) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    await _file(env, desk)
    await desk.follow_up()
    env.clock.advance(60)  # an instance (re)starts within the horizon: it probes them
    restarted = Shard(HOME, BACKUP)
    assert await ProbeAsks(env.store, env.clock).poll(restarted) == 2
    env.clock.advance(HORIZON.total_seconds())  # later ones are the checks' rhythm's
    assert await ProbeAsks(env.store, env.clock).poll(Shard(HOME, BACKUP)) == 0
    env.clock.advance(KEEP.total_seconds())
    await desk.follow_up()
    async with env.store.transaction(read_only=True) as tx:
        assert await tx.intake.asks_since(T0 - KEEP) == []  # the leader dropped them


async def test_a_failure_the_probes_confirm_joins_the_monitoring_case(env: Env) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    receipt = await _file(env, desk)
    await desk.follow_up()
    env.clock.advance(60)  # the probes confirmed: the engine opened a case (8 h for B)
    case = await add_incident(
        env.store, level=Level.B, opened_at=env.clock.now(),
        respond_by=env.clock.now() + timedelta(hours=8),
    )  # fmt: skip
    await desk.follow_up()
    request = await _request(env)
    assert request.status is RequestStatus.JOINED
    assert request.case_number == receipt.case  # the number the customer was given
    assert request.joined_case == case.case_number
    async with env.store.transaction(read_only=True) as tx:
        joined = await tx.incidents.by_case(case.case_number)
        events = await tx.incidents.events(case.id)
    assert joined is not None
    assert joined.respond_by == T0 + timedelta(hours=8)  # from the submission, a minute earlier
    assert [e.kind.value for e in events][-1] == "customer_report"


async def test_without_a_confirmed_failure_the_customer_reported_case_stays(env: Env) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    await _file(env, desk)
    await desk.follow_up()
    env.clock.advance(3600)  # the window is over and nothing failed
    await desk.follow_up()
    await add_incident(env.store, level=Level.B, opened_at=env.clock.now())  # a later outage
    await desk.follow_up()
    request = await _request(env)
    assert request.status is RequestStatus.OPEN
    assert request.joined_case is None
    assert request.probe_until is None  # no longer watched


async def test_old_rate_limit_counters_are_forgotten(env: Env) -> None:
    desk = Desk(env.store, lambda: env.config, env.clock)
    await _file(env, desk)
    window = T0.replace(minute=0, second=0)
    env.clock.advance(3 * 3600)
    await desk.follow_up()
    async with env.store.transaction() as tx:
        # counted afresh: the report's row of that window was dropped
        assert await tx.intake.count("email:kari@acme.example", window) == 1


class _Spy:
    """The store, noting whether each transaction it opens is read-only."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.opened: list[bool] = []

    def transaction(self, *args: Any, read_only: bool = False, **kwargs: Any) -> Any:
        self.opened.append(read_only)
        return self.store.transaction(*args, read_only=read_only, **kwargs)


async def test_with_no_report_watched_the_follow_up_takes_no_write_transaction(env: Env) -> None:
    """The 2 s job must not queue for SQLite's one writer behind the engine's flushes
    when there is nothing to do: it reads first, and drops old counters once a window
    (the first time a window after the desk was built)."""
    spy = _Spy(env.store)
    desk = Desk(cast(Store, spy), lambda: env.config, env.clock)
    opened = spy.opened
    assert await desk.follow_up() == 0
    env.clock.advance(600)
    assert await desk.follow_up() == 0
    assert opened == [True, True]
    env.clock.advance(3600)  # a window later: the old counters are dropped
    opened.clear()
    await desk.follow_up()
    assert False in opened
    await _file(env, desk)  # a report to watch: the follow-up writes again
    opened.clear()
    await desk.follow_up()
    assert False in opened
    async with env.store.transaction(read_only=True) as tx:
        asks = await tx.intake.asks_since(T0)
    assert [check for _, check in asks] == [HOME, BACKUP]
