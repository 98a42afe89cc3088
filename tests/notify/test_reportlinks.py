"""The signed approve/hold links of a monthly report's preview (`monitor.notify.reportlinks`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.notify.reportlinks import Decision, ReportLink, decision_id, issue_link, read_link
from monitor.notify.tokens import TokenError, TokenProblem, issue_token

NOW = datetime(2026, 12, 1, 9, tzinfo=UTC)
LINK = ReportLink(Decision.HOLD, "acme", "2026-11")


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_a_link_reads_back_as_its_decision_and_is_the_same_when_issued_again() -> None:
    url = issue_link("s3cret", "https://status.example/", LINK, NOW + timedelta(days=30))
    assert url.startswith("https://status.example/report-approval/")
    assert read_link("s3cret", token_of(url), NOW) == LINK
    assert issue_link("s3cret", "https://status.example", LINK, NOW + timedelta(days=30)) == url


def test_forged_expired_and_foreign_tokens_are_refused() -> None:
    token = token_of(issue_link("s3cret", "https://x", LINK, NOW + timedelta(days=1)))
    forged = read_link("other", token, NOW)
    assert isinstance(forged, TokenError)
    assert forged.problem is TokenProblem.FORGED
    expired = read_link("s3cret", token, NOW + timedelta(days=1))
    assert isinstance(expired, TokenError)
    assert expired.problem is TokenProblem.EXPIRED
    ack = issue_token("s3cret", ["VAKT-2026-000001"], "alice", NOW + timedelta(days=1))
    foreign = read_link("s3cret", ack, NOW)  # an acknowledge link decides no report
    assert isinstance(foreign, TokenError)
    assert foreign.problem is TokenProblem.MALFORMED


def test_each_decision_is_spent_apart_and_fits_the_used_token_column() -> None:
    ids = {decision_id(d, "a" * 64, "2026-11") for d in Decision}
    assert len(ids) == 2
    assert all(len(i) <= 64 for i in ids)
    assert decision_id(Decision.APPROVE, "acme", "2026-11") != decision_id(
        Decision.APPROVE, "acme", "2026-10"
    )
