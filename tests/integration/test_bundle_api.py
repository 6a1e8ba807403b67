"""一件事 bundles over real HTTP on both stores, and the case API's review fixes (503 documented, privacy).

Bundles: one list of materials attached once; parties only; the mode of each item never chosen silently; one
delivery, once; an item delivered only with its bundle; BundleCase a domain aggregate.
"""

from __future__ import annotations

from typing import Any

import pytest
from aiohttp import web
from eventsourcing.utils import get_topic, resolve_topic

from aggregates.bundle import BundleCase
from aggregates.calendar import CalendarKind
from aggregates.catalogue import ServiceBundle
from aggregates.errors import IllegalTransition
from aggregates.responsibility import Actor
from node.auth import Role
from node.services import Services
from tests.builders import CONSENT, REFUSAL, REST_REVIEW_CALLS, FakeClock, node_issue_body
from tests.conftest import Keys
from tests.integration.rest_client import Api, run

SH, JS, ZJ, AH = "310000", "320000", "330000", "340000"
ID_CARD = "types:11100000000013338W001"
# The applicant holds the ID card certificate the tests issue (a certificate must be the applicant's own)
APPLICANT = {
    "name": node_issue_body(0)["holder_name"],
    "id_type": "111",
    "id_number": node_issue_body(0)["holder_id"],
}


