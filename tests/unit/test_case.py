"""The case aggregate, one rule at a time: given a case, when a command, then events or a refusal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

import pytest

from aggregates.case import (
    CLOCK_EVENTS,
    ENDED_STATES,
    ENDINGS,
    OPEN_STATES,
    STATE_AFTER,
    Case,
    ExtensionApproval,
    Limit,
    Part,
    ReasonedDecision,
    Remedies,
    State,
    WrittenNotice,
    deadline_inputs,
    fold_clock,
)
from aggregates.catalogue import ItemDefinition
from aggregates.clock import china_date
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from tests.builders import T0, item

SH_WINDOW = Actor("310000", "SH-WIN", "w-1")
SH_TIMER = Actor("310000", "SYSTEM", "deadline-timer")
JS_TIMER = Actor("320000", "SYSTEM", "deadline-timer")
JS_HANDLER = Actor("320000", "JS-GA", "h-1")
ZJ_HANDLER = Actor("330000", "ZJ-GA", "h-2")
VERIFIED = {"authentic": True, "status": "VALID"}
ID_CARD = "1.2.156.3005.2.11100000000013338W001.11220000013544541J.1.001.X"
# 行政许可法 第42条: the head of the organ approves an extension, and the applicant is told why
APPROVAL = ExtensionApproval("JS-GA-HEAD-1", "局长", "JS-GA")


def notice(at: datetime) -> WrittenNotice:
    """延期告知, given the day the extension is recorded."""
    return WrittenNotice("ELECTRONIC", "苏公延告〔2026〕1号", china_date(at))


def later(days: int = 0, hours: int = 1) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def submitted(
    mode: str = "PROXY",
    receiving: Actor = SH_WINDOW,
    parts: list[Part] | None = None,
    filed_under: ItemDefinition | None = None,
) -> Case:
    return Case.submit(
        case_no="310000202603020001",
        mode=mode,
        item_province="320000",
        item=filed_under or item(),
        item_version=1,
        receiving_province=receiving.province,
        parts=parts or [],
        applicant_id="7f0c1e1e-0000-4000-8000-000000000001",
        actor=receiving,
        at=T0,
    )


def with_materials(case: Case, actor: Actor = SH_WINDOW) -> Case:
    case.attach_material(
        "M01",
        actor,
        later(),
        certificate_identifier=ID_CARD,
        certificate_type_code="11100000000013338W001",
        verification=VERIFIED,
        holder_is_applicant=True,
    )
    case.attach_material("M02", actor, later(), file_digest="sha256:" + "a" * 64)
    return case


def forwarded(filed_under: ItemDefinition | None = None) -> Case:
    case = with_materials(submitted(filed_under=filed_under))
    case.receive("SJ1", SH_WINDOW, later())
    case.forward(SH_WINDOW, later())
    return case


def approve(case: Case) -> None:
    """承办 and 审核 by the handler, 批准 by another officer of the office, naming their role."""
    case.record_review("UNDERTAKE", "同意", JS_HANDLER, later())
    case.record_review("CHECK", "同意", JS_HANDLER, later())
    case.record_review("APPROVE", "同意", JS_APPROVER, later(), title="科长")


def accepted(filed_under: ItemDefinition | None = None) -> Case:
    case = forwarded(filed_under)
    case.accept("SL1", JS_HANDLER, later(1))
    case.collect_events()
    return case


JS_APPROVER = Actor("320000", "JS-GA", "h-2")  # another officer of the handling office
# 行政许可法 第32条: the notice limit of a case received on Monday 2026-03-02, 5 working days on
NOTICE_DUE = date(2026, 3, 9)
REMEDIES = Remedies("江苏省人民政府", "南京市中级人民法院")


def decision(reason: str = "不符合法定条件", *basis: str) -> ReasonedDecision:
    return ReasonedDecision(reason, basis or ("《中华人民共和国行政许可法》第三十八条第二款",), REMEDIES)


def refuse(case: Case, at: datetime | None = None) -> None:
    case.refuse("NOT_ELIGIBLE", decision("不符合受理条件"), None, JS_HANDLER, at or later())


def special(case: Case, kind: str, at: datetime, reason: str = "听证") -> None:
    """特别程序 (第45条) with the written notice of its time (10 working days), given the day it starts."""
    case.start_special_procedure(kind, reason, 10, notice(at), JS_HANDLER, at)


# An item whose law (say a 地方性法规) stops the decision clock during a supplement after acceptance.
SUPPLEMENT_STOPS = {
    "supplement_after_acceptance": {"stops_clock": True, "legal_basis": ["《某省某条例》第十条"]}
}


def refused_without_events(case: Case, command: Callable[[], None]) -> None:
    """The command is refused and records nothing (events so far are taken out first)."""
    case.collect_events()
    before = case.version
    with pytest.raises(IllegalTransition):
        command()
    assert case.collect_events() == []
    assert case.version == before


def test_submission_records_the_workflow_facts_but_no_personal_data() -> None:
    case = submitted()
    [event] = case.collect_events()
    assert isinstance(event, Case.Submitted)
    assert (event.receiving_province, event.handling_province, event.mode) == ("310000", "320000", "PROXY")
    assert (event.office_code, event.operator_id) == ("SH-WIN", "w-1")
    assert event.item["promised_limit_days"] == 10
    assert event.applicant_id.startswith("7f0c1e1e")
    assert not any(key in event.__dict__ for key in ("name", "id_number", "holder_id"))


def test_proxy_needs_another_handling_province_and_a_mode_the_item_allows() -> None:
    with pytest.raises(InvalidField, match="PROXY"):
        submitted(receiving=Actor("320000", "JS-WIN", "w"))
    with pytest.raises(InvalidField, match="may be handled in"):
        Case.submit(
            case_no="1",
            mode="PROXY",
            item_province="320000",
            item=item(modes=["FULL_ONLINE"], joint_parts=[]),
            item_version=1,
            receiving_province="310000",
            parts=[],
            applicant_id="a",
            actor=SH_WINDOW,
            at=T0,
        )


def test_only_the_receiving_province_receives_and_forwards() -> None:
    case = with_materials(submitted())
    case.collect_events()
    refused_without_events(case, lambda: case.receive("SJ1", JS_HANDLER, later()))
    case.receive("SJ1", SH_WINDOW, later())
    refused_without_events(case, lambda: case.forward(JS_HANDLER, later()))
    case.forward(SH_WINDOW, later())
    assert case.state is State.FORWARDED


def test_only_the_handling_province_accepts_and_only_after_forwarding() -> None:
    case = with_materials(submitted())
    case.receive("SJ1", SH_WINDOW, later())
    refused_without_events(case, lambda: case.accept("SL1", JS_HANDLER, later()))  # not forwarded yet
    case.forward(SH_WINDOW, later())
    refused_without_events(case, lambda: case.accept("SL1", Actor("310000", "SH", "h"), later()))
    case.accept("SL1", JS_HANDLER, later(3))
    # 行政许可法 第32条: accepted from the day the complete materials were received, not the day of the click
    assert (case.state, case.accepted_on, case.acceptance_no) == (State.ACCEPTED, "2026-03-02", "SL1")


def test_acceptance_needs_every_required_material() -> None:
    case = submitted()
    case.receive("SJ1", SH_WINDOW, later())
    case.forward(SH_WINDOW, later())
    with pytest.raises(IllegalTransition, match="missing materials M01, M02"):
        case.accept("SL1", JS_HANDLER, later())


def test_a_certificate_material_must_replace_it_and_verify() -> None:
    case = submitted()
    with pytest.raises(InvalidField, match="does not replace"):
        case.attach_material(
            "M02",
            SH_WINDOW,
            later(),
            certificate_identifier=ID_CARD,
            certificate_type_code="11100000000013338W001",
            verification=VERIFIED,
            holder_is_applicant=True,
        )
    with pytest.raises(InvalidField, match="did not verify"):
        case.attach_material(
            "M01",
            SH_WINDOW,
            later(),
            certificate_identifier=ID_CARD,
            certificate_type_code="11100000000013338W001",
            verification={"authentic": True, "status": "REVOKED"},
        )
    with pytest.raises(InvalidField, match="no such material"):
        case.attach_material("M99", SH_WINDOW, later(), file_digest="sha256:" + "b" * 64)
    with pytest.raises(IllegalTransition, match="not a party"):
        case.attach_material("M02", Actor("340000", "AH", "x"), later(), file_digest="sha256:" + "b" * 64)


def test_full_online_cases_are_accepted_straight_from_submission() -> None:
    case = with_materials(
        submitted(mode="FULL_ONLINE", receiving=Actor("320000", "JS-NET", "p")),
        Actor("320000", "JS-NET", "p"),
    )
    case.accept("SL1", JS_HANDLER, later())
    assert case.state is State.ACCEPTED


def test_refusal_has_a_reason_and_happens_only_before_acceptance() -> None:
    case = forwarded()
    with pytest.raises(InvalidField):
        decision("  ")
    refuse(case)
    assert case.state is State.REFUSED
    refused_without_events(accepted(), lambda: refuse(accepted()))


def test_no_conclusion_without_acceptance() -> None:
    case = forwarded()
    with pytest.raises(IllegalTransition, match="cannot conclude"):
        case.conclude("ISSUED", JS_HANDLER, later())


def test_one_supplement_notice_lists_all_missing_materials_and_rounds_are_counted() -> None:
    case = submitted()
    case.attach_material("M02", SH_WINDOW, later(), file_digest="sha256:" + "a" * 64)
    case.receive("SJ1", SH_WINDOW, later())
    case.forward(SH_WINDOW, later())
    case.collect_events()
    with pytest.raises(InvalidField, match="ALL missing"):
        case.request_supplement(["M03"], "缺少材料", date(2026, 3, 20), JS_HANDLER, later(), NOTICE_DUE)
    assert case.collect_events() == []
    case.request_supplement(
        ["M01", "M03"], "缺少身份证和结婚证", date(2026, 3, 20), JS_HANDLER, later(), NOTICE_DUE
    )
    assert (case.state, case.supplement_rounds) == (State.SUPPLEMENT_REQUESTED, 1)
    with pytest.raises(IllegalTransition, match="still missing M01, M03"):
        case.provide_supplement(SH_WINDOW, later())
    case.attach_material(
        "M01",
        SH_WINDOW,
        later(),
        certificate_identifier=ID_CARD,
        certificate_type_code="11100000000013338W001",
        verification=VERIFIED,
        holder_is_applicant=True,
    )
    case.attach_material("M03", SH_WINDOW, later(), file_digest="sha256:" + "c" * 64)
    case.provide_supplement(SH_WINDOW, later(1))
    assert case.state is State.FORWARDED
    case.request_supplement(["M03"], "结婚证不清晰", date(2026, 3, 20), JS_HANDLER, later(2))
    assert case.supplement_rounds == 2
    assert case.suspensions == []  # before acceptance the legal clock has not started


def test_a_supplement_after_acceptance_suspends_the_clock_where_the_items_law_says_so() -> None:
    """Given an item whose law stops the clock during a supplement after acceptance (行政许可法 itself
    provides no such stop), when a supplement is asked for and given, then the clock stood still meanwhile."""
    case = accepted(item(clock_stops=SUPPLEMENT_STOPS))
    case.request_supplement(["M02"], "户口簿页缺失", date(2026, 3, 20), JS_HANDLER, later(2))
    case.attach_material("M02", SH_WINDOW, later(4), file_digest="sha256:" + "d" * 64)
    case.provide_supplement(SH_WINDOW, later(5))
    assert case.state is State.ACCEPTED
    assert case.suspensions == [("2026-03-04", "2026-03-07")]


def test_at_most_one_extension_with_a_reason_within_the_item_limit() -> None:
    case = accepted()
    with pytest.raises(InvalidField, match="1 to 10"):
        case.extend(11, "复杂", None, APPROVAL, notice(later(1)), JS_HANDLER, later(1))
    with pytest.raises(InvalidField, match="reason"):
        case.extend(5, "", None, APPROVAL, notice(later(1)), JS_HANDLER, later(1))
    case.extend(10, "需要实地核查", None, APPROVAL, notice(later(1)), JS_HANDLER, later(1))
    with pytest.raises(IllegalTransition, match="already extended once"):
        case.extend(1, "again", None, APPROVAL, notice(later(1)), JS_HANDLER, later(1))


def test_article_42_an_extension_moves_the_statutory_limit_only_and_records_approval_and_notice() -> None:
    """行政许可法第42条: given an accepted case (promised 10, statutory 20 working days), when the head of the
    organ approves a 10-day extension and the applicant is told why, then the event says it moves the
    statutory limit only, with the approver and the notice; the promised limit (承诺时限) keeps its days."""
    case = accepted()
    case.extend(10, "需要实地核查", None, APPROVAL, notice(later(2)), JS_HANDLER, later(2))
    [extended] = case.collect_events()
    assert isinstance(extended, Case.Extended)
    assert (extended.days, extended.limits) == (10, ["STATUTORY"])
    assert (extended.approver_id, extended.approver_title, extended.approver_office) == (
        "JS-GA-HEAD-1",
        "局长",
        "JS-GA",
    )
    assert (extended.notice_method, extended.notice_reference, extended.notified_on) == (
        "ELECTRONIC",
        "苏公延告〔2026〕1号",
        "2026-03-04",
    )
    facts = case.counting_facts
    assert deadline_inputs(facts, Limit.PROMISED, 10).total_days == 10
    assert deadline_inputs(facts, Limit.STATUTORY, 20).total_days == 30
    assert case.extension is not None
    assert case.extension["limits"] == ["STATUTORY"]


@pytest.mark.parametrize(
    ("approval", "notice_fields", "field"),
    [
        (lambda: ExtensionApproval("", "局长", "JS-GA"), None, "approver_id"),
        (lambda: ExtensionApproval("JS-GA-HEAD-1", " ", "JS-GA"), None, "approver_title"),
        (lambda: ExtensionApproval("JS-GA-HEAD-1", "局长", "JS GA;"), None, "approver_office"),
        (None, ("PHONE", "X1", date(2026, 3, 4)), "notice_method"),
        (None, ("POST", "", date(2026, 3, 4)), "notice_reference"),
        # before acceptance (03-02: 行政许可法 第32条, the day the complete materials were received)
        (None, ("POST", "X1", date(2026, 3, 1)), "notified_on"),
        (None, ("POST", "X1", date(2026, 3, 5)), "notified_on"),  # after the day it is recorded
    ],
)
def test_article_42_an_extension_needs_the_heads_approval_and_the_notice_given_since_acceptance(
    approval: Callable[[], ExtensionApproval] | None,
    notice_fields: tuple[str, str, date] | None,
    field: str,
) -> None:
    """行政许可法第42条: given an accepted case, when an extension lacks the approver, or its notice is of an
    unknown kind, has no reference, or is dated before acceptance or after today, then it is refused naming
    the field (never echoing the value) and nothing is recorded."""
    case = accepted()
    with pytest.raises(InvalidField) as refused:
        case.extend(
            5,
            "需要实地核查",
            None,
            approval() if approval else APPROVAL,
            WrittenNotice(*notice_fields) if notice_fields else notice(later(2)),
            JS_HANDLER,
            later(2),
        )
    assert refused.value.field == field
    assert "JS GA;" not in str(refused.value)
    assert "PHONE" not in str(refused.value)
    assert case.collect_events() == []
    assert case.extension_days == 0


def test_article_42_an_extension_stored_before_the_rule_keeps_its_effect_on_both_limits() -> None:
    """行政许可法第42条, cut-over: given an Extended event of version 1 (round 1 stored them: no limits, no
    approver, no notice), when it is read, then it moved both limits, as it did when it was written, and its
    approver and notice are unknown (None); folded by a follower it counts the same as in the aggregate."""
    state: dict[str, Any] = {
        "days": 5,
        "reason": "复杂",
        "province": "320000",
        "office_code": "JS-GA",
        "operator_id": "h-1",
    }
    Case.Extended.upcast_v1_v2(state)
    assert Case.Extended.class_version == 2
    assert state["limits"] == ["PROMISED", "STATUTORY"]
    assert {k: state[k] for k in ("approver_id", "approver_title", "approver_office")} == dict.fromkeys(
        ("approver_id", "approver_title", "approver_office")
    )
    assert (state["notice_method"], state["notice_reference"], state["notified_on"]) == (None, None, None)

    case = forwarded()
    history = _history(case, lambda: case.accept("SL1", JS_HANDLER, later(1)))
    old = Case.Extended(
        originator_id=case.id, originator_version=case.version + 1, timestamp=later(2), **state
    )
    old.mutate(case)
    assert (case.extension_days, case.extended_limits) == (5, ["PROMISED", "STATUTORY"])
    facts = case.counting_facts
    assert deadline_inputs(facts, Limit.PROMISED, 10).total_days == 15
    assert deadline_inputs(facts, Limit.STATUTORY, 20).total_days == 25
    clock = _clock_of([*history, old])
    assert clock["extended_limits"] == ["PROMISED", "STATUTORY"]
    # a clock folded before extensions named their limits has no such key: read as version 1 did
    del clock["extended_limits"]
    assert deadline_inputs(clock, Limit.PROMISED, 10).total_days == 15


def test_a_recorded_breach_is_kept_per_limit_by_the_case_and_by_the_folded_clock() -> None:
    """Given a promised breach recorded on 03-20 (due 03-17), then the case and a follower's clock both keep
    it for the PROMISED limit only, with the due date passed and the day it was recorded."""
    case = forwarded()
    events = _history(
        case,
        lambda: case.accept("SL1", JS_HANDLER, later(1)),
        lambda: case.breach_deadline(
            "PROMISED", date(2026, 3, 17), Actor("320000", "SYSTEM", "deadline-timer"), later(18)
        ),
    )
    assert case.breaches == {"PROMISED": {"due_on": "2026-03-17", "recorded_on": "2026-03-20"}}
    clock = _clock_of(events)
    assert clock["breaches"] == case.breaches
    promised = deadline_inputs(clock, Limit.PROMISED, 10).breach
    assert promised is not None
    assert (promised.due_on, promised.recorded_on) == (
        date(2026, 3, 17),
        date(2026, 3, 20),
    )
    assert deadline_inputs(case.counting_facts, Limit.STATUTORY, 20).breach is None


def test_review_steps_go_in_order() -> None:
    case = accepted()
    with pytest.raises(IllegalTransition, match="next review step is UNDERTAKE"):
        case.record_review("APPROVE", "同意", JS_HANDLER, later())
    approve(case)
    assert case.review_steps == ["UNDERTAKE", "CHECK", "APPROVE"]


def test_a_special_procedure_suspends_and_resumes() -> None:
    case = accepted()
    special(case, "HEARING", later(2), "申请听证")
    refused_without_events(case, lambda: case.conclude("ISSUED", JS_HANDLER, later(3)))
    case.end_special_procedure("听证完毕", JS_HANDLER, later(9))
    assert case.state is State.ACCEPTED
    assert case.suspensions == [("2026-03-04", "2026-03-11")]


def test_a_joint_case_concludes_only_when_every_part_has() -> None:
    parts = [Part("P1", "迁出地", "330000"), Part("P2", "迁入地", "320000")]
    case = with_materials(submitted(mode="JOINT", parts=parts))
    case.receive("SJ1", SH_WINDOW, later())
    case.forward(SH_WINDOW, later())
    case.accept("SL1", JS_HANDLER, later())
    with pytest.raises(IllegalTransition, match="parts still open: P1, P2"):
        case.conclude("ISSUED", JS_HANDLER, later())
    with pytest.raises(IllegalTransition):
        case.conclude_part("P1", "ISSUED", JS_HANDLER, later())  # P1 belongs to Zhejiang
    case.conclude_part("P1", "ISSUED", ZJ_HANDLER, later())
    case.conclude_part("P2", "ISSUED", JS_HANDLER, later())
    approve(case)
    case.conclude("ISSUED", JS_HANDLER, later())
    assert (case.state, case.result) == (State.CONCLUDED, "ISSUED")


def test_a_joint_case_assigns_every_part() -> None:
    with pytest.raises(InvalidField, match="every part"):
        submitted(mode="JOINT", parts=[Part("P1", "迁出地", "330000")])


def test_after_archive_only_rating_and_appeal() -> None:
    case = accepted()
    approve(case)
    case.conclude("ISSUED", JS_HANDLER, later())
    case.deliver("POST", "EMS1234567890", JS_HANDLER, later())
    case.archive(JS_HANDLER, later())
    assert case.state is State.ARCHIVED
    commands: list[Callable[[], None]] = [
        lambda: case.extend(1, "r", None, APPROVAL, notice(later()), JS_HANDLER, later()),
        lambda: case.deliver("POST", "again", JS_HANDLER, later()),
        lambda: case.attach_material("M03", SH_WINDOW, later(), file_digest="sha256:" + "e" * 64),
        lambda: case.request_supplement(["M03"], "r", date(2026, 4, 1), JS_HANDLER, later()),
        lambda: case.archive(JS_HANDLER, later()),
    ]
    for command in commands:
        with pytest.raises(IllegalTransition):
            command()
    case.rate(2, "ONLINE", "太慢", date(2026, 3, 25), SH_WINDOW, later())
    case.appeal_rating("已按承诺时限办结", JS_HANDLER, later())
    assert (case.rating, case.appealed) == (2, True)


def test_rating_rules() -> None:
    case = accepted()
    with pytest.raises(IllegalTransition, match="cannot rate"):
        case.rate(5, "ONLINE", "", None, SH_WINDOW, later())
    approve(case)
    case.conclude("ISSUED", JS_HANDLER, later())
    with pytest.raises(InvalidField, match="score"):
        case.rate(6, "ONLINE", "", None, SH_WINDOW, later())
    with pytest.raises(InvalidField, match="rectification"):
        case.rate(1, "ONLINE", "差", None, SH_WINDOW, later())
    with pytest.raises(InvalidField, match="rectification"):
        case.rate(4, "WINDOW", "好", date(2026, 4, 1), SH_WINDOW, later())
    case.rate(1, "WINDOW", "差", date(2026, 3, 25), SH_WINDOW, later())
    assert case.rectification_due_on == "2026-03-25"
    with pytest.raises(IllegalTransition, match="already rated"):
        case.rate(5, "WINDOW", "", None, SH_WINDOW, later())
    case.respond_to_rectification("已整改：增加窗口人员", JS_HANDLER, later())
    with pytest.raises(IllegalTransition, match="none is open"):
        case.respond_to_rectification("again", JS_HANDLER, later())
    case.appeal_rating("评价与事实不符", JS_HANDLER, later())
    with pytest.raises(IllegalTransition, match="already appealed once"):
        case.appeal_rating("again", JS_HANDLER, later())


# 好差评 (国办发〔2019〕51号): 差评 is 1 (非常不满意) or 2 (不满意); the office whose service was rated
# rectifies (整改) or appeals (申诉); the supervising body reviews the appeal (复核). Here the receiving
# window is Shanghai's, the handling Jiangsu's, and each province's 政务服务管理机构 decides appeals (ADMIN).
SH_ADMIN = Actor("310000", "SH-ZWFW", "admin-1")
JS_ADMIN = Actor("320000", "JS-ZWFW", "admin-2")
DUE = date(2026, 3, 25)


def delivered() -> Case:
    """A PROXY case concluded in Jiangsu and delivered at the Shanghai window; events taken out."""
    case = accepted()
    approve(case)
    case.conclude("ISSUED", JS_HANDLER, later())
    case.deliver("WINDOW", "窗口领取", SH_WINDOW, later())
    case.collect_events()
    return case


def rated(score: int, service: str = "HANDLING") -> Case:
    """:func:`delivered`, then rated; events taken out."""
    case = delivered()
    case.rate(score, "ONLINE", "", DUE if score <= 2 else None, SH_WINDOW, later(), service=service)
    case.collect_events()
    return case


def test_only_a_bad_rating_may_be_appealed_and_only_once() -> None:
    """国办发〔2019〕51号: given a rating of 3 to 5, when the rated office appeals (申诉), then it is refused:
    only a 差评 (1 or 2) is appealed, once."""
    for score in (3, 4, 5):
        case = rated(score)
        refused_without_events(case, partial(case.appeal_rating, "评价不实", JS_HANDLER, later()))
        with pytest.raises(IllegalTransition, match=f"rated {score}: only a 差评"):
            case.appeal_rating("评价不实", JS_HANDLER, later())
    for score in (1, 2):
        case = rated(score)
        case.appeal_rating("评价与事实不符", JS_HANDLER, later())
        [appealed] = case.collect_events()
        assert isinstance(appealed, Case.RatingAppealed)
        assert (appealed.reason, appealed.province, appealed.office_code) == (
            "评价与事实不符",
            "320000",
            "JS-GA",
        )
        assert (case.appealed, case.appeal_outcome) == (True, None)
        with pytest.raises(IllegalTransition, match="already appealed once"):
            case.appeal_rating("again", JS_HANDLER, later())


def test_an_upheld_appeal_sets_the_bad_rating_aside_and_closes_its_rectification() -> None:
    """国办发〔2019〕51号: given an appealed 差评 with its rectification open, when the supervising
    body upholds the appeal, then the decision records who and why, the rating no longer counts and the
    rectification is closed."""
    case = rated(1)
    assert (case.rating_counts, case.rectification_open) == (True, True)
    case.appeal_rating("申请人未按要求提交材料", JS_HANDLER, later())
    case.decide_rating_appeal("UPHELD", "经核实，超时系申请人补正所致", JS_ADMIN, later(1))
    [decided] = case.collect_events()[1:]
    assert isinstance(decided, Case.RatingAppealDecided)
    assert (decided.outcome, decided.reason) == ("UPHELD", "经核实，超时系申请人补正所致")
    assert (decided.province, decided.office_code, decided.operator_id) == ("320000", "JS-ZWFW", "admin-2")
    assert (case.appeal_outcome, case.rating_counts, case.rectification_open) == ("UPHELD", False, False)
    assert case.rating == 1  # what the applicant gave stays on record
    refused_without_events(case, lambda: case.respond_to_rectification("已整改", JS_HANDLER, later()))
    with pytest.raises(IllegalTransition, match="already decided: UPHELD"):
        case.decide_rating_appeal("REJECTED", "再议", JS_ADMIN, later())


def test_a_rejected_appeal_leaves_the_bad_rating_and_its_rectification_due() -> None:
    """国办发〔2019〕51号: given an appealed 差评, when the appeal is rejected, then the rating counts
    and the rectification stays due, until the office answers it."""
    case = rated(2)
    case.appeal_rating("评价与事实不符", JS_HANDLER, later())
    case.decide_rating_appeal("REJECTED", "办理超过承诺时限属实", JS_ADMIN, later(1))
    assert (case.appeal_outcome, case.rating_counts, case.rectification_open) == ("REJECTED", True, True)
    assert case.rectification_due_on == DUE.isoformat()
    case.respond_to_rectification("已整改：增派审批人员", JS_HANDLER, later(2))
    assert case.rectification_open is False


def test_an_appeal_is_decided_once_with_a_known_outcome_and_not_by_the_office_that_appealed() -> None:
    """复核 (国办发〔2019〕51号) needs an appeal, an outcome UPHELD or REJECTED, a reason, and a reviewer
    who is not the appealing office, in the province whose service was rated."""
    case = rated(1)
    refused_without_events(case, lambda: case.decide_rating_appeal("UPHELD", "无申诉", JS_ADMIN, later()))
    case.appeal_rating("评价不实", JS_HANDLER, later())
    case.collect_events()
    with pytest.raises(InvalidField, match="outcome"):
        case.decide_rating_appeal("PARTLY", "部分成立", JS_ADMIN, later())
    with pytest.raises(InvalidField, match="reason"):
        case.decide_rating_appeal("UPHELD", "  ", JS_ADMIN, later())
    with pytest.raises(IllegalTransition, match="the office that appealed cannot review it"):
        case.decide_rating_appeal("UPHELD", "自行复核", Actor("320000", "JS-GA", "h-9"), later())
    with pytest.raises(IllegalTransition, match="from province 310000"):
        case.decide_rating_appeal("UPHELD", "代为复核", SH_ADMIN, later())
    assert case.collect_events() == []


def test_a_rating_of_the_window_is_answered_by_the_receiving_province_in_proxy() -> None:
    """谁办理谁负责 (国办发〔2019〕51号): given a PROXY case whose 差评 rates the Shanghai window's own
    service (收件), then Shanghai, the receiving province, rectifies, appeals and reviews the appeal;
    Jiangsu, which handled it, may not."""
    case = delivered()
    case.rate(2, "WINDOW", "窗口排队太久", DUE, SH_WINDOW, later(), service="WINDOW")
    [rated_event] = case.collect_events()
    assert isinstance(rated_event, Case.Rated)
    assert (rated_event.service, rated_event.score) == ("WINDOW", 2)
    assert (case.rated_service, case.rating_answered_by) == ("WINDOW", "310000")
    for command in (
        lambda: case.respond_to_rectification("已整改", JS_HANDLER, later()),
        lambda: case.appeal_rating("评价不实", JS_HANDLER, later()),
    ):
        refused_without_events(case, command)
    case.appeal_rating("窗口已一次性告知", SH_WINDOW, later())
    refused_without_events(case, lambda: case.decide_rating_appeal("REJECTED", "属实", JS_ADMIN, later()))
    case.decide_rating_appeal("REJECTED", "窗口等候超时属实", SH_ADMIN, later())
    case.respond_to_rectification("已整改：增开窗口", SH_WINDOW, later())
    assert (case.appeal_outcome, case.rectification_open) == ("REJECTED", False)


def test_a_rating_of_the_handling_is_answered_by_the_handling_province() -> None:
    """谁办理谁负责 (国办发〔2019〕51号): a rating of the handling (办理, the default) is answered by
    Jiangsu, the handling province."""
    case = rated(1)
    assert (case.rated_service, case.rating_answered_by) == ("HANDLING", "320000")
    refused_without_events(case, lambda: case.respond_to_rectification("已整改", SH_WINDOW, later()))
    refused_without_events(case, lambda: case.appeal_rating("评价不实", SH_WINDOW, later()))
    case.respond_to_rectification("已整改", JS_HANDLER, later())


def test_the_rated_service_is_window_or_handling_and_an_online_case_had_no_window() -> None:
    case = accepted()
    approve(case)
    case.conclude("ISSUED", JS_HANDLER, later())
    with pytest.raises(InvalidField, match="service"):
        case.rate(5, "ONLINE", "", None, SH_WINDOW, later(), service="PARKING")
    online = Case.submit(
        case_no="320000202603020001",
        mode="FULL_ONLINE",
        item_province="320000",
        item=item(),
        item_version=1,
        receiving_province="320000",
        parts=[],
        applicant_id="7f0c1e1e-0000-4000-8000-000000000002",
        actor=Actor("320000", "JS-YWTB", "app"),
        at=T0,
    )
    with_materials(online, Actor("320000", "JS-YWTB", "app"))
    online.accept("SL2", JS_HANDLER, later(1))
    approve(online)
    online.conclude("ISSUED", JS_HANDLER, later(2))
    with pytest.raises(InvalidField, match="no window service"):
        online.rate(1, "ONLINE", "", DUE, Actor("320000", "JS-YWTB", "app"), later(2), service="WINDOW")
    online.rate(1, "ONLINE", "", DUE, Actor("320000", "JS-YWTB", "app"), later(2))
    assert (online.rated_service, online.rating_answered_by) == ("HANDLING", "320000")


def test_a_rating_stored_before_it_named_the_service_reads_as_a_rating_of_the_handling() -> None:
    """Upcasting: a Rated event of version 1 (round 1 stored them) had no ``service``; every rating then was
    the handling province's to answer, and it still is."""
    state: dict[str, Any] = {
        "score": 2,
        "channel": "ONLINE",
        "comment": "",
        "rectification_due_on": "2026-03-25",
    }
    Case.Rated.upcast_v1_v2(state)
    assert state["service"] == "HANDLING"
    assert Case.Rated.class_version == 2


