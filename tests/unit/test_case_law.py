"""The law of a case as its item declares it (行政许可法 第45条, 第34条, 第38条): which special procedures
stop the decision clock, whether a supplement after acceptance does, and the handler's decision on a lapsed
supplement. Given a case, when a command, then events or a refusal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from aggregates.case import Case, Part, State, WrittenNotice
from aggregates.catalogue import ARTICLE_45, BEFORE_RULE, ItemDefinition, SpecialProcedure
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from tests.builders import T0, item
from tests.unit.test_case import (
    JS_HANDLER,
    NOTICE_DUE,
    SH_WINDOW,
    SUPPLEMENT_STOPS,
    accepted,
    decision,
    forwarded,
    later,
    notice,
    refuse,
    refused_without_events,
    special,
    submitted,
    with_materials,
)

TIMER = Actor("320000", "SYSTEM", "deadline-timer")
DUE = date(2026, 3, 10)
BEFORE_MIDNIGHT = datetime(2026, 3, 10, 15, tzinfo=T0.tzinfo)  # 23:00 on 03-10 in China
AFTER_MIDNIGHT = datetime(2026, 3, 10, 16, 30, tzinfo=T0.tzinfo)  # 00:30 on 03-11 in China
LOCAL_LAW = ["《某省某条例》第十二条"]


def recorded(case: Case) -> list[Any]:
    return list(case.collect_events())


def old_item() -> ItemDefinition:
    """An item as stored before items declared what stops their clock (no ``clock_stops``)."""
    fields = item().as_event_fields()
    del fields["clock_stops"]
    return ItemDefinition.from_event_fields(fields)


# The item's declaration (catalogue)


def test_article_45_an_item_silent_on_special_procedures_lets_the_eight_of_article_45_stop_its_clock() -> (
    None
):
    """行政许可法 第45条: given an item that says nothing, then its special procedures are the law's closed
    list (听证、招标、拍卖、检验、检测、检疫、鉴定、专家评审), each on 第四十五条, and a supplement after
    acceptance stops no clock (行政许可法 provides no such stop)."""
    stops = item().clock_stops
    assert [s.kind for s in stops.special_procedures] == [kind.value for kind in SpecialProcedure]
    assert {s.legal_basis for s in stops.special_procedures} == {(ARTICLE_45,)}
    assert (stops.supplement_stops_clock, stops.supplement_basis, stops.before_rule) == (False, None, False)


def test_article_45_an_item_may_narrow_the_list() -> None:
    """第45条: given an item that lets only 听证 stop its clock, when a handler starts 专家评审, then it is
    refused, naming what the item allows."""
    case = accepted(item(clock_stops={"special_procedures": [{"kind": "HEARING"}]}))
    with pytest.raises(InvalidField, match="lets only these stop its clock: HEARING"):
        special(case, "EXPERT_REVIEW", later(2))
    assert recorded(case) == []


def test_article_45_another_kind_only_with_the_law_that_provides_it() -> None:
    """第45条 is a closed list: given an item adding a kind of its own, then it must name the law providing it
    (not 第四十五条, which names its eight); when a handler starts it, then the event carries that basis."""
    with pytest.raises(InvalidField, match="names the law that provides it"):
        item(clock_stops={"special_procedures": [{"kind": "SAFETY_ASSESSMENT"}]})
    with pytest.raises(InvalidField, match="eight kinds only"):
        item(clock_stops={"special_procedures": [{"kind": "SAFETY_ASSESSMENT", "legal_basis": [ARTICLE_45]}]})
    with pytest.raises(InvalidField, match="each kind once"):
        item(clock_stops={"special_procedures": [{"kind": "HEARING"}, {"kind": "HEARING"}]})
    own = item(clock_stops={"special_procedures": [{"kind": "SAFETY_ASSESSMENT", "legal_basis": LOCAL_LAW}]})
    case = accepted(own)
    special(case, "SAFETY_ASSESSMENT", later(2), "安全评估")
    [started] = recorded(case)
    assert isinstance(started, Case.SpecialProcedureStarted)
    assert (started.kind, started.legal_basis) == ("SAFETY_ASSESSMENT", LOCAL_LAW)


def test_article_34_inspection_is_review_and_no_special_procedure() -> None:
    """行政许可法 第34条: 现场核查 (INSPECTION) is part of the review and stops no clock: given an item
    published now, then it may not list it, nor 检验检测 (TESTING, now two kinds of 第45条), and when a
    handler starts INSPECTION on its case, then it is refused with the reason."""
    with pytest.raises(InvalidField, match="第三十四条"):
        item(clock_stops={"special_procedures": [{"kind": "INSPECTION", "legal_basis": LOCAL_LAW}]})
    with pytest.raises(InvalidField, match="INSPECTION_TESTING"):
        item(clock_stops={"special_procedures": [{"kind": "TESTING"}]})
    case = accepted()
    with pytest.raises(InvalidField, match="现场核查 is part of the review"):
        special(case, "INSPECTION", later(2))
    assert case.state is State.ACCEPTED
    assert recorded(case) == []


def test_a_supplement_stops_the_clock_only_with_the_law_that_says_so() -> None:
    """行政许可法 provides no stop for a supplement after acceptance: given an item that says it stops, then
    it names its basis; a basis without the stop is refused too."""
    with pytest.raises(InvalidField, match="provides no such stop"):
        item(clock_stops={"supplement_after_acceptance": {"stops_clock": True}})
    with pytest.raises(InvalidField, match="only when"):
        item(clock_stops={"supplement_after_acceptance": {"stops_clock": False, "legal_basis": LOCAL_LAW}})
    stops = item(clock_stops=SUPPLEMENT_STOPS).clock_stops
    assert (stops.supplement_stops_clock, stops.supplement_basis) == (True, ("《某省某条例》第十条",))


def test_an_items_declaration_is_kept_as_recorded() -> None:
    """The declaration survives the event: as_event_fields, then from_event_fields, gives the same item."""
    declared = item(
        clock_stops={
            "special_procedures": [
                {"kind": "HEARING"},
                {"kind": "SAFETY_ASSESSMENT", "legal_basis": LOCAL_LAW},
            ],
            **SUPPLEMENT_STOPS,
        }
    )
    assert ItemDefinition.from_event_fields(declared.as_event_fields()) == declared


def test_an_item_stored_before_the_rule_keeps_the_effect_it_had() -> None:
    """Cut-over: given an item recorded before items declared what stops their clock (catalogue events and
    the ``item`` of Case.Submitted), then it loads with the effect it had: 听证, 现场核查, 专家评审 and
    检验检测 stop the clock, and so does a supplement after acceptance; no basis is recorded (None)."""
    assert old_item().clock_stops == BEFORE_RULE
    case = accepted(old_item())
    special(case, "INSPECTION", later(2), "现场核查")
    [started] = recorded(case)
    assert (started.kind, started.legal_basis) == ("INSPECTION", None)
    case.end_special_procedure("核查完毕", JS_HANDLER, later(3))
    case.request_supplement(["M03"], "补交结婚证", date(2026, 3, 20), JS_HANDLER, later(4))
    [requested] = [e for e in recorded(case) if isinstance(e, Case.SupplementRequested)]
    assert requested.suspends_clock is True
    assert case.suspensions == [("2026-03-04", "2026-03-05"), ("2026-03-06", None)]


# 第45条 on the case: the written notice of the time it takes


def test_article_45_a_special_procedure_records_the_written_notice_of_its_time() -> None:
    """第45条 (应当将所需时间书面告知申请人): given an accepted case, when a handler starts 专家评审 with the
    notice that told the applicant it takes 10 working days, then SpecialProcedureStarted (version 2) carries
    the days, the notice and the item's basis, and the clock stops."""
    case = accepted()
    special(case, "EXPERT_REVIEW", later(2), "专家评审")
    [started] = recorded(case)
    assert isinstance(started, Case.SpecialProcedureStarted)
    assert type(started).class_version == 2
    assert (started.expected_days, started.notice_method, started.notified_on) == (
        10,
        "ELECTRONIC",
        "2026-03-04",
    )
    assert started.legal_basis == [ARTICLE_45]
    assert case.special_procedure is not None
    assert case.special_procedure["expected_days"] == 10
    assert case.suspensions == [("2026-03-04", None)]


