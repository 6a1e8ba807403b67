"""The handler of commands another province forwards to this node, the writer of the case, over an
in-memory store: the arguments checked against the declaration, the caller a party, the domain's refusals
mapped to gRPC codes, and a retried request id recorded once."""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from aggregates.case import State
from aggregates.responsibility import Actor
from federation.errors import CommandRefused
from node.services import Services
from node.usecases import case_commands as cc
from node.usecases.forwarded_commands import FORWARDABLE, command_handler
from tests.builders import review_calls

SH, JS, ZJ = "310000", "320000", "330000"
APPLICANT = {"name": "张伟", "id_type": "111", "id_number": "310101199001011234"}
DIGEST = "sha256:" + "ab" * 32


def case_at(node: Services, forwarded: bool) -> str:
    """A PROXY case received in Shanghai for Jiangsu (this node writes it), or one forwarded to Jiangsu."""
    window = Actor(SH, "SH-WINDOW", "window-1")
    case_id = str(
        node.cases.submit(window, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=APPLICANT).id
    )
    if forwarded:
        for code in ("M01", "M02", "M04"):
            node.cases.run(cc.ATTACH_MATERIAL, case_id, window, material_code=code, file_digest=DIGEST)
        node.cases.run(cc.RECEIVE, case_id, window)
        node.cases.run(cc.FORWARD, case_id, window)
    return case_id


def refused(node: Services, case_id: str, command: str, arguments: dict[str, Any], province: str = JS) -> str:
    """The gRPC code of the refusal; the case is left as it was."""
    version = node.cases.case(case_id).version
    with pytest.raises(CommandRefused) as refusal:
        command_handler(node.cases)(province, case_id, command, arguments, "OFFICE", "op-1", "req-refused")
    assert node.cases.case(case_id).version == version
    return refusal.value.code.name


def test_the_forwardable_commands_are_the_declared_ones() -> None:
    assert set(FORWARDABLE) == {c.name for c in cc.DECLARED if c.forwardable}
    assert {"ATTACH_MATERIAL", "PROVIDE_SUPPLEMENT", "DELIVER", "RATE", "ARCHIVE", "WITHDRAW"} <= set(
        FORWARDABLE
    )
    # the rated office may find the other province writing the case (国办发〔2019〕51号, 谁办理谁负责)
    assert {"RESPOND_TO_RECTIFICATION", "APPEAL_RATING", "DECIDE_RATING_APPEAL"} <= set(FORWARDABLE)
    assert "ACCEPT" not in FORWARDABLE


def test_a_command_runs_as_the_calling_province_once_per_request_id(node: Services) -> None:
    case_id = case_at(node, forwarded=False)
    handle = command_handler(node.cases)
    attach = {"material_code": "M04", "file_digest": DIGEST}
    first = handle(JS, case_id, "ATTACH_MATERIAL", attach, "JS-GA-01", "h-001", "req-0000001")
    assert first == (node.cases.case(case_id).version, "SUBMITTED")
    assert handle(JS, case_id, "ATTACH_MATERIAL", attach, "JS-GA-01", "h-001", "req-0000001") == first
    attached = node.cases.timeline(case_id)[-1]
    assert (attached.event, attached.province, attached.office_code, attached.operator_id) == (
        "MaterialAttached",
        JS,
        "JS-GA-01",
        "h-001",
    )
    other = handle(JS, case_id, "ATTACH_MATERIAL", attach, "JS-GA-01", "h-001", "req-0000002")
    assert other[0] == first[0] + 1


def test_a_declared_command_is_forwarded_like_the_others(node: Services) -> None:
    case_id = case_at(node, forwarded=False)
    version, state = command_handler(node.cases)(
        SH, case_id, "WITHDRAW", {"reason": "申请人撤回"}, "SH-YWTB", "app", "req-0000003"
    )
    assert (state, node.cases.case(case_id).state, version) == ("WITHDRAWN", State.WITHDRAWN, 2)


