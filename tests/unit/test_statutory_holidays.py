"""The statutory holidays computed from the law and lunar-python, checked against the official calendars."""

from __future__ import annotations

from datetime import date

import chinese_calendar.constants  # type: ignore[import-untyped]
import pytest

from aggregates.calendar import CalendarKind, YearSchedule
from node.calendar.source import package_schedules
from node.calendar.statutory_holidays import contradictions, provisional_schedule, statutory_days

D = date.fromisoformat
OFFICIAL_DAYS_OFF = chinese_calendar.constants.holidays


@pytest.mark.parametrize("year", range(2020, 2027))
def test_every_statutory_day_is_a_holiday_in_the_official_calendar(year: int) -> None:
    """By the version of the law in force that year: before 2025 春节 is 初一..初三 and 劳动节 05-01 only."""
    days = statutory_days(year)
    assert sorted(d for d in days if d not in OFFICIAL_DAYS_OFF) == []
    # seven festivals; in 2020 中秋 fell on 10-01, a day of 国庆, which names it here
    assert len(set(days.values())) == (6 if year == 2020 else 7)
    assert sum(name == "春节" for name in days.values()) == (4 if year >= 2025 else 3)
    assert sum(name == "劳动节" for name in days.values()) == (2 if year >= 2025 else 1)


def test_known_festival_dates() -> None:
    spring_2027 = [day for day, name in statutory_days(2027).items() if name == "春节"]
    assert sorted(spring_2027) == [D("2027-02-05"), D("2027-02-06"), D("2027-02-07"), D("2027-02-08")]
    assert statutory_days(2026)[D("2026-04-05")] == "清明"  # the solar term, not a fixed date
    assert statutory_days(2025)[D("2025-10-06")] == "中秋"  # 八月十五
    assert statutory_days(2027)[D("2027-06-09")] == "端午"  # 五月初五


def test_a_provisional_year_makes_up_weekend_statutory_days_on_the_next_working_days() -> None:
    schedule = provisional_schedule(2027)
    assert schedule.kind == CalendarKind.PROVISIONAL
    assert schedule.workdays == frozenset()  # 调休 swaps only come with the notice
    # 春节 2027: 除夕 Friday 02-05 to 初三 Monday 02-08; Saturday and Sunday are made up on 02-09 and 02-10
    assert {D("2027-02-09"), D("2027-02-10")} <= schedule.holidays
    assert schedule.is_working_day(D("2027-02-11"))
    # 国庆 2027: Friday 10-01 to Sunday 10-03, made up on Monday 10-04 and Tuesday 10-05
    assert [schedule.is_working_day(D(f"2027-10-0{d}")) for d in range(1, 8)] == [
        *(False,) * 5,
        True,
        True,
    ]
    # 清明 2027 falls on Monday 04-05: nothing to make up
    assert schedule.is_working_day(D("2027-04-06"))


def test_the_official_years_do_not_contradict_the_law() -> None:
    for schedule in package_schedules():
        assert contradictions(schedule) == [], schedule.year


def test_a_schedule_that_works_on_a_statutory_day_contradicts_the_law() -> None:
    schedule = YearSchedule(2027, frozenset({D("2027-01-01")}), frozenset({D("2027-02-06")}), "bad")
    problems = contradictions(schedule)
    assert any(p.startswith("2027-02-05 (春节)") for p in problems)  # a Friday left as a working day
    assert any(p.startswith("2027-02-06 (春节)") for p in problems)  # a Saturday made a working day
