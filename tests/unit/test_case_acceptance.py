"""The clock before acceptance (行政许可法 第32条), one rule at a time: given a case, when a command, then
events or a refusal. The notice limit (补正告知, 5 working days from receipt, or from submission online),
the deemed acceptance when it passes, the acceptance date, 一次性告知 and the cut-over."""

from __future__ import annotations

import dataclasses
from datetime import date, datetime
from typing import Any, cast

import pytest

from aggregates.case import (
    CLOCK_EVENTS,
    NOTICE_LIMIT_DAYS,
    Case,
    Limit,
    State,
    deadline_inputs,
    fold_clock,
    notice_clock_on_submission,
    notice_limit_inputs,
)
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from tests.unit.test_case import (
    ID_CARD,
    JS_HANDLER,
    JS_TIMER,
    NOTICE_DUE,
    SH_TIMER,
    SH_WINDOW,
    VERIFIED,
    forwarded,
    later,
    refuse,
    refused_without_events,
    submitted,
    with_materials,
)

JS_PLATFORM = Actor("320000", "JS-NET", "p")
SUPPLEMENT_DUE = date(2026, 3, 20)


def received(materials: bool = True) -> Case:
    """A PROXY case received at the Shanghai window on Monday 2026-03-02, not forwarded."""
    case = with_materials(submitted()) if materials else submitted()
    case.receive("SJ1", SH_WINDOW, later())
    case.collect_events()
    return case


def attach_id_card(case: Case, at: datetime) -> None:
    case.attach_material(
        "M01",
        SH_WINDOW,
        at,
        certificate_identifier=ID_CARD,
        certificate_type_code="11100000000013338W001",
        verification=VERIFIED,
        holder_is_applicant=True,
    )


def test_article_32_the_notice_clock_runs_from_the_receipt_at_the_window() -> None:
    """Given a PROXY case submitted, its materials have not reached the office: no notice clock runs. When
    the window receives it, then the notice limit runs from the day of the receipt, for 5 working days."""
    case = with_materials(submitted())
    assert not case.clock_runs(Limit.NOTICE)
    case.receive("SJ1", SH_WINDOW, later(1))
    received_event = case.collect_events()[-1]
    assert isinstance(received_event, Case.Received)
    assert received_event.notice_clock is True
    assert (case.notice_clock_from, case.materials_complete_on) == ("2026-03-03", "2026-03-03")
    assert case.clock_runs(Limit.NOTICE)
    inputs = notice_limit_inputs(case.notice_facts)
    assert inputs is not None
    assert (inputs.accepted_on, inputs.limit_days, inputs.concluded_on) == (
        date(2026, 3, 3),
        NOTICE_LIMIT_DAYS,
        None,
    )


def test_article_32_a_case_filed_online_has_its_notice_clock_from_submission() -> None:
    """Given a case filed online (全程网办), its materials arrive with the submission: then the notice
    limit runs from that day, and an acceptance two days later dates from it."""
    case = with_materials(submitted(mode="FULL_ONLINE", receiving=JS_PLATFORM), JS_PLATFORM)
    assert (case.notice_clock_from, case.clock_runs(Limit.NOTICE)) == ("2026-03-02", True)
    case.accept("SL1", JS_HANDLER, later(2))
    assert (case.accepted_on, case.notice_stopped_on) == ("2026-03-02", "2026-03-04")
    assert not case.clock_runs(Limit.NOTICE)


@pytest.mark.parametrize("stop", ["notice", "accept", "refuse", "withdraw"])
def test_article_32_the_notice_clock_stops_at_the_notice_acceptance_refusal_or_withdrawal(stop: str) -> None:
    """Given a forwarded case whose notice clock runs, when a notice is given, or the case is accepted,
    refused or withdrawn, then the notice clock stops that day and never runs again."""
    case = forwarded()
    if stop == "notice":
        case.request_supplement(["M02"], "户口簿缺页", SUPPLEMENT_DUE, JS_HANDLER, later(2), NOTICE_DUE)
    elif stop == "accept":
        case.accept("SL1", JS_HANDLER, later(2))
    elif stop == "refuse":
        refuse(case, at=later(2))
    else:
        case.withdraw("申请人撤回", SH_WINDOW, later(2))
    assert case.notice_stopped_on == "2026-03-04"
    assert not case.clock_runs(Limit.NOTICE)


