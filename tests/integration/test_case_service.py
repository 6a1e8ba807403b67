"""Cases through the application services on real stores (SQLite and PostgreSQL), with an injectable clock.

The worked example of the closing note lives here: a 异地代收代办 (PROXY) case received in Shanghai and
handled in Jiangsu across National Day 2025, through a supplement and an extension.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from aggregates.case import Case, State
from aggregates.deadline import DeadlineState
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from node.bootstrap import build_services, close_services
from node.services import Services
from node.settings import Settings
from node.usecases.case_commands import (
    ACCEPT,
    APPEAL_RATING,
    ARCHIVE,
    ATTACH_MATERIAL,
    CONCLUDE,
    CONCLUDE_PART,
    DECIDE_RATING_APPEAL,
    DELIVER,
    EXTEND,
    FORWARD,
    PROVIDE_SUPPLEMENT,
    RATE,
    RECEIVE,
    RECORD_REVIEW,
    REFUSE,
    REQUEST_SUPPLEMENT,
    RESPOND_TO_RECTIFICATION,
)
from node.usecases.catalogue import CatalogueService
from node.workers.deadline_timer import DeadlineTimer
from projections.case_board import BoardQuery, CaseBoard, board_counts, query_board
from simulators.sample_data import sample_catalogue
from tests.builders import (
    CONSENT,
    EXTENSION_APPROVAL,
    REFUSAL,
    SUPPLEMENT_TIMEOUT_DECISION,
    FakeClock,
    node_issue_body,
    review_calls,
)

SH_WINDOW = Actor("310000", "SH-WIN-01", "w-001")
SH_PLATFORM = Actor("310000", "SH-YWTB", "app")
JS_HANDLER = Actor("320000", "JS-GA-01", "h-001")
ZJ_HANDLER = Actor("330000", "ZJ-GA-01", "h-002")
# The applicant is the holder of the ID card certificate the tests issue (a certificate must be their own).
APPLICANT = {
    "name": node_issue_body(0)["holder_name"],
    "id_type": "111",
    "id_number": node_issue_body(0)["holder_id"],
}


def deadlines(node: Services, case: Case) -> tuple[DeadlineState, DeadlineState]:
    """(promised, statutory) deadline states; the calendar covers every year these tests touch."""
    computed = node.cases.deadlines(case)
    assert computed is not None
    assert isinstance(computed.promised, DeadlineState)
    assert isinstance(computed.statutory, DeadlineState)
    return computed.promised, computed.statutory


def approve(node: Services, case_id: str, handler: Actor) -> None:
    """承办 → 审核 → 批准: a decision on the merits needs the review approved."""
    for step, officer, extra in review_calls(handler):
        node.cases.run(RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)


def id_card(node: Services) -> str:
    """A 居民身份证 electronic certificate issued by this node: it replaces the ID card material."""
    body = {"service_item_code": None, **node_issue_body(0)}
    assert body["type_name"] == "居民身份证"
    return node.certificates.issue(SH_WINDOW, **body).identifier


def proxy_case(node: Services, clock: FakeClock) -> str:
    """新生儿入户 (GA-0003) filed at a Shanghai window, handled in Jiangsu; all required materials attached:
    the parents' ID card (M02) as an electronic certificate, the others as file digests."""
    case = node.cases.submit(
        SH_WINDOW, item_province="320000", item_code="GA-0003", mode="PROXY", applicant=APPLICANT
    )
    case_id = str(case.id)
    node.cases.run(ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M01", file_digest="sha256:" + "1" * 64)
    node.cases.run(
        ATTACH_MATERIAL,
        case_id,
        SH_WINDOW,
        material_code="M02",
        certificate_identifier=id_card(node),
        consent_reference=CONSENT,
    )
    node.cases.run(ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M04", file_digest="sha256:" + "4" * 64)
    node.cases.run(RECEIVE, case_id, SH_WINDOW)
    node.cases.run(FORWARD, case_id, SH_WINDOW)
    return case_id


def test_worked_example_proxy_case_through_supplement_and_extension(node: Services, clock: FakeClock) -> None:
    cases = node.cases
    clock.set_china_time("2025-09-26")  # Friday: received, forwarded and accepted (第32条: from the receipt)
    case_id = proxy_case(node, clock)
    promised, statutory = deadlines(node, cases.run(ACCEPT, case_id, JS_HANDLER))
    # 5 promised working days: Sun 09-28 (调休), 09-29, 09-30, National Day 10-01..10-08 off, 10-09, 10-10.
    assert (str(promised.due_on), str(statutory.due_on)) == ("2025-10-10", "2025-10-30")

    clock.set_china_time("2025-09-29")
    case = cases.run(REQUEST_SUPPLEMENT, case_id, JS_HANDLER, missing=["M04"], reason="户口簿复印件不清晰")
    assert case.open_supplement is not None
    assert case.open_supplement["due_on"] == "2025-10-20"  # 10 working days, the holiday skipped
    # the sample item names no law that stops the clock for a supplement after acceptance (行政许可法 has
    # none)
    assert deadlines(node, case)[0].status != "SUSPENDED"

    clock.set_china_time("2025-10-09")
    cases.run(ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M04", file_digest="sha256:" + "5" * 64)
    promised, statutory = deadlines(node, cases.run(PROVIDE_SUPPLEMENT, case_id, SH_WINDOW))
    # The clock ran on meanwhile: neither date moves.
    assert (str(promised.due_on), str(statutory.due_on)) == ("2025-10-10", "2025-10-30")
    assert promised.suspended_days == 0

    clock.set_china_time("2025-10-10")
    case = cases.run(
        EXTEND, case_id, JS_HANDLER, days=10, reason="需调取出生地户籍档案", **EXTENSION_APPROVAL
    )
    with pytest.raises(IllegalTransition, match="already extended once"):
        cases.run(EXTEND, case_id, JS_HANDLER, days=1, reason="again", **EXTENSION_APPROVAL)
    promised, statutory = deadlines(node, case)
    # 行政许可法 第42条: the extension moves the statutory limit only; the promised one is the office's own
    assert (str(promised.due_on), str(statutory.due_on)) == ("2025-10-10", "2025-11-13")
    assert case.extension is not None
    assert (case.extension["approver_title"], case.extension["notified_on"]) == ("局长", "2025-10-10")

    clock.set_china_time("2025-10-22")
    promised, _ = deadlines(node, cases.case(case_id))
    assert (promised.status, promised.days_left) == ("OVERDUE", -9)

    clock.set_china_time("2025-10-28")
    for step, officer, extra in review_calls(JS_HANDLER):
        cases.run(RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)
    promised, statutory = deadlines(node, cases.run(CONCLUDE, case_id, JS_HANDLER, result="ISSUED"))
    assert (promised.status, statutory.status) == ("CONCLUDED_LATE", "CONCLUDED_ON_TIME")
    cases.run(DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="上海市徐汇区跨省通办窗口")
    case = cases.run(ARCHIVE, case_id, JS_HANDLER)
    assert case.state is State.ARCHIVED
    case = cases.run(RATE, case_id, SH_PLATFORM, score=2, channel="ONLINE", comment="超过承诺时限")
    assert case.rectification_due_on == "2025-11-18"  # 15 working days after 10-28

    timeline = cases.timeline(case_id)
    assert [(e.event, e.province) for e in timeline][:6] == [
        ("Submitted", "310000"),
        ("MaterialAttached", "310000"),
        ("MaterialAttached", "310000"),
        ("MaterialAttached", "310000"),
        ("Received", "310000"),
        ("Forwarded", "310000"),
    ]
    accepted = next(e for e in timeline if e.event == "Accepted")
    assert (accepted.province, accepted.office_code, accepted.operator_id) == ("320000", "JS-GA-01", "h-001")
    assert all(APPLICANT["name"] not in str(e.detail) for e in timeline)
    assert all(APPLICANT["id_number"] not in str(e.detail) for e in timeline)
    assert cases.applicant(case_id).name == APPLICANT["name"]


def test_the_certificate_verification_is_kept_with_the_material(node: Services, clock: FakeClock) -> None:
    case_id = proxy_case(node, clock)
    timeline = node.cases.timeline(case_id)
    attached = next(
        e for e in timeline if e.event == "MaterialAttached" and e.detail["material_code"] == "M02"
    )
    verification = attached.detail["verification"]
    assert (verification["authentic"], verification["status"], verification["verifier_province"]) == (
        True,
        "VALID",
        "310000",
    )
    assert verification["signature"]
    assert verification["key_id"]
    marriage = {"service_item_code": None, **node_issue_body(3)}
    assert marriage["type_name"] == "结婚证"
    revoked = node.certificates.issue(SH_WINDOW, **marriage).identifier
    node.certificates.change_status(revoked, "revoke", SH_WINDOW, reason="撤销婚姻登记")
    with pytest.raises(InvalidField, match="did not verify"):
        node.cases.run(
            ATTACH_MATERIAL,
            case_id,
            SH_WINDOW,
            material_code="M03",
            certificate_identifier=revoked,
            consent_reference=CONSENT,
        )


def test_the_timer_warns_and_breaches_once_across_restarts(
    settings: Settings, node: Services, clock: FakeClock
) -> None:
    clock.set_china_time("2025-09-26")  # received the day it is accepted: 第32条 counts from the receipt
    case_id = proxy_case(node, clock)
    node.cases.run(
        ACCEPT, case_id, JS_HANDLER
    )  # promised due 2025-10-10, warning from 10-03's working days on
    timer = DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)
    recorded: dict[str, str] = {}
    for day in (
        "2025-09-29",
        "2025-09-30",
        "2025-10-09",
        "2025-10-10",
        "2025-10-11",
        "2025-10-13",
        "2025-10-14",
    ):
        clock.set_china_time(day)
        for what in timer.tick():
            recorded.setdefault(what, day)
        if day == "2025-10-10":  # the node restarts: a new process, a new timer, the same store
            close_services(node)
            node = build_services(settings, clock=clock)
            timer = DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)
    assert recorded == {"DeadlineWarned:PROMISED": "2025-09-29", "DeadlineBreached:PROMISED": "2025-10-11"}
    events = [e.event for e in node.cases.timeline(case_id)]
    assert events.count("DeadlineWarned") == 1
    assert events.count("DeadlineBreached") == 1
    close_services(node)


def test_an_unanswered_supplement_lapses_and_a_handler_concludes_it(node: Services, clock: FakeClock) -> None:
    """行政许可法 第38条: given a supplement asked for after acceptance, when its due date passes, then the
    timer records the lapse once (SupplementLapsed) and decides nothing: the case waits, the board lists it,
    and a handler concludes SUPPLEMENT_TIMEOUT with a reason, a legal basis and the remedies."""
    clock.set_china_time("2025-09-26")  # received the day it is accepted: 第32条 counts from the receipt
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    case = node.cases.run(REQUEST_SUPPLEMENT, case_id, JS_HANDLER, missing=["M04"], reason="户口簿缺页")
    assert case.open_supplement is not None
    assert case.open_supplement["due_on"] == "2025-10-16"
    timer = DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)
    clock.set_china_time("2025-10-16", hour=23)
    # the clock ran on during the supplement (行政许可法 provides no stop): the promised limit passed 10-10
    assert timer.tick() == {"DeadlineBreached:PROMISED": 1}
    clock.set_china_time("2025-10-17", hour=0)
    assert timer.tick() == {"SupplementLapsed": 1}
    assert not timer.tick()
    case = node.cases.case(case_id)
    assert (case.state, case.result) == (State.SUPPLEMENT_REQUESTED, None)
    assert case.open_task is not None
    assert (case.open_task["decision"], case.open_task["lapsed_on"]) == ("CONCLUDE", "2025-10-17")
    node.projections[CaseBoard.name].tick()
    with node.views.transaction() as tx:
        [row] = query_board(tx, BoardQuery("320000", task="DECIDE_SUPPLEMENT_TIMEOUT"))
        assert (row["case_id"], row["task"]) == (
            case_id,
            {"kind": "DECIDE_SUPPLEMENT_TIMEOUT", "since": "2025-10-17"},
        )
        assert board_counts(tx, "320000")["awaiting_decision"] == 1
    case = node.cases.run(CONCLUDE, case_id, JS_HANDLER, **SUPPLEMENT_TIMEOUT_DECISION)
    assert (case.state, case.result, case.open_task) == (State.CONCLUDED, "SUPPLEMENT_TIMEOUT", None)
    assert case.decision is not None
    assert case.decision["reason"] == "申请人逾期未补正材料"
    concluded = node.cases.timeline(case_id)[-1]
    assert (concluded.event, concluded.operator_id) == ("Concluded", JS_HANDLER.operator_id)
    node.projections[CaseBoard.name].tick()
    with node.views.transaction() as tx:
        assert query_board(tx, BoardQuery("320000", task="DECIDE_SUPPLEMENT_TIMEOUT", open_only=False)) == []
        assert board_counts(tx, "320000")["awaiting_decision"] == 0


