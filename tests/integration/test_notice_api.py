"""The receiving window's supplement notice in PROXY (形式审查 at the 收件地, 行政许可法 第32条) over real
HTTP on both stores: the Shanghai window notifies a case it received and holds; the answer shows the notice
limit it kept; a notice after the limit is a 409 that records nothing."""

from __future__ import annotations

from aiohttp import web

from node.auth import Role
from node.services import Services
from projections.case_board import CaseBoard
from tests.builders import FakeClock
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.test_case_api import events, proxy_case

SH, JS = "310000", "320000"
DIGEST = "sha256:" + "0" * 64


async def received(api: Api, *materials: str) -> str:
    path = await proxy_case(api)
    for material in materials:
        status, _, _ = await api.call(
            "POST",
            path + "/materials",
            role=Role.WINDOW,
            body={"material_code": material, "file_digest": DIGEST},
        )
        assert status == 200
    status, _, _ = await api.call("POST", path + "/receive", role=Role.WINDOW, body={"number": "SJ-001"})
    assert status == 200
    return path


def test_article_32_the_receiving_window_notifies_a_proxy_case_it_holds(
    node: Services, keys: Keys, clock: FakeClock
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        path = await received(api, "M01", "M02")  # received Wednesday 2025-09-24: notice due 2025-09-30
        status, case, _ = await api.call("GET", path, role=Role.WINDOW)
        assert (status, case["deadlines"]["promised"], case["deadlines"]["notice"]["due_on"]) == (
            200,
            None,
            "2025-09-30",
        )
        body = {"missing": ["M04"], "reason": "缺出生医学证明"}
        status, _, _ = await api.call(
            "POST", path + "/supplement-request", role=Role.HANDLER, province=JS, body=body
        )
        assert status == 409  # not forwarded: the window holds the case
        clock.set_china_time("2025-09-26")
        status, case, _ = await api.call("POST", path + "/supplement-request", role=Role.WINDOW, body=body)
        assert (status, case["state"], case["writer"], case["supplement"]["missing"]) == (
            200,
            "SUPPLEMENT_REQUESTED",
            SH,
            ["M04"],
        )
        assert case["deadlines"]["notice"]["status"] == "CONCLUDED_ON_TIME"
        status, timeline, _ = await api.call("GET", path + "/timeline", role=Role.AUDITOR)
        notice = timeline["entries"][-1]
        assert (notice["event"], notice["province"], notice["detail"]["notice_due_on"]) == (
            "SupplementRequested",
            SH,
            "2025-09-30",
        )
        node.projections[CaseBoard.name].tick()
        status, board, _ = await api.call("GET", "/v1/board", role=Role.WINDOW)
        [row] = [row for row in board["cases"] if path.endswith(row["case_id"])]
        assert (row["due"], row["notice_due"]["due_on"], row["notice_due"]["status"]) == (
            None,
            "2025-09-30",
            "CONCLUDED_ON_TIME",
        )

    run(node, keys, scenario)


def test_article_32_a_notice_after_the_limit_is_a_conflict_that_records_nothing(
    node: Services, keys: Keys, clock: FakeClock
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        path = await received(api, "M01", "M02")
        clock.set_china_time("2025-10-09")
        before = events(node)
        body = {"missing": ["M04"], "reason": "缺出生医学证明"}
        status, problem, _ = await api.call("POST", path + "/supplement-request", role=Role.WINDOW, body=body)
        assert status == 409
        assert "notice limit" in problem["detail"]
        assert "缺出生医学证明" not in str(problem)  # never echoes the caller's text
        assert events(node) == before

    run(node, keys, scenario)