@pytest.mark.parametrize(
    ("command", "arguments", "province", "code"),
    [
        ("ACCEPT", {}, JS, "INVALID_ARGUMENT"),  # not one a peer forwards
        ("SHRED", {}, JS, "INVALID_ARGUMENT"),
        ("DELIVER", {"method": "CARRIER_PIGEON", "reference": "x"}, JS, "INVALID_ARGUMENT"),
        ("ATTACH_MATERIAL", {"material_code": "M04", "extra": 1}, JS, "INVALID_ARGUMENT"),
        ("ATTACH_MATERIAL", {"material_code": "M04", "file_digest": DIGEST}, ZJ, "PERMISSION_DENIED"),
        ("ARCHIVE", {}, JS, "FAILED_PRECONDITION"),  # the case's rules: not concluded
        ("ATTACH_MATERIAL", {"material_code": "M99", "file_digest": DIGEST}, JS, "INVALID_ARGUMENT"),
    ],
)
def test_a_refused_command_records_nothing(
    node: Services, command: str, arguments: dict[str, Any], province: str, code: str
) -> None:
    assert refused(node, case_at(node, forwarded=False), command, arguments, province) == code


def test_a_case_this_node_does_not_write_or_hold_is_refused(node: Services) -> None:
    forwarded = case_at(node, forwarded=True)  # Jiangsu writes it now
    assert refused(node, forwarded, "WITHDRAW", {"reason": "x"}, SH) == "FAILED_PRECONDITION"
    with pytest.raises(CommandRefused) as unknown:
        command_handler(node.cases)(
            JS, "00000000-0000-4000-8000-000000000000", "ARCHIVE", {}, "OFFICE", "op-1", "req-0000009"
        )
    assert unknown.value.code == grpc.StatusCode.NOT_FOUND


def test_the_office_whose_service_was_rated_forwards_its_answer_appeal_and_review(jiangsu: Services) -> None:
    """谁办理谁负责 (国办发〔2019〕51号): a PROXY case delivered at the Shanghai window is written by Jiangsu
    now. Shanghai's platform rates the window's own service (收件) badly; Shanghai's window appeals the 差评
    and Shanghai's supervising body reviews the appeal, each forwarded to Jiangsu and run as Shanghai; the
    rectification is answered there too. Jiangsu's own officers may not answer for the Shanghai window."""
    cases, handle = jiangsu.cases, command_handler(jiangsu.cases)
    window, handler = Actor(SH, "SH-WINDOW", "window-1"), Actor(JS, "JS-GA-01", "h-001")
    case_id = str(
        cases.submit(window, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=APPLICANT).id
    )
    for code in ("M01", "M02", "M04"):
        cases.run(cc.ATTACH_MATERIAL, case_id, window, material_code=code, file_digest=DIGEST)
    cases.run(cc.RECEIVE, case_id, window)
    cases.run(cc.FORWARD, case_id, window)
    cases.run(cc.ACCEPT, case_id, handler)
    for step, officer, extra in review_calls(handler):
        cases.run(cc.RECORD_REVIEW, case_id, officer, step=step, opinion="同意", **extra)
    cases.run(cc.CONCLUDE, case_id, handler, result="ISSUED")
    cases.run(cc.DELIVER, case_id, window, method="WINDOW", reference="窗口领取")
    assert cases.case(case_id).writer() == JS

    rating = {"score": 1, "channel": "WINDOW", "service": "WINDOW", "comment": "窗口态度差"}
    handle(SH, case_id, "RATE", rating, "SH-YWTB", "app", "req-rate-01")
    assert refused(jiangsu, case_id, "APPEAL_RATING", {"reason": "非本省窗口"}, JS) == "FAILED_PRECONDITION"
    handle(SH, case_id, "APPEAL_RATING", {"reason": "当日系统故障"}, "SH-WINDOW", "window-1", "req-appeal-01")
    decision = {"outcome": "REJECTED", "reason": "态度问题属实"}
    assert refused(jiangsu, case_id, "DECIDE_RATING_APPEAL", {"outcome": "KEPT", "reason": "x"}, SH) == (
        "INVALID_ARGUMENT"
    )
    handle(SH, case_id, "DECIDE_RATING_APPEAL", decision, "SH-ZWFW", "admin-1", "req-decide-01")
    version, _state = handle(
        SH,
        case_id,
        "RESPOND_TO_RECTIFICATION",
        {"response": "已整改：培训窗口人员"},
        "SH-WINDOW",
        "window-1",
        "req-r-01",
    )
    case = cases.case(case_id)
    assert (case.version, case.rated_service, case.appeal_outcome, case.rectification_open) == (
        version,
        "WINDOW",
        "REJECTED",
        False,
    )
    steps = [(e.event, e.province, e.office_code) for e in cases.timeline(case_id)[-4:]]
    assert steps == [
        ("Rated", SH, "SH-YWTB"),
        ("RatingAppealed", SH, "SH-WINDOW"),
        ("RatingAppealDecided", SH, "SH-ZWFW"),
        ("RectificationResponded", SH, "SH-WINDOW"),
    ]