def events(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


def id_card(node: Services) -> str:
    """A 居民身份证 electronic certificate of the applicant, issued by this node."""
    body = {"service_item_code": None, **node_issue_body(0)}
    return node.certificates.issue(Actor(SH, "SH-ZZ", "issuer-1"), **body).identifier


async def file_bundle(
    api: Api, *, bundle_province: str = SH, mode: str = "FULL_ONLINE", expected: int = 201
) -> dict[str, Any]:
    status, bundle, _ = await api.call(
        "POST",
        "/v1/bundle-cases",
        role=Role.PLATFORM,
        body={
            "bundle_province": bundle_province,
            "bundle_code": "YJS-BIRTH",
            "mode": mode,
            "applicant": APPLICANT,
        },
    )
    assert status == expected, bundle
    return bundle


def entry(bundle: dict[str, Any], key: str) -> dict[str, Any]:
    found: list[dict[str, Any]] = [m for m in bundle["bundle_materials"] if m["key"] == key]
    assert len(found) == 1, key
    return found[0]


async def attach_everything(api: Api, bundle: dict[str, Any], certificate: str) -> dict[str, Any]:
    """Every material any item requires, attached once for the whole bundle: the ID card as a certificate."""
    path = f"/v1/bundle-cases/{bundle['bundle_id']}/materials"
    for material in bundle["bundle_materials"]:
        if not material["required"] or all(use["attached"] for use in material["items"]):
            continue
        proof = (
            {"certificate_identifier": certificate, "consent_reference": CONSENT}
            if material["key"] == ID_CARD
            else {"file_digest": "sha256:" + "9" * 64}
        )
        status, bundle, _ = await api.call(
            "POST", path, role=Role.PLATFORM, body={"material_key": material["key"], **proof}
        )
        assert status == 200, bundle
    return bundle


async def conclude_every_item(api: Api, bundle: dict[str, Any]) -> None:
    for case in bundle["cases"]:
        path = f"/v1/cases/{case['case_id']}"
        status, answer, _ = await api.call("POST", path + "/accept", role=Role.HANDLER, body={})
        assert status == 200, answer
        for step, operator, extra in REST_REVIEW_CALLS:
            body = {"step": step, "opinion": "同意", **extra}
            await api.call("POST", path + "/review", role=Role.HANDLER, body=body, operator=operator)
        status, answer, _ = await api.call(
            "POST", path + "/conclude", role=Role.HANDLER, body={"result": "ISSUED"}
        )
        assert (status, answer["state"]) == (200, "CONCLUDED"), answer


# 1b: the bundle's one list of materials, attached once


def test_a_bundle_lists_each_material_once_and_attaches_it_once(node: Services, keys: Keys) -> None:
    certificate = id_card(node)

    async def scenario(api: Api, _app: web.Application) -> None:
        filed = await file_bundle(api)
        path = f"/v1/bundle-cases/{filed['bundle_id']}"
        status, bundle, _ = await api.call("GET", path, role=Role.WINDOW)
        assert status == 200
        keys_listed = [m["key"] for m in bundle["bundle_materials"]]
        assert len(keys_listed) == len(set(keys_listed))  # each material once
        card = entry(bundle, ID_CARD)
        assert card["required"]
        assert card["substitutes"] == ["11100000000013338W001"]
        asking = {use["case_id"] for use in card["items"]}
        assert len(asking) == 9  # every item of 出生一件事 asks for an ID card
        assert not any(use["attached"] for use in card["items"])

        status, bundle, _ = await api.call(
            "POST",
            path + "/materials",
            role=Role.PLATFORM,
            body={
                "material_key": ID_CARD,
                "certificate_identifier": certificate,
                "consent_reference": CONSENT,
            },
        )
        assert status == 200, bundle
        assert all(use["attached"] for use in entry(bundle, ID_CARD)["items"])
        for case in bundle["cases"]:
            ids = [
                m["certificate_identifier"] for m in case["materials"].values() if m["certificate_identifier"]
            ]
            assert ids, case["item"]["code"]
            assert set(ids) == {certificate}

        before = events(node)
        refusals: list[tuple[dict[str, Any], int, str | None]] = [
            (
                {
                    "material_key": ID_CARD,
                    "certificate_identifier": certificate,
                    "consent_reference": CONSENT,
                },
                409,
                None,
            ),  # attached
            (
                {"material_key": "name:no such material", "file_digest": "sha256:" + "1" * 64},
                422,
                "/material_key",
            ),
            ({"material_key": "name:近期免冠证件照片"}, 422, "/certificate_identifier"),  # neither
            (
                {
                    "material_key": ID_CARD,
                    "certificate_identifier": certificate,
                    "file_digest": "sha256:" + "1" * 64,
                },
                422,
                "/certificate_identifier",
            ),
            ({"material_key": ID_CARD, "surprise": 1}, 422, None),
        ]
        for body, expected, pointer in refusals:
            status, problem, _ = await api.call("POST", path + "/materials", role=Role.PLATFORM, body=body)
            assert status == expected, (body, problem)
            if pointer:
                assert problem["pointer"] == pointer
        assert events(node) == before

        bundle = await attach_everything(api, bundle, certificate)
        assert all(case["missing_materials"] == [] for case in bundle["cases"])

    run(node, keys, scenario)


# 1c: parties only


def test_only_parties_read_attach_to_and_deliver_a_bundle(node: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        bundle = await file_bundle(api)
        path = f"/v1/bundle-cases/{bundle['bundle_id']}"
        before = events(node)
        for method, suffix, role, body in [
            ("GET", "", Role.WINDOW, None),
            ("GET", "", Role.AUDITOR, None),
            (
                "POST",
                "/materials",
                Role.PLATFORM,
                {"material_key": ID_CARD, "file_digest": "sha256:" + "2" * 64},
            ),
            ("POST", "/deliver", Role.WINDOW, {"method": "POST", "reference": "EMS1"}),
        ]:
            status, problem, _ = await api.call(method, path + suffix, role=role, province=AH, body=body)
            assert (status, problem["title"]) == (403, "Forbidden"), (suffix, role, problem)
        assert events(node) == before
        status, _, _ = await api.call("GET", path, role=Role.AUDITOR, province=SH)
        assert status == 200  # the filing province
        status, _, _ = await api.call("GET", "/v1/bundle-cases/not-a-uuid", role=Role.WINDOW)
        assert status == 422

        # Jiangsu's 出生一件事 filed at a Shanghai window: Jiangsu handles its items, so it is a party
        elsewhere = await file_bundle(api, bundle_province=JS, mode="PROXY")
        path = f"/v1/bundle-cases/{elsewhere['bundle_id']}"
        status, _, _ = await api.call("GET", path, role=Role.HANDLER, province=JS)
        assert status == 200
        status, _, _ = await api.call("GET", path, role=Role.HANDLER, province=ZJ)
        assert status == 403

    run(node, keys, scenario)


def test_a_party_to_some_items_only_attaches_to_none(node: Services, clock: FakeClock) -> None:
    """Jiangsu handles one item of a bundle filed in Shanghai: a party to the bundle, not to every item. A
    material both items ask for is refused before anything is written, not attached to one item only."""
    mixed = ServiceBundle.publish(
        SH, "YJS-MIX", "跨省一件事", [(SH, "WJ-0001"), (JS, "GA-0003")], Actor(SH, "CAT", "admin"), clock()
    )
    node.app.save(mixed)
    bundle, filed = node.bundles.submit_bundle(
        Actor(SH, "SH-WIN", "w-1"),
        bundle_province=SH,
        bundle_code="YJS-MIX",
        mode="PROXY",
        applicant=APPLICANT,
    )
    assert [(c.item.code, c.mode.value, c.handling_province) for c in filed] == [
        ("WJ-0001", "FULL_ONLINE", SH),
        ("GA-0003", "PROXY", JS),
    ]
    assert bundle.is_party(JS, filed)
    assert not bundle.is_party(ZJ, filed)
    before = events(node)
    with pytest.raises(IllegalTransition, match="WJ-0001, to which that province is no party"):
        node.bundles.attach_to_bundle(
            str(bundle.id), Actor(JS, "JS-GA", "h-1"), material_key=ID_CARD, file_digest="sha256:" + "3" * 64
        )
    assert events(node) == before


# 1f: each item's mode, explicit


def test_each_item_is_filed_in_the_requested_mode_or_full_online_or_refused(
    node: Services, keys: Keys
) -> None:
    node.catalogue.publish_bundle(
        SH, "YJS-MOVE", "迁居一件事", ["GA-0001", "WJ-0001"], Actor(SH, "CAT", "admin")
    )

    async def scenario(api: Api, _app: web.Application) -> None:
        elsewhere = await file_bundle(api, bundle_province=JS, mode="PROXY")
        modes = {case["item"]["code"]: case["mode"] for case in elsewhere["cases"]}
        assert modes["GA-0003"] == "PROXY"  # allows PROXY: filed as requested
        assert modes["WJ-0001"] == "FULL_ONLINE"  # 全程网办 only: filed online
        # PROXY receives in one province for another: Shanghai's own items are filed online
        here = await file_bundle(api, bundle_province=SH, mode="PROXY")
        assert {case["mode"] for case in here["cases"]} == {"FULL_ONLINE"}

        before = events(node)
        status, problem, _ = await api.call(
            "POST",
            "/v1/bundle-cases",
            role=Role.WINDOW,
            body={
                "bundle_province": SH,
                "bundle_code": "YJS-MOVE",
                "mode": "FULL_ONLINE",
                "applicant": APPLICANT,
            },
        )
        assert (status, problem["pointer"]) == (422, "/mode")
        assert "GA-0001" in problem["detail"]  # 户口迁移 is joint-only: named
        status, problem, _ = await api.call(
            "POST",
            "/v1/bundle-cases",
            role=Role.WINDOW,
            body={"bundle_province": SH, "bundle_code": "YJS-BIRTH", "mode": "JOINT", "applicant": APPLICANT},
        )
        assert (status, problem["pointer"]) == (422, "/mode")
        assert events(node) == before

    run(node, keys, scenario)


# 1d: one delivery, once


def test_a_bundle_is_delivered_once(node: Services, keys: Keys) -> None:
    certificate = id_card(node)

    async def scenario(api: Api, _app: web.Application) -> None:
        bundle = await attach_everything(api, await file_bundle(api), certificate)
        path = f"/v1/bundle-cases/{bundle['bundle_id']}/deliver"
        status, problem, _ = await api.call(
            "POST", path, role=Role.WINDOW, body={"method": "POST", "reference": "EMS1"}
        )
        assert (status, problem["pointer"]) == (422, "/bundle")  # items not concluded yet
        await conclude_every_item(api, bundle)
        status, delivered, _ = await api.call(
            "POST", path, role=Role.WINDOW, body={"method": "POST", "reference": "EMS1234567890CN"}
        )
        assert (status, delivered["delivered"], delivered["delivery"]) == (200, True, "POST")
        assert {case["state"] for case in delivered["cases"]} == {"DELIVERED"}
        before = events(node)
        status, problem, _ = await api.call(
            "POST", path, role=Role.WINDOW, body={"method": "POST", "reference": "EMS1234567890CN"}
        )
        assert (status, problem["title"]) == (409, "Illegal transition"), problem
        assert "delivered already" in problem["detail"]
        assert events(node) == before

    run(node, keys, scenario)


# 1a: an item of a bundle is delivered with its bundle, never on its own


def test_an_item_of_a_bundle_is_not_delivered_on_its_own(node: Services, keys: Keys) -> None:
    certificate = id_card(node)

    async def scenario(api: Api, _app: web.Application) -> None:
        bundle = await attach_everything(api, await file_bundle(api), certificate)
        assert {case["bundle_id"] for case in bundle["cases"]} == {bundle["bundle_id"]}
        await conclude_every_item(api, bundle)
        before = events(node)
        first = bundle["cases"][0]["case_id"]
        status, problem, _ = await api.call(
            "POST",
            f"/v1/cases/{first}/deliver",
            role=Role.WINDOW,
            body={"method": "WINDOW", "reference": "窗口领取"},
        )
        assert (status, problem["title"]) == (409, "Illegal transition"), problem
        assert "bundle" in problem["detail"]
        assert events(node) == before
        status, delivered, _ = await api.call(
            "POST",
            f"/v1/bundle-cases/{bundle['bundle_id']}/deliver",
            role=Role.WINDOW,
            body={"method": "POST", "reference": "EMS1"},
        )
        assert (status, {case["state"] for case in delivered["cases"]}) == (200, {"DELIVERED"})

    run(node, keys, scenario)


# 1e: BundleCase is a domain aggregate


def test_the_bundle_case_is_a_domain_aggregate_and_its_old_topic_still_resolves(node: Services) -> None:
    bundle, _ = node.bundles.submit_bundle(
        Actor(SH, "SH-YWTB", "app"),
        bundle_province=SH,
        bundle_code="YJS-BIRTH",
        mode="FULL_ONLINE",
        applicant=APPLICANT,
    )
    assert isinstance(bundle, BundleCase)
    [stored] = node.app.recorder.select_events(bundle.id)
    assert stored.topic == get_topic(BundleCase.Filed) == "aggregates.bundle:BundleCase.Filed"
    assert resolve_topic("node.cases:BundleCase.Filed") is BundleCase.Filed  # stores recorded before the move
    assert resolve_topic("node.cases:BundleCase.Delivered") is BundleCase.Delivered
    assert node.bundles.bundle_case(str(bundle.id)).filing_province == SH


# 3: commands that compute a working-day due date count through a provisional year, never refuse


def test_a_due_date_in_a_year_without_the_official_schedule_is_provisional_not_refused(
    node: Services, keys: Keys, clock: FakeClock
) -> None:
    """Late December of the last official year: the supplement and rectification due dates fall in the next
    year, which is provisional. Both commands succeed, and the dates skip the next 元旦 (a statutory day)."""
    last = node.cases.calendars.summary()["official_through"]
    assert isinstance(last, int)
    clock.set_china_time(f"{last}-12-24")

    async def scenario(api: Api, _app: web.Application) -> None:
        status, case, _ = await api.call(
            "POST",
            "/v1/cases",
            role=Role.WINDOW,
            body={"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT},
        )
        path = f"/v1/cases/{case['case_id']}"
        await api.call("POST", path + "/receive", role=Role.WINDOW, body={})
        await api.call("POST", path + "/forward", role=Role.WINDOW, body={})
        status, supplemented, _ = await api.call(
            "POST",
            path + "/supplement-request",
            role=Role.HANDLER,
            province=JS,
            body={"missing": case["missing_materials"], "reason": "材料不全"},
        )
        assert status == 200, supplemented
        due = supplemented["supplement"]["due_on"]
        assert due.startswith(f"{last + 1}-01-")
        assert node.cases.calendars.kind(last + 1) == CalendarKind.PROVISIONAL
        assert f"{last + 1}-01-01" < due  # counted past New Year's Day, a statutory holiday
        status, _, _ = await api.call("POST", path + "/refuse", role=Role.HANDLER, province=JS, body=REFUSAL)
        assert status == 200
        status, rated, _ = await api.call(
            "POST", path + "/rating", role=Role.PLATFORM, body={"score": 1, "channel": "ONLINE"}
        )
        assert status == 200, rated
        assert rated["rectification_due_on"].startswith(f"{last + 1}-01-")

    run(node, keys, scenario)


# 4: the applicant's identity is personal data: not for auditors of a province that is no party


def test_auditors_of_a_province_that_is_no_party_do_not_read_the_applicant(
    node: Services, keys: Keys
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        status, case, _ = await api.call(
            "POST",
            "/v1/cases",
            role=Role.WINDOW,
            body={"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": APPLICANT},
        )
        path = f"/v1/cases/{case['case_id']}"
        status, problem, _ = await api.call("GET", path + "/applicant", role=Role.AUDITOR, province=AH)
        assert status == 403, problem
        assert APPLICANT["name"] not in str(problem)
        assert APPLICANT["id_number"] not in str(problem)
        for party in (SH, JS):  # receiving and handling province
            status, person, _ = await api.call("GET", path + "/applicant", role=Role.AUDITOR, province=party)
            assert (status, person["id_number"]) == (200, APPLICANT["id_number"])
        for suffix in ("", "/timeline"):  # no personal data: auditors of any province
            status, _, _ = await api.call("GET", path + suffix, role=Role.AUDITOR, province=AH)
            assert status == 200

    run(node, keys, scenario)
