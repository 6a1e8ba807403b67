"""The calendar as the node loads it: chinese_calendar data, operator files, and ``tongban calendar``."""

from __future__ import annotations

import argparse
import os
import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import pytest

from aggregates.calendar import CalendarKind, DateOutsideCalendar, describe_years
from node.calendar.source import PROVISIONAL_THROUGH, load_calendar, load_schedule_file, package_schedules
from node.calendar.statutory_holidays import statutory_days
from node.cli.calendar import CALENDAR_FILES_ENV, add_calendar_parser
from tests.builders import day_by_day

ROOT = Path(__file__).resolve().parents[2]
D = date.fromisoformat
PACKAGE = load_calendar()
COVERED = describe_years(PACKAGE.covered_years)
NEXT_YEAR = package_schedules()[-1].year + 1  # the first year the package does not know: provisional


def statutory(year: int) -> str:
    """A TOML list of the year's statutory holidays, which every operator file must keep as days off."""
    return "[" + ", ".join(f'"{day.isoformat()}"' for day in sorted(statutory_days(year))) + "]"


def span(first: str, last: str) -> list[date]:
    start, end = D(first), D(last)
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_package_covers_consecutive_years_through_2026() -> None:
    years = [s.year for s in package_schedules()]
    assert years == list(range(years[0], years[-1] + 1))
    assert {2024, 2025, 2026} <= set(years)
    assert package_schedules()[0].source.startswith("chinese_calendar ")


def test_the_domain_example_on_the_package_calendar() -> None:
    assert PACKAGE.add_working_days(D("2025-09-26"), 20) == D("2025-10-30")


def test_national_day_2025() -> None:
    assert [PACKAGE.is_working_day(d) for d in span("2025-09-27", "2025-10-12")] == [
        *(False, True),  # Saturday 09-27 off, Sunday 09-28 worked (调休)
        *(True, True),  # 09-29, 09-30
        *([False] * 8),  # 10-01 .. 10-08 (National Day with Mid-Autumn)
        *(True, True),  # 10-09, 10-10
        *(True, False),  # Saturday 10-11 worked (调休), Sunday 10-12 off
    ]


def test_spring_festival_2025() -> None:
    assert not any(PACKAGE.is_working_day(d) for d in span("2025-01-28", "2025-02-04"))
    assert PACKAGE.is_working_day(D("2025-01-26"))  # Sunday
    assert PACKAGE.is_working_day(D("2025-01-27"))
    assert PACKAGE.is_working_day(D("2025-02-05"))
    assert PACKAGE.is_working_day(D("2025-02-08"))  # Saturday


def test_spring_festival_2026() -> None:
    # The package: 2026-02-15 .. 02-23 off (9 days); Saturdays 02-14 and 02-28 worked.
    assert not any(PACKAGE.is_working_day(d) for d in span("2026-02-15", "2026-02-23"))
    assert PACKAGE.is_working_day(D("2026-02-13"))
    assert PACKAGE.is_working_day(D("2026-02-14"))  # Saturday
    assert PACKAGE.is_working_day(D("2026-02-24"))
    assert PACKAGE.is_working_day(D("2026-02-28"))  # Saturday
    assert PACKAGE.add_working_days(D("2026-02-13"), 1) == D("2026-02-14")
    assert PACKAGE.add_working_days(D("2026-02-14"), 1) == D("2026-02-24")


def test_across_the_year_boundary_and_beyond_the_package() -> None:
    assert PACKAGE.add_working_days(D("2025-12-25"), 10) == D(
        "2026-01-09"
    )  # 01-01..03 off, Sunday 01-04 worked
    # the next year is provisional, not missing: New Year's Day is a statutory holiday
    assert PACKAGE.schedule(NEXT_YEAR).kind == CalendarKind.PROVISIONAL
    assert PACKAGE.add_working_days(date(NEXT_YEAR - 1, 12, 31), 1) == _first_weekday_after_new_year(
        NEXT_YEAR
    )
    beyond = PROVISIONAL_THROUGH + 1
    with pytest.raises(DateOutsideCalendar, match=f"{beyond}-01-01 .*covered years: {COVERED}"):
        PACKAGE.add_working_days(date(beyond - 1, 12, 20), 20)
    with pytest.raises(DateOutsideCalendar):
        PACKAGE.is_working_day(date(beyond, 3, 1))


def _first_weekday_after_new_year(year: int) -> date:
    day = date(year, 1, 2)
    while day.weekday() >= 5 or (date(year, 1, 1).weekday() >= 5 and day == date(year, 1, 2)):
        day += timedelta(days=1)
    return day


NEXT_YEAR_FILE = """
# TEST DATA, not an official schedule
[[year]]
year = {year}
source = "test data"
holidays = {holidays}
workdays = []
"""


def next_year_file(year: int, bridge: str) -> str:
    holidays = statutory(year)[:-1] + f', "{bridge}"]'
    return NEXT_YEAR_FILE.format(year=year, holidays=holidays)