def test_full_online_case(node: Services, clock: FakeClock) -> None:
    js_platform = Actor("320000", "JS-SFB", "app")
    case = node.cases.submit(
        js_platform, item_province="320000", item_code="YM-0001", mode="FULL_ONLINE", applicant=APPLICANT
    )
    case_id = str(case.id)
    for material in ("M01", "M02"):
        node.cases.run(
            ATTACH_MATERIAL, case_id, js_platform, material_code=material, file_digest="sha256:" + "7" * 64
        )
    assert node.cases.case(case_id).missing_materials() == []
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    approve(node, case_id, JS_HANDLER)
    node.cases.run(CONCLUDE, case_id, JS_HANDLER, result="ISSUED")
    case = node.cases.run(
        DELIVER, case_id, JS_HANDLER, method="ELECTRONIC", reference="苏服办消息 2025092400001"
    )
    assert (case.state, case.receiving_province, case.handling_province) == (
        State.DELIVERED,
        "320000",
        "320000",
    )


def test_joint_case_concludes_after_every_part(node: Services, clock: FakeClock) -> None:
    case = node.cases.submit(
        SH_WINDOW,
        item_province="320000",
        item_code="RS-0002",
        mode="JOINT",
        applicant=APPLICANT,
        parts={"P1": "320000", "P2": "330000", "P3": "320000"},
    )
    case_id = str(case.id)
    for material in ("M01", "M02"):
        node.cases.run(
            ATTACH_MATERIAL, case_id, SH_WINDOW, material_code=material, file_digest="sha256:" + "8" * 64
        )
    node.cases.run(RECEIVE, case_id, SH_WINDOW)
    node.cases.run(FORWARD, case_id, SH_WINDOW)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    node.cases.run(CONCLUDE_PART, case_id, ZJ_HANDLER, part_code="P2", result="ISSUED")
    with pytest.raises(IllegalTransition, match="parts still open: P1, P3"):
        node.cases.run(CONCLUDE, case_id, JS_HANDLER, result="ISSUED")
    node.cases.run(CONCLUDE_PART, case_id, JS_HANDLER, part_code="P1", result="ISSUED")
    node.cases.run(CONCLUDE_PART, case_id, JS_HANDLER, part_code="P3", result="ISSUED")
    approve(node, case_id, JS_HANDLER)
    case = node.cases.run(CONCLUDE, case_id, JS_HANDLER, result="ISSUED")
    assert case.state is State.CONCLUDED
    assert {p.result for p in case.parts.values()} == {"ISSUED"}


