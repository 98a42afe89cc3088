"""The queue's order: respond-by first, then time of submission (first come, first served
within one deadline), then case number; a case without a deadline after all others."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from monitor.incidents.queue import QueueEntry, QueueKind, in_queue_order

T0 = datetime(2026, 1, 12, 9, 0, tzinfo=UTC)


def entry(case: str, submitted: int, respond_by: int | None) -> QueueEntry:
    return QueueEntry(
        case=case,
        kind=QueueKind.CUSTOMER,
        customer_id="acme",
        site_id=None,
        status="open",
        submitted_at=T0 + timedelta(minutes=submitted),
        respond_by=None if respond_by is None else T0 + timedelta(hours=respond_by),
        clock="always",
        who="",
        summary="",
    )


def test_the_earliest_deadline_comes_first() -> None:
    late, soon = entry("C-2026-000001", 0, 9), entry("C-2026-000002", 30, 2)
    assert in_queue_order([late, soon]) == [soon, late]


def test_within_one_deadline_the_first_submitted_comes_first() -> None:
    second, first = entry("C-2026-000002", 10, 4), entry("C-2026-000009", 5, 4)
    assert in_queue_order([second, first]) == [first, second]


def test_a_case_without_a_deadline_comes_after_every_case_with_one() -> None:
    none, far = entry("C-2026-000001", 0, None), entry("C-2026-000002", 60, 500)
    assert in_queue_order([none, far]) == [far, none]


def test_a_full_tie_is_ordered_by_case_number() -> None:
    b, a = entry("C-2026-000002", 0, 1), entry("C-2026-000001", 0, 1)
    assert in_queue_order([b, a]) == [a, b]
