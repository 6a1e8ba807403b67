"""The written notice (文书) as the case records it: ``Case.NoticeIssued``, given/when/then over events.

A notice documents the decision recorded right after it (行政许可法 第32条 受理/不予受理/补正, 第38条
准予/不予许可, 第42条 延期); it is recorded by the case's writer, once per number, and its digest is its
content's."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from aggregates.case import Case
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.notice import SignedNotice, sha256_hex
from tests.unit.test_case import JS_HANDLER, SH_WINDOW, forwarded, later

CONTENT = "<p>受理通知书</p>"


def signed(case: Case, **overrides: Any) -> SignedNotice:
    fields: dict[str, Any] = {
        "kind": "ACCEPTANCE",
        "notice_no": f"{case.case_no}-ACCEPTANCE-1",
        "documents_version": case.version + 2,
        "documents_event": "Accepted",
        "media_type": "text/html; charset=utf-8",
        "template": "acceptance.html.j2",
        "template_version": "0123456789abcdef",
        "content": CONTENT,
        "sha256": sha256_hex(CONTENT),
        "signature": "c2lnbmF0dXJl",
        "signature_algorithm": "Ed25519",
        "key_id": "0011223344556677",
    }
    return SignedNotice(**(fields | overrides))


def test_the_writer_issues_a_notice_for_the_decision_recorded_after_it_article_32() -> None:
    # given a case forwarded to its handling province
    case = forwarded()
    case.collect_events()
    # when the handling province issues the 受理通知书, then accepts
    case.issue_notice(signed(case), JS_HANDLER, later(1))
    case.accept("SL1", JS_HANDLER, later(1))
    # then the notice precedes the acceptance it documents, and the case lists it
    notice, accepted = case.collect_events()
    assert isinstance(notice, Case.NoticeIssued)
    assert isinstance(accepted, Case.Accepted)
    assert notice.documents_version == accepted.originator_version
    assert [(n["kind"], n["version"], n["sha256"]) for n in case.notices] == [
        ("ACCEPTANCE", notice.originator_version, sha256_hex(CONTENT))
    ]


def test_only_the_writer_issues_a_notice() -> None:
    # given a case the handling province writes; when the receiving window issues a notice; then refused
    case = forwarded()
    with pytest.raises(IllegalTransition):
        case.issue_notice(signed(case), SH_WINDOW, later(1))


def test_a_notice_number_is_issued_once() -> None:
    # given a case with a notice issued
    case = forwarded()
    case.issue_notice(signed(case), JS_HANDLER, later(1))
    case.accept("SL1", JS_HANDLER, later(1))
    # when the same number is issued again; then refused
    with pytest.raises(IllegalTransition, match="issued"):
        case.issue_notice(signed(case), JS_HANDLER, later(1))


def test_a_notice_documents_an_event_still_to_come_never_one_recorded() -> None:
    case = forwarded()
    with pytest.raises(InvalidField, match="documents_version"):
        case.issue_notice(signed(case, documents_version=case.version), JS_HANDLER, later(1))


def test_a_notice_whose_digest_is_not_its_contents_is_refused() -> None:
    case = forwarded()
    with pytest.raises(InvalidField, match="sha256"):
        signed(case, sha256="0" * 64)
    with pytest.raises(InvalidField, match="kind"):
        signed(case, kind="LETTER")
    with pytest.raises(InvalidField, match="notice_no"):
        replace(signed(case), notice_no="no/slash")
    with pytest.raises(InvalidField, match="signature"):
        signed(case, signature="")
