"""On-call mail threads by case (issue 17 item 4): the pages of one case, re-pages and the
pages after a reopen, are one thread with one subject; a digest names its cases; every
count reads right. Planned by the real planner, rendered and composed by the real
renderer and composer, read back with Python's `email` package."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest

from monitor.config.records import Mailbox
from monitor.incidents import Event, EventKind
from monitor.notify.channels.email import Composer
from monitor.notify.message import MessageKind
from monitor.notify.planner import Planned
from monitor.notify.render import Renderer
from tests.notify.test_planner import MIN, T0, config, incident, of, plan

SENDER = Mailbox("vakt@agency.example", "Vakt")


def mail(planned: Planned) -> EmailMessage:
    outgoing = Renderer().outgoing(str(planned.key), planned.payload)
    assert planned.payload.to is not None
    data = Composer(SENDER).compose(outgoing, planned.payload.to, datetime.now(UTC))
    parsed = message_from_bytes(data, policy=policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def text_of(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def test_problem_4_pages_of_one_case_are_one_thread_across_re_pages_and_a_reopen() -> None:
    events = (
        Event(EventKind.RESOLVED, T0 + 12 * MIN),
        Event(EventKind.REOPENED, T0 + 40 * MIN),
    )
    case = incident(events=events)
    pages = of(plan([case], T0 + 41 * MIN), MessageKind.PAGE)
    pages.sort(key=lambda p: p.due_at)
    assert [p.key.slot for p in pages] == ["0:0:0", "0:0:1", "1:0:0"]  # re-page, reopen
    first, *later = [mail(p) for p in pages]
    assert first["In-Reply-To"] is None
    for message in [first, *later]:
        assert message["X-Vakt-Case"] == "VAKT-2026-000001"
        assert message["Subject"] == first["Subject"]
        assert "VAKT-2026-000001" in message["Subject"]
    for message in later:
        assert message["In-Reply-To"] == first["Message-ID"]
        assert message["References"] == first["Message-ID"]


@pytest.mark.parametrize("cases", [2, 5])
def test_problem_4_a_digest_names_its_first_two_cases_and_counts_the_rest(cases: int) -> None:
    every = [incident(n, at=T0 + n * timedelta(seconds=1)) for n in range(cases)]
    planned = plan(every, T0 + timedelta(seconds=30), config(cases))
    [digest] = of(planned, MessageKind.DIGEST)
    message = mail(digest)
    subject, body = message["Subject"], text_of(message)
    named = [entry.case for entry in digest.payload.incidents]
    assert len(named) == cases - 1
    for case in named[:2]:
        assert case in subject
    for case in named[2:]:
        assert case not in subject
    if len(named) > 2:
        assert f"+{len(named) - 2}" in subject
    assert "1 incidents" not in subject + body
