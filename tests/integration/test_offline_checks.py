"""Offline checks reach the issuer's use log exactly once, on both stores: a kit of the issuing province
uploads to its node; a kit of another province uploads to its own node, whose outbox carries the record to
the issuing province only. Repeated uploads, redelivered batches and restarts add nothing; a bad upload
writes nothing."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

from aiohttp import web

from aggregates.responsibility import Actor
from federation.inbox import Inbox
from federation.outbox import Outbox
from node.auth import Role
from node.services import Services
from node.workers.offline_uses import OfflineUses
from tests.builders import ACTOR, FakeClock, node_issue_body
from tests.conftest import Keys
from tests.integration.rest_client import Api, run
from tests.integration.test_federation_inbox import JS, SH, ZJ, jiangsu  # noqa: F401 - the fixture
from wallet.wallet import Wallet

SH_DESK, JS_POLICE = f"{SH}.hotel-0001", f"{JS}.police-0001"


def credential_of(node: Services, clock: FakeClock, tmp_path: Path) -> tuple[str, str]:
    """A certificate of Shanghai and a credential of it for a holder's device: (identifier, credential id)."""
    body = node_issue_body(0)
    certificate = node.certificates.issue(ACTOR, **body)
    wallet = Wallet.create(tmp_path / "wallet")
    issued = node.credentials.issue(
        Actor(SH, "SUISHENBAN", "platform-1"),
        certificate.identifier,
        body["holder_id_type"],
        body["holder_id"],
        wallet.proof(f"{SH}.node.tongban", int(clock.now.timestamp())),
    )
    node.projections["credential_statuses"].tick()
    return certificate.identifier, issued.credential_id


def record(verifier: str, credential_id: str, clock: FakeClock, **changes: Any) -> dict[str, Any]:
    return {
        "record_id": str(uuid.uuid4()),
        "verifier_id": verifier,
        "scenario": "HOTEL_CHECK_IN",
        "at": clock.now.isoformat(),
        "verdict": "ACCEPT",
        "reason": "OK",
        "issuer": f"{SH}.node.tongban",
        "credential_id": credential_id,
        **changes,
    }


def offline_uses(node: Services, identifier: str) -> list[dict[str, Any]]:
    return [e.detail for e in node.certificates.history(identifier) if e.detail.get("channel") == "OFFLINE"]


def test_a_kit_of_the_issuing_province_uploads_and_the_use_is_logged_once(
    node: Services, keys: Keys, clock: FakeClock, tmp_path: Path
) -> None:
    identifier, credential_id = credential_of(node, clock, tmp_path)
    checked = record(SH_DESK, credential_id, clock)

    async def scenario(api: Api, app: web.Application) -> None:
        for _ in range(2):  # an upload repeated after a lost answer holds the same record
            status, answer, _ = await api.call(
                "POST",
                "/v1/verification-records",
                role=Role.VERIFIER,
                operator=SH_DESK,
                body={"records": [checked]},
            )
            assert (status, answer) == (200, {"held": [checked["record_id"]]})
        before = node.app.recorder.max_notification_id()
        for bad in (
            record(JS_POLICE, credential_id, clock),  # another verifier's record
            record(SH_DESK, credential_id, clock, scenario="PAWNSHOP"),
            record(SH_DESK, credential_id, clock, at="2999-01-01T00:00:00+08:00"),  # in the future
            record(SH_DESK, credential_id, clock, issuer="evil"),
        ):
            status, problem, _ = await api.call(
                "POST",
                "/v1/verification-records",
                role=Role.VERIFIER,
                operator=SH_DESK,
                body={"records": [record(SH_DESK, credential_id, clock), bad]},
            )
            assert status == 422, problem
        assert node.app.recorder.max_notification_id() == before  # a bad upload records none of its records

    run(node, keys, scenario)
    assert node.workers.offline_uses.tick() == 1
    restarted = OfflineUses(node.app, node.offline_checks, 100)  # reads the whole log again
    assert restarted.tick() == 0
    [use] = offline_uses(node, identifier)
    assert (use["requester_province"], use["purpose"]) == (SH, "HOTEL_CHECK_IN")
    assert use["consent_reference"].endswith(checked["record_id"])


def test_a_kit_of_another_province_reaches_the_issuer_through_the_federation(
    node: Services,
    jiangsu: Services,  # noqa: F811
    clock: FakeClock,
    tmp_path: Path,
) -> None:
    identifier, credential_id = credential_of(node, clock, tmp_path)
    police = Actor(JS, "JS-GA", JS_POLICE)
    checked = record(
        JS_POLICE, credential_id, clock, scenario="ROAD_CHECK", verdict="REFUSE", reason="REVOKED"
    )
    jiangsu.offline_checks.record(police, [checked])
    unknown = record(JS_POLICE, "Q" * 22, clock)  # a credential Shanghai never issued: no use, no error
    jiangsu.offline_checks.record(police, [unknown])
    assert Outbox(jiangsu.app, JS).batch(ZJ, 0, 500).events == []  # to the issuing province only
    batch = Outbox(jiangsu.app, JS).batch(SH, 0, 500)
    assert len(batch.events) == 2
    inbox = Inbox(node.app, SH, node.cases.now)
    inbox.apply(JS, batch)
    inbox.apply(JS, batch)  # redelivered
    assert node.workers.offline_uses.tick() == 1
    [use] = offline_uses(node, identifier)
    assert (use["requester_province"], use["purpose"]) == (JS, "ROAD_CHECK")
    # Jiangsu's own worker adds nothing: the credential is not its own
    assert jiangsu.workers.offline_uses.tick() == 0
    # a province cannot pass on what another province's kit recorded
    jiangsu.offline_checks.record(police, [record(JS_POLICE, credential_id, clock)])
    relayed = Outbox(jiangsu.app, JS).batch(SH, batch.next_position, 500)
    inbox.apply(ZJ, relayed)
    assert [s.reason for s in inbox.quarantine.streams() if s.peer == ZJ] == [
        "an offline check not recorded by the sender for this province"
    ]
