"""Idempotency-Key on the creating requests, over real HTTP on both stores: a retry creates nothing more."""

from __future__ import annotations

import asyncio

from aiohttp import web

from node.auth import Role
from node.services import Services
from tests.builders import FakeClock, node_issue_body
from tests.conftest import Keys
from tests.integration.rest_client import Api, run

APPLICANT = {
    "name": node_issue_body(0)["holder_name"],
    "id_type": "111",
    "id_number": node_issue_body(0)["holder_id"],
}
CASE = {"item_province": "320000", "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT}


def events(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


def test_a_retried_issue_returns_the_first_certificate(node: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        key = {"Idempotency-Key": "issue-2026-0001"}
        body = node_issue_body()
        status, first, _ = await api.call("POST", "/v1/certificates", body=body, headers=key)
        assert status == 201
        after_first = events(node)
        status, again, _ = await api.call("POST", "/v1/certificates", body=body, headers=key)
        assert (status, again["identifier"]) == (201, first["identifier"])
        assert events(node) == after_first  # nothing more was written
        status, problem, _ = await api.call("POST", "/v1/certificates", body=node_issue_body(1), headers=key)
        assert (status, problem["type"].rsplit("/", 1)[1]) == (422, "idempotency-key-reused")
        status, problem, _ = await api.call(
            "POST", "/v1/certificates", body=node_issue_body(), headers={"Idempotency-Key": "short"}
        )
        assert (status, problem["type"].rsplit("/", 1)[1]) == (400, "invalid-idempotency-key")
        status, other, _ = await api.call("POST", "/v1/certificates", body=node_issue_body())
        assert other["identifier"] != first["identifier"]  # without a key, each request creates
        assert events(node) > after_first

    run(node, keys, scenario)


def test_concurrent_retries_of_a_filing_create_one_case(node: Services, keys: Keys, clock: FakeClock) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        key = {"Idempotency-Key": "file-case-0001"}
        answers = await asyncio.gather(
            *(api.call("POST", "/v1/cases", role=Role.WINDOW, body=CASE, headers=key) for _ in range(6))
        )
        assert {status for status, _, _ in answers} == {201}
        assert len({case["case_id"] for _, case, _ in answers}) == 1
        status, other, _ = await api.call(
            "POST", "/v1/cases", role=Role.WINDOW, body=CASE, headers={"Idempotency-Key": "file-case-0002"}
        )
        assert (status, other["case_id"] != answers[0][1]["case_id"]) == (201, True)

    run(node, keys, scenario)