def test_an_appeal_of_a_good_rating_recorded_before_the_rule_stays_and_may_only_be_rejected() -> None:
    """Cut-over: round 1 let any rating be appealed. Such an appeal, already recorded, folds as it was (the
    history is not refused); its review may only reject it, since a rating of 3 to 5 never counted against
    the office; a new appeal of such a rating is refused."""
    case = rated(4)
    case._rating_appealed(  # as round 1 recorded it: the event, without today's rule
        reason="评价不实", province="320000", office_code="JS-GA", operator_id="h-1", timestamp=later()
    )
    assert (case.appealed, case.appeal_outcome, case.rating_counts) == (True, None, True)
    with pytest.raises(IllegalTransition, match="no 差评 to set aside"):
        case.decide_rating_appeal("UPHELD", "成立", JS_ADMIN, later())
    case.decide_rating_appeal("REJECTED", "好评无需复核", JS_ADMIN, later())
    assert case.appeal_outcome == "REJECTED"


def test_a_round_1_deadline_warning_was_of_the_promised_limit() -> None:
    """Given a DeadlineWarned stored by round 1 (version 1, no limit), when loaded, it warned of PROMISED."""
    state = {"due_on": "2026-03-19", "days_left": 2, "province": "320000"}
    Case.DeadlineWarned.upcast_v1_v2(state)
    assert state["limit"] == "PROMISED"


