"""Where the working-day calendar comes from: the ``chinese_calendar`` package, operator files, the law.

The State Council publishes next year's holiday schedule each November, before a package release has it,
so operators can add (or correct) years with TOML files. A file's schedule for a year REPLACES that year
entirely, whether it came from the package or an earlier file: list every holiday and every swapped workday.
Every later year up to :data:`PROVISIONAL_THROUGH` that neither covers is provisional
(``node/calendar/statutory_holidays.py``): the statutory holidays, without the 调休 swaps.

What a case counts with (``docs/calendar.md``): every node of the federation must show the same due dates
for a case, even while one node has an official year that another has not loaded yet. So a case counts
with the *baseline*, the same on every node: the package's years through :data:`AGREED_THROUGH` (the last
year of the package version this release pins) and provisional years after. When the node's own calendar
says otherwise for a year a case counts through, the case's writer records that year's schedule in the case
(``Case.DeadlinesRecomputed``), and from then on every node counts that case with it.

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
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path

import chinese_calendar.constants  # type: ignore[import-untyped]

from aggregates.calendar import CalendarKind, WorkingCalendar, YearSchedule
from aggregates.errors import InvalidField
from node.calendar.statutory_holidays import contradictions, provisional_schedule

# ASCII digits only: \d would take any script's digits
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_KEYS = {"year", "source", "holidays", "workdays"}
# The last year the pinned chinesecalendar (pyproject.toml) covers: every node of this release counts years
# through it alike. Raise it with the pin, in a release every node of the federation takes.
AGREED_THROUGH = 2026
PROVISIONAL_THROUGH = 2100  # far enough for any deadline; later dates stay outside the calendar
NOTICE_MONTH = 11  # the State Council publishes next year's schedule in November (or soon after)


def package_schedules() -> list[YearSchedule]:
    """Every year the installed ``chinese_calendar`` covers, in order."""
    holidays: dict[date, str] = chinese_calendar.constants.holidays
    workdays: dict[date, str] = chinese_calendar.constants.workdays
    by_year: defaultdict[int, tuple[set[date], set[date]]] = defaultdict(lambda: (set(), set()))
    for day in holidays:
        by_year[day.year][0].add(day)
    for day in workdays:
        by_year[day.year][1].add(day)
    source = f"chinese_calendar {chinese_calendar.__version__}"  # the package carries the notices
    # The package supports every year between its first and last holiday, as its own is_workday() does.
    first, last = min(holidays).year, max(holidays).year
    return [
        YearSchedule(year, frozenset(by_year[year][0]), frozenset(by_year[year][1]), source)
        for year in range(first, last + 1)
    ]


def load_schedule_file(path: Path) -> list[YearSchedule]:
    """The ``[[year]]`` tables of an operator file, in order; ValueError naming the file, the line and the
    rule broken."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as e:
        raise ValueError(f"calendar file {path}: cannot read it: {e.strerror or e}") from e
    except UnicodeDecodeError:
        raise ValueError(f"calendar file {path}: not UTF-8 text") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:  # its message names the line and column
        raise ValueError(f"calendar file {path}: not valid TOML: {e}") from e

    lines = _Lines(path, text)
    unknown = sorted(set(document) - {"year"})
    if unknown:
        raise ValueError(
            f"{lines.where(0, unknown[0])}: unknown top-level key(s) {unknown}; expected [[year]] tables"
        )
    tables = document.get("year")
    if not isinstance(tables, list) or not tables or not all(isinstance(t, dict) for t in tables):
        raise ValueError(f"{lines.where(0)}: expected one or more [[year]] tables")

    schedules: list[YearSchedule] = []
    for number, table in enumerate(tables, start=1):
        schedule = _schedule(table, number, lines)
        if any(s.year == schedule.year for s in schedules):
            raise ValueError(
                f"{lines.where(number)}: year {schedule.year} appears more than once in this file"
            )
        schedules.append(schedule)
    return schedules


class _Lines:
    """Where in an operator file a problem lies, for messages: ``calendar file F, line L, [[year]] #N``."""

    _HEADER = re.compile(r"^\s*\[\[\s*year\s*\]\]")

    def __init__(self, path: Path, text: str) -> None:
        self._path = path
        self._lines = text.splitlines()
        self._headers = [i for i, line in enumerate(self._lines) if self._HEADER.match(line)]

    def where(self, table: int, *needles: str) -> str:
        """Table 0 is the top of the file; ``needles`` are values to look for within the table, in turn: the
        line of the first one found, else the table's first line."""
        first = self._headers[table - 1] if 0 < table <= len(self._headers) else 0
        last = self._headers[table] if table < len(self._headers) else len(self._lines)
        found = (i for needle in needles for i in range(first, last) if needle in self._lines[i])
        line = next(found, first)
        table_part = f", [[year]] table #{table}" if table else ""
        return f"calendar file {self._path}, line {line + 1}{table_part}"


def load_calendar(extra_files: Sequence[Path] = ()) -> WorkingCalendar:
    """The package's years, then each operator file in order (for any year, the last one wins), then a
    provisional schedule for every later year that neither covers."""
    schedules = package_schedules()
    for path in extra_files:
        schedules.extend(load_schedule_file(path))
    return WorkingCalendar([*schedules, *_provisional_after({s.year for s in schedules})])