def test_article_45_the_notice_is_given_after_acceptance_and_not_in_the_future() -> None:
    """第45条: the notice is dated on or after acceptance and not after today; the days are whole working
    days; otherwise nothing is recorded."""
    case = accepted()
    early = WrittenNotice("POST", "苏公特告1号", date(2026, 3, 1))
    future = WrittenNotice("POST", "苏公特告1号", date(2026, 3, 30))
    with pytest.raises(InvalidField, match="before the case was accepted"):
        case.start_special_procedure("HEARING", "听证", 5, early, JS_HANDLER, later(2))
    with pytest.raises(InvalidField, match="after today"):
        case.start_special_procedure("HEARING", "听证", 5, future, JS_HANDLER, later(2))
    with pytest.raises(InvalidField, match="working days"):
        case.start_special_procedure("HEARING", "听证", 0, notice(later(2)), JS_HANDLER, later(2))
    assert recorded(case) == []


def test_article_45_a_version_1_start_loads_with_its_notice_unknown() -> None:
    """A SpecialProcedureStarted stored before 第45条's notice (version 1) upcasts with None for what it did
    not record."""
    state: dict[str, Any] = {"kind": "TESTING", "reason": "检验检测", "started_on": "2025-09-30"}
    Case.SpecialProcedureStarted.upcast_v1_v2(state)
    assert state == {
        "kind": "TESTING",
        "reason": "检验检测",
        "started_on": "2025-09-30",
        "expected_days": None,
        "notice_method": None,
        "notice_reference": None,
        "notified_on": None,
        "legal_basis": None,
    }


