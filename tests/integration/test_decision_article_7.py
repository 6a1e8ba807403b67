"""上海市"一网通办"决定 第七条 in cases, on both stores with an injected clock: a material a valid local
electronic certificate of the applicant satisfies is not demanded on paper; a case concluded ISSUED issues the
certificate its item defines, once, linked to the case, with its paper counterpart recorded."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest

from aggregates.case import State
from aggregates.certificate import Certificate
from aggregates.errors import InvalidField
from aggregates.responsibility import Actor
from node.services import Services
from node.store.application import AlreadyExists
from node.store.idempotency import Idempotency
from node.usecases.case_commands import ACCEPT, ATTACH_MATERIAL, CONCLUDE, RECORD_REVIEW, REQUEST_SUPPLEMENT
from simulators.sample_data import credit_code
from tests.builders import FakeClock, issue_fields, review_calls

SH_ADMIN = Actor("310000", "SH-ZWFW", "admin-1")
SH_PLATFORM = Actor("310000", "SH-YWTB", "app")
SH_HANDLER = Actor("310000", "SH-MZ-01", "h-001")
SH_ISSUER = Actor("310000", "SH-GA-01", "i-001")
ID_CARD_TYPE = "11100000000013338W001"
MARRIAGE_TYPE = "111000000000130123001"
ISSUER_CODE = credit_code("310000", 4242)
ID_CARD = issue_fields(0, issued_on=date(2025, 1, 2))
APPLICANT = {"name": ID_CARD["holder_name"], "id_type": "111", "id_number": ID_CARD["holder_id"]}


def item_fields(
    *,
    paper_counterpart: bool = True,
    validity_years: int | None = None,
    paper_required_by: list[str] | None = None,
) -> dict[str, Any]:
    """A Shanghai item whose cases concluded ISSUED issue a 结婚证; an ID card certificate replaces M01."""
    return {
        "code": "MZ-T01",
        "name": "结婚登记（测试）",
        "department": "上海市民政局",
        "modes": ["FULL_ONLINE"],
        "materials": [
            {
                "code": "M01",
                "name": "居民身份证",
                "substitutes": [ID_CARD_TYPE],
                "required": True,
                "paper_required_by": paper_required_by,
            },
            {"code": "M02", "name": "申请结婚登记声明书", "substitutes": [], "required": True},
        ],
        "statutory_limit_days": 20,
        "promised_limit_days": 5,
        "supplement_days": 10,
        "extension_days": 10,
        "fee_fen": 0,
        "joint_parts": [],
        "certificate": {
            "type_code": MARRIAGE_TYPE,
            "type_name": "结婚证",
            "definer": "民政部",
            "issuer_name": "上海市示例婚姻登记处",
            "issuer_code": ISSUER_CODE,
            "validity_years": validity_years,
            "paper_counterpart": paper_counterpart,
        },
    }


def publish_item(
    node: Services,
    *,
    paper_counterpart: bool = True,
    validity_years: int | None = None,
    paper_required_by: list[str] | None = None,
) -> None:
    fields = item_fields(
        paper_counterpart=paper_counterpart,
        validity_years=validity_years,
        paper_required_by=paper_required_by,
    )
    node.catalogue.publish_item("310000", fields, SH_ADMIN)


def filed_case(node: Services) -> str:
    case = node.cases.submit(
        SH_PLATFORM, item_province="310000", item_code="MZ-T01", mode="FULL_ONLINE", applicant=APPLICANT
    )
    case_id = str(case.id)
    node.cases.run(
        ATTACH_MATERIAL, case_id, SH_PLATFORM, material_code="M02", file_digest="sha256:" + "2" * 64
    )
    return case_id


def events(node: Services) -> int:
    return node.app.recorder.max_notification_id() or 0


def test_a_material_the_applicants_valid_local_certificate_satisfies_is_not_demanded_on_paper(
    node: Services, clock: FakeClock
) -> None:
    publish_item(node)
    card = node.certificates.issue(SH_ISSUER, **ID_CARD).identifier
    case_id = filed_case(node)
    before = events(node)
    with pytest.raises(InvalidField) as refused:
        node.cases.run(REQUEST_SUPPLEMENT, case_id, SH_HANDLER, missing=["M01", "M02"], reason="材料不全")
    assert refused.value.field == "missing"
    assert card in refused.value.message
    assert "第七条" in refused.value.message
    assert APPLICANT["name"] not in str(refused.value)
    assert APPLICANT["id_number"] not in str(refused.value)
    assert events(node) == before  # nothing written
    # the one notice need not list the material the certificate satisfies: the office takes the certificate
    case = node.cases.run(REQUEST_SUPPLEMENT, case_id, SH_HANDLER, missing=["M02"], reason="声明书未签名")
    assert case.state is State.SUPPLEMENT_REQUESTED


@pytest.mark.parametrize("lapse", ["revoked", "expired"])
def test_a_certificate_no_longer_valid_exempts_nothing(node: Services, clock: FakeClock, lapse: str) -> None:
    publish_item(node)
    if lapse == "revoked":
        card = node.certificates.issue(SH_ISSUER, **ID_CARD).identifier
        node.certificates.change_status(card, "revoke", SH_ISSUER, reason="吊销")
    else:  # valid until the day before the notice, in China
        node.certificates.issue(SH_ISSUER, **{**ID_CARD, "valid_to": "2025-09-23"})
    case_id = filed_case(node)
    case = node.cases.run(REQUEST_SUPPLEMENT, case_id, SH_HANDLER, missing=["M01"], reason="缺身份证")
    assert case.open_supplement is not None
    assert case.open_supplement["missing"] == ["M01"]


def test_a_law_requiring_the_paper_original_keeps_it_demandable(node: Services, clock: FakeClock) -> None:
    """决定 第七条: 法律、行政法规另有规定的除外."""
    publish_item(node, paper_required_by=["《某某法》第十条"])
    node.certificates.issue(SH_ISSUER, **ID_CARD)
    case_id = filed_case(node)
    case = node.cases.run(
        REQUEST_SUPPLEMENT, case_id, SH_HANDLER, missing=["M01"], reason="须提交实体证照原件"
    )
    assert case.state is State.SUPPLEMENT_REQUESTED


def concluded(node: Services, case_id: str, request: Idempotency | None = None) -> Any:
    node.cases.run(
        ATTACH_MATERIAL, case_id, SH_PLATFORM, material_code="M01", file_digest="sha256:" + "1" * 64
    )
    node.cases.run(ACCEPT, case_id, SH_HANDLER)
    for step, officer, extra in review_calls(SH_HANDLER):
        node.cases.run(RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)
    return node.cases.run(CONCLUDE, case_id, SH_HANDLER, request, result="ISSUED")


def test_a_case_concluded_issued_issues_its_certificate_with_the_paper_counterpart(
    node: Services, clock: FakeClock
) -> None:
    publish_item(node, validity_years=None)
    case_id = filed_case(node)
    clock.set_china_time("2025-09-25", hour=23)  # 15:00 UTC: the issue date is the day in China
    case = concluded(node, case_id)
    [certificate] = node.certificates.holder_certificates("111", APPLICANT["id_number"])
    content = certificate.content
    assert (content.type_code, content.type_name, content.definer) == (MARRIAGE_TYPE, "结婚证", "民政部")
    assert (content.issuer_code, content.jurisdiction_code) == (ISSUER_CODE, "310000")
    assert (content.issue_date, content.valid_from, content.valid_to) == ("2025-09-25", "2025-09-25", None)
    assert (content.holder_name, content.holder_id) == (APPLICANT["name"], APPLICANT["id_number"])
    assert (content.service_item_code, content.number) == ("MZ-T01", case.case_no)
    assert certificate.case_reference == case.case_no
    assert certificate.paper_counterpart_digest == (
        "sha256:" + hashlib.sha256(content.signing_payload()).hexdigest()
    )
    assert node.certificates.verify(certificate.identifier).assertion["authentic"] is True
    assert [e.event for e in node.certificates.history(certificate.identifier)] == ["Issued", "IssuedForCase"]
    assert (certificate.province, certificate.created_on) == ("310000", clock.now)


def test_the_certificate_lasts_its_types_years_and_a_type_without_paper_records_none(
    node: Services, clock: FakeClock
) -> None:
    publish_item(node, paper_counterpart=False, validity_years=3)
    clock.set_china_time("2028-02-29")
    case = concluded(node, filed_case(node))
    [certificate] = node.certificates.holder_certificates("111", APPLICANT["id_number"])
    assert (certificate.content.valid_to, certificate.paper_counterpart_digest) == ("2031-02-28", None)
    assert certificate.case_reference == case.case_no


def test_the_certificate_is_issued_once_across_retries(node: Services, clock: FakeClock) -> None:
    publish_item(node)
    case_id = filed_case(node)
    request = Idempotency.for_request("conclude", SH_HANDLER, "conclude-retry-1", {"result": "ISSUED"})
    concluded(node, case_id, request)
    again = node.cases.run(CONCLUDE, case_id, SH_HANDLER, request, result="ISSUED")  # the answer was lost
    assert again.state is State.CONCLUDED
    [certificate] = node.certificates.holder_certificates("111", APPLICANT["id_number"])
    # the identifier and the number derive from the case: issuing it again is a conflict, never a second one
    case = node.cases.case(case_id)
    with pytest.raises(AlreadyExists, match="证照编号"):
        node.certificates.issued_for_case(
            certificate.content,
            case_reference=case.case_no,
            paper_counterpart=True,
            actor=SH_HANDLER,
            at=clock.now,
        )


def test_a_crash_before_the_record_leaves_neither_conclusion_nor_certificate(
    node: Services, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish_item(node)
    case_id = filed_case(node)
    save = node.app.save

    def crash(*aggregates: Any, **kwargs: Any) -> Any:
        if any(isinstance(a, Certificate) for a in aggregates):
            raise ConnectionError("the store went away")
        return save(*aggregates, **kwargs)

    monkeypatch.setattr(node.app, "save", crash)
    with pytest.raises(ConnectionError):
        concluded(node, case_id)
    assert node.cases.case(case_id).state is State.ACCEPTED
    assert node.certificates.holder_certificates("111", APPLICANT["id_number"]) == []
    monkeypatch.setattr(node.app, "save", save)
    case = node.cases.run(CONCLUDE, case_id, SH_HANDLER, result="ISSUED")
    assert case.state is State.CONCLUDED
    assert len(node.certificates.holder_certificates("111", APPLICANT["id_number"])) == 1


def test_other_results_and_items_without_a_certificate_issue_none(node: Services, clock: FakeClock) -> None:
    publish_item(node)
    case_id = filed_case(node)
    node.cases.run(
        ATTACH_MATERIAL, case_id, SH_PLATFORM, material_code="M01", file_digest="sha256:" + "1" * 64
    )
    node.cases.run(ACCEPT, case_id, SH_HANDLER)
    node.cases.run(CONCLUDE, case_id, SH_HANDLER, result="RETURNED")
    assert node.certificates.holder_certificates("111", APPLICANT["id_number"]) == []


def test_only_the_handling_provinces_node_issues_the_certificate(node: Services, clock: FakeClock) -> None:
    """A node that records a case of another province's item (here: no federation, so it writes every case)
    issues no certificate for it: the certificate is the handling province's, issued on its node."""
    js_admin, js_handler = Actor("320000", "JS-ZWFW", "admin-2"), Actor("320000", "JS-MZ-01", "h-002")
    fields = item_fields()
    fields["certificate"] = {**fields["certificate"], "issuer_code": credit_code("320000", 4242)}
    node.catalogue.publish_item("320000", fields, js_admin)
    js_platform = Actor("320000", "JS-YWTB", "app")
    case = node.cases.submit(
        js_platform,
        item_province="320000",
        item_code="MZ-T01",
        mode="FULL_ONLINE",
        applicant=APPLICANT,
    )
    case_id = str(case.id)
    for code in ("M01", "M02"):
        node.cases.run(
            ATTACH_MATERIAL, case_id, js_platform, material_code=code, file_digest="sha256:" + "1" * 64
        )
    node.cases.run(ACCEPT, case_id, js_handler)
    for step, officer, extra in review_calls(js_handler):
        node.cases.run(RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)
    assert node.cases.run(CONCLUDE, case_id, js_handler, result="ISSUED").state is State.CONCLUDED
    assert node.certificates.holder_certificates("111", APPLICANT["id_number"]) == []
