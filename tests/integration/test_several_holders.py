"""A certificate of several holders (结婚证, jointly held property), on SQLite and PostgreSQL: each holder
finds it in their list, is recognised as its holder, reads its uses, and is sealed and forgotten alone."""

from __future__ import annotations

from aiohttp import web

from aggregates.certificate import holder_digest
from aggregates.erasure import ERASED
from aggregates.responsibility import Actor
from node.auth import Role
from node.services import Services
from projections.certificate_uses import CertificateUses
from tests.builders import CONSENT, OTHER_HOLDER, node_issue_body
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.test_crypto_shredding import raw_events, whole_database

ADMIN = Actor("310000", "SH-ADMIN", "admin-1")


def test_each_holder_of_a_joint_certificate_holds_it_and_is_forgotten_alone(
    node: Services, keys: Keys
) -> None:
    body = node_issue_body(0, other_holders=[OTHER_HOLDER])
    first = {"id_type": body["holder_id_type"], "id_number": body["holder_id"]}
    second = {"id_type": OTHER_HOLDER["id_type"], "id_number": OTHER_HOLDER["id"]}

    async def scenario(api: Api, _app: web.Application) -> None:
        status, created, _ = await api.call("POST", "/v1/certificates", body=body)
        assert status == 201, created
        assert created["other_holders"] == [OTHER_HOLDER]
        identifier = created["identifier"]
        for person in (first, second):
            holder = {"holder_id_type": person["id_type"], "holder_id": person["id_number"]}
            status, listed, _ = await api.call(
                "POST", "/v1/holder-certificates", role=Role.AUDITOR, body=holder
            )
            assert [c["identifier"] for c in listed["items"]] == [identifier]
            answer = node.certificates.verify_for_peer(
                identifier,
                "320000",
                "C1",
                "婚姻登记核验",
                CONSENT,
                holder_digest(person["id_type"], person["id_number"]),
            )
            assert answer is not None
            assert (answer.assertion["authentic"], answer.assertion["holder_matches"]) == (True, True)
        status, problem, _ = await api.call(
            "POST", "/v1/certificates", body=node_issue_body(1, other_holders=[{**OTHER_HOLDER, "id": "123"}])
        )
        assert (status, problem["pointer"]) == (422, "/other_holders/0/id"), problem
        assert "123" not in problem["detail"]
        node.projections[CertificateUses.name].tick()
        for person in (first, second):
            status, uses, _ = await api.call("POST", "/v1/holder-uses", role=Role.PLATFORM, body=person)
            assert [u["identifier"] for u in uses["uses"]] == [identifier, identifier]

    run(node, keys, scenario)
    # no name or ID number of either holder in clear in the store
    for secret in (body["holder_name"], body["holder_id"], OTHER_HOLDER["name"], OTHER_HOLDER["id"]):
        assert all(secret.encode() not in state for *_, state in raw_events(node))
        assert secret.encode() not in whole_database(node)

    # forgetting the second holder erases their name and number, and only theirs
    [identifier] = [c.identifier for c in node.certificates.holder_certificates("111", OTHER_HOLDER["id"])]
    node.erasure.forget(OTHER_HOLDER["id_type"], OTHER_HOLDER["id"], ADMIN)
    content = node.certificates.certificate(identifier).content
    assert content.other_holders == [{"name": ERASED, "id_type": "111", "id": ERASED}]
    assert (content.holder_name, content.holder_id) == (body["holder_name"], body["holder_id"])
    assert node.certificates.verify(identifier).assertion["problem"] == "HOLDER_ERASED"
