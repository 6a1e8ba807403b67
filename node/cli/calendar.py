"""``tongban calendar``: the working-day calendar the node counts deadlines with.

    tongban calendar due 2025-09-26 20   # the 20th working day after 2025-09-26 (start day not counted)
    tongban calendar show 2025           # that year's holidays and the weekend days that are working days
    tongban calendar reload --api URL    # a running node reads its calendar files again (admin token)

A year is ``official`` (the chinesecalendar package), ``operator file`` or ``provisional`` (the statutory
holidays the law fixes, without the 调休 swaps the State Council's notice adds; ``docs/calendar.md``).

Besides the ``chinese_calendar`` package, operator schedule files (format: ``node/calendar/source.py``,
``docs/calendar-example.toml``) are read from ``TONGBAN_CALENDAR_FILES`` (paths separated by ``os.pathsep``),
then from each ``--calendar-file``; for any year the last file wins. Errors go to stderr with exit code 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import urllib.error
import urllib.request
from datetime import date
from pathlib import Path

from aggregates.calendar import (
    WEEKDAY_NAMES,
    CalendarKind,
    DateOutsideCalendar,
    WorkingCalendar,
    describe_years,
)
from node.calendar.source import load_calendar

CALENDAR_FILES_ENV = "TONGBAN_CALENDAR_FILES"
TOKEN_ENV = "TONGBAN_TOKEN"  # noqa: S105 - the name of a variable, not a token
RELOAD_PATH = "/v1/admin/calendar/reload"


def add_calendar_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``calendar due START N`` and ``calendar show YEAR``; each sets ``run`` to its handler."""
    files = argparse.ArgumentParser(add_help=False)
    files.add_argument(
        "--calendar-file",
        action="append",
        type=Path,
        dest="calendar_files",
        metavar="PATH",
        help=f"operator schedule file (TOML), read after ${CALENDAR_FILES_ENV}; repeatable, later files win",
    )
    calendar = commands.add_parser("calendar", help="working days: due dates and the holiday schedule (调休)")
    subcommands = calendar.add_subparsers(dest="calendar_command", required=True)

    due = subcommands.add_parser(
        "due", parents=[files], help="the N-th working day after START (the start day is not counted)"
    )
    due.add_argument("start", metavar="START", help="start date (e.g. the acceptance date), YYYY-MM-DD")
    due.add_argument("n", metavar="N", help="number of working days, 1 or more")
    due.set_defaults(run=run_due)

    show = subcommands.add_parser(
        "show", parents=[files], help="a year's holidays and swapped working days (调休)"
    )
    show.add_argument("year", metavar="YEAR")
    show.set_defaults(run=run_show)

    reload = subcommands.add_parser(
        "reload", help="make a running node read its calendar files again (an admin of its province)"
    )
    reload.add_argument(
        "--api", required=True, metavar="URL", help="the node's REST address, e.g. http://127.0.0.1:8080"
    )
    reload.add_argument(
        "--token-file",
        type=Path,
        metavar="PATH",
        help=f"a file holding an admin bearer token (default: ${TOKEN_ENV})",
    )
    reload.set_defaults(run=run_reload)


def run_due(args: argparse.Namespace) -> int:
    try:
        calendar = _calendar(args)
    except ValueError as e:
        return _fail(str(e))
    covered = f"the calendar covers {describe_years(calendar.covered_years)}"
    try:
        start = date.fromisoformat(args.start)
    except ValueError:
        return _fail(f"START {args.start!r} is not a valid date (YYYY-MM-DD); {covered}")
    n = int(args.n) if args.n.isascii() and args.n.isdigit() else 0
    if n < 1:
        return _fail(f"N {args.n!r} must be a whole number of working days, 1 or more; {covered}")
    try:
        due = calendar.add_working_days(start, n)
    except DateOutsideCalendar as e:
        return _fail(f"{e}; add that year's schedule with --calendar-file or ${CALENDAR_FILES_ENV}")
    provisional = calendar.years_of_kind(CalendarKind.PROVISIONAL, start, due)
    print(f"{due.isoformat()} PROVISIONAL" if provisional else due.isoformat())
    print(_explain(calendar, start, n, due))
    if provisional:
        years = ", ".join(str(y) for y in provisional)
        print(
            f"PROVISIONAL: counted through {years}, whose official schedule (调休) is not published or not "
            "loaded yet: the statutory holidays and their make-up days only; the date may move"
        )
    return 0