def test_birth_bundle_one_application_shared_materials_one_delivery(node: Services, clock: FakeClock) -> None:
    bundle, filed = node.bundles.submit_bundle(
        SH_PLATFORM,
        bundle_province="310000",
        bundle_code="YJS-BIRTH",
        mode="FULL_ONLINE",
        applicant=APPLICANT,
    )
    bundle_id = str(bundle.id)
    assert len(filed) == 9
    assert len({c.applicant_id for c in filed}) == 1
    listed = node.bundles.bundle_materials(bundle_id)
    id_cards = [m for m in listed if m["key"] == "types:11100000000013338W001"]
    assert len(id_cards) == 1
    assert len(id_cards[0]["items"]) >= 8  # asked once for every item that needs it
    attached = node.bundles.attach_to_bundle(
        bundle_id,
        SH_PLATFORM,
        material_key=id_cards[0]["key"],
        certificate_identifier=id_card(node),
        consent_reference=CONSENT,
    )
    assert len(attached) == len(id_cards[0]["items"])
    for material in node.bundles.bundle_materials(bundle_id):
        if material["required"] and material is not id_cards[0] and material["key"] != id_cards[0]["key"]:
            node.bundles.attach_to_bundle(
                bundle_id, SH_PLATFORM, material_key=material["key"], file_digest="sha256:" + "9" * 64
            )
    with pytest.raises(InvalidField, match="not concluded yet"):
        node.bundles.deliver_bundle(bundle_id, SH_WINDOW, "POST", "EMS1")
    for case in filed:
        assert node.cases.case(str(case.id)).missing_materials() == []
        node.cases.run(ACCEPT, str(case.id), Actor("310000", "SH-HANDLE", "h-9"))
        approve(node, str(case.id), Actor("310000", "SH-HANDLE", "h-9"))
        node.cases.run(CONCLUDE, str(case.id), Actor("310000", "SH-HANDLE", "h-9"), result="ISSUED")
    delivered = node.bundles.deliver_bundle(bundle_id, SH_WINDOW, "POST", "EMS1234567890CN")
    assert delivered.delivered
    assert {node.cases.case(str(c.id)).state for c in filed} == {State.DELIVERED}


