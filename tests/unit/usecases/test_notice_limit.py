"""The notice limit before acceptance (行政许可法 第32条) through the use cases and the deadline timer, on
the injected clock: a PROXY case received at a Shanghai window on Wednesday 2025-09-24 and handled in
Jiangsu. Its 5 working days run 09-25, 09-26, Sunday 09-28 (调休), 09-29 and 09-30: due 2025-09-30."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from aggregates.case import Limit, State
from aggregates.deadline import DeadlineState, DeadlineStatus
from aggregates.errors import IllegalTransition
from node.services import Services
from node.usecases import case_commands as cc
from tests.builders import REFUSAL, FakeClock, day_by_day
from tests.unit.usecases.test_cases import DIGEST, JS_HANDLER, SH_WINDOW, events, file_proxy

NOTICE_DUE = "2025-09-30"


def received_proxy(node: Services, materials: tuple[str, ...] = ("M01", "M02", "M04")) -> str:
    """The PROXY case with ``materials`` (as file digests), received at the window and not forwarded."""
    case_id = file_proxy(node.cases)
    for material in materials:
        node.cases.run(cc.ATTACH_MATERIAL, case_id, SH_WINDOW, material_code=material, file_digest=DIGEST)
    node.cases.run(cc.RECEIVE, case_id, SH_WINDOW, number="SJ000000000001")
    return case_id


def notice_state(node: Services, case_id: str) -> DeadlineState:
    deadlines = node.cases.deadlines(node.cases.case(case_id))
    assert deadlines is not None
    assert isinstance(deadlines.notice, DeadlineState)
    return deadlines.notice


def test_article_32_the_notice_limit_is_five_working_days_from_receipt(node: Services) -> None:
    """Given a case received on 2025-09-24, then its notice limit falls due 5 working days on, counted with
    the case's calendar (the 调休 Sunday counts): 2025-09-30; the decision limits have not started."""
    case_id = received_proxy(node)
    case = node.cases.case(case_id)
    expected = day_by_day(node.cases.calendar_of(case), date(2025, 9, 24), 5)
    assert expected.isoformat() == NOTICE_DUE
    assert node.cases.notice_due_on(case) == expected
    deadlines = node.cases.deadlines(case)
    assert deadlines is not None
    assert (deadlines.promised, deadlines.statutory) == (None, None)
    assert notice_state(node, case_id).due_on == expected


def test_article_32_the_timer_warns_then_deems_a_window_held_case_accepted_once(
    node: Services, clock: FakeClock
) -> None:
    """Given a PROXY case the Shanghai window received and never forwarded, with no notice: when the timer
    runs in the warning days it warns; on the due day it records nothing more; the day after, it records the
    breach and the deemed acceptance from the day of receipt, once, and the case passes to Jiangsu."""
    case_id = received_proxy(node)
    clock.set_china_time("2025-09-28")
    assert node.timers.check_timers(case_id) == [f"DeadlineWarned:{Limit.NOTICE}"]
    clock.set_china_time(NOTICE_DUE, hour=23)
    assert node.timers.check_timers(case_id) == []
    clock.set_china_time("2025-10-01", hour=0)
    assert node.timers.check_timers(case_id) == [f"DeadlineBreached:{Limit.NOTICE}", "AcceptanceDeemed"]
    case = node.cases.case(case_id)
    assert (case.state, case.accepted_on, case.writer()) == (State.ACCEPTED, "2025-09-24", "320000")
    assert case.acceptance_deemed == {"accepted_on": "2025-09-24", "notice_due_on": NOTICE_DUE}
    deemed = node.cases.timeline(case_id)[-1]
    assert (deemed.event, deemed.province, deemed.operator_id) == (
        "AcceptanceDeemed",
        "310000",
        "deadline-timer",
    )
    notice = notice_state(node, case_id)
    assert (notice.status, notice.breach is not None) == (DeadlineStatus.CONCLUDED_LATE, True)
    clock.advance(days=1)
    node.timers.check_timers(case_id)
    timeline = node.cases.timeline(case_id)
    assert [e.event for e in timeline].count("AcceptanceDeemed") == 1
    breaches = [e.detail["limit"] for e in timeline if e.event == "DeadlineBreached"]
    assert breaches.count(Limit.NOTICE.value) == 1


