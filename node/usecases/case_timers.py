"""What time and other provinces' certificates do to the open cases this node writes: the deadline timer's
step (lapsed supplements, warnings, breaches, a newer calendar adopted) and the reliance watcher's flag on a
case whose certificate left VALID. Each record happens at most once per case, because the aggregate refuses a
repeat."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from enum import StrEnum

import structlog

from aggregates.calendar import DateOutsideCalendar
from aggregates.case import BEFORE_ACCEPTANCE, Case, Limit, State
from aggregates.clock import china_date
from aggregates.deadline import DeadlineState, DeadlineStatus
from aggregates.responsibility import Actor
from node.calendar.source import case_calendar
from node.usecases.cases import TIMER_OFFICE, TIMER_OPERATOR, CaseService

log = structlog.get_logger("tongban.timer")
RELIANCE_OPERATOR = "reliance-watcher"


class FlagOutcome(StrEnum):
    FLAGGED = "FLAGGED"
    DONE = "DONE"  # flagged already (perhaps by another province), or moot: closed, or VALID again
    ELSEWHERE = "ELSEWHERE"  # another province writes the case now: it flags it, or this one later


# The states in which some clock of a case runs, so the timer looks at the case: before acceptance the
# notice limit (行政许可法 第32条), then the decision limits and the supplement's due date, and the delivery
# limit of a decision (CONCLUDED until delivered, 第44条). A rectification (整改) runs in whichever state the
# case was rated: the timer looks at it while it is open.
TIMED_STATES = frozenset(
    {*BEFORE_ACCEPTANCE, State.ACCEPTED, State.SUPPLEMENT_REQUESTED, State.SPECIAL_PROCEDURE, State.CONCLUDED}
)
_Step = Callable[[Case, Actor, datetime, list[str]], None]


class CaseTimers:
    def __init__(self, cases: CaseService) -> None:
        self._cases = cases
        self._unknown_reported: set[tuple[str, int]] = set()

    # The timer's step for one case: exactly once per case, because the aggregate refuses repeats

    def check_timers(self, case_id: str) -> list[str]:
        """Record what time has made due on the case, each clock by its own step (:attr:`_steps`)."""
        recorded: list[str] = []

        def step(case: Case, at: datetime) -> None:
            recorded.clear()
            # the timer acts for the province that writes the case, which the law makes answer for it now
            actor = Actor(case.writer(), TIMER_OFFICE, TIMER_OPERATOR)
            for clock_step in self._steps:
                clock_step(case, actor, at, recorded)
                if case.writer() != actor.province:
                    return  # handed over (a deemed acceptance, a lapsed window notice): its writer goes on

        case = self._cases.case(case_id)
        if case.state not in TIMED_STATES and not case.clock_runs(Limit.RECTIFICATION):
            return []
        if not self._cases.writes(case):
            return []  # a replica: the writing province's timer records it, and it comes back replicated
        self._cases.record(case_id, step)
        return list(recorded)

    # Each step records what its clock made due. None decides the case: every step runs on every pass, unless
    # one hands the case to another writer

    def _supplement_due(self, case: Case, actor: Actor, at: datetime, recorded: list[str]) -> None:
        """A lapsed supplement is a fact for the handling office to decide on, never the timer's decision
        (行政许可法 第38条); the case's clocks go on (or stay stopped) as they were, so the pass goes on."""
        supplement = case.open_supplement
        if (
            supplement is not None
            and china_date(at) > date.fromisoformat(supplement["due_on"])
            and case.lapse_supplement(actor, at)
        ):
            recorded.append("SupplementLapsed")

    def _notice_limit(self, case: Case, actor: Actor, at: datetime, recorded: list[str]) -> None:
        """The notice limit (行政许可法 第32条): start it at the cut-over for a case that arrived before the
        rule; warn; once it passed with no notice and no decision, record the breach and the deemed
        acceptance, from which the decision limits count."""
        if case.start_notice_clock(actor, at):
            recorded.append("NoticeClockStarted")
            return
        deadlines = self._cases.deadlines(case, at) if case.clock_runs(Limit.NOTICE) else None
        if deadlines is None or deadlines.notice is None:
            return
        state = deadlines.notice
        if isinstance(state, DeadlineState) and state.status == DeadlineStatus.OVERDUE and state.due_on:
            if case.breach_deadline(Limit.NOTICE, state.due_on, actor, at):
                recorded.append(f"DeadlineBreached:{Limit.NOTICE}")
            case.deem_accepted(state.due_on, actor, at)
            recorded.append("AcceptanceDeemed")
            return
        self._warn_or_breach(case, actor, at, recorded, Limit.NOTICE, state)

    def _decision_limits(self, case: Case, actor: Actor, at: datetime, recorded: list[str]) -> None:
        """The promised and statutory limits: adopt a newer calendar, then warn and breach."""
        if case.accepted_on is None or not case.clock_runs(Limit.STATUTORY):
            return
        if self._adopt_newer_calendar(case, actor, at):
            recorded.append("DeadlinesRecomputed")
        deadlines = self._cases.deadlines(case, at)
        if deadlines is not None:
            self._warn_or_breach(case, actor, at, recorded, Limit.PROMISED, deadlines.promised)
            self._warn_or_breach(case, actor, at, recorded, Limit.STATUTORY, deadlines.statutory)

    def _warn_or_breach(
        self,
        case: Case,
        actor: Actor,
        at: datetime,
        recorded: list[str],
        limit: Limit,
        state: DeadlineState | DateOutsideCalendar | None,
    ) -> None:
        """Record a limit's breach once it is overdue, or its warning once it enters the warning days."""
        if state is None:
            return
        if isinstance(state, DateOutsideCalendar):
            self._report_unknown(case, state)
        elif state.status == DeadlineStatus.OVERDUE and state.due_on is not None:
            if case.breach_deadline(limit, state.due_on, actor, at):
                recorded.append(f"DeadlineBreached:{limit}")
        elif (
            state.status == DeadlineStatus.WARNING
            and state.due_on is not None
            and case.warn_deadline(limit, state.due_on, state.days_left or 0, actor, at)
        ):
            recorded.append(f"DeadlineWarned:{limit}")

    def _delivery_limit(self, case: Case, actor: Actor, at: datetime, recorded: list[str]) -> None:
        """送达 (行政许可法 第44条): warn and breach until the decision is delivered. The writer then is the
        province that delivers (the receiving province in PROXY, at its window): its timer records."""
        state = self._cases.delivery_deadline(case, at) if case.clock_runs(Limit.DELIVERY) else None
        if state is not None:
            self._warn_or_breach(case, actor, at, recorded, Limit.DELIVERY, state)

    def _rectification_limit(self, case: Case, actor: Actor, at: datetime, recorded: list[str]) -> None:
        """整改 of a 差评: warn and breach until the office answers, or an appeal against it is upheld."""
        state = self._cases.rectification_deadline(case, at) if case.clock_runs(Limit.RECTIFICATION) else None
        if state is not None:
            self._warn_or_breach(case, actor, at, recorded, Limit.RECTIFICATION, state)

    @property
    def _steps(self) -> tuple[_Step, ...]:
        return (
            self._supplement_due,
            self._notice_limit,
            self._decision_limits,
            self._delivery_limit,
            self._rectification_limit,
        )

    def _adopt_newer_calendar(self, case: Case, actor: Actor, at: datetime) -> bool:
        """Record the node's schedule of a year the case counts through otherwise, when a due date moves."""
        before = self._cases.deadlines(case, at)
        if before is None:
            return False
        start = date.fromisoformat(case.accepted_on or "")
        end = max(
            (
                s.due_on
                for s in (before.promised, before.statutory)
                if isinstance(s, DeadlineState) and s.due_on
            ),
            default=china_date(at),
        )
        # a year's new schedule can only pull a due date into that year or push it out: look one year on
        newer = self._cases.calendars.newer_years(case.recorded_calendar, start, date(end.year + 1, 12, 31))
        if not newer:
            return False
        after = self._cases.deadlines(case, at, case_calendar((*case.recorded_calendar, *newer)))
        if after is None:
            return False
        moved = _due(before.promised), _due(after.promised), _due(before.statutory), _due(after.statutory)
        if moved[0] == moved[1] and moved[2] == moved[3]:
            return False
        case.recompute_deadlines(newer, (moved[0], moved[1]), (moved[2], moved[3]), actor, at)
        log.info(
            "timer.deadlines_recomputed",
            case_no=case.case_no,
            years=[s.year for s in newer],
            promised=[_iso(d) for d in moved[:2]],
            statutory=[_iso(d) for d in moved[2:]],
        )
        return True

    def flag_relied_certificate(self, case_id: str, certificate_identifier: str, status: str) -> FlagOutcome:
        """Flag an open case written here whose certificate left VALID; exactly once per case and status,
        because the aggregate refuses a repeat. ELSEWHERE: another province writes the case now."""
        flagged: list[bool] = []

        def step(case: Case, at: datetime) -> None:
            actor = Actor(self._cases.province, TIMER_OFFICE, RELIANCE_OPERATOR)
            flagged[:] = [case.flag_relied_certificate(certificate_identifier, status, actor, at)]

        case = self._cases.case(case_id)
        if not case.needs_flag(certificate_identifier, status):
            return FlagOutcome.DONE
        if not self._cases.writes(case):
            return FlagOutcome.ELSEWHERE
        self._cases.record(case_id, step)
        return FlagOutcome.FLAGGED if flagged and flagged[0] else FlagOutcome.DONE

    def _report_unknown(self, case: Case, problem: DateOutsideCalendar) -> None:
        """Once per case and year: a deadline that counts outside every calendar (after 2100)."""
        key = (str(case.id), problem.year)
        if key not in self._unknown_reported:
            self._unknown_reported.add(key)
            log.warning("timer.deadline_unknown", case_no=case.case_no, missing_year=problem.year)


def _due(state: DeadlineState | DateOutsideCalendar | None) -> date | None:
    return state.due_on if isinstance(state, DeadlineState) else None


def _iso(day: date | None) -> str | None:
    return None if day is None else day.isoformat()