def test_article_32_without_a_notice_in_time_the_case_is_deemed_accepted_from_receipt_once() -> None:
    """Given a forwarded case with no notice, when its writer's timer records the deemed acceptance on or
    before the notice limit, then it is refused; the day after, the case counts as accepted from the day its
    materials were received (视为受理), the decision clocks count from that day, and a second deemed
    acceptance is refused."""
    case = forwarded()
    case.collect_events()
    refused_without_events(case, lambda: case.deem_accepted(NOTICE_DUE, JS_TIMER, later(7)))  # 03-09
    refused_without_events(case, lambda: case.deem_accepted(NOTICE_DUE, SH_TIMER, later(8)))  # not writer
    case.deem_accepted(NOTICE_DUE, JS_TIMER, later(8))
    [deemed] = case.collect_events()
    assert isinstance(deemed, Case.AcceptanceDeemed)
    assert (deemed.accepted_on, deemed.notice_due_on, deemed.province, deemed.operator_id) == (
        "2026-03-02",
        "2026-03-09",
        "320000",
        "deadline-timer",
    )
    assert (case.state, case.accepted_on, case.acceptance_no) == (State.ACCEPTED, "2026-03-02", None)
    assert case.acceptance_deemed == {"accepted_on": "2026-03-02", "notice_due_on": "2026-03-09"}
    assert case.clock_runs(Limit.STATUTORY)
    assert deadline_inputs(case.counting_facts, Limit.STATUTORY, 20).accepted_on == date(2026, 3, 2)
    refused_without_events(case, lambda: case.deem_accepted(NOTICE_DUE, JS_TIMER, later(9)))


def test_article_32_a_window_held_case_deemed_accepted_passes_to_the_handling_province() -> None:
    """Given a PROXY case the Shanghai window received and never forwarded, the window writes it and its
    timer records the deemed acceptance: then the case passes to the handling province, which writes it
    from then on (one writer), as after a forwarding."""
    case = received()
    assert case.writer() == "310000"
    refused_without_events(case, lambda: case.deem_accepted(NOTICE_DUE, JS_TIMER, later(8)))
    case.deem_accepted(NOTICE_DUE, SH_TIMER, later(8))
    assert (case.state, case.forwarded, case.writer()) == (State.ACCEPTED, True, "320000")
    case.request_supplement(["M02"], "户口簿缺页", SUPPLEMENT_DUE, JS_HANDLER, later(9))
    assert case.writer() == "320000"  # a supplement after acceptance is the handling province's


def test_article_32_acceptance_dates_from_the_day_the_supplement_completed_the_materials() -> None:
    """Given a case received without the ID card, noticed on day 1 and supplied on day 3, when the
    handler accepts on day 5, then the case is accepted from day 3 (the day the complete materials
    arrived), not the day of the click."""
    case = submitted()
    case.attach_material("M02", SH_WINDOW, later(), file_digest="sha256:" + "a" * 64)
    case.receive("SJ1", SH_WINDOW, later())
    case.forward(SH_WINDOW, later())
    case.request_supplement(["M01"], "缺少身份证", SUPPLEMENT_DUE, JS_HANDLER, later(1), NOTICE_DUE)
    assert case.materials_complete_on is None
    attach_id_card(case, later(3))
    case.provide_supplement(SH_WINDOW, later(3))
    assert case.materials_complete_on == "2026-03-05"
    case.accept("SL1", JS_HANDLER, later(5))
    accepted = case.collect_events()[-1]
    assert isinstance(accepted, Case.Accepted)
    assert accepted.accepted_on == case.accepted_on == "2026-03-05"


def test_article_32_a_notice_after_the_notice_limit_is_refused() -> None:
    """Given a forwarded case received on 2026-03-02 (notice due 03-09), when the handler gives the notice on
    03-10, then it is refused, saying the limit passed, and nothing is recorded; on 03-09 it is given and
    records the limit it kept."""
    case = forwarded()
    case.collect_events()
    with pytest.raises(IllegalTransition, match=r"notice limit .*passed on 2026-03-09"):
        case.request_supplement(["M02"], "户口簿缺页", SUPPLEMENT_DUE, JS_HANDLER, later(8), NOTICE_DUE)
    assert case.collect_events() == []
    with pytest.raises(InvalidField, match="notice_due_on"):  # the use case always counts it
        case.request_supplement(["M02"], "户口簿缺页", SUPPLEMENT_DUE, JS_HANDLER, later(7))
    case.request_supplement(["M02"], "户口簿缺页", SUPPLEMENT_DUE, JS_HANDLER, later(7), NOTICE_DUE)
    [notice] = case.collect_events()
    assert isinstance(notice, Case.SupplementRequested)
    assert (notice.notice_due_on, notice.follows_round, notice.round) == ("2026-03-09", None, 1)


