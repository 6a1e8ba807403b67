"""A case's legal clock as a read model keeps it: the facts its deadlines rest on, folded from its events, so
a read model can show the due dates, and whether they are provisional, without loading the aggregate.

The fold keeps a plain dict (it is stored as JSON): the limits, acceptance, suspensions, the extension,
conclusion, the year schedules the case's writer recorded and the last due-date move. :func:`deadline_states`
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

# The events that change a clock, besides Submitted, which starts it.
CLOCK_EVENTS: tuple[type[Any], ...] = (
    Case.Accepted,
    Case.SupplementRequested,
    Case.SupplementProvided,
    Case.SpecialProcedureStarted,
    Case.SpecialProcedureEnded,
    Case.Extended,
    Case.Concluded,
    Case.DeadlinesRecomputed,
    Case.Withdrawn,
)


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
        "withdrawn_on": None,
    }


def fold(clock: dict[str, Any], event: Any) -> None:
    """Apply one of :data:`CLOCK_EVENTS` to the clock, in place."""
    if isinstance(event, Case.Withdrawn):
        clock["withdrawn_on"] = event.withdrawn_on
    elif isinstance(event, Case.DeadlinesRecomputed):
        clock["calendar_years"] |= {str(fields["year"]): fields for fields in event.calendar_years}
        clock["due_moved"] = {
            "at": event.timestamp.isoformat(),
            "promised": {"from": event.promised_from, "to": event.promised_to},
            "statutory": {"from": event.statutory_from, "to": event.statutory_to},
            "sources": [fields["source"] for fields in event.calendar_years],
        }
    else:
        fold_counting(clock, event)


def fold_counting(facts: dict[str, Any], event: Any) -> None:
    """The facts the count of working days rests on, kept in any dict with their keys: ``accepted_on``,
    ``suspensions``, ``extension_days`` and ``concluded_on`` (the service statistics keep them in their rows).
    Other events leave them as they are."""
    if isinstance(event, Case.Accepted):
        facts["accepted_on"] = event.accepted_on
    elif isinstance(event, Case.SupplementRequested):
        if event.suspends_clock:
            facts["suspensions"].append([event.requested_on, None])
    elif isinstance(event, Case.SpecialProcedureStarted):
        facts["suspensions"].append([event.started_on, None])
    elif isinstance(event, Case.SupplementProvided | Case.SpecialProcedureEnded):
        ended = event.provided_on if isinstance(event, Case.SupplementProvided) else event.ended_on
        facts["suspensions"] = closed_suspensions(facts["suspensions"], ended)
    elif isinstance(event, Case.Extended):
        facts["extension_days"] = event.days
    elif isinstance(event, Case.Concluded):
        facts["concluded_on"] = event.concluded_on
        facts["suspensions"] = closed_suspensions(facts["suspensions"], event.concluded_on)


def recorded_calendar(clock: dict[str, Any]) -> tuple[YearSchedule, ...]:
    years = clock["calendar_years"]
    return tuple(YearSchedule.from_fields(years[year]) for year in sorted(years, key=int))


def deadline_states(
    clock: dict[str, Any], calendar_of: CalendarOf, today: date
) -> tuple[DeadlineState, DeadlineState] | None:
    """(promised, statutory) as of the end of ``today``; None before acceptance, once withdrawn (every clock
    stopped), or outside every calendar."""
    if clock["accepted_on"] is None or clock.get("withdrawn_on") is not None:
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


def closed_suspensions(suspensions: list[list[str | None]], on: str) -> list[list[str | None]]:
    """The suspensions with the open one (if any) ended on ``on``."""
    return [[start, on if end is None else end] for start, end in suspensions]
