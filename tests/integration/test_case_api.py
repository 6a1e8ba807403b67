"""Cases over real HTTP on both stores: who may do what, refusals as problem+json, answers as documented."""

from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from node.auth import Role
from node.services import Services
from node.signing import b64, unb64
from tests.builders import EXTENSION_APPROVAL, REFUSAL, REST_REVIEW_CALLS, FakeClock
from tests.conftest import Keys
from tests.integration.rest_client import Api, run

SH, JS, AH = "310000", "320000", "340000"
APPLICANT = {"name": "赵敏", "id_type": "111", "id_number": "11010519491231002X"}


async def proxy_case(api: Api) -> str:
    status, case, _ = await api.call(
        "POST",
        "/v1/cases",
        role=Role.WINDOW,
        body={"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT},
    )
    assert status == 201, case
    return f"/v1/cases/{case['case_id']}"


def events(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


def test_roles_and_provinces_on_a_proxy_case(node: Services, keys: Keys, clock: FakeClock) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        path = await proxy_case(api)
        for material in ("M01", "M02", "M04"):
            status, _, _ = await api.call(
                "POST",
                path + "/materials",
                role=Role.WINDOW,
                body={"material_code": material, "file_digest": "sha256:" + "0" * 64},
            )
            assert status == 200
        before = events(node)
        refusals: list[tuple[str, Role, str, dict[str, Any], int]] = [
            ("/receive", Role.HANDLER, SH, {}, 403),  # the window receives, not a handler
            ("/accept", Role.HANDLER, AH, {}, 403),  # Anhui is no party to the case
            ("/accept", Role.HANDLER, JS, {}, 409),  # not received and forwarded yet
            ("/rating", Role.WINDOW, SH, {"score": 5, "channel": "WINDOW"}, 403),  # platforms rate
            ("/conclude", Role.HANDLER, JS, {"result": "ISSUED"}, 409),  # no conclusion without acceptance
            (
                "/extend",
                Role.HANDLER,
                JS,
                {"days": 3, "reason": "x", **EXTENSION_APPROVAL, "surprise": 1},
                422,
            ),
        ]
        for suffix, role, province, body, expected in refusals:
            status, problem, headers = await api.call(
                "POST", path + suffix, role=role, province=province, body=body
            )
            assert status == expected, (suffix, problem)
            assert headers["Content-Type"].startswith("application/problem+json")
        assert events(node) == before  # nothing written by any refusal

        clock.advance(hours=2)  # filed at 09:00 China time, received at 11:00
        await api.call("POST", path + "/receive", role=Role.WINDOW, body={"number": "SJ-001"})
        await api.call("POST", path + "/forward", role=Role.WINDOW, body={})
        status, case, _ = await api.call("POST", path + "/accept", role=Role.HANDLER, province=JS, body={})
        assert (status, case["state"], case["deadlines"]["promised"]["status"]) == (
            200,
            "ACCEPTED",
            "ON_TIME",
        )
        status, timeline, _ = await api.call("GET", path + "/timeline", role=Role.AUDITOR, province=AH)
        assert [e["event"] for e in timeline["entries"]][-4:] == [
            "Received",
            "Forwarded",
            "NoticeIssued",  # the 受理通知书 (行政许可法 第32条), recorded with the acceptance
            "Accepted",
        ]
        assert timeline["entries"][-1]["province"] == JS
        status, _, _ = await api.call("GET", path + "/applicant", role=Role.PLATFORM)
        assert status == 403  # personal data: not for the platform
        status, person, _ = await api.call("GET", path + "/applicant", role=Role.HANDLER, province=JS)
        assert (status, person["name"]) == (200, "赵敏")
        status, _, _ = await api.call("GET", path, role=Role.HANDLER, province=AH)
        assert status == 403
        status, then, _ = await api.call(
            "GET", path + "/as-of?at=2025-09-24T09:30:00%2B08:00", role=Role.AUDITOR
        )
        assert (status, then["state"], then["deadlines"]) == (200, "SUBMITTED", None)
        status, problem, _ = await api.call("GET", path + "/as-of?at=yesterday", role=Role.AUDITOR)
        assert (status, problem["pointer"]) == (422, "/at")

    run(node, keys, scenario)


def test_filing_validates_the_body_and_the_catalogue(node: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        body = {"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT}
        cases: list[tuple[dict[str, Any], int, str | None]] = [
            ({"mode": "TELEPORT"}, 422, "/mode"),
            ({"applicant": {**APPLICANT, "id_number": "11010519491231002Y"}}, 422, "/applicant/id_number"),
            ({"item_code": "NOPE-1"}, 404, None),
            ({"item_code": "GA-0001", "mode": "PROXY"}, 422, "/mode"),  # 户口迁移 is joint-only
            (
                {"mode": "PROXY", "item_province": SH, "item_code": "GA-0003"},
                422,
                "/mode",
            ),  # PROXY within one province
        ]
        for changed, expected, pointer in cases:
            status, problem, _ = await api.call(
                "POST", "/v1/cases", role=Role.WINDOW, body={**body, **changed}
            )
            assert status == expected, (changed, problem)
            assert problem.get("pointer") == pointer, problem
            assert APPLICANT["id_number"] not in str(problem)
        status, _, _ = await api.call("POST", "/v1/cases", role=Role.HANDLER, body=body)
        assert status == 403  # handlers decide; windows and platforms file
        status, _, _ = await api.call("POST", "/v1/cases", role=Role.WINDOW, province=JS, body=body)
        assert status == 403  # a case is filed at the node of the receiving province

    run(node, keys, scenario)


def test_catalogue_endpoints(node: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        status, listed, _ = await api.call("GET", f"/v1/catalogue/{JS}/items", role=Role.WINDOW)
        assert status == 200
        assert len(listed["items"]) == 41
        status, bundles, _ = await api.call("GET", f"/v1/catalogue/{SH}/bundles", role=Role.PLATFORM)
        assert {b["code"] for b in bundles["bundles"]} == {"YJS-BIRTH", "YJS-QYKB"} or len(
            bundles["bundles"]
        ) == 2
        status, item, _ = await api.call("GET", f"/v1/catalogue/{SH}/items/RS-0001", role=Role.WINDOW)
        definition = {k: v for k, v in item["definition"].items() if k not in ("code", "handling_province")}
        revised = {**definition, "promised_limit_days": 2}
        status, published, _ = await api.call(
            "PUT", f"/v1/catalogue/{SH}/items/RS-0001", role=Role.ADMIN, body=revised
        )
        assert (status, published["version"], published["outcome"]) == (200, 2, "revised")
        status, _, _ = await api.call(
            "PUT", f"/v1/catalogue/{JS}/items/RS-0001", role=Role.ADMIN, body=revised
        )
        assert status == 403  # a node publishes its own province's catalogue only
        status, _, _ = await api.call(
            "PUT", f"/v1/catalogue/{SH}/items/RS-0001", role=Role.WINDOW, body=revised
        )
        assert status == 403
        status, problem, _ = await api.call(
            "PUT",
            f"/v1/catalogue/{SH}/items/RS-0001",
            role=Role.ADMIN,
            body={**revised, "promised_limit_days": 99},
        )
        assert (status, problem["pointer"]) == (422, "/promised_limit_days")  # 承诺时限 ≤ 法定时限

    run(node, keys, scenario)


def test_a_bad_rating_of_the_window_is_answered_appealed_and_reviewed_over_rest(
    node: Services, keys: Keys
) -> None:
    """好差评 (国办发〔2019〕51号) through the declared routes: the platform rates the Shanghai window's own
    service (收件) badly; Shanghai's window appeals it (谁办理谁负责), not Jiangsu's handler; only an admin
    (the 政务服务管理机构) reviews the appeal, once, and an upheld appeal sets the 差评 aside."""

    async def scenario(api: Api, _app: web.Application) -> None:
        path = await proxy_case(api)
        for material in ("M01", "M02", "M04"):
            body = {"material_code": material, "file_digest": "sha256:" + "0" * 64}
            await api.call("POST", path + "/materials", role=Role.WINDOW, body=body)
        await api.call("POST", path + "/receive", role=Role.WINDOW, body={})
        await api.call("POST", path + "/forward", role=Role.WINDOW, body={})
        await api.call("POST", path + "/accept", role=Role.HANDLER, province=JS, body={})
        for step, operator, extra in REST_REVIEW_CALLS:
            body = {"step": step, "opinion": "同意", **extra}
            await api.call(
                "POST", path + "/review", role=Role.HANDLER, province=JS, body=body, operator=operator
            )
        await api.call("POST", path + "/conclude", role=Role.HANDLER, province=JS, body={"result": "ISSUED"})
        status, _, _ = await api.call(
            "POST", path + "/deliver", role=Role.WINDOW, body={"method": "WINDOW", "reference": "窗口领取"}
        )
        assert status == 200
        rating = {"score": 2, "channel": "WINDOW", "service": "WINDOW"}
        status, case, _ = await api.call("POST", path + "/rating", role=Role.PLATFORM, body=rating)
        assert (status, case["rated_service"], case["rating_answered_by"]) == (200, "WINDOW", SH)
        assert (case["rectification_open"], case["appeal_outcome"], case["rating_counts"]) == (
            True,
            None,
            True,
        )

        appeal = {"reason": "当日系统故障，已公告"}
        status, _, _ = await api.call(
            "POST", path + "/rating/appeal", role=Role.HANDLER, province=JS, body=appeal
        )
        assert status == 409  # the handling province does not answer for Shanghai's window
        status, case, _ = await api.call("POST", path + "/rating/appeal", role=Role.WINDOW, body=appeal)
        assert (status, case["appealed"]) == (200, True)

        decision = {"outcome": "UPHELD", "reason": "经核实，系统故障已公告"}
        status, _, _ = await api.call(
            "POST", path + "/rating/appeal/decision", role=Role.WINDOW, body=decision
        )
        assert status == 403  # the appealing office does not review its own appeal
        supervisor = {"Authorization": f"Bearer {keys.token(Role.ADMIN, SH, office='SH-ZWFW')}"}
        status, problem, _ = await api.call(
            "POST",
            path + "/rating/appeal/decision",
            role=None,
            headers=supervisor,
            body={**decision, "outcome": "MAYBE"},
        )
        assert (status, problem["pointer"]) == (422, "/outcome")
        assert "MAYBE" not in str(problem)
        status, case, _ = await api.call(
            "POST", path + "/rating/appeal/decision", role=None, headers=supervisor, body=decision
        )
        assert (status, case["appeal_outcome"], case["rating_counts"], case["rectification_open"]) == (
            200,
            "UPHELD",
            False,
            False,
        )
        status, _, _ = await api.call(
            "POST", path + "/rating/appeal/decision", role=None, headers=supervisor, body=decision
        )
        assert status == 409  # decided once
        status, timeline, _ = await api.call("GET", path + "/timeline", role=Role.AUDITOR)
        decided = timeline["entries"][-1]
        assert (decided["event"], decided["province"], decided["office_code"]) == (
            "RatingAppealDecided",
            SH,
            "SH-ZWFW",
        )
        assert decided["detail"] == decision

    run(node, keys, scenario)


def test_article_38_a_refusals_notice_is_served_as_issued_to_the_parties_only(
    node: Services, keys: Keys
) -> None:
    """行政许可法 第38条: the 不予受理决定书 is listed and served as stored, with its digest and the node's
    signature in the headers; a province that is no party to the case, auditors included, gets 403."""

    async def scenario(api: Api, _app: web.Application) -> None:
        path = await proxy_case(api)
        for material in ("M01", "M02", "M04"):
            body = {"material_code": material, "file_digest": "sha256:" + "0" * 64}
            await api.call("POST", path + "/materials", role=Role.WINDOW, body=body)
        await api.call("POST", path + "/receive", role=Role.WINDOW, body={})
        await api.call("POST", path + "/forward", role=Role.WINDOW, body={})
        status, _, _ = await api.call("POST", path + "/refuse", role=Role.HANDLER, province=JS, body=REFUSAL)
        assert status == 200
        status, listed, _ = await api.call("GET", path + "/notices", role=Role.WINDOW)
        assert status == 200
        [notice] = listed["notices"]
        assert notice["kind"] == "REFUSAL"
        status, timeline, _ = await api.call("GET", path + "/timeline", role=Role.HANDLER, province=JS)
        [entry] = [e for e in timeline["entries"] if e["event"] == "NoticeIssued"]
        assert entry["detail"]["notice_no"] == notice["notice_no"]

        document = f"{api.base}{path}/notices/{notice['notice_no']}"
        for role, province in ((Role.WINDOW, SH), (Role.HANDLER, JS), (Role.AUDITOR, JS)):
            async with api.session.get(document, headers=keys.bearer(role, province)) as response:
                stored = await response.read()
                answered = (response.status, response.content_type, response.charset)
                served = response.headers
            assert answered == (200, "text/html", "utf-8")
            assert hashlib.sha256(stored).hexdigest() == notice["sha256"] == served["Notice-SHA256"]
            assert served["Repr-Digest"] == f"sha-256=:{b64(hashlib.sha256(stored).digest())}:"
            public_key = keys.node_signer.public_key()
            assert served["Notice-Key-Id"] == public_key.key_id
            assert public_key.verify(stored, unb64(served["Notice-Signature"]))
            assert "不予受理决定书" in stored.decode("utf-8")
            assert APPLICANT["name"] not in stored.decode("utf-8")

        for role in (Role.AUDITOR, Role.HANDLER):  # Anhui is no party to the case
            for suffix in ("/notices", f"/notices/{notice['notice_no']}"):
                status, problem, headers = await api.call("GET", path + suffix, role=role, province=AH)
                assert status == 403, (suffix, problem)
                assert headers["Content-Type"].startswith("application/problem+json")
        status, problem, headers = await api.call("GET", path + "/notices/NO-SUCH-1", role=Role.WINDOW)
        assert (status, problem["status"]) == (404, 404)
        assert "NO-SUCH-1" not in problem["detail"]  # an error never echoes what the client sent

    run(node, keys, scenario)
