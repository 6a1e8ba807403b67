"""A year turns from provisional to official while a case counts through it: the writer records one
DeadlinesRecomputed, the due date moves, and a second look records nothing. On both stores, fixed dates."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from aggregates.calendar import CalendarKind, YearSchedule
from aggregates.case import Case
from aggregates.clock import china_date
from aggregates.deadline import DeadlineState
from aggregates.errors import InvalidField
from node.calendar.source import CalendarBook, case_calendar, load_schedule_file, package_schedules
from node.calendar.statutory_holidays import statutory_days
from node.services import Services
from node.usecases.calendar_reload import reload_calendar
from node.usecases.case_commands import ACCEPT
from node.workers.deadline_timer import DeadlineTimer
from projections.case_board import BoardQuery, CaseBoard, query_board, with_deadlines
from tests.builders import FakeClock
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.test_case_service import JS_HANDLER, proxy_case

LAST_OFFICIAL = package_schedules()[-1].year
NEXT = LAST_OFFICIAL + 1


def official_file(tmp_path: Path, extra_holiday: str) -> Path:
    """The next year's schedule as an operator types in the notice: the statutory days and a bridge day."""
    days = sorted({*(d.isoformat() for d in statutory_days(NEXT)), extra_holiday})
    path = tmp_path / f"calendar-{NEXT}.toml"
    path.write_text(
        f'[[year]]\nyear = {NEXT}\nsource = "TEST notice for {NEXT}"\n'
        f"holidays = [{', '.join(repr(d).replace(chr(39), chr(34)) for d in days)}]\n",
        encoding="utf-8",
    )
    return path


def statutory(node: Services, case: Case) -> DeadlineState:
    computed = node.cases.deadlines(case)
    assert computed is not None
    assert isinstance(computed.statutory, DeadlineState)
    return computed.statutory


def test_the_official_year_moves_a_provisional_due_date_once(
    node: Services, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set_china_time(f"{LAST_OFFICIAL}-12-24")  # received the day it is accepted (第32条)
    case_id = proxy_case(node, clock)
    case = node.cases.run(ACCEPT, case_id, JS_HANDLER)
    before = statutory(node, case)
    assert before.provisional_years == (NEXT,)  # 20 working days reach into the provisional year
    assert before.due_on is not None
    assert before.due_on.year == NEXT
    timer = DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)
    assert "DeadlinesRecomputed" not in timer.tick()
    [row] = board(node, case_id)
    assert row["due"] == {
        "promised": f"{LAST_OFFICIAL}-12-31",
        "statutory": before.due_on.isoformat(),
        "calendar": "PROVISIONAL",
        "provisional_years": [NEXT],
        "promised_breach": None,
        "statutory_breach": None,
        "delivery": None,  # 行政许可法 第44条: no decision yet, no delivery clock
        "delivery_breach": None,
    }
    assert row["due_moved"] is None

    # The notice arrives: a bridge day off on the first Monday after New Year moves the due date a day later.
    bridge = next(date(NEXT, 1, d) for d in range(2, 9) if date(NEXT, 1, d).weekday() == 0)
    node.cases.calendars = CalendarBook(node.cases.calendars.current, (official_file(tmp_path, str(bridge)),))
    summary = reload_calendar(node.cases)
    assert summary["changed_years"] == [NEXT]
    assert node.cases.calendars.kind(NEXT) == CalendarKind.OPERATOR_FILE
    assert statutory(node, node.cases.case(case_id)).due_on == before.due_on  # not until the writer records

    assert timer.tick()["DeadlinesRecomputed"] == 1
    case = node.cases.case(case_id)
    after = statutory(node, case)
    assert after.provisional_years == ()
    assert after.due_on is not None
    assert (after.due_on - before.due_on).days >= 1
    [recomputed] = [e for e in _events(node, case) if isinstance(e, Case.DeadlinesRecomputed)]
    assert (recomputed.statutory_from, recomputed.statutory_to) == (
        before.due_on.isoformat(),
        after.due_on.isoformat(),
    )
    assert recomputed.promised_from == recomputed.promised_to  # 5 days: all in the official year
    [year] = recomputed.calendar_years
    assert (year["year"], year["kind"], year["source"]) == (NEXT, "operator file", f"TEST notice for {NEXT}")
    assert bridge.isoformat() in year["holidays"]

    [row] = board(node, case_id)  # the board shows the new date, and that and why it moved
    assert (row["due"]["statutory"], row["due"]["calendar"]) == (after.due_on.isoformat(), "OFFICIAL")
    assert row["due_moved"]["statutory"] == {
        "from": before.due_on.isoformat(),
        "to": after.due_on.isoformat(),
    }
    assert row["due_moved"]["sources"] == [f"TEST notice for {NEXT}"]

    # Exactly once: another tick and another reload of the same file record nothing.
    assert "DeadlinesRecomputed" not in timer.tick()
    assert reload_calendar(node.cases)["changed_years"] == []
    assert "DeadlinesRecomputed" not in timer.tick()
    assert sum(isinstance(e, Case.DeadlinesRecomputed) for e in _events(node, case)) == 1