def test_a_case_keeps_the_catalogue_version_it_was_filed_under(node: Services, clock: FakeClock) -> None:
    case_id = proxy_case(node, clock)
    item = node.catalogue.item("320000", "GA-0003")
    revised_fields = {**item.definition.as_event_fields(), "promised_limit_days": 3}
    revised_fields.pop("handling_province")
    revised, outcome = node.catalogue.publish_item("320000", revised_fields, JS_HANDLER)
    assert (outcome, revised.version) == ("revised", 2)
    case = node.cases.case(case_id)
    assert (case.item_version, case.item.promised_limit_days) == (1, 5)
    assert node.catalogue.item("320000", "GA-0003", version=1).definition.promised_limit_days == 5
    again = node.catalogue.load(sample_catalogue(), "320000", JS_HANDLER)
    assert again.revised == 1  # back to the sample's values: one more version, nothing else changes
    assert again.unchanged == len(sample_catalogue()["items"]) - 1


def test_deadlines_across_spring_festival_2026(node: Services, clock: FakeClock) -> None:
    """Accepted Tuesday 2026-02-10: Saturday 02-14 is worked (调休), 02-15..02-23 are off, 02-28 worked."""
    clock.set_china_time("2026-02-10")  # received the day it is accepted: 第32条 counts from the receipt
    case_id = proxy_case(node, clock)
    promised, statutory = deadlines(node, node.cases.run(ACCEPT, case_id, JS_HANDLER))
    assert (str(promised.due_on), str(statutory.due_on)) == ("2026-02-24", "2026-03-16")
    clock.set_china_time("2026-02-20")  # in the holiday: four working days used (02-11 to 02-14)
    promised, _ = deadlines(node, node.cases.case(case_id))
    assert (promised.days_used, promised.days_left, promised.status) == (4, 1, "WARNING")


