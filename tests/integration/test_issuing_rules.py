"""Issuing rules and the effective status at an instant, on both stores (the ``node`` fixture runs SQLite and
PostgreSQL) and on the injected clock (2025-09-24 09:00 in China): the use case, REST and the reliance
watcher."""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from typing import Any

import pytest
from aiohttp import web

from aggregates.certificate import Link, Status
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.responsibility import Actor
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.services import Services
from node.settings import Settings
from node.store.application import AlreadyExists
from node.usecases import case_commands as cc
from simulators.sample_data import credit_code
from tests.builders import ACTOR, CONSENT, FakeClock, issue_fields
from tests.conftest import Keys
from tests.integration.rest_client import Api, run

ISSUED_ON = date(2025, 9, 1)  # before the clock's day
CLOCK_DAY = date(2025, 9, 24)


def events(node: Services) -> int:
    return node.app.recorder.max_notification_id() or 0


def fields(n: int = 0, **overrides: Any) -> dict[str, Any]:
    return issue_fields(n, ISSUED_ON, **overrides)


def test_a_number_is_issued_once_per_type_and_issuer(node: Services) -> None:
    first = node.certificates.issue(ACTOR, **fields(0, number="SH-0001"))
    before = events(node)
    with pytest.raises(AlreadyExists, match="证照编号"):
        node.certificates.issue(ACTOR, **fields(4, number="SH-0001"))  # another holder, the same type
    assert events(node) == before
    # another type, or another issuer of this province, may use the same number
    other_type = fields(1, number="SH-0001")
    assert other_type["type_code"] != first.content.type_code
    node.certificates.issue(ACTOR, **other_type)
    node.certificates.issue(ACTOR, **fields(0, number="SH-0001", issuer_code=credit_code("310000", 7)))


def test_two_concurrent_issues_of_one_number_record_one(node: Services) -> None:
    bodies = [fields(0, number="SH-RACE"), fields(4, number="SH-RACE")]

    def attempt(body: dict[str, Any]) -> str:
        try:
            return node.certificates.issue(ACTOR, **body).identifier
        except AlreadyExists:
            return "refused"

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(attempt, bodies * 3))
    assert len([o for o in outcomes if o != "refused"]) == 1


def test_a_renewal_keeps_the_number_and_a_change_may_take_a_new_one(node: Services) -> None:
    old = node.certificates.issue(ACTOR, **fields(1, number="SH-DL-1"))
    renewed = node.certificates.reissue(
        old.identifier,
        Link.RENEWED,
        ACTOR,
        issue_date="2025-09-20",
        valid_from="2025-09-20",
        valid_to="2031-09-20",
    )
    assert renewed.content.number == "SH-DL-1"
    changed = node.certificates.reissue(renewed.identifier, Link.CHANGED, ACTOR, number="SH-DL-2")
    assert changed.content.number == "SH-DL-2"
    # the number the chain gave up stays with the certificate that had it: never issued to another
    with pytest.raises(AlreadyExists):
        node.certificates.issue(ACTOR, **fields(5, number="SH-DL-1"))
    with pytest.raises(AlreadyExists):  # a change may not take a number another certificate holds
        node.certificates.reissue(changed.identifier, Link.CHANGED, ACTOR, number="SH-DL-1")


def test_an_issuer_of_another_province_or_a_central_one_needs_the_configuration(node: Services) -> None:
    before = events(node)
    for issuer in (credit_code("320000", 5), credit_code("100000", 5)):
        with pytest.raises(InvalidField) as refused:
            node.certificates.issue(ACTOR, **fields(issuer_code=issuer))
        assert refused.value.field == "issuer_code"
    assert events(node) == before


def test_a_listed_central_issuer_issues_through_this_province(settings: Settings, clock: FakeClock) -> None:
    ministry = credit_code("100000", 5)
    services = build_services(dataclasses.replace(settings, extra_issuers=f" {ministry} ,"), clock=clock)
    try:
        certificate = services.certificates.issue(ACTOR, **fields(issuer_code=ministry))
        assert certificate.content.issuer_code == ministry
        assert services.certificates.verify(certificate.identifier).assertion["status"] == "VALID"
    finally:
        close_services(services)


def test_an_issue_date_after_today_in_china_is_refused(node: Services, clock: FakeClock) -> None:
    clock.set_china_time("2025-09-24", hour=7)  # 2025-09-23 23:00 UTC: the UTC date is still the 23rd
    node.certificates.issue(ACTOR, **issue_fields(0, CLOCK_DAY))
    with pytest.raises(InvalidField) as refused:
        node.certificates.issue(ACTOR, **issue_fields(0, date(2025, 9, 25)))
    assert refused.value.field == "issue_date"


def test_a_business_licence_may_be_valid_from_its_founding_date(node: Services) -> None:
    licence = {
        **fields(0),
        "type_code": "11100000000014527B001",
        "type_name": "营业执照",
        "definer": "市场监管总局",
        "name": "营业执照",
        "holder_name": "上海示例科技有限公司",
        "holder_id_type": "001",
        "holder_id": credit_code("310115", 42, authority="9", kind="1"),
        "valid_from": "2010-05-04",  # 成立日期
        "valid_to": None,  # 长期
    }
    assert node.certificates.issue(ACTOR, **licence).content.valid_from == "2010-05-04"
    with pytest.raises(InvalidField) as refused:  # an ID card's validity starts when it is issued
        node.certificates.issue(ACTOR, **fields(0, valid_from="2010-05-04"))
    assert refused.value.field == "valid_from"