def test_article_32_the_first_notice_names_every_missing_material_and_may_name_defective_ones() -> None:
    """Given a case with M02 on file and M01 missing, when the first notice names M01 and M02 (defective),
    then it is recorded with M02 as ``defective``; a notice leaving out M01 is refused."""
    case = submitted()
    case.attach_material("M02", SH_WINDOW, later(), file_digest="sha256:" + "a" * 64)
    case.receive("SJ1", SH_WINDOW, later())
    case.forward(SH_WINDOW, later())
    case.collect_events()
    with pytest.raises(InvalidField, match="ALL missing"):
        case.request_supplement(["M02"], "户口簿不清", SUPPLEMENT_DUE, JS_HANDLER, later(1), NOTICE_DUE)
    case.request_supplement(
        ["M01", "M02"], "缺身份证, 户口簿不清", SUPPLEMENT_DUE, JS_HANDLER, later(1), NOTICE_DUE
    )
    [notice] = case.collect_events()
    assert isinstance(notice, Case.SupplementRequested)
    assert (notice.missing, notice.defective, notice.follows_round) == (["M01", "M02"], ["M02"], None)


def test_article_32_a_later_notice_names_only_what_the_last_supplement_supplied() -> None:
    """一次性告知: given a first notice for M03 supplied, when a second notice names M02 (on file since
    receipt, never mentioned), then it is refused without echoing it; naming M03, which the supplement got
    wrong anew, is recorded as following round 1."""
    case = forwarded()
    case.request_supplement(["M03"], "缺结婚证", SUPPLEMENT_DUE, JS_HANDLER, later(1), NOTICE_DUE)
    case.attach_material("M03", SH_WINDOW, later(2), file_digest="sha256:" + "c" * 64)
    case.provide_supplement(SH_WINDOW, later(2))
    assert case.last_supplied == ["M03"]
    case.collect_events()
    with pytest.raises(InvalidField, match="round 1 supplied \\(M03\\); 1 named") as refused:
        case.request_supplement(["M02", "M03"], "户口簿缺页", SUPPLEMENT_DUE, JS_HANDLER, later(3))
    assert "M02" not in str(refused.value)
    assert case.collect_events() == []
    case.request_supplement(["M03"], "结婚证不清晰", SUPPLEMENT_DUE, JS_HANDLER, later(3))
    [notice] = case.collect_events()
    assert isinstance(notice, Case.SupplementRequested)
    assert (notice.round, notice.follows_round, notice.defective, notice.notice_due_on) == (
        2,
        1,
        ["M03"],
        None,
    )


def test_article_32_the_receiving_window_gives_the_notice_while_it_holds_a_proxy_case() -> None:
    """形式审查 at the 收件地: given a PROXY case the Shanghai window received, when the window gives the
    notice, then it is recorded and the window still writes the case (it resumes RECEIVED when supplied);
    the handling province cannot notify before the forwarding, nor the window after it."""
    case = received(materials=False)
    attach_id_card(case, later())
    refused_without_events(
        case,
        lambda: case.request_supplement(
            ["M02"], "缺户口簿", SUPPLEMENT_DUE, JS_HANDLER, later(1), NOTICE_DUE
        ),
    )
    case.request_supplement(["M02"], "缺户口簿", SUPPLEMENT_DUE, SH_WINDOW, later(1), NOTICE_DUE)
    assert (case.state, case.writer(), case.notice_stopped_on) == (
        State.SUPPLEMENT_REQUESTED,
        "310000",
        "2026-03-03",
    )
    case.attach_material("M02", SH_WINDOW, later(2), file_digest="sha256:" + "a" * 64)
    case.provide_supplement(SH_WINDOW, later(2))
    assert (case.state, case.writer(), case.materials_complete_on) == (State.RECEIVED, "310000", "2026-03-04")
    case.forward(SH_WINDOW, later(2))
    refused_without_events(
        case, lambda: case.request_supplement(["M02"], "再补", SUPPLEMENT_DUE, SH_WINDOW, later(3))
    )
    case.accept("SL1", JS_HANDLER, later(4))
    assert case.accepted_on == "2026-03-04"


def _as_before_the_rule(events: list[Any]) -> Case:
    """The case as a store written before the rule holds it: Submitted and Received say notice_clock False
    (what their upcasters give a version 1 event)."""
    case: Any = None
    for stored in events:
        old = (
            dataclasses.replace(cast(Any, stored), notice_clock=False)
            if isinstance(stored, Case.Submitted | Case.Received)
            else stored
        )
        case = old.mutate(case)
    assert isinstance(case, Case)
    return case


def _forwarded_before_the_rule() -> Case:
    case = with_materials(submitted())
    case.receive("SJ1", SH_WINDOW, later())
    case.forward(SH_WINDOW, later())
    return _as_before_the_rule(list(case.collect_events()))


