"""The clock before acceptance (行政许可法 第32条) against a simple model, driven by Hypothesis: a case is
received (PROXY, at the Shanghai window) or submitted online, materials come, notices are given and
supplied, it is accepted, refused or withdrawn, days pass and the timer ticks. The timer's step is
the aggregate's: once the notice limit (5 working days, the case's calendar) has passed with no notice and
no decision, the breach and the deemed acceptance.

Invariants: at most one deemed acceptance; the acceptance date is the model's day the complete materials
arrived; no notice before acceptance after the notice limit; a later notice names only what the previous
supplement supplied."""

from __future__ import annotations

import itertools
from datetime import date, datetime, time, timedelta
from typing import Any

from hypothesis import event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from aggregates.case import Case, Limit, State, notice_limit_inputs
from aggregates.clock import CHINA
from aggregates.deadline import DeadlineStatus, deadline_state
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from node.calendar.source import case_calendar
from tests.builders import day_by_day, item
from tests.unit.test_case import refuse

SH_WINDOW = Actor("310000", "SH-WIN", "w-1")
JS_PLATFORM = Actor("320000", "JS-NET", "p")
JS_HANDLER = Actor("320000", "JS-GA", "h-1")
START = date(2026, 3, 2)
REQUIRED = ("M01", "M02")
ALL = ("M01", "M02", "M03")
CALENDAR = case_calendar(())


def _at(day: date) -> datetime:
    return datetime.combine(day, time(10), CHINA)