def test_deadline_warning_and_breaches_are_recorded_once_each_by_the_handling_province() -> None:
    """Given an accepted case, the writing (handling) province's timer warns and breaches each limit once."""
    case = accepted()
    timer = Actor("320000", "SYSTEM", "deadline-timer")
    with pytest.raises(IllegalTransition):
        case.warn_deadline(
            "PROMISED", date(2026, 3, 19), 2, Actor("310000", "SYSTEM", "deadline-timer"), later(10)
        )
    with pytest.raises(InvalidField, match="limit"):
        case.warn_deadline("SOON", date(2026, 3, 19), 2, timer, later(10))
    assert case.warn_deadline("PROMISED", date(2026, 3, 19), 2, timer, later(10)) is True
    assert case.warn_deadline("PROMISED", date(2026, 3, 19), 1, timer, later(11)) is False
    assert case.warn_deadline("STATUTORY", date(2026, 3, 30), 2, timer, later(19)) is True
    with pytest.raises(IllegalTransition, match="record a breach"):
        case.breach_deadline("PROMISED", date(2026, 3, 19), timer, later(10))
    assert case.breach_deadline("PROMISED", date(2026, 3, 19), timer, later(20)) is True
    assert case.breach_deadline("PROMISED", date(2026, 3, 19), timer, later(21)) is False
    assert case.breach_deadline("STATUTORY", date(2026, 3, 30), timer, later(40)) is True
    events = case.collect_events()
    assert [(type(e).__name__, getattr(e, "limit", None)) for e in events] == [
        ("DeadlineWarned", "PROMISED"),
        ("DeadlineWarned", "STATUTORY"),
        ("DeadlineBreached", "PROMISED"),
        ("DeadlineBreached", "STATUTORY"),
    ]
    assert {(getattr(e, "province", None), getattr(e, "office_code", None)) for e in events} == {
        ("320000", "SYSTEM")
    }