def run_show(args: argparse.Namespace) -> int:
    try:
        calendar = _calendar(args)
    except ValueError as e:
        return _fail(str(e))
    if not (args.year.isascii() and args.year.isdigit()):
        covered = describe_years(calendar.covered_years)
        return _fail(f"YEAR {args.year!r} is not a year; the calendar covers {covered}")
    try:
        schedule = calendar.schedule(int(args.year))
    except DateOutsideCalendar as e:
        return _fail(f"{e}; add that year's schedule with --calendar-file or ${CALENDAR_FILES_ENV}")

    working = schedule.working_days()
    ordinal = date(schedule.year, 1, 1).toordinal()
    days = [date.fromordinal(o) for o in range(ordinal, date(schedule.year, 12, 31).toordinal() + 1)]
    print(
        f"{schedule.year}: {schedule.kind.value}, {len(working)} working days "
        f"(source: {schedule.source or 'not recorded'})"
    )
    print("Holidays (with the weekend days that adjoin them):")
    for first, last in _holiday_runs(calendar, [d for d in days if not schedule.is_working_day(d)]):
        count = last.toordinal() - first.toordinal() + 1
        print(f"  {_span(first, last):<23}  {count} day{'s' if count > 1 else ''} off")
    print("Weekend days that are working days (调休):")
    for day in sorted(schedule.workdays):
        print(f"  {day.isoformat()} {WEEKDAY_NAMES[day.weekday()]} is a working day")
    if not schedule.workdays:
        print("  none")
    return 0


def run_reload(args: argparse.Namespace) -> int:
    token = os.environ.get(TOKEN_ENV, "")
    if args.token_file is not None:
        try:
            token = args.token_file.read_text(encoding="utf-8").strip()
        except OSError as e:
            return _fail(f"cannot read the token file {args.token_file}: {e.strerror or e}")
    if not token:
        return _fail(f"no admin token: pass --token-file or set ${TOKEN_ENV}")
    if not args.api.startswith(("http://", "https://")):
        return _fail("--api must be an http:// or https:// address")
    request = urllib.request.Request(  # noqa: S310 - checked just above
        args.api.rstrip("/") + RELOAD_PATH, data=b"{}", method="POST",
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - the operator's URL
            body = json.loads(response.read())
    except urllib.error.HTTPError as e:
        problem = json.loads(e.read() or b"{}")
        return _fail(f"the node refused ({e.code}): {problem.get('detail') or problem.get('title', '')}")
    except (urllib.error.URLError, OSError) as e:
        return _fail(f"cannot reach {args.api}: {getattr(e, 'reason', e)}")
    print(json.dumps(body, ensure_ascii=False, indent=2))
    return 0


def _calendar(args: argparse.Namespace) -> WorkingCalendar:
    from_env = [Path(p) for p in os.environ.get(CALENDAR_FILES_ENV, "").split(os.pathsep) if p]
    return load_calendar([*from_env, *(args.calendar_files or [])])


def _fail(message: str) -> int:
    print(f"tongban calendar: {message}", file=sys.stderr)
    return 2


def _explain(calendar: WorkingCalendar, start: date, n: int, due: date) -> str:
    days = [date.fromordinal(o) for o in range(start.toordinal() + 1, due.toordinal() + 1)]
    off = [d for d in days if not calendar.is_working_day(d)]
    text = (
        f"{n} working day{'s' if n > 1 else ''} after {WEEKDAY_NAMES[start.weekday()]} {start.isoformat()} "
        f"(start day not counted): {len(days)} calendar days, {len(off)} of them off"
    )
    runs = _holiday_runs(calendar, off)
    if runs:
        text += ", including holidays " + ", ".join(_span(first, last) for first, last in runs)
    swapped = [d for d in days if d.weekday() >= 5 and calendar.is_working_day(d)]
    if swapped:
        text += "; weekend days worked (调休): " + ", ".join(
            f"{WEEKDAY_NAMES[d.weekday()]} {d.isoformat()}" for d in swapped
        )
    return text


def _holiday_runs(calendar: WorkingCalendar, off_days: list[date]) -> list[tuple[date, date]]:
    """Runs of consecutive days off that include a listed holiday: a festival with its weekend."""
    runs: list[list[date]] = []
    for day in off_days:
        if runs and day.toordinal() == runs[-1][-1].toordinal() + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    return [(r[0], r[-1]) for r in runs if any(d in calendar.schedule(d.year).holidays for d in r)]


def _span(first: date, last: date) -> str:
    return first.isoformat() if first == last else f"{first.isoformat()} … {last.isoformat()}"