def test_article_32_cut_over_a_case_received_before_the_rule_starts_its_notice_clock_when_met() -> None:
    """Given a case received before the rule (no notice clock), when the writer's timer first meets it,
    then it records NoticeClockStarted once, from that day; the notice limit runs from there, a deemed
    acceptance dates from that day, and an acceptance clicked keeps the day of the click (old rule)."""
    old = _forwarded_before_the_rule()
    assert (old.arrived_before_rule, old.needs_notice_clock(), old.clock_runs(Limit.NOTICE)) == (
        True,
        True,
        False,
    )
    with pytest.raises(IllegalTransition):  # only the writer (Jiangsu, once forwarded) starts it
        old.start_notice_clock(SH_TIMER, later(30))
    assert old.start_notice_clock(JS_TIMER, later(30))  # 2026-04-01
    [started] = old.collect_events()
    assert isinstance(started, Case.NoticeClockStarted)
    assert (started.started_on, old.clock_runs(Limit.NOTICE)) == ("2026-04-01", True)
    assert not old.start_notice_clock(JS_TIMER, later(31))
    old.deem_accepted(date(2026, 4, 9), JS_TIMER, later(40))
    assert old.accepted_on == "2026-04-01"
    clicked = _forwarded_before_the_rule()
    clicked.accept("SL1", JS_HANDLER, later(30))
    assert clicked.accepted_on == "2026-04-01"  # the old rule: the day of the acceptance


def test_article_32_the_upcasters_say_events_stored_before_the_rule_had_no_notice_clock() -> None:
    """Given version 1 Submitted, Received and SupplementRequested events (round 1's), when read, then the
    first two say they started no notice clock, and the notice names nothing defective and follows no
    round, under no notice limit."""
    submitted_state: dict[str, Any] = {}
    Case.Submitted.upcast_v1_v2(submitted_state)
    received_state: dict[str, Any] = {}
    Case.Received.upcast_v1_v2(received_state)
    notice_state: dict[str, Any] = {}
    Case.SupplementRequested.upcast_v1_v2(notice_state)
    assert submitted_state == received_state == {"notice_clock": False}
    assert notice_state == {"defective": [], "follows_round": None, "notice_due_on": None}
    assert (Case.Submitted.class_version, Case.Received.class_version) == (2, 2)
    assert Case.SupplementRequested.class_version == 2


def test_article_32_a_follower_folds_the_deemed_acceptance_as_the_aggregate_counts_it() -> None:
    """Given a case deemed accepted, then a read model's clock folded from its events has the acceptance
    date the aggregate counts from."""
    case = forwarded()
    case.deem_accepted(NOTICE_DUE, JS_TIMER, later(8))
    clock: dict[str, Any] = {"accepted_on": None, "suspensions": [], "extension_days": 0}
    clock |= {"concluded_on": None, "calendar_years": {}}
    for event in case.collect_events():
        if isinstance(event, CLOCK_EVENTS):
            fold_clock(clock, event)
    assert clock["accepted_on"] == case.accepted_on == "2026-03-02"


@pytest.mark.parametrize("online", [False, True])
def test_article_32_a_follower_folds_the_notice_clock_as_the_aggregate_keeps_it(online: bool) -> None:
    """Given a case received (or filed online), noticed, supplied and accepted, then at every step the
    notice limit's start and stop a read model folds from the events are the aggregate's."""
    if online:
        case = with_materials(submitted(mode="FULL_ONLINE", receiving=JS_PLATFORM), JS_PLATFORM)
        commands: list[Any] = []
    else:
        case = with_materials(submitted())
        commands = [
            lambda: case.receive("SJ1", SH_WINDOW, later(1)),
            lambda: case.forward(SH_WINDOW, later(1)),
        ]
    by = JS_PLATFORM if online else SH_WINDOW
    commands += [
        lambda: case.request_supplement(["M02"], "缺页", SUPPLEMENT_DUE, JS_HANDLER, later(2), NOTICE_DUE),
        lambda: case.attach_material("M02", by, later(3), file_digest="sha256:" + "d" * 64),
        lambda: case.provide_supplement(by, later(3)),
        lambda: case.accept("SL1", JS_HANDLER, later(4)),
    ]
    [filed] = [e for e in case.collect_events() if isinstance(e, Case.Submitted)]
    clock: dict[str, Any] = {"accepted_on": None, "suspensions": [], "extension_days": 0}
    clock |= {"concluded_on": None, "calendar_years": {}, "mode": filed.mode}
    clock |= {"notice_clock_from": notice_clock_on_submission(filed), "notice_stopped_on": None}
    for command in commands:
        command()
        for event in case.collect_events():
            if isinstance(event, CLOCK_EVENTS):
                fold_clock(clock, event)
        facts = case.notice_facts
        assert (clock["notice_clock_from"], clock["notice_stopped_on"]) == (
            facts["notice_clock_from"],
            facts["notice_stopped_on"],
        )
    assert clock["notice_stopped_on"] == "2026-03-04"