def test_an_operator_file_adds_a_year(tmp_path: Path) -> None:
    path = write(tmp_path, "next.toml", next_year_file(NEXT_YEAR, f"{NEXT_YEAR}-01-02"))
    calendar = load_calendar([path])
    assert calendar.schedule(NEXT_YEAR).kind == CalendarKind.OPERATOR_FILE
    assert calendar.schedule(NEXT_YEAR + 1).kind == CalendarKind.PROVISIONAL
    assert calendar.schedule(NEXT_YEAR).source == "test data"
    assert not calendar.is_working_day(date(NEXT_YEAR, 1, 2))
    december = date(NEXT_YEAR - 1, 12, 20)
    assert calendar.add_working_days(december, 20) == day_by_day(calendar, december, 20)


def test_an_operator_file_replaces_a_package_year_and_later_files_win(tmp_path: Path) -> None:
    first = write(
        tmp_path,
        "first.toml",
        f'[[year]]\nyear = 2025\nsource = "first"\nholidays = {statutory(2025)[:-1]}, "2025-10-09"]\n'
        'workdays = ["2025-10-12"]\n',
    )
    calendar = load_calendar([first])
    assert calendar.schedule(2025).source == "first"
    assert calendar.is_working_day(D("2025-10-08"))  # the package's holiday is gone: the year was replaced
    assert not calendar.is_working_day(D("2025-09-28"))
    assert not calendar.is_working_day(D("2025-10-09"))
    assert calendar.is_working_day(D("2025-10-12"))
    second = write(
        tmp_path, "second.toml", f'[[year]]\nyear = 2025\nsource = "second"\nholidays = {statutory(2025)}\n'
    )
    assert load_calendar([first, second]).schedule(2025).source == "second"
    assert load_calendar([second, first]).schedule(2025).source == "first"


def test_the_documented_example_file_loads() -> None:
    (example,) = load_schedule_file(ROOT / "docs" / "calendar-example.toml")
    assert example.year == 2099
    assert "EXAMPLE" in example.source
    assert D("2099-10-01") in example.holidays
    assert D("2099-01-20") in example.holidays  # 除夕 of the year 2099: a statutory day
    assert D("2099-09-27") in example.workdays


def test_unquoted_toml_dates_are_accepted(tmp_path: Path) -> None:
    listed = statutory(2099).replace('"', "")
    path = write(tmp_path, "c.toml", f'[[year]]\nyear = 2099\nsource = "x"\nholidays = {listed}\n')
    assert load_schedule_file(path)[0].holidays == set(statutory_days(2099))


