"""The clocks after the decision, one rule at a time: the delivery limit (送达, 行政许可法 第44条) and the
rectification of a 差评 (整改). Given a case, when a command or the timer, then events or a refusal."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from aggregates.case import (
    CLOCK_EVENTS,
    DELIVERY_LIMIT_DAYS,
    Case,
    Limit,
    delivery_inputs,
    fold_clock,
)
from aggregates.deadline import (
    Breach,
    DeadlineInputs,
    DeadlineStatus,
    deadline_state,
    fixed_deadline_state,
)
from aggregates.errors import IllegalTransition
from aggregates.responsibility import Actor
from node.calendar.source import load_calendar
from tests.unit.test_case import (
    DUE,
    JS_ADMIN,
    JS_HANDLER,
    SH_WINDOW,
    accepted,
    approve,
    delivered,
    later,
    rated,
    refuse,
    submitted,
    with_materials,
)

SH_TIMER = Actor("310000", "SYSTEM", "deadline-timer")
JS_TIMER = Actor("320000", "SYSTEM", "deadline-timer")
CALENDAR = load_calendar()
D = date.fromisoformat


def concluded(result: str = "ISSUED") -> Case:
    """A PROXY case handled in Jiangsu, decided on 2026-03-05 (later(3)); events taken out."""
    case = accepted()
    approve(case)
    case.conclude(result, JS_HANDLER, later(3))
    case.collect_events()
    return case


# 送达 (行政许可法 第44条)


def test_article_44_a_decision_records_its_delivery_limit_and_the_delivery_clock_runs_until_delivery() -> (
    None
):
    """Given an accepted case, when the handling province decides, then the Concluded event records the 10
    working days of 第44条 and the delivery clock runs; when the receiving window delivers, it stops."""
    case = accepted()
    approve(case)
    case.collect_events()
    assert not case.clock_runs(Limit.DELIVERY)
    case.conclude("ISSUED", JS_HANDLER, later(3))
    [decided] = case.collect_events()
    assert isinstance(decided, Case.Concluded)
    assert decided.delivery_limit_days == DELIVERY_LIMIT_DAYS == 10
    assert case.clock_runs(Limit.DELIVERY)
    assert not case.clock_runs(Limit.STATUTORY)
    case.deliver("WINDOW", "窗口领取", SH_WINDOW, later(5))
    assert case.delivered_on == "2026-03-07"
    assert not case.clock_runs(Limit.DELIVERY)


def test_article_44_a_refusal_and_a_decision_recorded_before_the_clock_run_no_delivery_clock() -> None:
    """Given a refusal (不予受理: no decision on the permission), then no delivery clock runs. Given a
    Concluded stored before version 3 (round 1's and round 2's), when read, then it has no delivery limit:
    the cut-over, decisions left undelivered at the upgrade are not breached retroactively."""
    case = with_materials(submitted())
    case.receive("SJ1", SH_WINDOW, later())
    case.forward(SH_WINDOW, later())
    refuse(case)
    assert not case.clock_runs(Limit.DELIVERY)
    stored_v2 = {"result": "ISSUED", "concluded_on": "2026-03-05", "reason": None}
    Case.Concluded.upcast_v2_v3(stored_v2)
    assert stored_v2["delivery_limit_days"] is None
    old: dict[str, Any] = {"concluded_on": "2026-03-05", "delivery_limit_days": None, "delivered_on": None}
    assert delivery_inputs(old) is None


def test_article_44_the_delivery_limit_is_10_working_days_from_the_decision() -> None:
    """Given a decision on Thursday 2026-03-05, then delivery is due on the 10th working day after it,
    2026-03-19, warned of three working days before, overdue the day after, and on time once delivered."""
    inputs = delivery_inputs(concluded().delivery_facts)
    assert inputs == DeadlineInputs(D("2026-03-05"), 10)
    due = deadline_state(CALENDAR, inputs, D("2026-03-10"))
    assert (due.status, due.due_on, due.days_left) == (DeadlineStatus.ON_TIME, D("2026-03-19"), 7)
    assert deadline_state(CALENDAR, inputs, D("2026-03-16")).status == DeadlineStatus.WARNING
    assert deadline_state(CALENDAR, inputs, D("2026-03-20")).status == DeadlineStatus.OVERDUE
    stopped = DeadlineInputs(D("2026-03-05"), 10, concluded_on=D("2026-03-18"))
    assert deadline_state(CALENDAR, stopped, D("2026-03-30")).status == DeadlineStatus.CONCLUDED_ON_TIME


def test_article_44_the_receiving_province_warns_and_breaches_the_delivery_limit_once_in_proxy() -> None:
    """Given a PROXY case decided in Jiangsu, the receiving province (Shanghai) writes it and delivers at
    its window: its timer warns and breaches the delivery limit, each once; Jiangsu's timer may not."""
    case = concluded()
    assert case.writer() == "310000"
    with pytest.raises(IllegalTransition):
        case.warn_deadline("DELIVERY", D("2026-03-19"), 3, JS_TIMER, later(11))
    assert case.warn_deadline("DELIVERY", D("2026-03-19"), 3, SH_TIMER, later(11)) is True
    assert case.warn_deadline("DELIVERY", D("2026-03-19"), 2, SH_TIMER, later(12)) is False
    with pytest.raises(IllegalTransition, match="record a breach"):
        case.breach_deadline("DELIVERY", D("2026-03-19"), SH_TIMER, later(16))
    assert case.breach_deadline("DELIVERY", D("2026-03-19"), SH_TIMER, later(18)) is True
    assert case.breach_deadline("DELIVERY", D("2026-03-19"), SH_TIMER, later(19)) is False
    events: list[Any] = list(case.collect_events())
    assert [(type(e).__name__, e.limit, e.province) for e in events] == [
        ("DeadlineWarned", "DELIVERY", "310000"),
        ("DeadlineBreached", "DELIVERY", "310000"),
    ]
    assert case.breaches["DELIVERY"] == {"due_on": "2026-03-19", "recorded_on": "2026-03-20"}
    inputs = delivery_inputs(case.delivery_facts)
    assert inputs is not None
    assert inputs.breach == Breach(D("2026-03-19"), D("2026-03-20"))


