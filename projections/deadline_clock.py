"""A case's legal clock as a read model keeps it: the facts its deadlines rest on, folded from its events, so
a read model can show the due dates, and whether they are provisional, without loading the aggregate.

The fold keeps a plain dict (it is stored as JSON): the limits, acceptance, suspensions, the extension,
conclusion, the year schedules the case's writer recorded and the last due-date move, folded by
``aggregates.case.fold_clock`` (declared beside the events). :func:`deadline_states`
computes the states with ``aggregates.deadline``, the same code the node's own view of a case uses, over the
calendar the case counts with (``calendar_of``, the same on every node).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from aggregates.calendar import DateOutsideCalendar, WorkingCalendar, YearSchedule
from aggregates.case import Case
from aggregates.deadline import DeadlineInputs, DeadlineState, Suspension, deadline_state

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
    }


def recorded_calendar(clock: dict[str, Any]) -> tuple[YearSchedule, ...]:
    years = clock["calendar_years"]
    return tuple(YearSchedule.from_fields(years[year]) for year in sorted(years, key=int))


def deadline_states(
    clock: dict[str, Any], calendar_of: CalendarOf, today: date
) -> tuple[DeadlineState, DeadlineState] | None:
    """(promised, statutory) as of the end of ``today``; None before acceptance, once every clock has stopped
    without a decision (``stopped_on``), or outside every calendar."""
    if clock["accepted_on"] is None or clock.get("stopped_on") is not None:
        return None
    calendar = calendar_of(recorded_calendar(clock))
    suspensions = tuple(
        Suspension(date.fromisoformat(start), date.fromisoformat(end) if end else None)
        for start, end in clock["suspensions"]
    )
    accepted_on = date.fromisoformat(clock["accepted_on"])
    concluded_on = date.fromisoformat(clock["concluded_on"]) if clock["concluded_on"] else None

    def state(limit_days: int) -> DeadlineState:
        inputs = DeadlineInputs(accepted_on, limit_days, suspensions, clock["extension_days"], concluded_on)
        return deadline_state(calendar, inputs, today)

    try:
        return state(clock["promised_limit_days"]), state(clock["statutory_limit_days"])
    except DateOutsideCalendar:
        return None