def test_article_32_a_deemed_acceptance_is_documented_by_an_acceptance_notice_from_the_day_of_receipt(
    node: Services, clock: FakeClock
) -> None:
    """Given a received case with no notice in 5 working days, when the timer deems it accepted, then the
    受理通知书 it records with it says the application counts as accepted from the day the materials were
    received (第32条第一款第四项), and states that day as the acceptance date."""
    case_id = received_proxy(node)
    clock.set_china_time("2025-10-01", hour=0)
    node.timers.check_timers(case_id)
    [listed] = node.cases.notices(case_id)
    notice = node.cases.notice(case_id, listed["notice_no"])
    assert (notice.kind, notice.documents_event) == ("ACCEPTANCE", "AcceptanceDeemed")
    assert all(
        text in notice.content for text in ("即为受理", "第三十二条第一款第四项", "受理日期：2025年9月24日")
    )


def test_article_32_the_receiving_window_gives_the_notice_in_proxy(node: Services, clock: FakeClock) -> None:
    """形式审查 at the 收件地: given a received PROXY case lacking M04, when the Shanghai window gives the
    notice, then it is recorded in Shanghai's name with the notice limit it kept, the window still writes the
    case, and the timer deems nothing; once supplied and forwarded, the acceptance dates from the supply."""
    case_id = received_proxy(node, ("M01", "M02"))
    clock.set_china_time("2025-09-26")
    case = node.cases.run(cc.REQUEST_SUPPLEMENT, case_id, SH_WINDOW, missing=["M04"], reason="缺出生医学证明")
    assert (case.state, case.writer()) == (State.SUPPLEMENT_REQUESTED, "310000")
    notice = node.cases.timeline(case_id)[-1]
    assert (notice.event, notice.province, notice.detail["notice_due_on"]) == (
        "SupplementRequested",
        "310000",
        NOTICE_DUE,
    )
    assert notice_state(node, case_id).status == DeadlineStatus.CONCLUDED_ON_TIME
    clock.set_china_time("2025-10-09")
    assert node.timers.check_timers(case_id) == []
    node.cases.run(cc.ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M04", file_digest=DIGEST)
    node.cases.run(cc.PROVIDE_SUPPLEMENT, case_id, SH_WINDOW)
    node.cases.run(cc.FORWARD, case_id, SH_WINDOW)
    clock.set_china_time("2025-10-10")
    accepted = node.cases.run(cc.ACCEPT, case_id, JS_HANDLER, number="SL000000000001")
    assert accepted.accepted_on == "2025-10-09"


def test_article_32_a_notice_after_the_limit_is_refused_and_records_nothing(
    node: Services, clock: FakeClock
) -> None:
    """Given a received case whose notice limit passed (the timer has not run yet), when the window gives
    the notice, then it is refused, saying the limit passed, and nothing is recorded."""
    case_id = received_proxy(node, ("M01", "M02"))
    clock.set_china_time("2025-10-09")
    before = events(node)
    with pytest.raises(IllegalTransition, match="notice limit"):
        node.cases.run(cc.REQUEST_SUPPLEMENT, case_id, SH_WINDOW, missing=["M04"], reason="缺出生医学证明")
    assert events(node) == before


def test_article_32_a_window_notice_that_lapsed_goes_to_the_handling_province_which_refuses_with_reasons(
    node: Services, clock: FakeClock
) -> None:
    """第32条, 第38条: given the window's notice (its supplement due 10 working days on) not supplied in time,
    when the window's timer runs, then it records the lapse once and decides nothing; the case goes to the
    handling province (the window cannot refuse), whose task is a reasoned refusal (不予受理)."""
    case_id = received_proxy(node, ("M01", "M02"))
    case = node.cases.run(cc.REQUEST_SUPPLEMENT, case_id, SH_WINDOW, missing=["M04"], reason="缺出生医学证明")
    assert case.open_supplement is not None
    assert case.writer() == SH_WINDOW.province
    clock.set_china_time((date.fromisoformat(case.open_supplement["due_on"]) + timedelta(days=1)).isoformat())
    assert node.timers.check_timers(case_id) == ["SupplementLapsed"]
    assert node.timers.check_timers(case_id) == []
    lapsed = node.cases.case(case_id)
    assert (lapsed.state, lapsed.writer(), lapsed.result) == (State.SUPPLEMENT_REQUESTED, "320000", None)
    assert lapsed.open_task is not None
    assert lapsed.open_task["decision"] == "REFUSE"
    refused = node.cases.run(cc.REFUSE, case_id, JS_HANDLER, **REFUSAL)
    assert (refused.state, refused.open_task) == (State.REFUSED, None)
    assert refused.decision is not None
    assert refused.decision["remedies"] is not None