def test_article_44_once_delivered_the_delivery_limit_is_neither_warned_nor_breached() -> None:
    """Given a delivered decision, when the timer comes late, then it records nothing: the clock stopped."""
    case = delivered()
    assert case.warn_deadline("DELIVERY", D("2026-03-19"), 1, JS_TIMER, later(30)) is False
    assert case.breach_deadline("DELIVERY", D("2026-03-19"), JS_TIMER, later(30)) is False
    assert case.collect_events() == []


def _folded(events: list[Any]) -> dict[str, Any]:
    clock: dict[str, Any] = {"accepted_on": None, "suspensions": [], "extension_days": 0}
    clock |= {"concluded_on": None, "calendar_years": {}, "delivery_limit_days": None, "delivered_on": None}
    for event in events:
        if isinstance(event, CLOCK_EVENTS):
            fold_clock(clock, event)
    return clock


def test_article_44_the_clock_a_follower_folds_has_the_aggregates_delivery_facts() -> None:
    """Given a decision, a delivery breach and the delivery, when a follower folds the events, then its
    clock gives the delivery limit the aggregate counts (one rule, :func:`delivery_inputs`)."""
    case = accepted()
    approve(case)
    case.conclude("ISSUED", JS_HANDLER, later(3))
    case.breach_deadline("DELIVERY", D("2026-03-19"), SH_TIMER, later(18))
    case.deliver("POST", "EMS1", SH_WINDOW, later(20))
    clock = _folded(list(case.collect_events()))
    assert clock["delivered_on"] == case.delivered_on == "2026-03-22"
    assert delivery_inputs(clock) == delivery_inputs(case.delivery_facts) is not None


# 整改 of a 差评 (国办发〔2019〕51号)


def test_a_bad_rating_runs_the_rectification_clock_until_the_office_answers() -> None:
    """Given a 差评 answered by the handling province, then the rectification clock runs until it answers;
    the writer's timer warns and breaches it once each, and nothing after the answer."""
    case = rated(1)
    assert case.clock_runs(Limit.RECTIFICATION)
    assert not rated(4).clock_runs(Limit.RECTIFICATION)
    timer = Actor(case.writer(), "SYSTEM", "deadline-timer")
    assert case.warn_deadline("RECTIFICATION", DUE, 2, timer, later(20)) is True
    assert case.warn_deadline("RECTIFICATION", DUE, 1, timer, later(21)) is False
    assert case.breach_deadline("RECTIFICATION", DUE, timer, later(24)) is True
    assert case.breach_deadline("RECTIFICATION", DUE, timer, later(25)) is False
    case.respond_to_rectification("已整改", JS_HANDLER, later(26))
    assert not case.clock_runs(Limit.RECTIFICATION)
    assert case.rectification_closed_on == "2026-03-28"
    assert [(type(e).__name__, getattr(e, "limit", None)) for e in case.collect_events()] == [
        ("DeadlineWarned", "RECTIFICATION"),
        ("DeadlineBreached", "RECTIFICATION"),
        ("RectificationResponded", None),
    ]


def test_an_upheld_appeal_stops_the_rectification_clock_and_a_rejected_one_does_not() -> None:
    """Given an appealed 差评, when the appeal is upheld (申诉成立), then the rectification clock stops and
    the timer records nothing; when rejected, the rectification stays due and its clock runs."""
    for outcome, runs in (("UPHELD", False), ("REJECTED", True)):
        case = rated(2)
        case.appeal_rating("评价不实", JS_HANDLER, later(5))
        case.decide_rating_appeal(outcome, "复核", JS_ADMIN, later(6))
        case.collect_events()
        assert case.clock_runs(Limit.RECTIFICATION) is runs
        timer = Actor(case.writer(), "SYSTEM", "deadline-timer")
        assert case.breach_deadline("RECTIFICATION", DUE, timer, later(30)) is runs
        assert (case.rectification_closed_on is None) is runs


def test_a_rectification_counts_to_the_due_date_set_at_rating() -> None:
    """Given a rectification rated on 2026-03-02 and due on 2026-03-25 (fixed at rating), then it reads
    working days left to that date, WARNING within three, OVERDUE after it, and, once answered, on time or
    late by the day of the answer; a recorded breach stays."""
    rated_on, due = D("2026-03-02"), D("2026-03-25")

    def status(today: str, stopped: str | None = None, breach: Breach | None = None) -> Any:
        stop = D(stopped) if stopped else None
        return fixed_deadline_state(CALENDAR, rated_on, due, stop, D(today), 3, breach)

    assert (status("2026-03-16").status, status("2026-03-16").days_left) == (DeadlineStatus.ON_TIME, 7)
    assert (status("2026-03-20").status, status("2026-03-20").days_left) == (DeadlineStatus.WARNING, 3)
    assert (status("2026-03-27").status, status("2026-03-27").days_left) == (DeadlineStatus.OVERDUE, -2)
    assert status("2026-03-30", "2026-03-24").status == DeadlineStatus.CONCLUDED_ON_TIME
    assert status("2026-03-30", "2026-03-26").status == DeadlineStatus.CONCLUDED_LATE
    recorded = Breach(due, D("2026-03-26"))
    assert status("2026-03-30", "2026-03-26", recorded).breach == recorded