def test_a_supplement_lapsed_before_acceptance_waits_for_a_handlers_refusal(
    node: Services, clock: FakeClock
) -> None:
    """行政许可法 第32条, 第38条: given a supplement asked for before acceptance, when it lapses, then the
    timer records the lapse and the handling office refuses, with a reason (不予受理); the timer never
    does."""
    case_id = proxy_case(node, clock)
    case = node.cases.run(
        REQUEST_SUPPLEMENT, case_id, JS_HANDLER, missing=["M04"], reason="户口簿复印件不清晰"
    )
    assert case.open_supplement is not None
    clock.set_china_time(case.open_supplement["due_on"], hour=23)
    timer = DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)
    assert not timer.tick()
    clock.advance(hours=2)
    assert timer.tick() == {"SupplementLapsed": 1}
    case = node.cases.case(case_id)
    assert case.state == State.SUPPLEMENT_REQUESTED
    assert case.open_task is not None
    assert case.open_task["decision"] == "REFUSE"
    lapsed = node.cases.timeline(case_id)[-1]
    assert (lapsed.event, lapsed.province, lapsed.office_code) == ("SupplementLapsed", "320000", "SYSTEM")
    with pytest.raises(IllegalTransition, match="lapsed"):
        node.cases.run(PROVIDE_SUPPLEMENT, case_id, SH_WINDOW)
    case = node.cases.run(REFUSE, case_id, JS_HANDLER, **REFUSAL)
    assert (case.state, case.result, case.accepted_on) == (State.REFUSED, None, None)
    refused = node.cases.timeline(case_id)[-1]
    assert (refused.event, refused.office_code) == ("Refused", JS_HANDLER.office_code)


