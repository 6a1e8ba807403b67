"""Working-day arithmetic on hand-typed schedules (the State Council's 2025 and 2026 holiday notices)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aggregates.calendar import DateOutsideCalendar, WorkingCalendar, YearSchedule, describe_years
from aggregates.errors import InvalidField


def span(first: str, last: str | None = None) -> set[date]:
    start, end = date.fromisoformat(first), date.fromisoformat(last or first)
    return {start + timedelta(days=i) for i in range((end - start).days + 1)}


def schedule(year: int, holidays: set[date], workdays: set[date], source: str = "") -> YearSchedule:
    return YearSchedule(year, frozenset(holidays), frozenset(workdays), source)


# As published by the State Council in November 2024 and November 2025.
Y2025 = schedule(
    2025,
    span("2025-01-01")
    | span("2025-01-28", "2025-02-04")
    | span("2025-04-04", "2025-04-06")
    | span("2025-05-01", "2025-05-05")
    | span("2025-05-31", "2025-06-02")
    | span("2025-10-01", "2025-10-08"),
    span("2025-01-26") | span("2025-02-08") | span("2025-04-27") | span("2025-09-28") | span("2025-10-11"),
)
Y2026 = schedule(
    2026,
    span("2026-01-01", "2026-01-03")
    | span("2026-02-15", "2026-02-23")
    | span("2026-04-04", "2026-04-06")
    | span("2026-05-01", "2026-05-05")
    | span("2026-06-19", "2026-06-21")
    | span("2026-09-25", "2026-09-27")
    | span("2026-10-01", "2026-10-07"),
    span("2026-01-04")
    | span("2026-02-14")
    | span("2026-02-28")
    | span("2026-05-09")
    | span("2026-09-20")
    | span("2026-10-10"),
)
CALENDAR = WorkingCalendar([Y2025, Y2026])
D = date.fromisoformat


def test_the_domain_example_accepted_friday_before_national_day() -> None:
    assert CALENDAR.add_working_days(D("2025-09-26"), 20) == D("2025-10-30")
    assert CALENDAR.working_days_between(D("2025-09-26"), D("2025-10-30")) == 20


def test_national_day_2025_with_its_swapped_weekend_days() -> None:
    assert not any(CALENDAR.is_working_day(d) for d in span("2025-10-01", "2025-10-08"))
    assert CALENDAR.is_working_day(D("2025-09-28"))  # Sunday
    assert CALENDAR.is_working_day(D("2025-10-11"))  # Saturday
    assert not CALENDAR.is_working_day(D("2025-10-12"))  # an ordinary Sunday
    assert CALENDAR.is_working_day(D("2025-10-09"))


def test_the_start_day_is_not_counted() -> None:
    assert CALENDAR.add_working_days(D("2025-09-22"), 1) == D("2025-09-23")  # Monday -> Tuesday
    assert CALENDAR.add_working_days(D("2025-09-27"), 1) == D("2025-09-28")  # Saturday -> the working Sunday
    assert CALENDAR.add_working_days(D("2025-09-30"), 1) == D("2025-10-09")  # over the whole holiday
    assert CALENDAR.add_working_days(D("2025-10-04"), 0) == D("2025-10-04")  # n == 0 is the start itself


def test_working_days_between_counts_after_start_up_to_and_including_end() -> None:
    assert CALENDAR.working_days_between(D("2025-09-22"), D("2025-09-23")) == 1
    assert CALENDAR.working_days_between(D("2025-09-23"), D("2025-09-23")) == 0
    assert CALENDAR.working_days_between(D("2025-09-30"), D("2025-09-01")) == 0
    assert CALENDAR.working_days_between(D("2025-09-30"), D("2025-10-08")) == 0


def test_counting_crosses_the_year_boundary() -> None:
    # 2026-01-01..03 off, Sunday 01-04 a working day.
    assert CALENDAR.add_working_days(D("2025-12-25"), 10) == D("2026-01-09")
    assert CALENDAR.working_days_between(D("2025-12-25"), D("2026-01-09")) == 10


def test_an_uncovered_year_is_refused_never_guessed() -> None:
    only_2025 = WorkingCalendar([Y2025])
    with pytest.raises(DateOutsideCalendar, match=r"2026-01-05 .*covered years: 2025\)") as raised:
        only_2025.is_working_day(D("2026-01-05"))
    assert (raised.value.year, raised.value.covered_years) == (2026, (2025,))
    with pytest.raises(DateOutsideCalendar, match="2026-01-01"):
        only_2025.add_working_days(D("2025-12-25"), 10)
    with pytest.raises(DateOutsideCalendar, match="2026-01-01"):
        only_2025.working_days_between(D("2025-12-01"), D("2026-01-02"))
    with pytest.raises(
        DateOutsideCalendar, match=r"no working-day schedule for 2030 \(covered years: 2025\)"
    ):
        only_2025.schedule(2030)
    with pytest.raises(DateOutsideCalendar, match="2024-06-01"):
        only_2025.working_days_between(D("2024-05-31"), D("2025-01-03"))


def test_only_the_counted_days_need_a_schedule() -> None:
    # Counting from 2024-12-31 looks at 2025 days only.
    assert WorkingCalendar([Y2025]).add_working_days(D("2024-12-31"), 1) == D("2025-01-02")


def test_a_gap_between_covered_years_stops_the_count() -> None:
    gapped = WorkingCalendar([Y2025, schedule(2027, set(), set())])
    assert gapped.covered_years == (2025, 2027)
    with pytest.raises(DateOutsideCalendar, match=r"2026-01-01 .*2025, 2027"):
        gapped.add_working_days(D("2025-12-30"), 5)
    assert gapped.add_working_days(D("2026-12-31"), 1) == D("2027-01-01")  # a Friday, no holidays given


def test_a_later_schedule_for_the_same_year_replaces_the_earlier_one() -> None:
    replacement = schedule(2025, span("2025-10-09"), set(), "operator file")
    calendar = WorkingCalendar([Y2025, Y2026, replacement])
    assert calendar.covered_years == (2025, 2026)
    assert calendar.schedule(2025) is replacement
    assert calendar.is_working_day(D("2025-10-01"))
    assert not calendar.is_working_day(D("2025-09-28"))
    assert not calendar.is_working_day(D("2025-10-09"))


def test_negative_counts_are_invalid() -> None:
    with pytest.raises(InvalidField, match="n: "):
        CALENDAR.add_working_days(D("2025-01-02"), -1)


@pytest.mark.parametrize(
    ("holidays", "workdays", "problem"),
    [
        (span("2024-12-31"), set(), "holidays: 2024-12-31 is not in 2025"),
        (set(), span("2026-01-04"), "workdays: 2026-01-04 is not in 2025"),
        (span("2025-01-26"), span("2025-01-26"), "workdays: 2025-01-26 is also listed as a holiday"),
        (set(), span("2025-01-27"), "workdays: 2025-01-27 is a Monday: only weekend days"),
    ],
)
def test_a_year_schedule_is_consistent(holidays: set[date], workdays: set[date], problem: str) -> None:
    with pytest.raises(InvalidField, match=problem):
        schedule(2025, holidays, workdays)


def test_year_schedule_working_days() -> None:
    assert len(Y2025.working_days()) == 248
    assert Y2025.working_days()[:2] == [D("2025-01-02"), D("2025-01-03")]


@pytest.mark.parametrize(
    ("years", "text"),
    [((), "none"), ((2025,), "2025"), ((2004, 2005, 2006, 2099), "2004–2006, 2099"), ((1, 3), "1, 3")],
)
def test_describe_years(years: tuple[int, ...], text: str) -> None:
    assert describe_years(years) == text


def reference_add(start: date, n: int) -> date:
    """Day by day: the n-th working day after start."""
    day = start
    while n:
        day += timedelta(days=1)
        n -= Y2025.is_working_day(day) if day.year == 2025 else Y2026.is_working_day(day)
    return day


@given(
    start=st.dates(min_value=date(2024, 12, 31), max_value=date(2025, 12, 31)),
    n=st.integers(min_value=0, max_value=240),
)
def test_add_working_days_matches_a_day_by_day_count(start: date, n: int) -> None:
    result = CALENDAR.add_working_days(start, n)
    assert result == reference_add(start, n)
    assert CALENDAR.working_days_between(start, result) == n
    if n:
        assert CALENDAR.is_working_day(result)