def test_materials_are_fixed_once_accepted_except_what_a_supplement_lists() -> None:
    case = accepted()
    refused_without_events(
        case, lambda: case.attach_material("M02", SH_WINDOW, later(), file_digest="sha256:" + "1" * 64)
    )
    case.request_supplement(["M03"], "补交结婚证", date(2026, 3, 20), JS_HANDLER, later(1))
    refused_without_events(
        case, lambda: case.attach_material("M01", SH_WINDOW, later(), file_digest="sha256:" + "1" * 64)
    )
    case.attach_material("M03", SH_WINDOW, later(2), file_digest="sha256:" + "3" * 64)


def test_a_certificate_must_be_the_applicants_own() -> None:
    case = submitted()
    with pytest.raises(InvalidField, match="holder is not the applicant"):
        case.attach_material(
            "M01",
            SH_WINDOW,
            later(),
            certificate_identifier=ID_CARD,
            certificate_type_code="11100000000013338W001",
            verification=VERIFIED,
        )


def test_decisions_need_approval_and_joint_issues_need_every_part_issued() -> None:
    case = accepted()
    with pytest.raises(IllegalTransition, match="not approved"):
        case.conclude("ISSUED", JS_HANDLER, later())
    case.conclude("RETURNED", JS_HANDLER, later())  # returning the file is not a decision on the merits
    parts = [Part("P1", "迁出地", "330000"), Part("P2", "迁入地", "320000")]
    joint = with_materials(submitted(mode="JOINT", parts=parts))
    joint.receive("SJ1", SH_WINDOW, later())
    joint.forward(SH_WINDOW, later())
    joint.accept("SL1", JS_HANDLER, later())
    joint.conclude_part("P1", "DENIED", ZJ_HANDLER, later())
    joint.conclude_part("P2", "ISSUED", JS_HANDLER, later())
    approve(joint)
    with pytest.raises(IllegalTransition, match="a part did not conclude ISSUED"):
        joint.conclude("ISSUED", JS_HANDLER, later())
    joint.conclude("DENIED", JS_HANDLER, later(), decision())


