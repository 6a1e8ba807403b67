"""Working days (工作日) and the 调休 schedule: pure date arithmetic over data the caller supplies.

China's working days are not simply Monday to Friday. Each November the State Council publishes the next
year's public holidays and the weekend days that become working days to bridge them (调休). The calendar is
therefore data, one ``YearSchedule`` per year, and each year says what kind it is: official (the published
notice), from an operator's file, or provisional (the statutory holidays the law fixes, without the swaps
only the notice can say). A date in a year without any schedule is refused, never guessed.

Counting follows 民法典 第201条: the start day is not counted; counting begins the next day.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from hashlib import sha256
from typing import Any

from aggregates.errors import DomainError, InvalidField

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_SATURDAY = 5


def describe_years(years: Sequence[int]) -> str:
    """Sorted years as ranges, e.g. ``2004–2026, 2099``; ``none`` when empty."""
    runs: list[list[int]] = []
    for year in years:
        if runs and year == runs[-1][-1] + 1:
            runs[-1].append(year)
        else:
            runs.append([year])
    return ", ".join(f"{r[0]}–{r[-1]}" if len(r) > 1 else str(r[0]) for r in runs) or "none"


class DateOutsideCalendar(DomainError):
    """A date falls in a year the calendar has no schedule for."""

    def __init__(self, year: int, covered_years: Sequence[int], day: date | None = None) -> None:
        covered = f"covered years: {describe_years(covered_years)}"
        if day is None:
            message = f"no working-day schedule for {year} ({covered})"
        else:
            message = (
                f"{day.isoformat()} is outside the working-day calendar: no schedule for {year} ({covered})"
            )
        super().__init__(message)
        self.year = year
        self.day = day
        self.covered_years = tuple(covered_years)


class CalendarKind(StrEnum):
    """Where a year's schedule comes from; the values are what operators and applicants read."""

    OFFICIAL = "official"  # the State Council's notice, as the chinesecalendar package carries it
    OPERATOR_FILE = "operator file"  # the notice, as an operator typed it into a calendar file
    PROVISIONAL = "provisional"  # the statutory holidays alone: the notice is not out yet


@dataclass(frozen=True)
class YearSchedule:
    """One year's exceptions to Monday-to-Friday.

    ``holidays`` are days off (weekday dates matter; weekend dates are allowed and change nothing);
    ``workdays`` are weekend days that are working days (调休). ``source`` says where the data came from.
    """

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str = ""
    kind: CalendarKind = CalendarKind.OFFICIAL

    @property
    def version(self) -> str:
        """A digest of the days alone: two schedules with the same version count every day alike."""
        days = [
            f"{self.year}",
            *sorted(f"-{d}" for d in self.holidays),
            *sorted(f"+{d}" for d in self.workdays),
        ]
        return sha256(",".join(days).encode()).hexdigest()[:16]

    def as_fields(self) -> dict[str, Any]:
        """The schedule as an event records it: primitive fields, dates in ISO form."""
        return {
            "year": self.year,
            "kind": self.kind.value,
            "source": self.source,
            "version": self.version,
            "holidays": sorted(d.isoformat() for d in self.holidays),
            "workdays": sorted(d.isoformat() for d in self.workdays),
        }

    @classmethod
    def from_fields(cls, fields: dict[str, Any]) -> YearSchedule:
        return cls(
            fields["year"],
            frozenset(date.fromisoformat(d) for d in fields["holidays"]),
            frozenset(date.fromisoformat(d) for d in fields["workdays"]),
            fields["source"],
            CalendarKind(fields["kind"]),
        )

    def same_days(self, other: YearSchedule) -> bool:
        return (self.year, self.holidays, self.workdays) == (other.year, other.holidays, other.workdays)

    def __post_init__(self) -> None:
        for field, days in (("holidays", self.holidays), ("workdays", self.workdays)):
            stray = sorted(d for d in days if d.year != self.year)
            if stray:
                raise InvalidField(field, f"{stray[0].isoformat()} is not in {self.year}")
        both = sorted(self.holidays & self.workdays)
        if both:
            raise InvalidField("workdays", f"{both[0].isoformat()} is also listed as a holiday")
        weekdays = sorted(d for d in self.workdays if d.weekday() < _SATURDAY)
        if weekdays:
            day = weekdays[0]
            raise InvalidField(
                "workdays",
                f"{day.isoformat()} is a {WEEKDAY_NAMES[day.weekday()]}: "
                "only weekend days can be listed as working days",
            )

    def is_working_day(self, day: date) -> bool:
        return day in self.workdays or (day.weekday() < _SATURDAY and day not in self.holidays)

    def working_days(self) -> list[date]:
        """Every working day of the year, in order."""
        first = date(self.year, 1, 1).toordinal()
        days = (date.fromordinal(o) for o in range(first, date(self.year, 12, 31).toordinal() + 1))
        return [d for d in days if self.is_working_day(d)]