def test_no_extension_after_the_statutory_deadline(node: Services, clock: FakeClock) -> None:
    clock.set_china_time("2025-09-26")  # received the day it is accepted: 第32条 counts from the receipt
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)  # statutory due 2025-10-30
    clock.set_china_time("2025-10-31")
    with pytest.raises(IllegalTransition, match="overdue since 2025-10-30"):
        node.cases.run(EXTEND, case_id, JS_HANDLER, days=5, reason="补办手续", **EXTENSION_APPROVAL)
    promised, statutory = deadlines(node, node.cases.case(case_id))
    assert (promised.status, statutory.status) == ("OVERDUE", "OVERDUE")


def test_article_42_an_extension_leaves_the_promised_breach_and_an_old_one_still_shows_it(
    node: Services, clock: FakeClock
) -> None:
    """行政许可法第42条: given a case whose promised limit the timer found breached, when the head approves an
    extension, then only the statutory due date moves and the promised limit stays OVERDUE with its breach;
    and when an extension recorded before the rule (version 1: both limits) moved the promised due date past
    today, the recorded breach still shows: OVERDUE, then CONCLUDED_LATE."""
    clock.set_china_time("2025-09-26")  # received the day it is accepted: 第32条 counts from the receipt
    case_id = proxy_case(node, clock)
    node.cases.run(ACCEPT, case_id, JS_HANDLER)  # promised due 2025-10-10, statutory 2025-10-30
    timer = DeadlineTimer(node.app, node.timers, node.settings.timer_batch_events)
    clock.set_china_time("2025-10-11")
    assert "DeadlineBreached:PROMISED" in timer.tick()
    clock.set_china_time("2025-10-13")
    case = node.cases.run(EXTEND, case_id, JS_HANDLER, days=10, reason="需调取档案", **EXTENSION_APPROVAL)
    promised, statutory = deadlines(node, case)
    assert (str(promised.due_on), promised.status) == ("2025-10-10", "OVERDUE")
    assert promised.breach is not None
    assert (str(promised.breach.due_on), str(promised.breach.recorded_on)) == ("2025-10-10", "2025-10-11")
    assert (str(statutory.due_on), statutory.status, statutory.breach) == ("2025-11-13", "ON_TIME", None)

    # the same case as round 1 extended it: an Extended of version 1 moved the promised limit too
    clock.set_china_time("2025-09-26")  # received the day it is accepted: 第32条 counts from the receipt
    old = proxy_case(node, clock)
    node.cases.run(ACCEPT, old, JS_HANDLER)
    clock.set_china_time("2025-10-11")
    timer.tick()

    def old_extension(case: Case, at: datetime) -> None:
        state: dict[str, Any] = {"days": 10, "reason": "旧规则延期", **JS_HANDLER.event_fields()}
        Case.Extended.upcast_v1_v2(state)  # what round 1 wrote, as today's code reads it
        case._extended(**state, timestamp=at)

    clock.set_china_time("2025-10-13")
    promised, _ = deadlines(node, node.cases.record(old, old_extension))
    assert (str(promised.due_on), promised.status) == ("2025-10-23", "OVERDUE")  # moved, still breached
    approve(node, old, JS_HANDLER)
    promised, statutory = deadlines(node, node.cases.run(CONCLUDE, old, JS_HANDLER, result="ISSUED"))
    assert (promised.status, statutory.status) == ("CONCLUDED_LATE", "CONCLUDED_ON_TIME")