def test_no_extension_once_the_statutory_deadline_has_passed() -> None:
    case = accepted()
    with pytest.raises(IllegalTransition, match="overdue since 2026-03-04"):
        case.extend(5, "补办", date(2026, 3, 4), APPROVAL, notice(later(3)), JS_HANDLER, later(3))


def test_refusal_needs_the_case_in_the_handling_provinces_hands() -> None:
    case = with_materials(submitted())
    refused_without_events(case, lambda: refuse(case))  # not forwarded yet


def test_china_dates_are_utc_plus_eight() -> None:
    assert china_date(datetime(2026, 3, 1, 16, 0, tzinfo=T0.tzinfo)) == date(2026, 3, 2)


def test_an_item_of_a_bundle_is_delivered_only_with_its_bundle() -> None:
    case = Case.submit(
        case_no="310000202603020002",
        mode="FULL_ONLINE",
        item_province="320000",
        item=item(),
        item_version=1,
        receiving_province="310000",
        parts=[],
        applicant_id="7f0c1e1e-0000-4000-8000-000000000001",
        actor=SH_WINDOW,
        at=T0,
        bundle_id="b-1",
    )
    with_materials(case)
    case.accept("SL1", JS_HANDLER, later())
    case.conclude("RETURNED", JS_HANDLER, later())
    refused_without_events(case, lambda: case.deliver("POST", "EMS1", JS_HANDLER, later()))
    refused_without_events(case, lambda: case.deliver_with_bundle("b-2", "POST", "EMS1", JS_HANDLER, later()))
    case.deliver_with_bundle("b-1", "POST", "EMS1", JS_HANDLER, later())
    assert case.state is State.DELIVERED


