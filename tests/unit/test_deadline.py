"""The legal clock of a case, on the real calendar (chinese_calendar data for 2024-2026)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aggregates.calendar import DateOutsideCalendar, WorkingCalendar
from aggregates.deadline import (
    Breach,
    DeadlineInputs,
    DeadlineState,
    DeadlineStatus,
    Suspension,
    deadline_state,
    due_date,
)
from aggregates.errors import InvalidField
from node.calendar.source import load_calendar

CALENDAR: WorkingCalendar = load_calendar()
D = date.fromisoformat
# Accepted Monday 2025-03-03 with 20 working days: March 2025 has no holidays, so it is due Monday 03-31.
ACCEPTED = D("2025-03-03")
DUE = D("2025-03-31")


def inputs(**changes: Any) -> DeadlineInputs:
    return replace(DeadlineInputs(ACCEPTED, 20), **changes)


def state(today: str, warning_days: int = 3, **changes: Any) -> DeadlineState:
    return deadline_state(CALENDAR, inputs(**changes), D(today), warning_days)


def test_the_domain_example() -> None:
    assert due_date(CALENDAR, DeadlineInputs(D("2025-09-26"), 20)) == D("2025-10-30")


def test_the_acceptance_day_is_not_counted() -> None:
    assert due_date(CALENDAR, inputs()) == DUE
    assert due_date(CALENDAR, inputs(limit_days=1)) == D("2025-03-04")
    assert due_date(CALENDAR, inputs(accepted_on=D("2025-03-01"), limit_days=1)) == D(
        "2025-03-03"
    )  # Saturday
    assert state("2025-03-03") == DeadlineState(DeadlineStatus.ON_TIME, DUE, 20, 0, 0)


def test_a_suspension_moves_the_due_date_by_exactly_its_working_days() -> None:
    supplement = Suspension(D("2025-03-07"), D("2025-03-14"))  # 03-10..03-14 suspended: 5 working days
    moved = due_date(CALENDAR, inputs(suspensions=(supplement,)))
    assert moved == CALENDAR.add_working_days(DUE, 5) == D("2025-04-08")  # 2025-04-04 is 清明
    assert state("2025-03-20", suspensions=(supplement,)) == DeadlineState(
        DeadlineStatus.ON_TIME, moved, 12, 8, 5
    )


def test_the_day_a_suspension_starts_counts_and_the_day_it_ends_does_not() -> None:
    assert due_date(CALENDAR, inputs(suspensions=(Suspension(D("2025-03-07"), D("2025-03-07")),))) == DUE
    one_day = (Suspension(D("2025-03-06"), D("2025-03-07")),)
    assert due_date(CALENDAR, inputs(suspensions=one_day)) == D("2025-04-01")
    assert state("2025-03-06", suspensions=one_day).status is DeadlineStatus.SUSPENDED
    assert state("2025-03-07", suspensions=one_day).status is DeadlineStatus.ON_TIME


def test_overlapping_and_unordered_suspensions_count_each_day_once() -> None:
    overlapping = (Suspension(D("2025-03-10"), D("2025-03-14")), Suspension(D("2025-03-07"), D("2025-03-12")))
    assert due_date(CALENDAR, inputs(suspensions=overlapping)) == D("2025-04-08")
    assert state("2025-04-01", suspensions=overlapping).suspended_days == 5


def test_days_before_acceptance_are_ignored() -> None:
    before = Suspension(D("2025-02-20"), D("2025-03-05"))  # requested before acceptance: 03-04, 03-05 count
    assert due_date(CALENDAR, inputs(suspensions=(before,))) == D("2025-04-02")
    wholly_before = Suspension(D("2025-02-20"), D("2025-03-03"))
    assert due_date(CALENDAR, inputs(suspensions=(wholly_before,))) == DUE


def test_an_open_suspension_stops_the_clock_and_leaves_no_due_date() -> None:
    supplement = (Suspension(D("2025-03-07"), None),)
    assert due_date(CALENDAR, inputs(suspensions=supplement)) is None
    # Counted: 03-04..03-07 (4); suspended: 03-10..03-12 (3).
    assert state("2025-03-12", suspensions=supplement) == DeadlineState(
        DeadlineStatus.SUSPENDED, None, 16, 4, 3
    )


def test_a_suspension_opened_after_the_due_date_cannot_move_it() -> None:
    late = (Suspension(D("2025-03-12"), None),)
    assert due_date(CALENDAR, inputs(limit_days=5, suspensions=late)) == D("2025-03-10")
    # Overdue wins over suspended: a supplement asked after the breach cannot hide it.
    assert state("2025-03-14", limit_days=5, suspensions=late) == DeadlineState(
        DeadlineStatus.OVERDUE, D("2025-03-10"), -2, 7, 2
    )


def test_an_extension_adds_its_days_once() -> None:
    assert due_date(CALENDAR, inputs(extension_days=10)) == CALENDAR.add_working_days(ACCEPTED, 30)
    assert state("2025-03-31", extension_days=10) == DeadlineState(
        DeadlineStatus.ON_TIME, D("2025-04-15"), 10, 20, 0
    )


def test_a_recorded_breach_stays_overdue_when_the_due_date_moved_later() -> None:
    """Given a breach the timer recorded on 04-01 (due 03-31), when an extension recorded before 行政许可法
    第42条 was followed moved the due date 5 working days later, then the limit still reads OVERDUE (and
    CONCLUDED_LATE once concluded), with the due date as it is now and the breach beside it; as of a day
    before the breach was recorded it reads as it did then."""
    breach = Breach(DUE, D("2025-04-01"))
    moved = state("2025-04-02", extension_days=5, breach=breach)
    assert (moved.status, moved.due_on, moved.days_left, moved.breach) == (
        DeadlineStatus.OVERDUE,
        D("2025-04-08"),  # 04-04 (清明) is a holiday
        3,
        breach,
    )
    assert state("2025-03-31", extension_days=5, breach=breach).status == DeadlineStatus.ON_TIME
    assert state("2025-03-31", extension_days=5, breach=breach).breach is None
    concluded = state("2025-04-03", extension_days=5, breach=breach, concluded_on=D("2025-04-03"))
    assert (concluded.status, concluded.breach) == (DeadlineStatus.CONCLUDED_LATE, breach)
    suspended = state("2025-04-02", breach=breach, suspensions=(Suspension(D("2025-03-20"), None),))
    assert suspended.status == DeadlineStatus.OVERDUE
    assert state("2025-04-02", extension_days=5).status == DeadlineStatus.WARNING  # without the breach


@pytest.mark.parametrize(
    ("today", "status", "days_left"),
    [
        ("2025-03-25", DeadlineStatus.ON_TIME, 4),
        ("2025-03-26", DeadlineStatus.WARNING, 3),
        ("2025-03-31", DeadlineStatus.WARNING, 0),  # the last day is still on time
        ("2025-04-01", DeadlineStatus.OVERDUE, -1),
    ],
)
def test_warning_and_overdue_boundaries(today: str, status: DeadlineStatus, days_left: int) -> None:
    result = state(today)
    assert (result.status, result.days_left, result.due_on) == (status, days_left, DUE)


def test_the_weekend_after_a_friday_due_date_is_overdue() -> None:
    result = state("2025-03-29", limit_days=19)  # due Friday 03-28
    assert (result.status, result.days_left) == (DeadlineStatus.OVERDUE, 0)


def test_warning_days_is_configurable() -> None:
    assert state("2025-03-25", warning_days=4).status is DeadlineStatus.WARNING
    assert state("2025-03-31", warning_days=0).status is DeadlineStatus.WARNING
    assert state("2025-03-28", warning_days=0).status is DeadlineStatus.ON_TIME


@pytest.mark.parametrize(
    ("concluded_on", "status", "days_used"),
    [
        ("2025-03-31", DeadlineStatus.CONCLUDED_ON_TIME, 20),
        ("2025-04-01", DeadlineStatus.CONCLUDED_LATE, 21),
        ("2025-03-10", DeadlineStatus.CONCLUDED_ON_TIME, 5),
    ],
)
def test_concluded_on_time_or_late(concluded_on: str, status: DeadlineStatus, days_used: int) -> None:
    assert state("2025-06-30", concluded_on=D(concluded_on)) == DeadlineState(status, DUE, None, days_used, 0)


def test_concluded_the_saturday_after_a_friday_due_date_is_late() -> None:
    assert state("2025-06-30", limit_days=19, concluded_on=D("2025-03-29")).status is (
        DeadlineStatus.CONCLUDED_LATE
    )


def test_a_case_concluded_while_suspended_ends_its_suspension() -> None:
    # 补正超时驳回: the applicant never supplied the material; the case is concluded during the suspension.
    timed_out = inputs(suspensions=(Suspension(D("2025-03-07"), None),), concluded_on=D("2025-05-09"))
    result = deadline_state(CALENDAR, timed_out, D("2025-06-30"))
    assert result.status is DeadlineStatus.CONCLUDED_ON_TIME
    assert (result.days_used, result.days_left) == (4, None)
    assert result.suspended_days == CALENDAR.working_days_between(D("2025-03-07"), D("2025-05-09"))
    assert result.due_on == CALENDAR.add_working_days(D("2025-05-09"), 16)


def test_before_its_conclusion_date_a_case_is_still_open() -> None:
    assert state("2025-03-26", concluded_on=D("2025-04-01")).status is DeadlineStatus.WARNING


def test_before_acceptance_the_clock_has_not_started() -> None:
    assert state("2025-03-02") == DeadlineState(DeadlineStatus.NOT_STARTED, DUE, 20, 0, 0)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"limit_days": 0}, "limit_days"),
        ({"extension_days": -1}, "extension_days"),
        ({"concluded_on": D("2025-03-02")}, "concluded_on"),
    ],
)
def test_bad_inputs_are_refused(changes: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidField) as raised:
        inputs(**changes)
    assert raised.value.field == field


def test_a_suspension_cannot_end_before_it_starts() -> None:
    with pytest.raises(InvalidField, match=r"suspension\.end: 2025-03-06 is before 2025-03-07"):
        Suspension(D("2025-03-07"), D("2025-03-06"))


def test_negative_warning_days_are_refused() -> None:
    with pytest.raises(InvalidField, match="warning_days"):
        state("2025-03-10", warning_days=-1)


def test_a_due_date_beyond_the_calendar_is_refused() -> None:
    last = CALENDAR.covered_years[-1]
    with pytest.raises(DateOutsideCalendar, match=f"{last + 1}-01-01"):
        due_date(CALENDAR, DeadlineInputs(date(last, 12, 1), 30))


# Property tests against a day-by-day reference.
# Acceptance up to mid-2025, at most 80 working days and 4 suspensions of 60 days: all within 2024-2026.


@st.composite
def random_inputs(draw: st.DrawFn, allow_open: bool = True) -> DeadlineInputs:
    accepted = draw(st.dates(date(2024, 1, 1), date(2025, 6, 30)))
    suspensions = []
    for _ in range(draw(st.integers(0, 4))):
        start = draw(st.dates(accepted - timedelta(days=20), accepted + timedelta(days=120)))
        length = draw(st.integers(0, 60))
        is_open = allow_open and draw(st.integers(0, 9)) == 0
        suspensions.append(Suspension(start, None if is_open else start + timedelta(days=length)))
    return DeadlineInputs(
        accepted_on=accepted,
        limit_days=draw(st.integers(1, 60)),
        suspensions=tuple(suspensions),
        extension_days=draw(st.integers(0, 20)),
    )


def is_suspended(inputs: DeadlineInputs, day: date) -> bool:
    return any(s.start < day and (s.end is None or day <= s.end) for s in inputs.suspensions)


def is_counted(inputs: DeadlineInputs, day: date) -> bool:
    return day > inputs.accepted_on and CALENDAR.is_working_day(day) and not is_suspended(inputs, day)


def reference_due(inputs: DeadlineInputs) -> date | None:
    counted, day = 0, inputs.accepted_on
    while counted < inputs.limit_days + inputs.extension_days:
        day += timedelta(days=1)
        if any(s.end is None and s.start < day for s in inputs.suspensions):
            return None
        counted += is_counted(inputs, day)
    return day


@settings(max_examples=300, deadline=None)
@given(random_inputs(), st.integers(-5, 300))
def test_due_date_and_counts_match_a_day_by_day_reference(inputs: DeadlineInputs, offset: int) -> None:
    assert due_date(CALENDAR, inputs) == reference_due(inputs)
    today = inputs.accepted_on + timedelta(days=offset)
    days = [inputs.accepted_on + timedelta(days=i) for i in range(1, offset + 1)]
    result = deadline_state(CALENDAR, inputs, today)
    assert result.days_used == sum(is_counted(inputs, d) for d in days)
    assert result.suspended_days == sum(CALENDAR.is_working_day(d) and is_suspended(inputs, d) for d in days)


@settings(max_examples=60, deadline=None)
@given(random_inputs(allow_open=False))
def test_days_left_falls_by_one_per_counted_working_day(inputs: DeadlineInputs) -> None:
    due_on = due_date(CALENDAR, inputs)
    assert due_on is not None
    today = inputs.accepted_on
    before = deadline_state(CALENDAR, inputs, today)
    while today <= due_on + timedelta(days=7):
        today += timedelta(days=1)
        after = deadline_state(CALENDAR, inputs, today)
        assert before.days_left is not None
        assert after.days_left is not None
        assert before.days_left - after.days_left == is_counted(inputs, today)
        if today == due_on:
            assert after.days_left == 0
            assert before.days_left == 1
        before = after
