"""The legal clock of a case (办件时限): when it is due and how it stands on a given day. Pure functions.

Rules (行政许可法; DOMAIN.md "Timers"):
- the limit is in working days, and counting begins the day after acceptance (民法典 第201条);
- days while the case is suspended (补正 supplement, 特别程序 special procedure) do not count, so the due
  date moves. A suspension from ``start`` to ``end`` covers the days d with start < d <= end; days on or
  before acceptance are ignored (a supplement may be requested before acceptance). Overlapping suspensions
  count once. A suspension still open when the case concludes ends with it;
- an extension (延期) adds working days once, to the limits it moves (行政许可法 第42条: the statutory limit
  only; ``aggregates.case.deadline_inputs`` says which limits each recorded extension moved);
- a breach the timer recorded (``Breach``) stays: the limit reads OVERDUE (CONCLUDED_LATE once concluded)
  even when a later change (an extension recorded before 第42条 was followed, a newly published year
  schedule) moved its due date past the day asked about. ``due_on`` and ``days_left`` still tell the current
  due date; ``breach`` tells which due date passed and when it was recorded.

A deadline is provisional when it counts through a year whose schedule is provisional (the 调休 swaps not yet
published): it names those years, so nobody takes it for final.

A "counted" day is a working day after acceptance that no suspension covers.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from aggregates.calendar import CalendarKind, WorkingCalendar
from aggregates.errors import InvalidField


@dataclass(frozen=True)
class Suspension:
    """The clock stops after ``start``; ``end`` None means the case is still suspended."""

    start: date
    end: date | None

    def __post_init__(self) -> None:
        if self.end is not None and self.end < self.start:
            raise InvalidField("suspension.end", f"{self.end.isoformat()} is before {self.start.isoformat()}")


@dataclass(frozen=True)
class Breach:
    """A breach of a limit as the deadline timer recorded it (``Case.DeadlineBreached``): the due date that
    passed, and the day (China time) it was recorded."""

    due_on: date
    recorded_on: date


@dataclass(frozen=True)
class DeadlineInputs:
    accepted_on: date
    limit_days: int
    suspensions: tuple[Suspension, ...] = ()
    extension_days: int = 0  # the working days an extension adds to this limit (0 when it moves another)
    concluded_on: date | None = None
    breach: Breach | None = None  # recorded before: the limit never reads on time again

    def __post_init__(self) -> None:
        if self.limit_days < 1:
            raise InvalidField("limit_days", f"must be at least 1 working day, got {self.limit_days}")
        if self.extension_days < 0:
            raise InvalidField("extension_days", f"must not be negative, got {self.extension_days}")
        if self.concluded_on is not None and self.concluded_on < self.accepted_on:
            raise InvalidField(
                "concluded_on",
                f"{self.concluded_on.isoformat()} is before acceptance on {self.accepted_on.isoformat()}",
            )

    @property
    def total_days(self) -> int:
        return self.limit_days + self.extension_days


class DeadlineStatus(StrEnum):
    NOT_STARTED = "NOT_STARTED"  # not yet accepted on the day asked about
    ON_TIME = "ON_TIME"
    WARNING = "WARNING"  # yellow: few working days left
    OVERDUE = "OVERDUE"  # red: past the due date and not concluded
    SUSPENDED = "SUSPENDED"  # the clock is stopped (补正, 特别程序)
    CONCLUDED_ON_TIME = "CONCLUDED_ON_TIME"
    CONCLUDED_LATE = "CONCLUDED_LATE"


@dataclass(frozen=True)
class DeadlineState:
    status: DeadlineStatus
    due_on: date | None
    days_left: int | None
    days_used: int
    suspended_days: int
    provisional_years: tuple[int, ...] = ()  # the provisional years counted through, if any
    breach: Breach | None = None  # the breach recorded, if any (the status then never reads on time)


# A suspended span (start, end]: disjoint, sorted, start >= acceptance; end None = open-ended.
_Span = tuple[date, date | None]


def _spans(inputs: DeadlineInputs) -> list[_Span]:
    """The suspensions as disjoint sorted spans after acceptance, open ones closed by conclusion."""
    spans: list[_Span] = []
    clipped = sorted(
        (
            (max(s.start, inputs.accepted_on), s.end if s.end is not None else inputs.concluded_on)
            for s in inputs.suspensions
        ),
        key=lambda span: span[0],
    )
    for start, end in clipped:
        if end is not None and end <= start:
            continue  # empty, or wholly before acceptance
        if spans and (spans[-1][1] is None or start <= spans[-1][1]):
            last_end = spans[-1][1]
            spans[-1] = (spans[-1][0], None if end is None or last_end is None else max(end, last_end))
        else:
            spans.append((start, end))
    return spans


def _due(calendar: WorkingCalendar, inputs: DeadlineInputs, spans: list[_Span]) -> date | None:
    remaining = inputs.total_days
    position = inputs.accepted_on
    for start, end in spans:
        available = calendar.working_days_between(position, start)  # counted days before this span
        if remaining <= available:
            break
        if end is None:
            return None  # the count resumes only when the suspension ends
        remaining -= available
        position = end
    return calendar.add_working_days(position, remaining)


def due_date(calendar: WorkingCalendar, inputs: DeadlineInputs) -> date | None:
    """The day the counted working days reach the limit plus any extension.

    None while an open suspension keeps moving it (one that began after the due date cannot move it).
    """
    return _due(calendar, inputs, _spans(inputs))


def deadline_state(
    calendar: WorkingCalendar, inputs: DeadlineInputs, today: date, warning_days: int = 3
) -> DeadlineState:
    """How the case stands at the end of ``today``."""
    if warning_days < 0:
        raise InvalidField("warning_days", f"must not be negative, got {warning_days}")
    spans = _spans(inputs)
    due_on = _due(calendar, inputs, spans)
    total = inputs.total_days
    # counted through the due date; while it is unknown (an open suspension), through today at least
    counted_to = due_on or max(today, inputs.accepted_on)
    provisional = calendar.years_of_kind(CalendarKind.PROVISIONAL, inputs.accepted_on, counted_to)
    if today < inputs.accepted_on:
        return DeadlineState(DeadlineStatus.NOT_STARTED, due_on, total, 0, 0, provisional)
    # a breach counts from the day it was recorded: as of an earlier day the limit read as it did then
    breach = inputs.breach if inputs.breach is not None and inputs.breach.recorded_on <= today else None

    concluded_on = (
        inputs.concluded_on if inputs.concluded_on is not None and inputs.concluded_on <= today else None
    )
    horizon = concluded_on or today
    suspended_days = sum(
        calendar.working_days_between(start, horizon if end is None else min(end, horizon))
        for start, end in spans
    )
    days_used = calendar.working_days_between(inputs.accepted_on, horizon) - suspended_days

    if concluded_on is not None:
        # known: conclusion closes open suspensions; a recorded breach stays a breach
        late = breach is not None or (due_on is not None and concluded_on > due_on)
        status = DeadlineStatus.CONCLUDED_LATE if late else DeadlineStatus.CONCLUDED_ON_TIME
        return DeadlineState(status, due_on, None, days_used, suspended_days, provisional, breach)

    days_left = total - days_used
    # Overdue first: a suspension that began after the due date cannot hide the breach. Otherwise the case
    # is suspended from the day of the request until it resumes on the end day (a day not counted, like the
    # acceptance day). A breach recorded before stays overdue, whatever moved the due date since.
    if breach is not None or (due_on is not None and today > due_on):
        status = DeadlineStatus.OVERDUE
    elif any(start <= today and (end is None or today < end) for start, end in spans):
        status = DeadlineStatus.SUSPENDED
    elif days_left <= warning_days:
        status = DeadlineStatus.WARNING
    else:
        status = DeadlineStatus.ON_TIME
    return DeadlineState(status, due_on, days_left, days_used, suspended_days, provisional, breach)


def fixed_deadline_state(
    calendar: WorkingCalendar,
    start: date,
    due_on: date,
    stopped_on: date | None,
    today: date,
    warning_days: int = 3,
    breach: Breach | None = None,
) -> DeadlineState:
    """How a limit whose due date was fixed when it opened (a rectification's, set at rating) stands at the
    end of ``today``: the working days used since ``start`` and left to ``due_on``, until ``stopped_on``
    stops it. Nothing suspends it, and a recorded ``breach`` stays, as in :func:`deadline_state`."""
    if warning_days < 0:
        raise InvalidField("warning_days", f"must not be negative, got {warning_days}")
    provisional = calendar.years_of_kind(CalendarKind.PROVISIONAL, start, due_on)
    if today < start:
        return DeadlineState(
            DeadlineStatus.NOT_STARTED,
            due_on,
            calendar.working_days_between(start, due_on),
            0,
            0,
            provisional,
        )
    breach = breach if breach is not None and breach.recorded_on <= today else None
    stopped = stopped_on if stopped_on is not None and stopped_on <= today else None
    days_used = calendar.working_days_between(start, stopped or today)
    if stopped is not None:
        late = breach is not None or stopped > due_on
        status = DeadlineStatus.CONCLUDED_LATE if late else DeadlineStatus.CONCLUDED_ON_TIME
        return DeadlineState(status, due_on, None, days_used, 0, provisional, breach)
    days_left = calendar.working_days_between(today, due_on) - calendar.working_days_between(due_on, today)
    if breach is not None or today > due_on:
        status = DeadlineStatus.OVERDUE
    elif days_left <= warning_days:
        status = DeadlineStatus.WARNING
    else:
        status = DeadlineStatus.ON_TIME
    return DeadlineState(status, due_on, days_left, days_used, 0, provisional, breach)