# 撤回申请: withdrawal, the first command declared once (node/usecases/case_commands.py)


def test_an_application_is_withdrawn_before_the_decision_and_every_clock_stops() -> None:
    case, _ = _withdrawable_case()
    case.withdraw("申请人撤回", SH_WINDOW, T_WITHDRAW)
    assert case.state == State.WITHDRAWN
    assert case.withdrawn_on == china_date(T_WITHDRAW).isoformat()
    assert case.open_supplement is None
    assert State.WITHDRAWN in ENDED_STATES
    assert State.WITHDRAWN not in OPEN_STATES
    assert not any(isinstance(e, Case.Refused) for e in case.collect_events())  # no refusal recorded
    with pytest.raises(IllegalTransition):
        case.withdraw("again", SH_WINDOW, T_WITHDRAW)


def test_only_the_receiving_province_withdraws_and_only_before_the_decision() -> None:
    case, handler = _withdrawable_case()
    with pytest.raises(IllegalTransition, match="receiving province"):
        case.withdraw("申请人撤回", handler, T_WITHDRAW)
    with pytest.raises(InvalidField):
        case.withdraw("  ", SH_WINDOW, T_WITHDRAW)
    case.record_review("UNDERTAKE", "同意", handler, T_WITHDRAW)
    case.record_review("CHECK", "同意", handler, T_WITHDRAW)
    case.record_review(
        "APPROVE", "同意", Actor(handler.province, handler.office_code, "head"), T_WITHDRAW, "局长"
    )
    case.conclude("ISSUED", handler, T_WITHDRAW)
    with pytest.raises(IllegalTransition, match="withdraw"):
        case.withdraw("too late", SH_WINDOW, T_WITHDRAW)


