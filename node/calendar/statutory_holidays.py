"""The statutory public holidays (全体公民放假的节日) of a year, and the provisional schedule built from them.

The law fixes the festivals and their length (全国年节及纪念日放假办法, Article 2); only the weekend days
swapped to bridge them (调休) wait for the State Council's notice each November. So a year that no
official schedule covers yet still has most of its days off known in advance:

- the statutory days, by the version of the regulation in force that year:
  - from 2025-01-01 (amended 2024): 元旦 1, 春节 4 (除夕 to 正月初三), 清明 1, 劳动节 2 (05-01, 05-02),
    端午 1, 中秋 1, 国庆 3 (10-01 to 10-03);
  - 2014 to 2024 (amended 2013): the same, but 春节 3 (正月初一 to 初三) and 劳动节 1 (05-01);
- Article 6: a statutory day that falls on a Saturday or Sunday is made up (补假) on the next working
  day(s) after that festival.

A provisional schedule has those days off and no 调休 working weekend days, which only the notice can say.
Lunar dates and the 清明 solar term come from ``lunar-python``; nothing here computes astronomy.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import cache

from lunar_python import Lunar, Solar  # type: ignore[import-untyped]

from aggregates.calendar import CalendarKind, YearSchedule

FIRST_RULED_YEAR = 2014  # the regulation as amended in 2013: earlier years followed other versions
_AMENDED_2024 = 2025  # the 2024 amendment is in force from 2025-01-01
_SATURDAY = 5
PROVISIONAL_SOURCE = "provisional: 全国年节及纪念日放假办法 (2024) and lunar-python; 调休 unknown"


def _solar(day: Solar) -> date:
    return date(day.getYear(), day.getMonth(), day.getDay())


def _lunar(year: int, month: int, day: int) -> date:
    return _solar(Lunar.fromYmd(year, month, day).getSolar())


def _qingming(year: int) -> date:
    """The 清明 solar term of ``year``: always early April, so the lunar year around mid-April holds it."""
    return _solar(Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"])


@cache
def statutory_days(year: int) -> dict[date, str]:
    """Each statutory holiday of ``year`` with its festival, by the version of the law in force that year."""
    if year < FIRST_RULED_YEAR:
        raise ValueError(f"statutory holidays are known here from {FIRST_RULED_YEAR}, not {year}")
    amended = year >= _AMENDED_2024
    new_year = _lunar(year, 1, 1)
    spring = [new_year + timedelta(days=k) for k in range(-1 if amended else 0, 3)]  # 除夕 is the day before
    festivals = {
        "元旦": [date(year, 1, 1)],
        "春节": spring,
        "清明": [_qingming(year)],
        "劳动节": [date(year, 5, 1), date(year, 5, 2)] if amended else [date(year, 5, 1)],
        "端午": [_lunar(year, 5, 5)],
        "中秋": [_lunar(year, 8, 15)],
        "国庆": [date(year, 10, k) for k in (1, 2, 3)],
    }
    return {day: name for name, days in festivals.items() for day in days}


def _festivals(year: int) -> dict[str, list[date]]:
    by_name: dict[str, list[date]] = {}
    for day, name in sorted(statutory_days(year).items()):
        by_name.setdefault(name, []).append(day)
    return by_name


@cache
def provisional_schedule(year: int) -> YearSchedule:
    """Weekends, the statutory days and their make-up days (补假); no 调休 working weekend days."""
    statutory = statutory_days(year)
    off = set(statutory)
    for days in _festivals(year).values():
        owed = sum(day.weekday() >= _SATURDAY for day in days)
        day = max(days)
        while owed:
            day += timedelta(days=1)
            if day.weekday() < _SATURDAY and day not in off:
                off.add(day)
                owed -= 1
    # a make-up day can spill into the next year only after 除夕 of a very late 春节, which never happens
    return YearSchedule(
        year,
        frozenset(d for d in off if d.year == year),
        frozenset(),
        PROVISIONAL_SOURCE,
        CalendarKind.PROVISIONAL,
    )


def contradictions(schedule: YearSchedule) -> list[str]:
    """How an official schedule contradicts the law: a statutory day it makes a working day."""
    if schedule.year < FIRST_RULED_YEAR:
        return []
    return [
        f"{day.isoformat()} ({name}) is a statutory holiday but the schedule makes it a working day"
        for day, name in sorted(statutory_days(schedule.year).items())
        if schedule.is_working_day(day)
    ]