def test_a_malformed_file_at_reload_is_refused_and_the_calendar_kept(node: Services, tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(f'[[year]]\nyear = {NEXT}\nsource = "x"\nholidays = ["{NEXT}-01-01"]\n', encoding="utf-8")
    kept = node.cases.calendars.current
    node.cases.calendars = CalendarBook(kept, (bad,))
    with pytest.raises(InvalidField, match=rf"calendar file {bad}, line 4, .*statutory holiday"):
        reload_calendar(node.cases)
    assert node.cases.calendars.current is kept


def board(node: Services, case_id: str) -> list[dict[str, Any]]:
    """The case's row on the handling province's board, as the board endpoint computes it."""
    node.projections[CaseBoard.name].tick()
    today = china_date(node.cases.now())
    with node.views.transaction() as tx:
        rows = query_board(tx, BoardQuery("320000", open_only=False))
        return [r for r in with_deadlines(tx, rows, today, case_calendar) if r["case_id"] == case_id]


def _events(node: Services, case: Case) -> list[object]:
    return list(node.app.repository.event_store.get(case.id))


def test_a_breach_recorded_on_a_provisional_date_stays_when_the_notice_moves_the_date_later(
    node: Services, clock: FakeClock, tmp_path: Path
) -> None:
    clock.set_china_time(f"{LAST_OFFICIAL}-12-24")  # received the day it is accepted (第32条)
    case_id = proxy_case(node, clock)
    case = node.cases.run(ACCEPT, case_id, JS_HANDLER)
    due = statutory(node, case).due_on
    assert due is not None
    clock.set_china_time(due.isoformat(), hour=23)
    clock.advance(hours=2)  # the day after the provisional due date
    assert "DeadlineBreached:STATUTORY" in node.timer.tick()

    # the notice makes the due day and the day after it holidays: the due date moves past today
    extra = [due, date.fromordinal(due.toordinal() + 1)]
    path = official_file(tmp_path, extra[0].isoformat())
    text = path.read_text(encoding="utf-8").replace("holidays = [", f'holidays = ["{extra[1].isoformat()}", ')
    path.write_text(text, encoding="utf-8")
    node.cases.calendars = CalendarBook(node.cases.calendars.current, (path,))
    assert reload_calendar(node.cases, node.timer.tick)["recorded"] == {"DeadlinesRecomputed": 1}
    case = node.cases.case(case_id)
    after = statutory(node, case)
    assert after.due_on is not None
    assert after.due_on > china_date(clock())
    # by its new dates the case would be in time again, but a breach once recorded stays visible: the limit
    # reads OVERDUE, naming the due date that passed and the day the breach was recorded
    assert after.status.value == "OVERDUE"
    assert after.breach is not None
    assert (after.breach.due_on, after.breach.recorded_on) == (due, date.fromordinal(due.toordinal() + 1))
    names = [type(e).__name__ for e in _events(node, case)]
    assert names.index("DeadlineBreached") < names.index("DeadlinesRecomputed")  # the history keeps both
    assert "DeadlineBreached:STATUTORY" not in node.timer.tick()  # and records no second breach


@pytest.mark.parametrize(
    ("today", "warned"),
    [(f"{LAST_OFFICIAL}-10-31", False), (f"{LAST_OFFICIAL}-11-01", True), (f"{LAST_OFFICIAL}-06-17", False)],
)
def test_readiness_warns_operators_from_november_while_next_year_is_provisional(
    node: Services, keys: Keys, clock: FakeClock, today: str, warned: bool
) -> None:
    clock.set_china_time(today)

    async def scenario(api: Api, _app: web.Application) -> None:
        status, ready, _ = await api.call("GET", "/readyz", role=None)
        assert status == 200
        calendar = ready["checks"]["calendar"]
        assert calendar["official_through"] == LAST_OFFICIAL
        assert calendar["provisional_in_use"] == [NEXT]
        assert bool(calendar["warnings"]) is warned
        if warned:
            assert str(NEXT) in calendar["warnings"][0]
        async with api.session.get(api.base + "/metrics") as response:
            assert "tongban_calendar_provisional_years 1.0" in await response.text()

    run(node, keys, scenario)


def test_a_newer_package_with_the_official_year_moves_the_date_too(
    node: Services, clock: FakeClock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The official year may come in a newer chinesecalendar release instead of a file: the writer records it
    the same way, as kind official; the baseline every node counts with is unchanged by the upgrade."""
    clock.set_china_time(f"{LAST_OFFICIAL}-12-24")  # received the day it is accepted (第32条)
    case_id = proxy_case(node, clock)
    before = statutory(node, node.cases.run(ACCEPT, case_id, JS_HANDLER))
    notice = load_schedule_file(official_file(tmp_path, f"{NEXT}-01-04"))[0]
    newer = YearSchedule(NEXT, notice.holidays, notice.workdays, "chinese_calendar 1.12.0")
    released = [*package_schedules(), newer]
    monkeypatch.setattr("node.calendar.source.package_schedules", lambda: released)
    assert reload_calendar(node.cases, node.timer.tick)["recorded"] == {"DeadlinesRecomputed": 1}
    case = node.cases.case(case_id)
    [year] = case.recorded_calendar
    assert (year.kind, year.source) == (CalendarKind.OFFICIAL, "chinese_calendar 1.12.0")
    after = statutory(node, case)
    assert after.due_on is not None
    assert before.due_on is not None
    assert after.due_on > before.due_on