T_WITHDRAW = later(days=2)


def _withdrawable_case() -> tuple[Case, Actor]:
    """An accepted PROXY case, received in Shanghai and handled in Jiangsu, not yet decided."""
    return accepted(), JS_HANDLER


# What the followers read from the events (STATE_AFTER, ENDINGS, fold_clock) agrees with the aggregate itself.


def _recorded(case: Case, command: Callable[[], object]) -> list[Any]:
    case.collect_events()
    command()
    return list(case.collect_events())


def _every_path() -> list[tuple[Case, Callable[[], object]]]:
    """Commands that, together, record every event STATE_AFTER names, each on a case ready for it."""
    steps: list[tuple[Case, Callable[[], object]]] = []
    case = with_materials(submitted())
    steps += [
        (case, lambda: case.receive("SJ1", SH_WINDOW, later())),
        (case, lambda: case.forward(SH_WINDOW, later())),
    ]
    steps += [(case, lambda: case.accept("SL1", JS_HANDLER, later(1)))]
    steps += [
        (case, lambda: case.request_supplement(["M02"], "缺页", date(2026, 3, 20), JS_HANDLER, later(2)))
    ]
    steps += [
        (case, lambda: case.attach_material("M02", SH_WINDOW, later(3), file_digest="sha256:" + "d" * 64))
    ]
    steps += [(case, lambda: case.provide_supplement(SH_WINDOW, later(3)))]
    steps += [(case, lambda: special(case, "HEARING", later(4)))]
    steps += [(case, lambda: case.end_special_procedure("完毕", JS_HANDLER, later(5)))]
    steps += [(case, lambda: approve(case))]
    steps += [(case, lambda: case.conclude("ISSUED", JS_HANDLER, later(6)))]
    steps += [(case, lambda: case.deliver("WINDOW", "窗口领取", SH_WINDOW, later(7)))]
    steps += [(case, lambda: case.archive(JS_HANDLER, later(8)))]
    refused = forwarded()
    steps += [(refused, lambda: refuse(refused, at=later(1)))]
    deemed = forwarded()  # 行政许可法 第32条: no notice within the limit
    steps += [(deemed, lambda: deemed.deem_accepted(NOTICE_DUE, JS_TIMER, later(8)))]
    withdrawn = accepted()
    steps += [(withdrawn, lambda: withdrawn.withdraw("申请人撤回", SH_WINDOW, later(2)))]
    return steps


def test_the_state_each_event_leaves_is_the_aggregates_own() -> None:
    seen = set()
    for case, command in _every_path():
        events = _recorded(case, command)
        named = [type(e) for e in events if type(e) in STATE_AFTER]
        if named:  # the last event STATE_AFTER names decides the state the case is left in
            assert case.state == STATE_AFTER[named[-1]], named[-1]
        seen.update(named)
    assert set(STATE_AFTER) <= seen
    assert set(ENDINGS) == {Case.Refused, Case.Concluded, Case.Delivered, Case.Archived, Case.Withdrawn}


def _clock_of(events: list[Any]) -> dict[str, Any]:
    """The clock a read model folds from the events alone."""
    clock: dict[str, Any] = {"accepted_on": None, "suspensions": [], "extension_days": 0}
    clock |= {"concluded_on": None, "calendar_years": {}}
    for event in events:
        if isinstance(event, CLOCK_EVENTS):
            fold_clock(clock, event)
    return clock


def _history(case: Case, *commands: Callable[[], object]) -> list[Any]:
    events: list[Any] = list(case.collect_events())
    for command in commands:
        events += _recorded(case, command)
    return events


def test_the_clock_a_follower_folds_has_the_aggregates_counting_facts() -> None:
    case = with_materials(submitted(filed_under=item(clock_stops=SUPPLEMENT_STOPS)))
    events = _history(
        case,
        lambda: case.receive("SJ1", SH_WINDOW, later()),
        lambda: case.forward(SH_WINDOW, later()),
        lambda: case.accept("SL1", JS_HANDLER, later(1)),
        lambda: case.request_supplement(["M02"], "缺页", date(2026, 3, 20), JS_HANDLER, later(2)),
        lambda: case.attach_material("M02", SH_WINDOW, later(4), file_digest="sha256:" + "d" * 64),
        lambda: case.provide_supplement(SH_WINDOW, later(4)),
        lambda: case.extend(5, "复杂", None, APPROVAL, notice(later(5)), JS_HANDLER, later(5)),
        lambda: special(case, "HEARING", later(6)),
        lambda: case.end_special_procedure("完毕", JS_HANDLER, later(8)),
        lambda: approve(case),
        lambda: case.conclude("ISSUED", JS_HANDLER, later(9)),
    )
    clock = _clock_of(events)
    assert (clock["accepted_on"], clock["extension_days"], clock["concluded_on"]) == (
        case.accepted_on,
        case.extension_days,
        case.concluded_on,
    )
    assert [tuple(s) for s in clock["suspensions"]] == case.suspensions
    assert len(case.suspensions) == 2
    assert clock["extended_limits"] == case.extended_limits == ["STATUTORY"]  # 行政许可法第42条
    for limit, days in ((Limit.PROMISED, 10), (Limit.STATUTORY, 20)):  # one fold, one count
        assert deadline_inputs(clock, limit, days) == deadline_inputs(case.counting_facts, limit, days)
    assert "stopped_on" not in clock