def test_a_certificate_of_someone_else_is_not_accepted_as_the_applicants(
    node: Services, clock: FakeClock
) -> None:
    clock.set_china_time("2025-09-26")  # received the day it is accepted: 第32条 counts from the receipt
    case_id = proxy_case(node, clock)
    other = {"service_item_code": None, **node_issue_body(4)}  # another 居民身份证, of another person
    assert other["type_name"] == "居民身份证"
    assert other["holder_id"] != APPLICANT["id_number"]
    identifier = node.certificates.issue(SH_WINDOW, **other).identifier
    node.cases.run(ACCEPT, case_id, JS_HANDLER)
    node.cases.run(REQUEST_SUPPLEMENT, case_id, JS_HANDLER, missing=["M02", "M04"], reason="重新提交")
    with pytest.raises(InvalidField, match="holder is not the applicant"):
        node.cases.run(
            ATTACH_MATERIAL,
            case_id,
            SH_WINDOW,
            material_code="M02",
            certificate_identifier=identifier,
            consent_reference=CONSENT,
        )


def test_a_bundle_material_reaches_every_item_case_or_none(node: Services, clock: FakeClock) -> None:
    bundle, filed = node.bundles.submit_bundle(
        SH_PLATFORM,
        bundle_province="310000",
        bundle_code="YJS-BIRTH",
        mode="FULL_ONLINE",
        applicant=APPLICANT,
    )
    node.cases.run(REFUSE, str(filed[-1].id), Actor("310000", "SH-HANDLE", "h-9"), **REFUSAL)
    before = node.app.recorder.max_notification_id()
    with pytest.raises(IllegalTransition):
        node.bundles.attach_to_bundle(
            str(bundle.id),
            SH_PLATFORM,
            material_key="types:11100000000013338W001",
            certificate_identifier=id_card(node),
            consent_reference=CONSENT,
        )
    # the certificate was issued (one event pair) but no item case got the material
    assert all(node.cases.case(str(c.id)).materials == {} for c in filed)
    # Issued + its number Claimed + holder index Opened + Added
    assert node.app.recorder.max_notification_id() == (before or 0) + 4


def test_filing_sees_a_new_item_version_at_once_here_and_within_its_window_from_elsewhere(
    node: Services, clock: FakeClock
) -> None:
    """Filing reads an item's current version at most every ``current_for_s``: a version this process
    publishes applies to its next filing; one another process publishes, once the window has passed."""
    proxy_case(node, clock)  # reads GA-0003 version 1 into this process's window
    fields = {
        **node.catalogue.item("320000", "GA-0003").definition.as_event_fields(),
        "promised_limit_days": 3,
    }
    fields.pop("handling_province")
    node.catalogue.publish_item("320000", fields, JS_HANDLER)  # published here: seen at once
    assert node.cases.case(proxy_case(node, clock)).item_version == 2
    elsewhere = CatalogueService(node.app, clock)  # another process's catalogue service on the same store
    elsewhere.publish_item("320000", {**fields, "promised_limit_days": 4}, JS_HANDLER)
    assert node.cases.case(proxy_case(node, clock)).item_version == 2  # still within the window
    node.catalogue._current_for_s = 0.0
    assert node.cases.case(proxy_case(node, clock)).item_version == 3