class NoticeClock(RuleBasedStateMachine):
    """One case per run, and the model of what 第32条 makes of it."""

    def __init__(self) -> None:
        super().__init__()
        self.today = START
        self.case: Case | None = None
        self.events: list[Any] = []
        self.arrived: date | None = (
            None  # the day the materials reached the office (the notice clock's start)
        )
        self.complete_on: date | None = None  # the day the complete materials arrived
        self.noticed = False  # a first notice was given (the notice clock stopped)
        self.last_supplied: list[str] = []

    # helpers

    @property
    def c(self) -> Case:
        assert self.case is not None
        return self.case

    def _keep(self) -> None:
        self.events += self.c.collect_events()

    def _before_acceptance(self) -> bool:
        return self.case is not None and self.c.state in {State.SUBMITTED, State.RECEIVED, State.FORWARDED}

    def _notice_due(self) -> date | None:
        return None if self.arrived is None else day_by_day(CALENDAR, self.arrived, 5)

    # rules

    @precondition(lambda self: self.case is None)
    @rule(online=st.booleans(), attached=st.sets(st.sampled_from(ALL)))
    def file(self, online: bool, attached: set[str]) -> None:
        by = JS_PLATFORM if online else SH_WINDOW
        self.case = Case.submit(
            case_no="310000202603020001",
            mode="FULL_ONLINE" if online else "PROXY",
            item_province="320000",
            item=item(),
            item_version=1,
            receiving_province=by.province,
            parts=[],
            applicant_id="7f0c1e1e-0000-4000-8000-000000000001",
            actor=by,
            at=_at(self.today),
        )
        for code in sorted(attached):
            self.c.attach_material(code, by, _at(self.today), file_digest="sha256:" + "a" * 64)
        if online:
            self.arrived = self.complete_on = self.today
        self._keep()

    @precondition(
        lambda self: self.case is not None and self.c.state is State.SUBMITTED and self.c.mode == "PROXY"
    )
    @rule()
    def receive(self) -> None:
        self.c.receive("SJ1", SH_WINDOW, _at(self.today))
        self.arrived = self.complete_on = self.today
        self._keep()

    @precondition(
        lambda self: self.case is not None and self.c.state is State.RECEIVED and self.c.mode == "PROXY"
    )
    @rule()
    def forward(self) -> None:
        self.c.forward(SH_WINDOW, _at(self.today))
        self._keep()

    @precondition(lambda self: self.case is not None and self.c.state is State.SUPPLEMENT_REQUESTED)
    @rule()
    def supply(self) -> None:
        assert self.c.open_supplement is not None
        listed = list(self.c.open_supplement["missing"])
        for code in listed:
            self.c.attach_material(code, SH_WINDOW, _at(self.today), file_digest="sha256:" + "b" * 64)
        pre_acceptance = self.c.accepted_on is None
        self.c.provide_supplement(SH_WINDOW, _at(self.today))
        self.last_supplied = listed
        if pre_acceptance:
            self.complete_on = self.today
        self._keep()

    @precondition(lambda self: self._before_acceptance() and self.c.state is not State.SUBMITTED)
    @rule(defective=st.sets(st.sampled_from(ALL)), later_subset=st.sets(st.sampled_from(ALL)))
    def notice(self, defective: set[str], later_subset: set[str]) -> None:
        """The window notifies while it holds a PROXY case, else the handling province."""
        case = self.c
        by = SH_WINDOW if case.mode == "PROXY" and not case.forwarded else JS_HANDLER
        if case.supplement_rounds == 0:
            missing = sorted(set(case.missing_materials()) | (defective & set(case.materials)))
        else:
            missing = sorted(later_subset)  # may name what the last round did not supply: then refused
        due = self._notice_due()
        timed = not self.noticed
        late = timed and due is not None and self.today > due
        wrong = case.supplement_rounds > 0 and not set(missing) <= set(self.last_supplied)
        try:
            case.request_supplement(
                missing, "补正", self.today + timedelta(days=365), by, _at(self.today), due
            )
        except (IllegalTransition, InvalidField):
            assert late or wrong or not missing, (late, wrong, missing)
            assert case.collect_events() == []
            event("notice refused: " + ("late" if late else "not newly supplied" if wrong else "empty"))
            return
        assert not late
        assert not wrong
        self.noticed = True
        self.complete_on = None
        self._keep()

    @precondition(lambda self: self._before_acceptance() and self.c.state is not State.SUBMITTED)
    @rule()
    def accept(self) -> None:
        case = self.c
        if case.mode == "PROXY" and not case.forwarded:
            return
        if case.missing_materials():
            try:
                case.accept("SL1", JS_HANDLER, _at(self.today))
            except IllegalTransition:
                return
            raise AssertionError("accepted with materials missing")
        case.accept("SL1", JS_HANDLER, _at(self.today))
        assert self.complete_on is not None
        assert case.accepted_on == self.complete_on.isoformat()
        self._keep()

    @precondition(lambda self: self._before_acceptance() and self.c.state is not State.SUBMITTED)
    @rule(withdraw=st.booleans())
    def end_without_acceptance(self, withdraw: bool) -> None:
        case = self.c
        if withdraw:
            by = SH_WINDOW if case.mode == "PROXY" else JS_PLATFORM
            case.withdraw("撤回", by, _at(self.today))
        elif case.mode == "FULL_ONLINE" or case.forwarded:
            refuse(case, at=_at(self.today))
        self._keep()

    @rule(days=st.integers(1, 4))
    def days_pass(self, days: int) -> None:
        """Time passes; the timer may not have run yet (a notice then meets the limit on its own)."""
        self.today += timedelta(days=days)

    @precondition(lambda self: self.case is not None)
    @rule()
    def the_timer_ticks(self) -> None:
        case = self.c
        inputs = notice_limit_inputs(case.notice_facts)
        if inputs is None or not case.clock_runs(Limit.NOTICE):
            return
        state = deadline_state(CALENDAR, inputs, self.today)
        if state.status != DeadlineStatus.OVERDUE or state.due_on is None:
            return
        assert state.due_on == self._notice_due()
        writer = Actor(case.writer(), "SYSTEM", "deadline-timer")
        case.breach_deadline(Limit.NOTICE, state.due_on, writer, _at(self.today))
        case.deem_accepted(state.due_on, writer, _at(self.today))
        assert self.arrived is not None
        assert case.accepted_on == self.arrived.isoformat()
        assert case.writer() == case.handling_province
        event("deemed accepted")
        self._keep()

    # invariants

    @invariant()
    def at_most_one_deemed_acceptance(self) -> None:
        assert sum(isinstance(e, Case.AcceptanceDeemed) for e in self.events) <= 1

    @invariant()
    def accepted_on_is_the_day_the_complete_materials_arrived(self) -> None:
        if self.case is None or self.c.accepted_on is None:
            return
        deemed = any(isinstance(e, Case.AcceptanceDeemed) for e in self.events)
        expected = self.arrived if deemed else self.complete_on
        assert expected is not None
        assert self.c.accepted_on == expected.isoformat()

    @invariant()
    def no_notice_after_the_limit(self) -> None:
        due = self._notice_due()
        first = next((e for e in self.events if isinstance(e, Case.SupplementRequested)), None)
        if first is not None and due is not None:
            assert date.fromisoformat(first.requested_on) <= due
            assert first.notice_due_on == due.isoformat()

    @invariant()
    def a_later_notice_names_only_newly_supplied_materials(self) -> None:
        notices = [e for e in self.events if isinstance(e, Case.SupplementRequested)]
        for previous, later in itertools.pairwise(notices):
            assert set(later.missing) <= set(previous.missing)
            assert later.follows_round == previous.round


NoticeClock.TestCase.settings = settings(max_examples=200, stateful_step_count=30, deadline=None)
test_article_32_the_notice_clock_against_its_model = NoticeClock.TestCase