class WorkingCalendar:
    """Working-day arithmetic over the years it has schedules for."""

    def __init__(self, schedules: Iterable[YearSchedule]) -> None:
        by_year: dict[int, YearSchedule] = {}
        for schedule in schedules:
            by_year[schedule.year] = (
                schedule  # a later schedule replaces: operator files override the package
            )
        self._schedules = dict(sorted(by_year.items()))
        self._covered = tuple(self._schedules)
        # Every working day's ordinal, sorted, so counting is a bisection rather than a day-by-day walk.
        self._working = [d.toordinal() for s in self._schedules.values() for d in s.working_days()]
        # For each covered year, the next year without a schedule: where any count must stop.
        self._gap_after: dict[int, int] = {}
        for year in reversed(self._schedules):
            self._gap_after[year] = self._gap_after.get(year + 1, year + 1)

    @property
    def covered_years(self) -> tuple[int, ...]:
        return self._covered

    @property
    def schedules(self) -> tuple[YearSchedule, ...]:
        return tuple(self._schedules.values())

    def replacing(self, schedules: Iterable[YearSchedule]) -> WorkingCalendar:
        """This calendar with the given years' schedules in place of its own."""
        return WorkingCalendar([*self._schedules.values(), *schedules])

    def years_of_kind(self, kind: CalendarKind, start: date, end: date) -> tuple[int, ...]:
        """The years of the days d with start < d <= end whose schedule is of ``kind``."""
        if end <= start:
            return ()
        years = range((start + timedelta(days=1)).year, end.year + 1)
        return tuple(y for y in years if y in self._schedules and self._schedules[y].kind == kind)

    def schedule(self, year: int) -> YearSchedule:
        try:
            return self._schedules[year]
        except KeyError:
            raise DateOutsideCalendar(year, self.covered_years) from None

    def is_working_day(self, day: date) -> bool:
        if day.year not in self._schedules:
            raise DateOutsideCalendar(day.year, self.covered_years, day)
        return self._schedules[day.year].is_working_day(day)

    def add_working_days(self, start: date, n: int) -> date:
        """The ``n``-th working day after ``start`` (start day not counted); ``start`` itself if n is 0."""
        if n < 0:
            raise InvalidField("n", f"must be 0 or more, got {n}")
        if n == 0:
            return start
        index = bisect_right(self._working, start.toordinal()) + n - 1
        gap = self._first_uncovered_after(start)
        # Reaching the gap means some counted day's status is unknown: refuse rather than guess.
        if index >= len(self._working) or self._working[index] >= gap.toordinal():
            raise DateOutsideCalendar(gap.year, self.covered_years, gap)
        return date.fromordinal(self._working[index])

    def working_days_between(self, start: date, end: date) -> int:
        """How many working days d have start < d <= end (0 if end <= start)."""
        if end <= start:
            return 0
        gap = self._first_uncovered_after(start)
        if end >= gap:
            raise DateOutsideCalendar(gap.year, self.covered_years, gap)
        return bisect_right(self._working, end.toordinal()) - bisect_right(self._working, start.toordinal())

    def _first_uncovered_after(self, start: date) -> date:
        """The first day after ``start`` that lies in a year without a schedule."""
        first = start + timedelta(days=1)
        if first.year not in self._gap_after:
            return first
        return date(self._gap_after[first.year], 1, 1)
