"""Case numbers `<prefix>-<year>-<6 digits>`."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.incidents import CaseNumber, case_year, format_case_number, parse_case_number

prefixes = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,7}", fullmatch=True)
years = st.integers(1000, 9999)
numbers = st.integers(1, 999_999)


@pytest.mark.parametrize(
    ("prefix", "year", "number", "text"),
    [
        ("VAKT", 2026, 123, "VAKT-2026-000123"),
        ("VAKT", 2026, 1, "VAKT-2026-000001"),
        ("ACME2", 2027, 999_999, "ACME2-2027-999999"),
    ],
)
def test_format_and_parse(prefix: str, year: int, number: int, text: str) -> None:
    assert format_case_number(prefix, year, number) == text
    assert parse_case_number(text) == CaseNumber(prefix, year, number)


@pytest.mark.parametrize(
    ("prefix", "year", "number", "message"),
    [
        ("VA-KT", 2026, 1, "prefix"),
        ("", 2026, 1, "prefix"),
        ("VAKT", 26, 1, "year"),
        ("VAKT", 2026, 0, "number"),
        ("VAKT", 2026, 1_000_000, "number"),
    ],
)
def test_format_refuses_what_would_not_parse_back(
    prefix: str, year: int, number: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        format_case_number(prefix, year, number)


@pytest.mark.parametrize(
    "text", ["VAKT-2026-123", "VAKT-2026-0000001", "VAKT-2026-000000", "2026-000001", "VAKT 2026"]
)
def test_parse_refuses_anything_else(text: str) -> None:
    with pytest.raises(ValueError, match="not a case number"):
        parse_case_number(text)


def test_the_year_is_the_opening_year_in_the_instance_time_zone() -> None:
    new_year_eve = datetime(2026, 12, 31, 23, 30, tzinfo=UTC)
    assert case_year(new_year_eve, UTC) == 2026
    assert case_year(new_year_eve, ZoneInfo("Europe/Oslo")) == 2027


@settings(max_examples=300, deadline=None)
@given(prefixes, years, numbers)
def test_parse_inverts_format(prefix: str, year: int, number: int) -> None:
    assert parse_case_number(format_case_number(prefix, year, number)) == CaseNumber(
        prefix, year, number
    )


@settings(max_examples=300, deadline=None)
@given(st.tuples(prefixes, years, numbers), st.tuples(prefixes, years, numbers))
def test_distinct_parts_never_give_the_same_case_number(
    a: tuple[str, int, int], b: tuple[str, int, int]
) -> None:
    if a != b:
        assert format_case_number(*a) != format_case_number(*b)
