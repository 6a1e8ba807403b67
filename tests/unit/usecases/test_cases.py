"""CaseService over an in-memory store, on the injected clock: filing, the declared commands in order and
out of order, certificates as materials, queries, and forwarding to the writing province."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from aggregates.case import State
from aggregates.clock import china_date
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from node.services import Services
from node.store.application import NotFound
from node.store.idempotency import Idempotency, IdempotencyKeyReused
from node.usecases import case_commands as cc
from node.usecases.cases import CaseService
from tests.builders import CONSENT, REFUSAL, FakeClock, day_by_day, issue_fields, review_calls

SH_WINDOW = Actor("310000", "SH-WIN-01", "w-001")
SH_PLATFORM = Actor("310000", "SH-YWTB", "app")
JS_HANDLER = Actor("320000", "JS-GA-01", "h-001")
ISSUED_ON = date(2025, 9, 1)
ID_CARD = issue_fields(0, ISSUED_ON)  # the applicant's own 居民身份证
APPLICANT = {"name": ID_CARD["holder_name"], "id_type": "111", "id_number": ID_CARD["holder_id"]}
DIGEST = "sha256:" + "4" * 64


def events(node: Services) -> int:
    return node.app.recorder.max_notification_id() or 0


def file_proxy(cases: CaseService) -> str:
    """新生儿入户 (GA-0003) at a Shanghai window, handled in Jiangsu; nothing attached yet."""
    case = cases.submit(
        SH_WINDOW, item_province="320000", item_code="GA-0003", mode="PROXY", applicant=APPLICANT
    )
    return str(case.id)


def forwarded_proxy(node: Services) -> str:
    """The PROXY case with its required materials, received and forwarded to Jiangsu."""
    case_id = file_proxy(node.cases)
    card = node.certificates.issue(SH_WINDOW, **issue_fields(0, ISSUED_ON)).identifier
    node.cases.run(cc.ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M01", file_digest=DIGEST)
    node.cases.run(
        cc.ATTACH_MATERIAL,
        case_id,
        SH_WINDOW,
        material_code="M02",
        certificate_identifier=card,
        consent_reference=CONSENT,
    )
    node.cases.run(cc.ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M04", file_digest=DIGEST)
    node.cases.run(cc.RECEIVE, case_id, SH_WINDOW, number="SJ000000000001")
    node.cases.run(cc.FORWARD, case_id, SH_WINDOW)
    return case_id


def test_a_proxy_case_from_filing_to_rating(node: Services, clock: FakeClock) -> None:
    case_id = forwarded_proxy(node)
    cases = node.cases
    clock.advance(hours=2)
    accepted = cases.run(cc.ACCEPT, case_id, JS_HANDLER, number="SL000000000001")
    assert (accepted.state, accepted.accepted_on) == (State.ACCEPTED, "2025-09-24")
    for step, officer, extra in review_calls(JS_HANDLER):
        cases.run(cc.RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)
    assert cases.run(cc.CONCLUDE, case_id, JS_HANDLER, result="ISSUED").state is State.CONCLUDED
    assert (
        cases.run(cc.DELIVER, case_id, SH_WINDOW, method="WINDOW", reference="徐汇窗口").state
        is State.DELIVERED
    )
    assert cases.run(cc.ARCHIVE, case_id, JS_HANDLER).state is State.ARCHIVED
    rated = cases.run(cc.RATE, case_id, SH_PLATFORM, score=2, channel="ONLINE", comment="太慢")
    # a bad rating opens a rectification, due in 15 working days (National Day 2025 in between)
    calendar = cases.calendar_of(rated)
    assert rated.rectification_due_on == day_by_day(calendar, china_date(clock.now), 15).isoformat()
    timeline = cases.timeline(case_id)
    assert [e.event for e in timeline][:1] + [e.event for e in timeline][4:8] == [
        "Submitted",
        "Received",
        "Forwarded",
        "NoticeIssued",  # the 受理通知书, recorded with the acceptance it documents (第32条)
        "Accepted",
    ]
    accepted_entry = timeline[7]
    assert (accepted_entry.province, accepted_entry.office_code, accepted_entry.operator_id) == (
        "320000",
        "JS-GA-01",
        "h-001",
    )
    assert accepted_entry.at == clock.now
    assert all(APPLICANT["id_number"] not in str(e.detail) for e in timeline)


def test_a_command_out_of_order_is_refused_and_records_nothing(node: Services) -> None:
    case_id = file_proxy(node.cases)
    before = events(node)
    with pytest.raises(IllegalTransition):
        node.cases.run(cc.ACCEPT, case_id, JS_HANDLER)
    with pytest.raises(IllegalTransition):
        node.cases.run(cc.CONCLUDE, case_id, JS_HANDLER, result="ISSUED")
    with pytest.raises(IllegalTransition):
        node.cases.run(cc.FORWARD, case_id, SH_WINDOW)  # not received yet
    assert events(node) == before
    assert node.cases.case(case_id).state is State.SUBMITTED


def test_filing_refuses_unknown_items_and_parts(node: Services) -> None:
    before = events(node)
    with pytest.raises(NotFound, match="GA-9999"):
        node.cases.submit(
            SH_WINDOW, item_province="320000", item_code="GA-9999", mode="PROXY", applicant=APPLICANT
        )
    with pytest.raises(InvalidField) as refused:
        node.cases.submit(
            SH_WINDOW,
            item_province="320000",
            item_code="RS-0002",
            mode="JOINT",
            applicant=APPLICANT,
            parts={"P9": "330000"},
        )
    assert (refused.value.field, refused.value.message) == ("parts", "item RS-0002 has no part P9")
    assert events(node) == before


def test_a_filing_retried_with_its_key_gets_the_first_case(node: Services) -> None:
    body: dict[str, Any] = {
        "item_province": "320000",
        "item_code": "GA-0003",
        "mode": "PROXY",
        "applicant": APPLICANT,
    }
    request = Idempotency.for_request("submit", SH_WINDOW, "filing-0001", body)
    first = node.cases.submit(SH_WINDOW, idempotency=request, **body)
    before = events(node)
    again = node.cases.submit(SH_WINDOW, idempotency=request, **body)
    assert (again.id, again.case_no) == (first.id, first.case_no)
    assert events(node) == before
    reused = Idempotency.for_request("submit", SH_WINDOW, "filing-0001", {**body, "item_code": "YM-0001"})
    with pytest.raises(IdempotencyKeyReused):
        node.cases.submit(SH_WINDOW, idempotency=reused, **body)
    assert events(node) == before


def test_unknown_and_malformed_case_ids(node: Services) -> None:
    with pytest.raises(NotFound):
        node.cases.case("00000000-0000-4000-8000-000000000000")
    with pytest.raises(InvalidField) as refused:
        node.cases.run(cc.RECEIVE, "not-a-uuid", SH_WINDOW)
    assert refused.value.field == "case_id"
    certificate = node.certificates.issue(SH_WINDOW, **issue_fields(0, ISSUED_ON))
    with pytest.raises(NotFound):  # an id of another kind of aggregate is no case
        node.cases.case(str(certificate.id))


def test_a_certificate_material_is_verified_and_must_be_the_applicants_own(node: Services) -> None:
    case_id = file_proxy(node.cases)
    card = node.certificates.issue(SH_WINDOW, **issue_fields(0, ISSUED_ON)).identifier
    node.cases.run(
        cc.ATTACH_MATERIAL,
        case_id,
        SH_WINDOW,
        material_code="M02",
        certificate_identifier=card,
        consent_reference=CONSENT,
    )
    attached = next(e for e in node.cases.timeline(case_id) if e.event == "MaterialAttached")
    # taken as a material in the issuing province, the certificate was used for the case, with consent
    [use] = [e for e in node.certificates.history(card) if e.event == "Used"]
    assert (use.detail["channel"], use.detail["consent_reference"], use.office_code) == (
        "CASE",
        CONSENT,
        SH_WINDOW.office_code,
    )
    assert use.detail["case_reference"] == node.cases.case(case_id).case_no
    verification = attached.detail["verification"]
    assert (verification["identifier"], verification["status"], verification["authentic"]) == (
        card,
        "VALID",
        True,
    )
    [key] = node.certificates.public_keys()
    assert verification["key_id"] == key.key_id
    before = events(node)
    someone_else = node.certificates.issue(SH_WINDOW, **issue_fields(4, ISSUED_ON)).identifier
    with pytest.raises(InvalidField, match="holder is not the applicant"):
        node.cases.run(
            cc.ATTACH_MATERIAL,
            case_id,
            SH_WINDOW,
            material_code="M02",
            certificate_identifier=someone_else,
            consent_reference=CONSENT,
        )
    node.certificates.change_status(card, "revoke", SH_WINDOW, reason="吊销")
    with pytest.raises(InvalidField, match="did not verify"):
        node.cases.run(
            cc.ATTACH_MATERIAL,
            case_id,
            SH_WINDOW,
            material_code="M02",
            certificate_identifier=card,
            consent_reference=CONSENT,
        )
    # the other certificate's four events and the revocation only: a refused material is no use (用证)
    assert events(node) == before + 4 + 1
    consents: list[dict[str, Any]] = [{}, {"consent_reference": "CONSENT-1"}]  # none, or not as documented
    for consent in consents:
        with pytest.raises(InvalidField) as refused:
            node.cases.run(
                cc.ATTACH_MATERIAL,
                case_id,
                SH_WINDOW,
                material_code="M03",
                certificate_identifier=card,
                **consent,
            )
        assert refused.value.field == "consent_reference"
    assert events(node) == before + 4 + 1


def test_another_provinces_certificate_needs_a_federation(node: Services, jiangsu: Services) -> None:
    case_id = file_proxy(node.cases)
    foreign = jiangsu.certificates.issue(
        JS_HANDLER, **issue_fields(1, ISSUED_ON, province="320000")
    ).identifier
    with pytest.raises(InvalidField, match="no federation") as refused:
        node.cases.run(
            cc.ATTACH_MATERIAL, case_id, SH_WINDOW, material_code="M02", certificate_identifier=foreign
        )
    assert refused.value.field == "certificate_identifier"


def test_withdrawal_ends_the_case_before_the_decision_only(node: Services) -> None:
    case_id = forwarded_proxy(node)
    node.cases.run(cc.ACCEPT, case_id, JS_HANDLER)
    withdrawn = node.cases.run(cc.WITHDRAW, case_id, SH_WINDOW, reason="申请人撤回")
    assert withdrawn.state is State.WITHDRAWN
    with pytest.raises(IllegalTransition):
        node.cases.run(cc.WITHDRAW, case_id, SH_WINDOW, reason="again")
    decided = forwarded_proxy(node)
    node.cases.run(cc.REFUSE, decided, JS_HANDLER, **REFUSAL)
    with pytest.raises(IllegalTransition):
        node.cases.run(cc.WITHDRAW, decided, SH_WINDOW, reason="too late")
    assert node.cases.case(decided).state is State.REFUSED


def test_queries_as_of_an_instant_and_the_applicant(node: Services, clock: FakeClock) -> None:
    filed_at = clock.now
    case_id = forwarded_proxy(node)
    clock.advance(days=1)
    node.cases.run(cc.ACCEPT, case_id, JS_HANDLER)
    as_of = [
        node.cases.case_as_of(case_id, t) for t in (filed_at - timedelta(seconds=1), filed_at, clock.now)
    ]
    assert [case.state if case else None for case in as_of] == [None, State.FORWARDED, State.ACCEPTED]
    applicant = node.cases.applicant(case_id)
    assert (applicant.name, applicant.id_number) == (APPLICANT["name"], APPLICANT["id_number"])
    assert node.cases.now() == clock.now


class Peers:
    """The writing province as the forwarding code sees it: records each forwarded command."""

    def __init__(self) -> None:
        self.forwarded: list[tuple[str, str, str, dict[str, Any], str, str]] = []

    def forward(
        self, writer: str, case_id: str, command: str, arguments: dict[str, Any], office: str, operator: str
    ) -> tuple[int, str]:
        self.forwarded.append((writer, case_id, command, arguments, office, operator))
        return 99, "ACCEPTED"

    def verify(self, *args: str) -> Any:
        raise AssertionError("no verification expected")


def test_a_party_forwards_forwardable_commands_to_the_writer_and_records_nothing(node: Services) -> None:
    case_id = forwarded_proxy(node)  # Jiangsu writes it from now on
    peers = Peers()
    federated = CaseService(
        node.app,
        catalogue=node.catalogue,
        certificates=node.certificates,
        calendars=node.cases.calendars,
        province="310000",
        clock=node.cases.now,
        peers=peers,
        log_signal=node.log_signal,
        replica_wait_s=0.0,  # the replica never grows here: answer at once with the case as held
    )
    before = events(node)
    held = federated.run(cc.WITHDRAW, case_id, SH_PLATFORM, reason="申请人撤回")
    assert held.state is State.FORWARDED
    assert peers.forwarded == [("320000", case_id, "WITHDRAW", {"reason": "申请人撤回"}, "SH-YWTB", "app")]
    with pytest.raises(IllegalTransition, match="written by 320000 now"):
        federated.run(cc.ACCEPT, case_id, JS_HANDLER)
    assert len(peers.forwarded) == 1
    assert events(node) == before
