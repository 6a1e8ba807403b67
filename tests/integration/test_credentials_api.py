"""亮证 at the issuing node, on both stores and the node's fixed clock: a holder's platform gets a credential
for the holder's device, the certificate's history records who and when but nothing personal, bad requests
write nothing, and the status list the node publishes follows every transition exactly once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from aggregates.status_list import StatusListPublication
from credentials import sd_jwt
from credentials.status_list import CredentialStatus, StatusListToken
from node.auth import Role
from node.services import Services
from node.signing import Ed25519Signer
from node.usecases.credentials import status_list_uri
from node.workers.status_list_publisher import StatusListPublisher
from tests.builders import ACTOR, FakeClock, node_issue_body
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from wallet.wallet import Wallet

NODE_NAME = "310000.node.tongban"


def events(node: Services) -> int:
    return node.app.recorder.max_notification_id() or 0


def published(node: Services) -> StatusListToken:
    """Bring the read model up to date and let the publisher sign; the list as a verifier reads it."""
    node.projections["credential_statuses"].tick()
    node.workers.status_lists.tick()
    publication: StatusListPublication = node.app.repository.get(StatusListPublication.id_for("310000"))
    pem = Ed25519Signer.from_pem_file(node.settings.signing_key).public_key_pem()
    key = serialization.load_pem_public_key(pem.encode())
    assert isinstance(key, Ed25519PublicKey)
    return StatusListToken.verify(publication.token, key)


def broken_check_character(identifier: str) -> str:
    """The identifier with another check character than its own (its own may be X)."""
    return identifier[:-1] + ("Y" if identifier.endswith("X") else "X")


def request_body(identifier: str, holder: dict[str, str], proof: str) -> dict[str, Any]:
    return {"identifier": identifier, "holder": holder, "proof": proof}


def test_a_platform_gets_a_credential_for_the_holders_device_and_the_list_follows_it(
    node: Services, keys: Keys, clock: FakeClock, tmp_path: Path
) -> None:
    body = node_issue_body(0)
    certificate = node.certificates.issue(ACTOR, **body)
    holder = {"id_type": body["holder_id_type"], "id_number": body["holder_id"]}
    wallet = Wallet.create(tmp_path / "wallet")
    now = int(clock.now.timestamp())

    async def scenario(api: Api, app: web.Application) -> None:
        proof = wallet.proof(NODE_NAME, now)
        status, issued, _ = await api.call(
            "POST",
            "/v1/credentials",
            role=Role.PLATFORM,
            body=request_body(certificate.identifier, holder, proof),
        )
        assert status == 201, issued
        credential_id = wallet.add(issued["credential"])
        assert credential_id == issued["credential_id"]
        payload = sd_jwt.SdJwt.parse(issued["credential"]).payload()
        assert (payload["iss"], payload["vct"], payload["status"]["status_list"]["uri"]) == (
            NODE_NAME,
            body["type_code"],
            status_list_uri("310000"),
        )
        assert body["holder_id"] not in issued["credential"].split("~")[0]  # only digests are signed in clear

        status, history, _ = await api.call(
            "GET", f"/v1/certificates/{certificate.identifier}/history", role=Role.AUDITOR
        )
        entry = history["entries"][-1]
        assert entry["event"] == "CredentialIssued"
        assert body["holder_id"] not in str(entry)
        assert body["holder_name"] not in str(entry)

        index = payload["status"]["status_list"]["idx"]
        assert published(node).entries[index] is CredentialStatus.VALID
        # a restarted node signs no list again while the last one is fresh and says the same
        restarted = StatusListPublisher(
            node.app, node.views, Ed25519Signer.from_pem_file(node.settings.signing_key), "310000",
            node.settings.status_list_entries, node.settings.status_list_ttl_s, clock,
        )  # fmt: skip
        assert restarted.tick() is False
        for operation, expected in (
            ("suspend", CredentialStatus.SUSPENDED),
            ("release", CredentialStatus.VALID),
        ):
            status, _, _ = await api.call(
                "POST", f"/v1/certificates/{certificate.identifier}/{operation}", body={"reason": "核查"}
            )
            assert status == 200
            clock.advance(seconds=1)
            assert published(node).entries[index] is expected
        status, revoked, _ = await api.call(
            "POST",
            "/v1/credentials/revoke",
            role=Role.PLATFORM,
            body={"identifier": certificate.identifier, "credential_id": credential_id, "reason": "手机丢失"},
        )
        assert (status, revoked["revoked"]) == (200, True)
        clock.advance(seconds=1)
        assert published(node).entries[index] is CredentialStatus.INVALID
        # the certificate itself is untouched, and a new device gets a new credential
        status, again, _ = await api.call(
            "POST",
            "/v1/credentials",
            role=Role.PLATFORM,
            body=request_body(certificate.identifier, holder, wallet.proof(NODE_NAME, now)),
        )
        assert status == 201
        assert again["credential_id"] != credential_id

    run(node, keys, scenario)


def test_a_device_refreshes_its_short_lived_credential_keeping_its_id_and_entry(
    node: Services, keys: Keys, clock: FakeClock, tmp_path: Path
) -> None:
    body = node_issue_body(0)
    certificate = node.certificates.issue(ACTOR, **body)
    holder = {"id_type": body["holder_id_type"], "id_number": body["holder_id"]}
    wallet = Wallet.create(tmp_path / "wallet")

    async def ask(api: Api, device: Wallet) -> dict[str, Any]:
        proof = device.proof(NODE_NAME, int(clock.now.timestamp()))
        status, issued, _ = await api.call(
            "POST",
            "/v1/credentials",
            role=Role.PLATFORM,
            body=request_body(certificate.identifier, holder, proof),
        )
        assert status == 201, issued
        return issued

    async def scenario(api: Api, app: web.Application) -> None:
        first = await ask(api, wallet)
        assert first["refreshed"] is False
        wallet.add(first["credential"])
        clock.advance(days=node.settings.credential_lifetime_days - 1)
        assert [
            c.payload()["jti"] for c in wallet.due(within_s=2 * 86_400, now=int(clock.now.timestamp()))
        ] == [first["credential_id"]]
        before = events(node)
        again = await ask(api, wallet)
        # one event, on the certificate: no entry of the status list is claimed again
        assert events(node) == before + 1
        assert (again["refreshed"], again["credential_id"]) == (True, first["credential_id"])
        old, new = (sd_jwt.SdJwt.parse(c).payload() for c in (first["credential"], again["credential"]))
        assert new["status"] == old["status"]
        assert new["cnf"] == old["cnf"]
        assert new["exp"] > old["exp"]
        wallet.add(again["credential"])
        assert [c.payload()["exp"] for c in wallet.credentials()] == [
            new["exp"]
        ]  # the refreshed one replaced it
        assert wallet.due(within_s=2 * 86_400, now=int(clock.now.timestamp())) == []
        _, history, _ = await api.call(
            "GET", f"/v1/certificates/{certificate.identifier}/history", role=Role.AUDITOR
        )
        assert [e["event"] for e in history["entries"][-2:]] == ["CredentialIssued", "CredentialRefreshed"]
        assert published(node).entries[new["status"]["status_list"]["idx"]] is CredentialStatus.VALID
        # another device gets its own credential and entry
        other = await ask(api, Wallet.create(tmp_path / "other"))
        assert other["refreshed"] is False
        assert other["credential_id"] != first["credential_id"]

    run(node, keys, scenario)


def test_a_bad_request_for_a_credential_is_refused_and_writes_nothing(
    node: Services, keys: Keys, clock: FakeClock, tmp_path: Path
) -> None:
    body = node_issue_body(0)
    certificate = node.certificates.issue(ACTOR, **body)
    stranger = node_issue_body(1)
    holder = {"id_type": body["holder_id_type"], "id_number": body["holder_id"]}
    wallet = Wallet.create(tmp_path / "wallet")
    now = int(clock.now.timestamp())

    async def scenario(api: Api, app: web.Application) -> None:
        before = events(node)
        good = wallet.proof(NODE_NAME, now)
        cases = [
            ({"id_type": "111", "id_number": stranger["holder_id"]}, good, certificate.identifier, 422),
            (holder, wallet.proof("320000.node.tongban", now), certificate.identifier, 422),  # another node's
            (holder, wallet.proof(NODE_NAME, now - 3600), certificate.identifier, 422),  # stale
            (holder, good, broken_check_character(certificate.identifier), 422),
        ]
        for sent_holder, proof, identifier, expected in cases:
            status, problem, _ = await api.call(
                "POST",
                "/v1/credentials",
                role=Role.PLATFORM,
                body=request_body(identifier, sent_holder, proof),
            )
            assert status == expected, problem
            assert sent_holder["id_number"] not in str(problem)
        for role in (Role.WINDOW, Role.ISSUER):
            status, _, _ = await api.call(
                "POST", "/v1/credentials", role=role, body=request_body(certificate.identifier, holder, good)
            )
            assert status == 403
        assert events(node) == before
        node.certificates.change_status(certificate.identifier, "suspend", ACTOR, reason="暂扣")
        before = events(node)
        status, problem, _ = await api.call(
            "POST",
            "/v1/credentials",
            role=Role.PLATFORM,
            body=request_body(certificate.identifier, holder, good),
        )
        assert (status, events(node)) == (409, before)

    run(node, keys, scenario)