YEAR = '[[year]]\nyear = 2099\nsource = "test"\n'
FULL_YEAR = YEAR + f"holidays = {statutory(2099)}\n"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[[year]\n", "not valid TOML"),
        ("", "expected one or more [[year]] tables"),
        ("year = 2099\n", "expected one or more [[year]] tables"),
        ('title = "x"\n' + YEAR, "unknown top-level key(s) ['title']"),
        (YEAR + "holiday = []\n", "table #1 (year 2099): unknown key(s) ['holiday']"),
        ('[[year]]\nsource = "x"\n', "'year' must be a whole number such as 2099, got None"),
        ('[[year]]\nyear = "2099"\nsource = "x"\n', "'year' must be a whole number"),
        ("[[year]]\nyear = 2099\n", "'source' must name the notice"),
        (YEAR + 'holidays = "2099-01-01"\n', "'holidays' must be a list of dates"),
        (YEAR + 'holidays = ["2099-1-5"]\n', "'holidays' entry '2099-1-5' is not a date in YYYY-MM-DD form"),
        (YEAR + "holidays = [20990105]\n", "'holidays' entry 20990105 is not a date"),
        (YEAR + "holidays = [2099-01-05T00:00:00]\n", "is not a date in YYYY-MM-DD form"),
        (YEAR + 'holidays = ["2099-02-30"]\n', "'holidays' entry '2099-02-30' is not a real date"),
        (YEAR + 'holidays = ["2098-12-31"]\n', "holidays: 2098-12-31 is not in 2099"),
        (
            YEAR + 'holidays = ["2099-01-04"]\nworkdays = ["2099-01-04"]\n',
            "2099-01-04 is also listed as a holiday",
        ),
        (YEAR + 'workdays = ["2099-01-05"]\n', "2099-01-05 is a Monday: only weekend days"),
        (FULL_YEAR + FULL_YEAR, "line 5, [[year]] table #2: year 2099 appears more than once"),
        # the law's statutory days cannot be working days (the 2099 Spring Festival starts on 01-20)
        (YEAR + 'holidays = ["2099-01-01"]\n', "2099-01-20 (春节) is a statutory holiday but the schedule"),
        (
            FULL_YEAR.replace(', "2099-10-03"', "") + 'workdays = ["2099-10-03"]\n',
            "line 5, [[year]] table #1 (year 2099): 2099-10-03 (国庆) is a statutory holiday",
        ),
        (YEAR + '\nholidays = ["2099-1-5"]\n', "line 5, [[year]] table #1 (year 2099): 'holidays' entry"),
    ],
)
def test_malformed_files_are_refused_with_the_file_and_the_problem(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = write(tmp_path, "bad.toml", text)
    with pytest.raises(ValueError, match=re.escape(problem)) as raised:
        load_schedule_file(path)
    assert str(raised.value).startswith(f"calendar file {path}")


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(
        ValueError, match=re.escape(f"calendar file {tmp_path / 'nope.toml'}: cannot read it")
    ):
        load_calendar([tmp_path / "nope.toml"])


# `tongban calendar`, through argparse in-process.

Run = Callable[[list[str]], tuple[int, str, str]]


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> Run:
    monkeypatch.delenv(CALENDAR_FILES_ENV, raising=False)

    def invoke(argv: list[str]) -> tuple[int, str, str]:
        parser = argparse.ArgumentParser(prog="tongban")
        add_calendar_parser(parser.add_subparsers(dest="command", required=True))
        args = parser.parse_args(["calendar", *argv])
        code: int = args.run(args)
        out, err = capsys.readouterr()
        return code, out, err

    return invoke


def test_cli_due_into_a_provisional_year_says_so_on_the_first_line(run: Run) -> None:
    code, out, err = run(["due", f"{NEXT_YEAR - 1}-12-25", "20"])
    assert (code, err) == (0, "")
    first, *rest = out.splitlines()
    assert first.startswith(f"{NEXT_YEAR}-01-")
    assert first.endswith(" PROVISIONAL")
    assert any(line.startswith(f"PROVISIONAL: counted through {NEXT_YEAR}") for line in rest)
    assert run(["show", str(NEXT_YEAR)])[1].startswith(f"{NEXT_YEAR}: provisional, ")


def test_cli_due_prints_the_date_then_why(run: Run) -> None:
    code, out, err = run(["due", "2025-09-26", "20"])
    assert (code, err) == (0, "")
    first, explanation = out.splitlines()
    assert first == "2025-10-30"
    assert explanation.startswith("20 working days after Friday 2025-09-26 (start day not counted)")
    assert "34 calendar days, 14 of them off, including holidays 2025-10-01 … 2025-10-08" in explanation
    assert "weekend days worked (调休): Sunday 2025-09-28, Saturday 2025-10-11" in explanation


@pytest.mark.parametrize(
    ("argv", "problem"),
    [
        (["due", "2025-02-30", "3"], "START '2025-02-30' is not a valid date"),
        (["due", "26/09/2025", "3"], "START '26/09/2025' is not a valid date"),
        (["due", "2025-09-26", "0"], "N '0' must be a whole number of working days, 1 or more"),
        (["due", "2025-09-26", "twenty"], "N 'twenty' must be a whole number"),
        (["due", "2100-12-20", "20"], "2101-01-01 is outside the working-day calendar"),
        (["show", "2101"], "no working-day schedule for 2101"),
        (["show", "２０２７"], "is not a year"),  # full-width digits are not a year
        (["due", "2026-12-25", "２０"], "must be a whole number"),
        (["show", "next"], "YEAR 'next' is not a year"),
    ],
)
def test_cli_errors_name_the_problem_and_the_covered_years(run: Run, argv: list[str], problem: str) -> None:
    code, out, err = run(argv)
    assert (code, out) == (2, "")
    assert err.startswith("tongban calendar: ")
    assert problem in err
    assert COVERED in err


def test_cli_show_lists_holiday_runs_and_swapped_working_days(run: Run) -> None:
    code, out, err = run(["show", "2025"])
    assert (code, err) == (0, "")
    lines = [line.strip() for line in out.splitlines()]
    assert lines[0].startswith("2025: official, 248 working days (source: chinese_calendar ")
    assert "2025-01-01               1 day off" in lines
    assert "2025-01-28 … 2025-02-04  8 days off" in lines
    assert "2025-10-01 … 2025-10-08  8 days off" in lines
    assert "2025-09-28 Sunday is a working day" in lines
    assert "2025-10-11 Saturday is a working day" in lines
    assert sum("day off" in line or "days off" in line for line in lines) == 6


def test_cli_reads_operator_files_from_the_environment_then_the_option(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    example = ROOT / "docs" / "calendar-example.toml"
    other = write(tmp_path, "other.toml", FULL_YEAR.replace('"test"', '"override"'))
    monkeypatch.setenv(CALENDAR_FILES_ENV, os.pathsep.join([str(example), ""]))
    code, out, _ = run(["show", "2099"])
    assert code == 0
    assert "2099: operator file" in out
    assert "2099-10-01 … 2099-10-07  7 days off" in out
    assert "2099-09-27 Sunday is a working day" in out
    code, out, _ = run(["due", "2098-12-31", "2"])  # a gap year: 2098 is not needed, 2099 is known
    assert (code, out.splitlines()[0]) == (0, "2099-01-05")
    code, out, _ = run(["show", "2099", "--calendar-file", str(other)])
    assert code == 0
    assert "source: override" in out
    assert "Weekend days that are working days (调休):\n  none" in out