def test_a_type_outside_the_catalogue_is_refused(node: Services) -> None:
    with pytest.raises(InvalidField) as refused:
        node.certificates.issue(ACTOR, **fields(0, type_code="11100000000013338W999"))
    assert refused.value.field == "type_code"


def test_the_effective_status_moves_with_the_clock_everywhere(node: Services, clock: FakeClock) -> None:
    identifier = node.certificates.issue(
        ACTOR, **fields(2, valid_from="2025-10-01", valid_to="2025-10-31")
    ).identifier
    holder = fields(2)

    def seen() -> set[str]:
        listed = node.certificates.holder_certificates("111", holder["holder_id"])
        today = node.certificates.today()
        return {
            node.certificates.certificate(identifier).effective_status(today).value,
            next(c for c in listed if c.identifier == identifier).effective_status(today).value,
            node.certificates.verify(identifier).assertion["status"],
        }

    assert seen() == {"NOT_YET_VALID"}
    clock.set_china_time("2025-10-01", hour=0)
    assert seen() == {"VALID"}
    clock.set_china_time("2025-10-31", hour=23)
    assert seen() == {"VALID"}
    clock.set_china_time("2025-11-01", hour=0)
    assert seen() == {"EXPIRED"}
    # a certificate lapsed by date cannot be suspended or transferred out; its expiry can be recorded
    for operation, destination in (("suspend", None), ("transfer_out", "320000")):
        with pytest.raises(IllegalTransition, match="it is EXPIRED"):
            node.certificates.change_status(
                identifier, operation, ACTOR, reason="依法处理", destination_province=destination
            )
    expired = node.certificates.change_status(identifier, "expire", ACTOR, reason="有效期届满")
    assert expired.status is Status.EXPIRED


def test_rest_reads_the_effective_status_and_refuses_a_number_twice(
    node: Services, clock: FakeClock, keys: Keys
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        body = {**fields(2, valid_from="2025-10-01", valid_to="2025-10-31"), "number": "SH-REST-1"}
        status, created, _ = await api.call("POST", "/v1/certificates", body=body)
        assert (status, created["status"], created["recorded_status"]) == (201, "NOT_YET_VALID", "VALID")
        before = events(node)
        status, problem, _ = await api.call(
            "POST", "/v1/certificates", body={**fields(6), "number": "SH-REST-1"}
        )
        assert status == 409, problem
        assert "SH-REST-1" not in problem["detail"]  # never echoed
        status, problem, _ = await api.call(
            "POST", "/v1/certificates", body=issue_fields(0, date(2025, 9, 25))
        )
        assert (status, problem["pointer"]) == (422, "/issue_date"), problem
        assert events(node) == before
        path = f"/v1/certificates/{created['identifier']}"
        clock.set_china_time("2025-11-01", hour=0)
        status, read, _ = await api.call("GET", path, role=Role.HANDLER)
        assert (status, read["status"], read["recorded_status"]) == (200, "EXPIRED", "VALID")
        status, listed, _ = await api.call(
            "POST",
            "/v1/holder-certificates",
            body={"holder_id_type": "111", "holder_id": body["holder_id"]},
        )
        assert status == 200, listed
        assert {c["status"] for c in listed["items"] if c["identifier"] == created["identifier"]} == {
            "EXPIRED"
        }
        status, answer, _ = await api.call(
            "POST",
            "/v1/verifications",
            role=Role.HANDLER,
            body={"identifier": created["identifier"], "purpose": "核验", "consent_reference": CONSENT},
        )
        assert answer["assertion"]["status"] == "EXPIRED"
        status, problem, _ = await api.call("POST", f"{path}/suspend", body={"reason": "暂扣"})
        assert (status, problem["type"].rsplit("/", 1)[1]) == (409, "illegal-transition")

    run(node, keys, scenario)


SH_WINDOW = Actor("310000", "SH-WIN-01", "w-001")


def test_a_case_refuses_a_certificate_not_yet_valid_and_is_flagged_when_one_lapses(
    node: Services, clock: FakeClock
) -> None:
    card = fields(0)
    applicant = {"name": card["holder_name"], "id_type": "111", "id_number": card["holder_id"]}
    case_id = str(
        node.cases.submit(
            SH_WINDOW, item_province="320000", item_code="GA-0003", mode="PROXY", applicant=applicant
        ).id
    )
    later = node.certificates.issue(ACTOR, **fields(0, valid_from="2025-10-01")).identifier
    with pytest.raises(InvalidField, match="did not verify as authentic and valid"):
        node.cases.run(
            cc.ATTACH_MATERIAL,
            case_id,
            SH_WINDOW,
            material_code="M02",
            certificate_identifier=later,
            consent_reference=CONSENT,
        )
    lapsing = node.certificates.issue(ACTOR, **fields(0, valid_to="2025-09-30")).identifier
    node.cases.run(
        cc.ATTACH_MATERIAL,
        case_id,
        SH_WINDOW,
        material_code="M02",
        certificate_identifier=lapsing,
        consent_reference=CONSENT,
    )
    watcher = node.workers.reliance
    assert watcher.tick() == 0
    clock.set_china_time("2025-09-30", hour=23)  # its last valid day
    assert watcher.tick() == 0
    clock.set_china_time("2025-10-01", hour=0)  # lapsed, with no event recorded
    assert watcher.tick() == 1
    assert node.cases.case(case_id).certificate_flags == {lapsing: "EXPIRED"}
    node.certificates.change_status(lapsing, "expire", ACTOR, reason="有效期届满")
    assert watcher.tick() == 0  # the recorded expiry flags nothing twice
