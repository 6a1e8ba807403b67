"""Written notices (文书): each decision is documented once, in Chinese, with the remedies the law requires
(行政许可法 第32条, 第38条, 第42条), stored as rendered, hashed and signed by the node; a later template
never touches a notice issued."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from jinja2 import FileSystemLoader

from aggregates.case import Case
from aggregates.notice import NoticeKind, sha256_hex
from node.services import Services
from node.signing import unb64
from node.store.idempotency import Idempotency
from node.usecases import case_commands as cc
from node.usecases.cases import CaseService
from node.usecases.notices import NoticeIssuer, NoticeTemplates
from tests.builders import (
    DENIAL,
    EXTENSION_APPROVAL,
    REFUSAL,
    SUPPLEMENT_TIMEOUT_DECISION,
    FakeClock,
    review_calls,
)
from tests.conftest import Keys
from tests.unit.usecases.test_cases import APPLICANT, DIGEST, JS_HANDLER, SH_WINDOW, forwarded_proxy

TEMPLATES = Path(__file__).resolve().parents[3] / "node" / "usecases" / "notice_templates"


def accepted(node: Services) -> str:
    case_id = forwarded_proxy(node)
    node.cases.run(cc.ACCEPT, case_id, JS_HANDLER, number="SL000000000001")
    return case_id


def approved(node: Services) -> str:
    case_id = accepted(node)
    for step, officer, extra in review_calls(JS_HANDLER):
        node.cases.run(cc.RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)
    return case_id


def issued(node: Services, case_id: str) -> list[Case.NoticeIssued]:
    return [node.cases.notice(case_id, n["notice_no"]) for n in node.cases.notices(case_id)]


def assert_no_personal_data(content: str) -> None:
    assert APPLICANT["name"] not in content
    assert APPLICANT["id_number"] not in content


def test_acceptance_is_documented_by_an_acceptance_notice_recorded_with_it_article_32(node: Services) -> None:
    # given a case forwarded to the handling province, when it is accepted
    case_id = accepted(node)
    # then one 受理通知书 documents the acceptance, recorded just before it in the same record
    case = node.cases.case(case_id)
    [notice] = issued(node, case_id)
    timeline = node.cases.timeline(case_id)
    documented = next(e for e in timeline if e.version == notice.documents_version)
    assert (notice.kind, notice.documents_event, documented.event) == ("ACCEPTANCE", "Accepted", "Accepted")
    assert notice.originator_version == notice.documents_version - 1
    assert notice.timestamp == documented.at
    assert notice.notice_no == f"{case.case_no}-ACCEPTANCE-1"
    assert "受理通知书" in notice.content
    assert f"申请人（办件编号 {case.case_no}）" in notice.content
    assert "SL000000000001" in notice.content
    assert case.item.name in notice.content
    assert (notice.province, notice.office_code, notice.operator_id) == ("320000", "JS-GA-01", "h-001")
    assert_no_personal_data(notice.content)


def test_a_refusal_states_reason_basis_and_remedies_with_their_limits_article_38(node: Services) -> None:
    # given a forwarded case, when the handling province refuses it as a reasoned decision
    case_id = forwarded_proxy(node)
    node.cases.run(cc.REFUSE, case_id, JS_HANDLER, **REFUSAL)
    # then the 不予受理决定书 states the reason, the basis and both remedies with the limits the law sets
    [notice] = issued(node, case_id)
    assert notice.kind == NoticeKind.REFUSAL
    for text in (
        "不予受理决定书",
        REFUSAL["reason"],
        REFUSAL["legal_basis"][0],
        "江苏省人民政府",
        "60日内",
        "申请行政复议",
        "南京市中级人民法院",
        "6个月内",
        "提起行政诉讼",
        "《中华人民共和国行政复议法》第二十条",
        "《中华人民共和国行政诉讼法》第四十六条",
    ):
        assert text in notice.content, text
    assert "请向" not in notice.content  # no competent agency named: the ground is not competence
    assert_no_personal_data(notice.content)


def test_outside_competence_the_refusal_names_the_competent_agency_article_32(node: Services) -> None:
    case_id = forwarded_proxy(node)
    agency = "上海市公安局<徐汇分局>"
    outside = REFUSAL | {"ground": "OUTSIDE_COMPETENCE", "competent_agency": agency}
    node.cases.run(cc.REFUSE, case_id, JS_HANDLER, **outside)
    [notice] = issued(node, case_id)
    assert "不属于本行政机关职权范围" in notice.content
    # what an officer typed is text in the document, never markup (autoescape)
    assert "请向上海市公安局&lt;徐汇分局&gt;申请" in notice.content


def test_a_supplement_request_lists_every_missing_material_at_once_article_32(node: Services) -> None:
    case_id = forwarded_proxy(node)
    node.cases.run(cc.REQUEST_SUPPLEMENT, case_id, JS_HANDLER, missing=["M02", "M04"], reason="复印件不清晰")
    [notice] = issued(node, case_id)
    case = node.cases.case(case_id)
    names = [m.name for m in case.item.materials if m.code in ("M02", "M04")]
    assert notice.kind == NoticeKind.SUPPLEMENT
    assert all(f"<li>{name}</li>" in notice.content for name in names)
    assert "一次性告知" in notice.content
    assert "复印件不清晰" in notice.content


def test_an_extension_is_told_with_its_reason_and_approval_article_42(node: Services) -> None:
    case_id = accepted(node)
    node.cases.run(cc.EXTEND, case_id, JS_HANDLER, days=10, reason="需要实地核查", **EXTENSION_APPROVAL)
    notices = issued(node, case_id)
    assert [n.kind for n in notices] == ["ACCEPTANCE", "EXTENSION"]
    extension = notices[1].content
    for text in ("延期告知书", "延长10个工作日", "需要实地核查", "局长", "苏公延告〔2025〕1号", "第四十二条"):
        assert text in extension, text


@pytest.mark.parametrize(
    ("arguments", "kind", "texts"),
    [
        ({"result": "ISSUED"}, "PERMISSION", ("准予行政许可决定书", "第三十八条第一款", "十日内")),
        (
            {"result": "DENIED", **DENIAL},
            "DENIAL",
            ("不予行政许可决定书", DENIAL["reason"], "60日内", "6个月内", "南京市中级人民法院"),
        ),
    ],
)
def test_a_permission_decision_is_documented_granted_or_denied_article_38(
    node: Services, arguments: dict[str, Any], kind: str, texts: tuple[str, ...]
) -> None:
    case_id = approved(node)
    node.cases.run(cc.CONCLUDE, case_id, JS_HANDLER, **arguments)
    notices = issued(node, case_id)
    assert [n.kind for n in notices] == ["ACCEPTANCE", kind]
    assert all(text in notices[1].content for text in texts)
    assert_no_personal_data(notices[1].content)


def test_a_result_that_decides_no_permission_takes_no_notice(node: Services) -> None:
    """退回 is no decision on the permission (行政许可法 第38条 names 准予 and 不予 only)."""
    case_id = accepted(node)
    node.cases.run(cc.CONCLUDE, case_id, JS_HANDLER, result="RETURNED")
    assert [n["kind"] for n in node.cases.notices(case_id)] == ["ACCEPTANCE"]


def test_steps_that_decide_nothing_take_no_notice(node: Services) -> None:
    case_id = forwarded_proxy(node)
    assert node.cases.notices(case_id) == ()
    assert "NoticeIssued" not in [e.event for e in node.cases.timeline(case_id)]


def test_the_stored_bytes_hash_and_verify_with_the_nodes_public_key(node: Services, keys: Keys) -> None:
    case_id = forwarded_proxy(node)
    node.cases.run(cc.REFUSE, case_id, JS_HANDLER, **REFUSAL)
    [notice] = issued(node, case_id)
    body = notice.content.encode("utf-8")
    assert notice.sha256 == sha256_hex(notice.content)
    public_key = keys.node_signer.public_key()
    assert notice.key_id == public_key.key_id
    assert public_key.verify(body, unb64(notice.signature))
    assert not public_key.verify(body + b" ", unb64(notice.signature))


def test_a_changed_template_renders_new_notices_and_leaves_issued_ones_as_they_were(
    node: Services, keys: Keys, tmp_path: Path
) -> None:
    # given a refusal documented under the shipped template
    first = forwarded_proxy(node)
    node.cases.run(cc.REFUSE, first, JS_HANDLER, **REFUSAL)
    [before] = issued(node, first)
    # when the operator changes the template and the node decides again
    changed = tmp_path / "templates"
    shutil.copytree(TEMPLATES, changed)
    refusal = changed / "refusal.html.j2"
    refusal.write_text(refusal.read_text().replace("理由：", "不予受理的理由："))
    cases = CaseService(
        node.app,
        catalogue=node.catalogue,
        certificates=node.certificates,
        calendars=node.cases.calendars,
        province="310000",
        clock=node.cases.now,
        notices=NoticeIssuer(keys.node_signer, NoticeTemplates(FileSystemLoader(changed))),
    )
    second = forwarded_proxy(node)
    cases.run(cc.REFUSE, second, JS_HANDLER, **REFUSAL)
    # then the new notice follows the new template, under another template version
    [after] = issued(node, second)
    assert "不予受理的理由：" in after.content
    assert after.template == before.template
    assert after.template_version != before.template_version
    # and the notice issued before reads as it was stored, its signature still valid
    [again] = [cases.notice(first, n["notice_no"]) for n in cases.notices(first)]
    assert (again.content, again.sha256, again.signature) == (before.content, before.sha256, before.signature)
    assert "不予受理的理由：" not in again.content
    assert keys.node_signer.public_key().verify(again.content.encode("utf-8"), unb64(again.signature))


class Unrenderable(NoticeTemplates):
    def render(self, kind: NoticeKind, context: dict[str, Any]) -> tuple[str, str, str]:
        raise AssertionError("a notice is rendered once, when its decision is recorded")


def test_reading_a_case_never_renders_again(node: Services, keys: Keys) -> None:
    # given a refused case
    case_id = forwarded_proxy(node)
    node.cases.run(cc.REFUSE, case_id, JS_HANDLER, **REFUSAL)
    [stored] = issued(node, case_id)
    # when a service whose templates cannot render replays it: the case, its timeline and its notices
    cases = CaseService(
        node.app,
        catalogue=node.catalogue,
        certificates=node.certificates,
        calendars=node.cases.calendars,
        province="310000",
        clock=node.cases.now,
        notices=NoticeIssuer(keys.node_signer, Unrenderable()),
    )
    cases.timeline(case_id)
    # then they read what was stored
    assert cases.case(case_id).notices == node.cases.case(case_id).notices
    assert cases.notice(case_id, stored.notice_no).content == stored.content


def test_a_retried_decision_records_its_notice_once(node: Services) -> None:
    """A forwarded command's retry (its answer lost) changes nothing more: no second notice."""
    case_id = forwarded_proxy(node)
    request = Idempotency.for_request("forwarded", JS_HANDLER, "retry-0001", {"n": 1})
    node.cases.run(cc.ACCEPT, case_id, JS_HANDLER, request=request, number="SL1")
    node.cases.run(cc.ACCEPT, case_id, JS_HANDLER, request=request, number="SL1")
    assert [n["kind"] for n in node.cases.notices(case_id)] == ["ACCEPTANCE"]