def _provisional_after(covered: set[int]) -> list[YearSchedule]:
    return [provisional_schedule(y) for y in range(max(covered) + 1, PROVISIONAL_THROUGH + 1)]


@cache
def baseline_calendar() -> WorkingCalendar:
    """What every node counts a case with until its writer records another schedule for a year in it."""
    agreed = [s for s in package_schedules() if s.year <= AGREED_THROUGH]
    return WorkingCalendar([*agreed, *_provisional_after({s.year for s in agreed})])


@cache
def case_calendar(recorded: tuple[YearSchedule, ...]) -> WorkingCalendar:
    """The baseline with the years a case recorded in place of its own."""
    return baseline_calendar().replacing(recorded) if recorded else baseline_calendar()


@dataclass(frozen=True)
class CalendarBook:
    """The node's own calendar (``current``), as loaded from the package and the operator files, and where
    it came from: what a reload reads again."""

    current: WorkingCalendar
    files: tuple[Path, ...] = field(default=())

    @classmethod
    def load(cls, files: Sequence[Path] = ()) -> CalendarBook:
        """ValueError naming the file, line and rule when an operator file is malformed."""
        return cls(load_calendar(files), tuple(files))

    def reloaded(self) -> CalendarBook:
        return CalendarBook.load(self.files)

    def newer_years(self, recorded: tuple[YearSchedule, ...], start: date, end: date) -> list[YearSchedule]:
        """The node's schedules of the years start..end that a case with ``recorded`` counts otherwise."""
        counted = case_calendar(recorded)
        years = range(start.year, end.year + 1)
        return [
            self.current.schedule(y)
            for y in years
            if y in self.current.covered_years
            and y in counted.covered_years
            and not self.current.schedule(y).same_days(counted.schedule(y))
        ]

    def kind(self, year: int) -> CalendarKind | None:
        return self.current.schedule(year).kind if year in self.current.covered_years else None

    def provisional_in_use(self, today: date) -> list[int]:
        """This year and next, where provisional: the years deadlines being counted now reach."""
        return [y for y in (today.year, today.year + 1) if self.kind(y) == CalendarKind.PROVISIONAL]

    def warning(self, today: date) -> str | None:
        """What an operator must do, from 1 November while next year is still provisional (or sooner, when
        this year is): load the State Council's notice for it."""
        missing = [
            y for y in self.provisional_in_use(today) if y == today.year or today.month >= NOTICE_MONTH
        ]
        if not missing:
            return None
        years = ", ".join(str(y) for y in missing)
        return (
            f"no official working-day schedule for {years}: deadlines counting into it are provisional; "
            "add the State Council's notice as a calendar file and reload (docs/calendar.md)"
        )

    def summary(self) -> dict[str, object]:
        kinds = {y: s.kind for y, s in zip(self.current.covered_years, self.current.schedules, strict=True)}
        settled = [y for y, kind in kinds.items() if kind != CalendarKind.PROVISIONAL]
        return {
            "official_through": max(settled),
            "operator_file_years": [y for y, kind in kinds.items() if kind == CalendarKind.OPERATOR_FILE],
            "provisional_through": PROVISIONAL_THROUGH,
        }


def _schedule(table: dict[str, object], number: int, lines: _Lines) -> YearSchedule:
    year = table.get("year")
    if not isinstance(year, int) or isinstance(year, bool) or not 1 <= year <= 9999:
        raise ValueError(
            f"{lines.where(number, 'year')}: 'year' must be a whole number such as 2099, got {year!r}"
        )
    where = f"{lines.where(number)} (year {year})"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ValueError(
            f"{lines.where(number, unknown[0])} (year {year}): unknown key(s) {unknown}; "
            f"expected {sorted(_KEYS)}"
        )
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        raise ValueError(
            f"{lines.where(number, 'source')} (year {year}): 'source' must name the notice the dates come "
            "from, e.g. 国办发明电〔YYYY〕N号"
        )
    holidays = _dates(table.get("holidays", []), "holidays", number, year, lines)
    workdays = _dates(table.get("workdays", []), "workdays", number, year, lines)
    try:
        schedule = YearSchedule(year, holidays, workdays, source.strip(), CalendarKind.OPERATOR_FILE)
    except InvalidField as e:
        raise ValueError(f"{where}: {e}") from e
    broken = contradictions(schedule)
    if broken:
        # the line that makes the day a working day, or else the list that leaves it out
        raise ValueError(f"{lines.where(number, broken[0][:10], 'holidays')} (year {year}): {broken[0]}")
    return schedule


def _dates(values: object, key: str, number: int, year: int, lines: _Lines) -> frozenset[date]:
    if not isinstance(values, list):
        raise ValueError(
            f"{lines.where(number, key)} (year {year}): '{key}' must be a list of dates, got {values!r}"
        )
    days: set[date] = set()
    for value in values:
        if isinstance(value, date) and not isinstance(value, datetime):  # an unquoted TOML date
            days.add(value)
            continue
        where = f"{lines.where(number, str(value))} (year {year})"
        if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
            raise ValueError(f"{where}: '{key}' entry {value!r} is not a date in YYYY-MM-DD form")
        try:
            days.add(date.fromisoformat(value))
        except ValueError:
            raise ValueError(f"{where}: '{key}' entry {value!r} is not a real date") from None
    return frozenset(days)
