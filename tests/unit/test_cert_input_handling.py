"""Shared rules behind the certificate endpoints: provinces, China dates, request ids, problem bodies."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta, timezone

import pytest
from aiohttp.test_utils import make_mocked_request

from aggregates.clock import CHINA, china_date
from aggregates.identifiers import PROVINCE_CODES, InvalidIdentifier, validate_province
from node.http.problems import Problem, problem_response
from node.request_ids import accept_request_id


@pytest.mark.parametrize("code", sorted(f"{p}0000" for p in PROVINCE_CODES))
def test_every_province_level_division_is_a_province(code: str) -> None:
    assert validate_province(code) == code


@pytest.mark.parametrize(
    ("value", "part"),
    [
        ("190000", "province"),  # the shape of a province code, but GB/T 2260 has no 19
        ("900000", "province"),
        ("100000", "province"),  # the national code is not a province
        ("310100", "level"),  # Shanghai's city district level
        ("31000", "format"),
        ("３１００００", "format"),  # full-width digits
        ("", "format"),
    ],
)
def test_other_codes_are_not_provinces(value: str, part: str) -> None:
    with pytest.raises(InvalidIdentifier) as refused:
        validate_province(value)
    assert refused.value.part == part


def test_china_date_is_the_date_in_utc_plus_8() -> None:
    assert CHINA.utcoffset(None) == timedelta(hours=8)
    assert china_date(datetime(2026, 3, 1, 15, 59, 59, tzinfo=UTC)) == date(2026, 3, 1)
    assert china_date(datetime(2026, 3, 1, 16, 0, tzinfo=UTC)) == date(2026, 3, 2)
    assert china_date(datetime(2026, 3, 2, 0, 30, tzinfo=timezone(timedelta(hours=8)))) == date(2026, 3, 2)
    with pytest.raises(ValueError, match="aware"):
        china_date(datetime(2026, 3, 1))  # a naive datetime: the point of the test


@pytest.mark.parametrize(
    ("supplied", "kept"),
    [
        ("trace-12345678", True),
        ("a.b_c-D.0123", True),
        ("short", False),
        ("x" * 65, False),
        ("trace-12345678\n", False),  # "$" in the old pattern accepted a trailing newline
        ("trace 12345678", False),
        ("追踪-12345678", False),
        ("", False),
        (None, False),
    ],
)
def test_a_request_id_is_kept_only_when_safe_to_echo_and_log(supplied: str | None, kept: bool) -> None:
    accepted = accept_request_id(supplied)
    assert (accepted == supplied) is kept
    if not kept:
        assert len(accepted) == 32
        assert accepted != accept_request_id(supplied)


def test_the_rest_and_grpc_entrypoints_share_one_request_id_rule() -> None:
    import node.grpc.interceptors as grpc_side  # noqa: PLC0415
    import node.http.middlewares as http_side  # noqa: PLC0415

    assert vars(grpc_side)["accept_request_id"] is accept_request_id
    assert vars(http_side)["accept_request_id"] is accept_request_id
    assert not hasattr(grpc_side, "_REQUEST_ID")
    assert not hasattr(http_side, "_REQUEST_ID")


def test_a_problem_response_never_fails_on_text_utf8_cannot_hold() -> None:
    request = make_mocked_request("GET", "/v1/certificates/x")
    response = problem_response(
        request,
        "rid-12345678",
        Problem(422, "invalid-field", "identifier: got '\ud800' 张", pointer="/\udfff"),
    )
    assert response.status == 422
    assert response.body is not None
    body = json.loads(bytes(response.body))  # type: ignore[arg-type]
    assert (body["detail"], body["pointer"]) == ("identifier: got '\ud800' 张", "/\udfff")
    plain = problem_response(request, "rid-12345678", Problem(404, "not-found", "没有"))
    assert "没有".encode() in bytes(plain.body)  # type: ignore[arg-type]
