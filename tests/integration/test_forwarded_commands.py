"""A command another province forwards to the writer of a case: checked like REST, recorded once per request
id however often it arrives (the caller retries with the same id when an answer is lost)."""

from __future__ import annotations

import grpc
import pytest

from aggregates.responsibility import Actor
from federation.errors import CommandRefused
from node.services import Services
from node.usecases.forwarded_commands import command_handler

SH, JS, ZJ = "310000", "320000", "330000"
APPLICANT = {"name": "张伟", "id_type": "111", "id_number": "310101199001011234"}
DIGEST = "sha256:" + "ab" * 32


def received_case(node: Services) -> str:
    window = Actor(SH, "SH-WINDOW", "window-1")
    case = node.cases.submit(window, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=APPLICANT)
    return str(case.id)


def test_a_repeated_request_id_records_the_command_once(node: Services) -> None:
    case_id = received_case(node)
    handle = command_handler(node.cases)
    attach = {"material_code": "M04", "file_digest": DIGEST}
    first = handle(SH, case_id, "ATTACH_MATERIAL", attach, "SH-WINDOW", "window-1", "req-0000001")
    again = handle(SH, case_id, "ATTACH_MATERIAL", attach, "SH-WINDOW", "window-1", "req-0000001")
    assert again == first
    assert node.cases.case(case_id).version == first[0]
    other = handle(SH, case_id, "ATTACH_MATERIAL", attach, "SH-WINDOW", "window-1", "req-0000002")
    assert other[0] == first[0] + 1  # another request: another event


@pytest.mark.parametrize(
    ("province", "command", "arguments", "request_id", "code"),
    [
        (SH, "DELIVER", {"method": "CARRIER_PIGEON", "reference": "x"}, "req-0000003", "INVALID_ARGUMENT"),
        (SH, "ATTACH_MATERIAL", {"material_code": "M04"}, "", "INVALID_ARGUMENT"),
        (
            ZJ,
            "ATTACH_MATERIAL",
            {"material_code": "M04", "file_digest": DIGEST},
            "req-0000004",
            "PERMISSION_DENIED",
        ),
        (SH, "ARCHIVE", {}, "req-0000005", "FAILED_PRECONDITION"),
    ],
)
def test_a_refused_command_records_nothing(
    node: Services, province: str, command: str, arguments: dict[str, str], request_id: str, code: str
) -> None:
    case_id = received_case(node)
    version = node.cases.case(case_id).version
    handle = command_handler(node.cases)
    with pytest.raises(CommandRefused) as refused:
        handle(province, case_id, command, arguments, "OFFICE", "op-1", request_id)
    assert refused.value.code == grpc.StatusCode[code]
    assert node.cases.case(case_id).version == version
