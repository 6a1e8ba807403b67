"""Registered verifiers over REST, on both stores: an admin of this province registers, changes and withdraws
its own; kits and platforms of any province read the registry; bad input is refused and writes nothing."""

from __future__ import annotations

from aiohttp import web

from credentials.jose import DeviceKey
from node.auth import Role
from node.services import Services
from tests.conftest import Keys
from tests.integration.rest_client import Api, run

DESK = "310000.hotel-desk-0001"


def registration(**changes: object) -> dict[str, object]:
    return {
        "verifier_id": DESK,
        "organisation": "上海某宾馆",
        "scenarios": ["HOTEL_CHECK_IN"],
        "jwk": DeviceKey.generate().jwk,
        **changes,
    }


def test_an_admin_registers_changes_and_withdraws_a_verifier_and_kits_read_the_registry(
    node: Services, keys: Keys
) -> None:
    async def scenario(api: Api, app: web.Application) -> None:
        body = registration()
        status, registered, headers = await api.call("POST", "/v1/verifiers", role=Role.ADMIN, body=body)
        assert status == 201
        assert headers["Location"] == f"/v1/verifiers/{DESK}"
        assert registered == {**body, "province": "310000", "withdrawn": False}
        status, _, _ = await api.call("POST", "/v1/verifiers", role=Role.ADMIN, body=registration())
        assert status == 409

        node.projections["verifier_registry"].tick()
        status, listed, _ = await api.call("GET", "/v1/verifiers", role=Role.VERIFIER, province="330000")
        assert status == 200
        assert listed["verifiers"] == [{k: v for k, v in registered.items() if k != "withdrawn"}]

        new_key = DeviceKey.generate().jwk
        status, changed, _ = await api.call(
            "POST",
            f"/v1/verifiers/{DESK}/change",
            role=Role.ADMIN,
            body={"scenarios": ["HOTEL_CHECK_IN", "COUNTER_IDENTITY"], "jwk": new_key},
        )
        assert (status, changed["jwk"], changed["scenarios"]) == (
            200,
            new_key,
            ["COUNTER_IDENTITY", "HOTEL_CHECK_IN"],
        )
        # another province's admin cannot touch it
        status, _, _ = await api.call(
            "POST", f"/v1/verifiers/{DESK}/withdraw", role=Role.ADMIN, province="320000", body={}
        )
        assert status == 403
        status, withdrawn, _ = await api.call(
            "POST", f"/v1/verifiers/{DESK}/withdraw", role=Role.ADMIN, body={}
        )
        assert (status, withdrawn["withdrawn"]) == (200, True)
        node.projections["verifier_registry"].tick()
        status, listed, _ = await api.call("GET", "/v1/verifiers", role=Role.PLATFORM, province="340000")
        assert listed["verifiers"] == []

    run(node, keys, scenario)


def test_a_bad_registration_is_refused_and_writes_nothing(node: Services, keys: Keys) -> None:
    async def scenario(api: Api, app: web.Application) -> None:
        before = node.app.recorder.max_notification_id()
        for body in (
            registration(verifier_id="320000.hotel-desk-0001"),  # another province's prefix
            registration(scenarios=["PAWNSHOP"]),
            registration(jwk={"kty": "OKP", "crv": "Ed25519", "x": "short"}),
            registration(jwk={**DeviceKey.generate().jwk, "d": "A" * 43}),  # a private key
            registration(organisation="a\u0000b"),
        ):
            status, problem, _ = await api.call("POST", "/v1/verifiers", role=Role.ADMIN, body=body)
            assert status == 422, body
            assert "A" * 43 not in str(problem)
        status, _, _ = await api.call(
            "POST", "/v1/verifiers/310000.no-such-desk/withdraw", role=Role.ADMIN, body={}
        )
        assert status == 404
        assert node.app.recorder.max_notification_id() == before

    run(node, keys, scenario)