# A supplement after acceptance, and its lapse


def test_a_supplement_after_acceptance_stops_no_clock_by_default() -> None:
    """行政许可法 provides no stop for a supplement after acceptance (第42条's limit runs on): given an item
    silent on it, when a supplement is asked for after acceptance, then the event says it suspends nothing."""
    case = accepted()
    case.request_supplement(["M03"], "补交结婚证", date(2026, 3, 20), JS_HANDLER, later(2))
    [requested] = recorded(case)
    assert requested.suspends_clock is False
    assert case.suspensions == []


def test_a_lapsed_supplement_is_recorded_once_and_decides_nothing() -> None:
    """第38条 (a negative decision is a person's, with reasons): given an accepted case whose supplement was
    due 03-10, when the timer runs after that day, then it records SupplementLapsed once (round, due_on,
    lapsed_on); the case stays waiting, with a task for the handling office."""
    case = accepted()
    case.request_supplement(["M02"], "户口簿页缺失", DUE, JS_HANDLER, later(1))
    case.collect_events()
    with pytest.raises(IllegalTransition, match="due 2026-03-10"):
        case.lapse_supplement(TIMER, BEFORE_MIDNIGHT)
    assert case.lapse_supplement(TIMER, AFTER_MIDNIGHT) is True
    assert case.lapse_supplement(TIMER, AFTER_MIDNIGHT) is False
    [lapsed] = recorded(case)
    assert isinstance(lapsed, Case.SupplementLapsed)
    assert (lapsed.round, lapsed.due_on, lapsed.lapsed_on) == (1, "2026-03-10", "2026-03-11")
    assert (case.state, case.result) == (State.SUPPLEMENT_REQUESTED, None)
    assert case.open_task == {
        "kind": "DECIDE_SUPPLEMENT_TIMEOUT",
        "office_province": "320000",
        "decision": "CONCLUDE",
        "round": 1,
        "due_on": "2026-03-10",
        "lapsed_on": "2026-03-11",
    }


def test_a_late_supplement_after_the_lapse_is_refused() -> None:
    """Given a lapsed supplement, when the applicant supplies it, then it is refused: the office decides."""
    case = accepted()
    case.request_supplement(["M02"], "户口簿页缺失", DUE, JS_HANDLER, later(1))
    case.attach_material("M02", SH_WINDOW, later(2), file_digest="sha256:" + "e" * 64)
    case.lapse_supplement(TIMER, AFTER_MIDNIGHT)
    refused_without_events(case, lambda: case.provide_supplement(SH_WINDOW, AFTER_MIDNIGHT))


