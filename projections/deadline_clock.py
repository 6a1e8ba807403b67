"""A case's legal clock as a read model keeps it: the facts its deadlines rest on, folded from its events, so
a read model can show the due dates, and whether they are provisional, without loading the aggregate.

The fold keeps a plain dict (it is stored as JSON): the limits, acceptance, suspensions, the extension and
the limits it moved, conclusion, the year schedules the case's writer recorded, the last due-date move and
the breaches the timer recorded, folded by
``aggregates.case.fold_clock`` (declared beside the events). :func:`deadline_states`
computes the states with ``aggregates.case.deadline_inputs`` and ``aggregates.deadline``, the same code the
node's own view of a case uses, over the
calendar the case counts with (``calendar_of``, the same on every node).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from aggregates.calendar import DateOutsideCalendar, WorkingCalendar, YearSchedule
from aggregates.case import (
    Case,
    Limit,
    deadline_inputs,
    delivery_inputs,
    notice_clock_on_submission,
    notice_limit_inputs,
)
from aggregates.deadline import DeadlineInputs, DeadlineState, deadline_state

CalendarOf = Callable[[tuple[YearSchedule, ...]], WorkingCalendar]


def new_clock(submitted: Case.Submitted) -> dict[str, Any]:
    item = submitted.item
    return {
        "promised_limit_days": item["promised_limit_days"],
        "statutory_limit_days": item["statutory_limit_days"],
        "accepted_on": None,
        "suspensions": [],
        "extension_days": 0,
        "concluded_on": None,
        "calendar_years": {},
        "due_moved": None,
        "breaches": {},
        "delivery_limit_days": None,
        "delivered_on": None,
        "mode": submitted.mode,
        "notice_clock_from": notice_clock_on_submission(submitted),
        "notice_stopped_on": None,
    }


def recorded_calendar(clock: dict[str, Any]) -> tuple[YearSchedule, ...]:
    years = clock["calendar_years"]
    return tuple(YearSchedule.from_fields(years[year]) for year in sorted(years, key=int))


def notice_state(clock: dict[str, Any], calendar_of: CalendarOf, today: date) -> DeadlineState | None:
    """The notice limit (行政许可法 第32条) as of the end of ``today``; None while its clock has not started,
    or outside every calendar."""
    return _state(clock, notice_limit_inputs(clock), calendar_of, today)


def _state(
    clock: dict[str, Any], inputs: DeadlineInputs | None, calendar_of: CalendarOf, today: date
) -> DeadlineState | None:
    """A limit's state counted from ``inputs`` with the clock's calendar; None without inputs, or outside
    every calendar."""
    if inputs is None:
        return None
    try:
        return deadline_state(calendar_of(recorded_calendar(clock)), inputs, today)
    except DateOutsideCalendar:
        return None


def deadline_states(
    clock: dict[str, Any], calendar_of: CalendarOf, today: date
) -> tuple[DeadlineState, DeadlineState] | None:
    """(promised, statutory) as of the end of ``today``; None before acceptance, once every clock has stopped
    without a decision (``stopped_on``), or outside every calendar."""
    if clock["accepted_on"] is None or clock.get("stopped_on") is not None:
        return None
    calendar = calendar_of(recorded_calendar(clock))

    def state(limit: Limit, limit_days: int) -> DeadlineState:
        return deadline_state(calendar, deadline_inputs(clock, limit, limit_days), today)

    try:
        return (
            state(Limit.PROMISED, clock["promised_limit_days"]),
            state(Limit.STATUTORY, clock["statutory_limit_days"]),
        )
    except DateOutsideCalendar:
        return None


def delivery_state(clock: dict[str, Any], calendar_of: CalendarOf, today: date) -> DeadlineState | None:
    """The delivery limit (行政许可法 第44条) as of the end of ``today``; None when no delivery clock applies
    (:func:`aggregates.case.delivery_inputs`; a clock folded before the board kept it, until a rebuild) or
    outside every calendar."""
    return _state(clock, delivery_inputs(clock), calendar_of, today)
