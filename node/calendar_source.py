"""Where the working-day calendar comes from: the ``chinese_calendar`` package, then operator files.

The State Council publishes next year's holiday schedule each November, before a package release has it,
so operators can add (or correct) years with TOML files. A file's schedule for a year REPLACES that year
entirely, whether it came from the package or an earlier file: list every holiday and every swapped workday.

File format (see ``docs/calendar-example.toml``)::

    # the State Council's notice for the year, e.g. 国办发明电〔YYYY〕N号
    [[year]]
    year = 2099
    source = "国办发明电〔2098〕N号"      # required: where the dates come from
    holidays = ["2099-01-01", "2099-01-02"]  # days off; weekend dates are allowed
    workdays = ["2099-01-04"]                # weekend days that are working days (调休)

Dates are ``YYYY-MM-DD`` strings (TOML dates also work) and must fall in the declared year; a date cannot be
both a holiday and a workday, and only Saturdays and Sundays can be workdays. A year may appear once per file.
"""

from __future__ import annotations

import re
import tomllib
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path

import chinese_calendar.constants  # type: ignore[import-untyped]

from aggregates.calendar import WorkingCalendar, YearSchedule
from aggregates.errors import InvalidField

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEYS = {"year", "source", "holidays", "workdays"}


def package_schedules() -> list[YearSchedule]:
    """Every year the installed ``chinese_calendar`` covers, in order."""
    holidays: dict[date, str] = chinese_calendar.constants.holidays
    workdays: dict[date, str] = chinese_calendar.constants.workdays
    by_year: defaultdict[int, tuple[set[date], set[date]]] = defaultdict(lambda: (set(), set()))
    for day in holidays:
        by_year[day.year][0].add(day)
    for day in workdays:
        by_year[day.year][1].add(day)
    source = f"chinese_calendar {chinese_calendar.__version__}"
    # The package supports every year between its first and last holiday, as its own is_workday() does.
    first, last = min(holidays).year, max(holidays).year
    return [
        YearSchedule(year, frozenset(by_year[year][0]), frozenset(by_year[year][1]), source)
        for year in range(first, last + 1)
    ]


def load_schedule_file(path: Path) -> list[YearSchedule]:
    """The ``[[year]]`` tables of an operator file, in order; ValueError naming the file and the problem."""
    try:
        document = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ValueError(f"calendar file {path}: cannot read it: {e.strerror or e}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ValueError(f"calendar file {path}: not valid TOML: {e}") from e

    unknown = sorted(set(document) - {"year"})
    if unknown:
        raise ValueError(
            f"calendar file {path}: unknown top-level key(s) {unknown}; expected [[year]] tables"
        )
    tables = document.get("year")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"calendar file {path}: expected one or more [[year]] tables")

    schedules: list[YearSchedule] = []
    for number, table in enumerate(tables, start=1):
        where = f"calendar file {path}, [[year]] table #{number}"
        schedule = _schedule(table, where)
        if any(s.year == schedule.year for s in schedules):
            raise ValueError(f"{where}: year {schedule.year} appears more than once in this file")
        schedules.append(schedule)
    return schedules


def load_calendar(extra_files: Sequence[Path] = ()) -> WorkingCalendar:
    """The package's years, then each operator file in order: for any year, the last one wins."""
    schedules = package_schedules()
    for path in extra_files:
        schedules.extend(load_schedule_file(path))
    return WorkingCalendar(schedules)


def _schedule(table: dict[str, object], where: str) -> YearSchedule:
    year = table.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9999:
        raise ValueError(f"{where}: 'year' must be a whole number such as 2099, got {year!r}")
    where = f"{where} (year {year})"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {unknown}; expected {sorted(_KEYS)}")
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(
            f"{where}: 'source' must name the notice the dates come from, e.g. 国办发明电〔YYYY〕N号"
        )
    holidays = _dates(table.get("holidays", []), "holidays", where)
    workdays = _dates(table.get("workdays", []), "workdays", where)
    try:
        return YearSchedule(year, holidays, workdays, source.strip())
    except InvalidField as e:
        raise ValueError(f"{where}: {e}") from e


def _dates(values: object, key: str, where: str) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError(f"{where}: '{key}' must be a list of dates, got {values!r}")
    days: set[date] = set()
    for value in values:
        if isinstance(value, date) and not isinstance(value, datetime):  # an unquoted TOML date
            days.add(value)
            continue
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError(f"{where}: '{key}' entry {value!r} is not a date in YYYY-MM-DD form")
        try:
            days.add(date.fromisoformat(value))
        except ValueError:
            raise ValueError(f"{where}: '{key}' entry {value!r} is not a real date") from None
    return frozenset(days)