def test_a_bad_rating_goes_to_the_office_whose_service_was_rated_and_its_appeal_is_reviewed(
    node: Services, clock: FakeClock
) -> None:
    """好差评 (国办发〔2019〕51号) on a PROXY case received in Shanghai and handled in Jiangsu: a 差评 of the
    Shanghai window's own service (收件) is Shanghai's to rectify or appeal (谁办理谁负责); Shanghai's
    supervising body (政务服务管理机构) reviews the appeal and rejects it, so the rectification stays due
    until the window answers. A 差评 of the handling is Jiangsu's; its appeal upheld sets it aside. A rating
    of 3 to 5 is not appealed."""
    cases = node.cases
    sh_admin, js_admin = Actor("310000", "SH-ZWFW", "admin-1"), Actor("320000", "JS-ZWFW", "admin-2")

    def delivered() -> str:
        case_id = proxy_case(node, clock)
        cases.run(ACCEPT, case_id, JS_HANDLER)
        approve(node, case_id, JS_HANDLER)
        cases.run(CONCLUDE, case_id, JS_HANDLER, result="ISSUED")
        cases.run(DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="窗口领取")
        return case_id

    window = delivered()
    case = cases.run(RATE, window, SH_PLATFORM, score=2, channel="WINDOW", service="WINDOW", comment="排队久")
    assert (case.rated_service, case.rating_answered_by, case.rectification_open) == (
        "WINDOW",
        "310000",
        True,
    )
    with pytest.raises(IllegalTransition, match="rating of the service of province 310000"):
        cases.run(APPEAL_RATING, window, JS_HANDLER, reason="非本机关服务")
    cases.run(APPEAL_RATING, window, SH_WINDOW, reason="当日系统故障，已公告")
    case = cases.run(DECIDE_RATING_APPEAL, window, sh_admin, outcome="REJECTED", reason="等候超时属实")
    assert (case.appeal_outcome, case.rating_counts, case.rectification_open) == ("REJECTED", True, True)
    case = cases.run(RESPOND_TO_RECTIFICATION, window, SH_WINDOW, response="已整改：高峰时段增开窗口")
    assert case.rectification_open is False
    decided = cases.timeline(window)[-2]
    assert (decided.event, decided.province, decided.office_code, decided.operator_id) == (
        "RatingAppealDecided",
        "310000",
        "SH-ZWFW",
        "admin-1",
    )
    assert decided.detail == {"outcome": "REJECTED", "reason": "等候超时属实"}

    handling = delivered()
    cases.run(RATE, handling, SH_PLATFORM, score=1, channel="ONLINE")  # the handling, by default
    with pytest.raises(IllegalTransition):
        cases.run(RESPOND_TO_RECTIFICATION, handling, SH_WINDOW, response="已整改")
    cases.run(APPEAL_RATING, handling, JS_HANDLER, reason="超时系申请人补正所致")
    case = cases.run(DECIDE_RATING_APPEAL, handling, js_admin, outcome="UPHELD", reason="经核实，申诉成立")
    assert (case.appeal_outcome, case.rating_counts, case.rectification_open) == ("UPHELD", False, False)
    with pytest.raises(IllegalTransition, match="none is open"):
        cases.run(RESPOND_TO_RECTIFICATION, handling, JS_HANDLER, response="已整改")

    good = delivered()
    cases.run(RATE, good, SH_PLATFORM, score=4, channel="ONLINE")
    before = node.app.recorder.max_notification_id()
    with pytest.raises(IllegalTransition, match="only a 差评"):
        cases.run(APPEAL_RATING, good, JS_HANDLER, reason="评价不实")
    assert node.app.recorder.max_notification_id() == before
