"""上海市"一网通办"决定 第七条 in the aggregates: the certificate an item issues, declared in the catalogue;
the supplement notice that may not demand on paper what a valid local e-certificate satisfies; the
certificate's link to its case and its paper counterpart."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

import pytest

from aggregates.catalogue import IssuedCertificateType, ItemDefinition
from aggregates.certificate import Certificate
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from simulators.sample_data import credit_code
from tests.builders import ACTOR, issued, item
from tests.unit.test_case import ID_CARD, NOTICE_DUE, SH_WINDOW, later, submitted

ISSUES: dict[str, Any] = {
    "type_code": "111000000000130123001",
    "type_name": "结婚证",
    "definer": "民政部",
    "issuer_name": "江苏省示例婚姻登记处",
    "issuer_code": credit_code("320000", 77),
    "validity_years": None,
    "paper_counterpart": True,
}


def test_an_item_names_the_certificate_it_issues_and_reads_back_as_recorded() -> None:
    defined = item(certificate=ISSUES)
    assert defined.certificate == IssuedCertificateType(**ISSUES)
    recorded = defined.as_event_fields()
    assert recorded["certificate"] == ISSUES
    assert ItemDefinition.from_event_fields(recorded) == defined


def test_an_item_without_one_is_recorded_as_items_always_were_and_issues_none() -> None:
    plain = item()
    recorded = plain.as_event_fields()
    assert "certificate" not in recorded  # an item republished unchanged is no new version
    assert ItemDefinition.from_event_fields(recorded).certificate is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type_code": "11100000000013012300"}, "certificate/type_code"),
        ({"issuer_code": "91310000000000000X"}, "certificate/issuer_code"),
        ({"type_name": " "}, "certificate/type_name"),
        ({"validity_years": 0}, "certificate/validity_years"),
        ({"validity_years": 101}, "certificate/validity_years"),
        ({"validity_years": True}, "certificate/validity_years"),
        ({"paper_counterpart": "yes"}, "certificate/paper_counterpart"),
    ],
)
def test_the_certificate_an_item_issues_is_validated(change: dict[str, Any], field: str) -> None:
    with pytest.raises(InvalidField) as refused:
        item(certificate={**ISSUES, **change})
    assert refused.value.field == field


def test_a_notice_may_not_demand_on_paper_what_a_valid_local_certificate_satisfies() -> None:
    case = submitted()
    case.attach_material("M02", SH_WINDOW, later(), file_digest="sha256:" + "a" * 64)
    case.receive("SJ1", SH_WINDOW, later())
    case.collect_events()
    exempt = {"M01": ID_CARD}
    with pytest.raises(InvalidField) as refused:
        case.request_supplement(
            ["M01", "M02"], "材料不全", date(2026, 3, 20), SH_WINDOW, later(), NOTICE_DUE, exempt
        )
    assert (refused.value.field, ID_CARD in refused.value.message) == ("missing", True)
    assert case.collect_events() == []
    # 一次性告知 lists every missing material but the ones a certificate satisfies: the office takes those
    case.request_supplement(
        ["M02"], "户口簿复印件不清晰", date(2026, 3, 20), SH_WINDOW, later(), NOTICE_DUE, exempt
    )
    assert case.open_supplement is not None
    assert case.open_supplement["missing"] == ["M02"]


def test_without_such_a_certificate_the_notice_lists_every_missing_material() -> None:
    case = submitted()
    case.receive("SJ1", SH_WINDOW, later())
    with pytest.raises(InvalidField, match="ALL missing"):
        case.request_supplement(["M02"], "缺少材料", date(2026, 3, 20), SH_WINDOW, later(), NOTICE_DUE, {})
    case.request_supplement(["M01", "M02"], "缺少材料", date(2026, 3, 20), SH_WINDOW, later(), NOTICE_DUE, {})


def test_a_certificate_is_linked_to_its_case_once_with_its_paper_counterparts_digest() -> None:
    certificate = issued()
    certificate.link_case("310000202603020001", paper_counterpart=True, actor=ACTOR, at=later())
    assert certificate.case_reference == "310000202603020001"
    expected = "sha256:" + hashlib.sha256(certificate.content.signing_payload()).hexdigest()
    assert certificate.paper_counterpart_digest == expected
    [_, linked] = certificate.collect_events()
    assert isinstance(linked, Certificate.IssuedForCase)
    assert (linked.case_reference, linked.paper_counterpart_digest) == ("310000202603020001", expected)
    with pytest.raises(IllegalTransition):
        certificate.link_case("310000202603020002", paper_counterpart=False, actor=ACTOR, at=later())


def test_only_a_certificate_as_issued_is_linked_and_without_paper_no_digest() -> None:
    changed = issued()
    changed.change_status("suspend", reason="暂扣", actor=ACTOR, at=later())
    with pytest.raises(IllegalTransition):
        changed.link_case("310000202603020001", paper_counterpart=True, actor=ACTOR, at=later())
    plain = issued()
    plain.link_case(
        "310000202603020001", paper_counterpart=False, actor=Actor("310000", "O", "p"), at=later()
    )
    assert plain.paper_counterpart_digest is None


LAW = ["《某某法》第十条"]


def test_a_material_may_name_the_law_that_requires_its_paper_original() -> None:
    materials = [
        {
            "code": "M01",
            "name": "居民身份证",
            "substitutes": ["11100000000013338W001"],
            "paper_required_by": LAW,
        },
        {"code": "M02", "name": "户口簿", "substitutes": []},
    ]
    defined = item(materials=materials)
    recorded = defined.as_event_fields()
    assert recorded["materials"][0]["paper_required_by"] == LAW
    assert "paper_required_by" not in recorded["materials"][1]  # as materials were always recorded
    assert ItemDefinition.from_event_fields(recorded) == defined
    first = defined.material("M01")
    assert first is not None
    assert first.paper_required_by == tuple(LAW)
    with pytest.raises(InvalidField) as refused:
        item(materials=[{**materials[0], "paper_required_by": []}])
    assert refused.value.field == "materials/0/paper_required_by"