def test_article_38_after_acceptance_a_handler_concludes_supplement_timeout_with_reasons() -> None:
    """第38条: given an accepted case whose supplement lapsed, when a handler concludes SUPPLEMENT_TIMEOUT,
    then it needs the reason, legal basis and remedies, and the Concluded event carries them, in the handler's
    name; the task is closed."""
    case = accepted()
    case.request_supplement(["M02"], "户口簿页缺失", DUE, JS_HANDLER, later(1))
    case.lapse_supplement(TIMER, AFTER_MIDNIGHT)
    case.collect_events()
    with pytest.raises(InvalidField, match="第38条"):
        case.conclude("SUPPLEMENT_TIMEOUT", JS_HANDLER, AFTER_MIDNIGHT)
    case.conclude("SUPPLEMENT_TIMEOUT", JS_HANDLER, AFTER_MIDNIGHT, decision("逾期未补正"))
    [concluded] = recorded(case)
    assert isinstance(concluded, Case.Concluded)
    assert (concluded.result, concluded.reason, concluded.operator_id) == (
        "SUPPLEMENT_TIMEOUT",
        "逾期未补正",
        "h-1",
    )
    assert concluded.remedies is not None
    assert (case.state, case.open_task) == (State.CONCLUDED, None)
    assert case.decision is not None
    assert case.decision["kind"] == "SUPPLEMENT_TIMEOUT"


def test_supplement_timeout_only_once_the_supplement_lapsed_and_only_for_a_whole_accepted_case() -> None:
    """SUPPLEMENT_TIMEOUT is decided on a lapsed supplement after acceptance: not on an accepted case without
    one, not before the lapse, not before acceptance (a refusal then), never for a part."""
    case = accepted()
    refused_without_events(
        case, lambda: case.conclude("SUPPLEMENT_TIMEOUT", JS_HANDLER, later(2), decision("逾期"))
    )
    case.request_supplement(["M02"], "户口簿页缺失", DUE, JS_HANDLER, later(1))
    refused_without_events(
        case, lambda: case.conclude("SUPPLEMENT_TIMEOUT", JS_HANDLER, later(2), decision("逾期"))
    )
    before = forwarded()
    before.request_supplement(["M02"], "户口簿页缺失", DUE, JS_HANDLER, later(1), NOTICE_DUE)
    before.lapse_supplement(TIMER, AFTER_MIDNIGHT)
    refused_without_events(
        before, lambda: before.conclude("SUPPLEMENT_TIMEOUT", JS_HANDLER, AFTER_MIDNIGHT, decision("逾期"))
    )
    joint = with_materials(
        submitted("JOINT", parts=[Part("P1", "迁出地", "320000"), Part("P2", "迁入地", "320000")])
    )
    joint.receive("SJ1", SH_WINDOW, later())
    joint.forward(SH_WINDOW, later())
    joint.accept("SL1", JS_HANDLER, later())
    with pytest.raises(InvalidField, match="whole case"):
        joint.conclude_part("P1", "SUPPLEMENT_TIMEOUT", JS_HANDLER, later())


def test_articles_32_38_before_acceptance_a_lapsed_supplement_waits_for_a_reasoned_refusal() -> None:
    """第32条, 第38条: given a supplement asked for before acceptance, when it lapses, then the task is a
    refusal (不予受理) and a handler refuses with reasons; the timer refuses nothing."""
    case = forwarded()
    case.request_supplement(["M02"], "户口簿缺页", DUE, JS_HANDLER, later(), NOTICE_DUE)
    case.lapse_supplement(TIMER, AFTER_MIDNIGHT)
    waiting = (case.state, (case.open_task or {}).get("decision"))
    assert waiting == (State.SUPPLEMENT_REQUESTED, "REFUSE")
    refuse(case, AFTER_MIDNIGHT)
    assert (case.state, case.open_task, case.accepted_on) == (State.REFUSED, None, None)