def test_the_timeline_lists_the_notice_by_kind_and_number_without_its_text(node: Services) -> None:
    case_id = accepted(node)
    [entry] = [e for e in node.cases.timeline(case_id) if e.event == "NoticeIssued"]
    [listed] = node.cases.notices(case_id)
    assert (entry.detail["kind"], entry.detail["notice_no"]) == ("ACCEPTANCE", listed["notice_no"])
    assert "content" not in entry.detail


def test_a_second_supplement_notice_gets_the_next_number(node: Services, clock: FakeClock) -> None:
    case_id = accepted(node)
    for round_ in (1, 2):
        node.cases.run(cc.REQUEST_SUPPLEMENT, case_id, JS_HANDLER, missing=["M04"], reason=f"第{round_}次")
        node.cases.run(cc.ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M04", file_digest=DIGEST)
        node.cases.run(cc.PROVIDE_SUPPLEMENT, case_id, SH_WINDOW)
        clock.advance(hours=1)
    numbers = [n["notice_no"] for n in node.cases.notices(case_id) if n["kind"] == "SUPPLEMENT"]
    assert [n.rsplit("-", 1)[1] for n in numbers] == ["1", "2"]


def test_every_kind_of_notice_has_its_template_in_the_package() -> None:
    """The templates ship as package data (``node/usecases/notice_templates``): each kind finds its own."""
    templates = NoticeTemplates()
    versions = {kind: templates.version(f"{kind.value.lower()}.html.j2") for kind in NoticeKind}
    assert len(set(versions.values())) == len(NoticeKind)


def test_the_notice_states_the_acceptance_number_the_case_records_article_32(node: Services) -> None:
    """A number the node draws (no ``number`` given) is drawn once: the 受理通知书 names the one recorded."""
    case_id = forwarded_proxy(node)
    case = node.cases.run(cc.ACCEPT, case_id, JS_HANDLER)
    [notice] = issued(node, case_id)
    assert case.acceptance_no is not None
    assert f"受理编号：{case.acceptance_no}" in notice.content


def test_a_handlers_supplement_timeout_is_a_reasoned_written_decision_article_38(
    node: Services, clock: FakeClock
) -> None:
    """第38条: given an accepted case whose supplement lapsed (the timer records the lapse and decides
    nothing), when a handler concludes SUPPLEMENT_TIMEOUT with reasons, then its decision is documented by a
    补正逾期驳回决定书 stating the reason, the basis and the remedies with their limits."""
    case_id = accepted(node)
    node.cases.run(cc.REQUEST_SUPPLEMENT, case_id, JS_HANDLER, missing=["M04"], reason="户口簿页缺失")
    clock.advance(days=30)
    assert "SupplementLapsed" in node.timers.check_timers(case_id)
    assert [n["kind"] for n in node.cases.notices(case_id)] == ["ACCEPTANCE", "SUPPLEMENT"]
    node.cases.run(cc.CONCLUDE, case_id, JS_HANDLER, **SUPPLEMENT_TIMEOUT_DECISION)
    last = issued(node, case_id)[-1]
    assert last.kind == "SUPPLEMENT_TIMEOUT"
    texts = ("补正逾期驳回决定书", SUPPLEMENT_TIMEOUT_DECISION["reason"], "60日内", "6个月内")
    assert all(text in last.content for text in texts)
    assert_no_personal_data(last.content)
