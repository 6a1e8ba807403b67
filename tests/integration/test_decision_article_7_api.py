"""上海市"一网通办"决定 第七条 over REST, on both stores with a fixed clock: a window officer lists the
applicant's certificates; a supplement notice demanding on paper what one of them satisfies is a 422 naming
the certificate, nothing written; the conclusion ISSUED issues the item's certificate, which GET and the
history show linked to the case, with its paper counterpart."""

from __future__ import annotations

import hashlib
from datetime import date
from typing import Any

from aiohttp import web

from aggregates.certificate import DECLARED_FIELDS, canonical_json
from node.auth import Role
from node.services import Services
from tests.builders import CONSENT, REST_REVIEW_CALLS, FakeClock, issue_fields
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.test_decision_article_7 import APPLICANT, ISSUER_CODE, MARRIAGE_TYPE, item_fields

ID_CARD = issue_fields(0, issued_on=date(2025, 1, 2))


def events(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


async def conclude_issued(api: Api, path: str, card: str, clock: FakeClock) -> dict[str, Any]:
    attach = {"material_code": "M01", "certificate_identifier": card, "consent_reference": CONSENT}
    status, attached, _ = await api.call("POST", path + "/materials", role=Role.WINDOW, body=attach)
    assert status == 200, attached
    assert (await api.call("POST", path + "/accept", role=Role.HANDLER, body={}))[0] == 200
    for step, operator, extra in REST_REVIEW_CALLS:
        review = {"step": step, "opinion": "同意", **extra}
        status, _, _ = await api.call(
            "POST", path + "/review", role=Role.HANDLER, operator=operator, body=review
        )
        assert status == 200
    clock.set_china_time("2025-09-26")
    status, concluded, _ = await api.call(
        "POST", path + "/conclude", role=Role.HANDLER, body={"result": "ISSUED"}
    )
    assert (status, concluded["state"]) == (200, "CONCLUDED")
    return concluded


def test_article_7_over_rest(node: Services, keys: Keys, clock: FakeClock) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        item = {k: v for k, v in item_fields().items() if k != "code"}
        status, published, _ = await api.call(
            "PUT", "/v1/catalogue/310000/items/MZ-T01", role=Role.ADMIN, body=item
        )
        assert status in (200, 201), published
        assert published["definition"]["certificate"]["paper_counterpart"] is True
        status, card, _ = await api.call("POST", "/v1/certificates", role=Role.ISSUER, body=ID_CARD)
        assert status == 201, card

        # the applicant is named in the body, never in the URL; a window officer may ask, a platform not
        holder = {"holder_id_type": "111", "holder_id": APPLICANT["id_number"]}
        status, listed, _ = await api.call("POST", "/v1/holder-certificates", role=Role.WINDOW, body=holder)
        assert (status, [c["identifier"] for c in listed["items"]]) == (200, [card["identifier"]])
        status, _, _ = await api.call("POST", "/v1/holder-certificates", role=Role.PLATFORM, body=holder)
        assert status == 403
        status, _, _ = await api.call(
            "POST", "/v1/holder-certificates", role=Role.WINDOW, province="320000", body=holder
        )
        assert status == 403  # another province's window

        body = {
            "item_province": "310000",
            "item_code": "MZ-T01",
            "mode": "FULL_ONLINE",
            "applicant": APPLICANT,
        }
        status, case, _ = await api.call("POST", "/v1/cases", role=Role.PLATFORM, body=body)
        assert status == 201, case
        path = f"/v1/cases/{case['case_id']}"
        digest = {"material_code": "M02", "file_digest": "sha256:" + "2" * 64}
        assert (await api.call("POST", path + "/materials", role=Role.PLATFORM, body=digest))[0] == 200

        before = events(node)
        notice = {"missing": ["M01", "M02"], "reason": "材料不全"}
        status, problem, headers = await api.call(
            "POST", path + "/supplement-request", role=Role.HANDLER, body=notice
        )
        assert (status, headers["Content-Type"].split(";")[0]) == (422, "application/problem+json")
        assert card["identifier"] in problem["detail"]
        assert "第七条" in problem["detail"]
        assert APPLICANT["name"] not in str(problem)
        assert APPLICANT["id_number"] not in str(problem)
        assert "材料不全" not in str(problem)  # nothing the client sent comes back
        assert events(node) == before

        # the office takes the certificate instead; the case is decided and the certificate issued
        concluded = await conclude_issued(api, path, card["identifier"], clock)
        status, listed, _ = await api.call("POST", "/v1/holder-certificates", role=Role.WINDOW, body=holder)
        [issued] = [c for c in listed["items"] if c["identifier"] != card["identifier"]]
        status, read, _ = await api.call("GET", f"/v1/certificates/{issued['identifier']}", role=Role.HANDLER)
        assert (status, read) == (200, issued)
        assert (read["type_code"], read["issuer_code"], read["service_item_code"]) == (
            MARRIAGE_TYPE,
            ISSUER_CODE,
            "MZ-T01",
        )
        assert (read["issue_date"], read["valid_from"], read["valid_to"]) == (
            "2025-09-26",
            "2025-09-26",
            None,
        )
        assert read["holder"]["id"] == APPLICANT["id_number"]
        assert read["case_reference"] == concluded["case_no"]
        assert read["number"] == concluded["case_no"]
        expected_digest = signed_digest(read)
        assert read["paper_counterpart"] == {"issued": True, "content_digest": expected_digest}

        status, history, _ = await api.call(
            "GET", f"/v1/certificates/{issued['identifier']}/history", role=Role.AUDITOR
        )
        assert [(e["event"], e["status"]) for e in history["entries"]] == [
            ("Issued", "VALID"),
            ("IssuedForCase", "VALID"),
        ]
        assert history["entries"][1]["detail"] == {
            "case_reference": concluded["case_no"],
            "paper_counterpart_digest": expected_digest,
        }
        assert history["entries"][1]["operator_id"] == "op-001"  # the handler who concluded

    run(node, keys, scenario)


def signed_digest(read: dict[str, Any]) -> str:
    """The SHA-256 of what the node signed, from a certificate's JSON by its declaration (a certificate of
    one holder is signed without ``other_holders``)."""
    flat = {**read, **{f"holder_{k}": v for k, v in read["holder"].items()}}
    content = {name: flat[name] for name in DECLARED_FIELDS}
    if not content["other_holders"]:
        del content["other_holders"]
    return "sha256:" + hashlib.sha256(canonical_json(content)).hexdigest()