def test_a_withdrawal_stops_the_folded_clock_on_the_aggregates_date() -> None:
    case = accepted()
    events = _history(case, lambda: case.withdraw("申请人撤回", SH_WINDOW, later(2)))
    assert _clock_of(events)["stopped_on"] == case.withdrawn_on is not None


# Reasoned decisions (行政许可法 第32条, 第38条) and separation of duties in review


def test_refusal_is_a_reasoned_decision_with_remedies_the_law_limits_article_38() -> None:
    """行政许可法 第38条: given a forwarded case, when it is refused (不予受理), then the event carries the
    reason, the ground, the legal basis and the remedies, with the limits the law sets (复议 60 days,
    诉讼 6 months)."""
    case = forwarded()
    case.collect_events()
    refuse(case)
    (event,) = case.collect_events()
    assert isinstance(event, Case.Refused)
    assert (event.reason, event.ground, event.legal_basis) == (
        "不符合受理条件",
        "NOT_ELIGIBLE",
        ["《中华人民共和国行政许可法》第三十八条第二款"],
    )
    assert event.remedies == {
        "reconsideration_body": "江苏省人民政府",
        "reconsideration_limit_days": 60,
        "reconsideration_basis": "《中华人民共和国行政复议法》第二十条",
        "litigation_court": "南京市中级人民法院",
        "litigation_limit_months": 6,
        "litigation_basis": "《中华人民共和国行政诉讼法》第四十六条",
    }
    assert case.decision is not None
    assert case.decision["kind"] == "REFUSED"
    assert case.decision["competent_agency"] is None


def test_refusal_outside_competence_names_the_competent_agency_article_32() -> None:
    """第32条第一款第二项: a matter outside the office's competence is refused and the applicant told which
    agency to apply to; no other ground names one."""
    basis = decision("不属于本机关职权范围", "《中华人民共和国行政许可法》第三十二条第一款第二项")
    case = forwarded()
    with pytest.raises(InvalidField, match="competent_agency"):
        case.refuse("OUTSIDE_COMPETENCE", basis, None, JS_HANDLER, later())
    with pytest.raises(InvalidField, match="competent_agency"):
        case.refuse("NOT_ELIGIBLE", basis, "南京市市场监督管理局", JS_HANDLER, later())
    with pytest.raises(InvalidField, match="ground"):
        case.refuse("BECAUSE", basis, None, JS_HANDLER, later())
    case.refuse("OUTSIDE_COMPETENCE", basis, "南京市市场监督管理局", JS_HANDLER, later())
    assert case.decision is not None
    assert (case.decision["ground"], case.decision["competent_agency"]) == (
        "OUTSIDE_COMPETENCE",
        "南京市市场监督管理局",
    )


def test_a_decision_needs_a_basis_and_both_remedies_article_38() -> None:
    """行政许可法 第38条: no decision without a legal basis and both remedies."""
    with pytest.raises(InvalidField, match="legal_basis"):
        ReasonedDecision("理由", (), REMEDIES)
    with pytest.raises(InvalidField, match="reconsideration_body"):
        Remedies(" ", "南京市中级人民法院")
    with pytest.raises(InvalidField, match="litigation_court"):
        Remedies("江苏省人民政府", "")


def test_a_denial_states_reason_basis_and_remedies_article_38() -> None:
    """行政许可法 第38条: given an approved case, when it concludes DENIED (不予许可) without a reasoned
    decision it is refused;
    with one, the conclusion carries it. Other results carry none."""
    case = accepted()
    approve(case)
    with pytest.raises(InvalidField, match="reason"):
        case.conclude("DENIED", JS_HANDLER, later())
    with pytest.raises(InvalidField, match="only a DENIED"):
        case.conclude("ISSUED", JS_HANDLER, later(), decision())
    case.collect_events()
    case.conclude("DENIED", JS_HANDLER, later(), decision())
    (event,) = case.collect_events()
    assert isinstance(event, Case.Concluded)
    assert event.reason == "不符合法定条件"
    assert event.remedies is not None
    assert case.decision is not None
    assert case.decision["kind"] == "DENIED"
    issued = accepted()
    approve(issued)
    issued.conclude("ISSUED", JS_HANDLER, later())
    assert issued.decision is None


def test_approval_is_by_another_officer_than_the_undertaker_with_their_role() -> None:
    """批准 is recorded by a different person from 承办, naming their role (职务); their office is
    recorded."""
    case = accepted()
    case.record_review("UNDERTAKE", "同意", JS_HANDLER, later())
    case.record_review("CHECK", "同意", JS_APPROVER, later())
    with pytest.raises(InvalidField, match="title"):
        case.record_review("APPROVE", "同意", JS_APPROVER, later())
    refused_without_events(
        case, lambda: case.record_review("APPROVE", "同意", JS_HANDLER, later(), title="科长")
    )
    case.record_review("APPROVE", "同意", JS_APPROVER, later(), title="科长")
    assert case.reviews[-1] == {
        "step": "APPROVE",
        "province": "320000",
        "office_code": "JS-GA",
        "operator_id": "h-2",
        "title": "科长",
    }


def test_events_recorded_before_the_rule_upcast_to_their_old_meaning() -> None:
    """Round 1's Refused, Concluded and ReviewStepRecorded (version 1) read with no basis, remedies or
    role."""
    refused: dict[str, Any] = {"reason": "不符合"}
    Case.Refused.upcast_v1_v2(refused)
    assert refused == {
        "reason": "不符合",
        "ground": None,
        "legal_basis": None,
        "remedies": None,
        "competent_agency": None,
    }
    concluded: dict[str, Any] = {"result": "DENIED"}
    Case.Concluded.upcast_v1_v2(concluded)
    assert concluded == {"result": "DENIED", "reason": None, "legal_basis": None, "remedies": None}
    review: dict[str, Any] = {"step": "APPROVE"}
    Case.ReviewStepRecorded.upcast_v1_v2(review)
    assert review == {"step": "APPROVE", "title": None}
