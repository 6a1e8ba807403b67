"""The REST API over real HTTP on 127.0.0.1 (OS-picked port), on both stores.

Every JSON answer is checked against the schema the OpenAPI document publishes for that route and status.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import structlog
from aiohttp import web
from openapi_spec_validator import validate as validate_openapi

from node.auth import Role, load_private_key, mint_token
from node.services import Services
from node.signing import Ed25519Signer
from tests.builders import CONSENT, issue_body
from tests.conftest import Keys
from tests.integration.rest_client import Api, run

# What every verification names: it is a use of the certificate (用证), recorded with the holder's consent
USE = {"purpose": "核验", "consent_reference": CONSENT}


def events(services: Services) -> int:
    return services.app.recorder.max_notification_id() or 0


def test_issue_read_operate_verify_list(services: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        status, created, headers = await api.call("POST", "/v1/certificates", body=issue_body())
        assert status == 201
        identifier = created["identifier"]
        assert headers["Location"] == f"/v1/certificates/{identifier}"
        assert created["holder"]["id"] == issue_body()["holder_id"]
        status, read, _ = await api.call("GET", f"/v1/certificates/{identifier}", role=Role.HANDLER)
        assert (status, read) == (200, created)

        status, suspended, _ = await api.call(
            "POST", f"/v1/certificates/{identifier}/suspend", body={"reason": "暂扣"}
        )
        assert (status, suspended["status"], suspended["version"]) == (200, "SUSPENDED", 2)
        status, problem, _ = await api.call(
            "POST", f"/v1/certificates/{identifier}/suspend", body={"reason": "x"}
        )
        assert (status, problem["type"].rsplit("/", 1)[1]) == (409, "illegal-transition")

        # A handling officer of ANOTHER province verifies: mutual recognition needs no same-province token.
        status, answer, _ = await api.call(
            "POST",
            "/v1/verifications",
            role=Role.HANDLER,
            province="340000",
            body={**USE, "identifier": identifier},
        )
        assert status == 200
        assert (answer["assertion"]["authentic"], answer["assertion"]["status"]) == (True, "SUSPENDED")
        status, answer, _ = await api.call(
            "POST",
            "/v1/verifications",
            role=Role.HANDLER,
            body={**USE, "identifier": identifier, "as_of": created["issued_at"]},
        )
        assert answer["assertion"]["status"] == "VALID"

        status, released, _ = await api.call(
            "POST",
            f"/v1/certificates/{identifier}/release",
            body={"reason": "解除暂扣"},
        )
        # versions 3 and 4 are the two verifications: each a use of the certificate (用证记录)
        assert (status, released["status"], released["version"]) == (200, "VALID", 5)
        status, renewed, _ = await api.call(
            "POST",
            f"/v1/certificates/{identifier}/renew",
            body={
                "issue_date": created["issue_date"],
                "valid_from": created["valid_from"],
                "valid_to": "2040-12-31",
                "file_digest": "sha256:" + "a" * 64,
            },
        )
        assert (status, renewed["previous_identifier"], renewed["link"]) == (201, identifier, "RENEWED")

        status, history, _ = await api.call(
            "GET", f"/v1/certificates/{identifier}/history", role=Role.AUDITOR
        )
        assert [e["event"] for e in history["entries"]] == [
            "Issued",
            "StatusChanged",
            "Used",
            "Used",
            "StatusChanged",
            "Superseded",
        ]
        # the Anhui handler's verification, a use by another province over REST, names who asked and why
        used = history["entries"][2]
        assert (used["office_code"], used["detail"]["channel"], used["detail"]["requester_province"]) == (
            "OFFICE01",
            "REST",
            "340000",
        )
        assert used["detail"]["consent_reference"] == CONSENT

        holder = {"holder_id_type": "111", "holder_id": issue_body()["holder_id"]}
        status, listed, _ = await api.call("POST", "/v1/holder-certificates", role=Role.AUDITOR, body=holder)
        assert [c["identifier"] for c in listed["items"]] == [identifier, renewed["identifier"]]
        # a window officer lists the applicant's certificates (一网通办决定 第七条); a handler, a platform not
        status, at_window, _ = await api.call(
            "POST", "/v1/holder-certificates", role=Role.WINDOW, body=holder
        )
        assert (status, at_window) == (200, listed)
        for role in (Role.HANDLER, Role.PLATFORM):
            status, _, _ = await api.call("POST", "/v1/holder-certificates", role=role, body=holder)
            assert status == 403

    run(services, keys, scenario)


def test_authentication_and_authorisation(services: Services, keys: Keys) -> None:
    stranger = Ed25519Signer.generate()
    now = datetime.now(UTC)
    claims = {"aud": "tongban", "sub": "op-1", "province": "310000", "office": "O1", "role": "issuer"}
    forged = jwt.encode(
        {**claims, "iat": now, "exp": now + timedelta(hours=1)}, stranger.private_key_pem(), algorithm="EdDSA"
    )

    async def scenario(api: Api, _app: web.Application) -> None:
        body = issue_body()
        before = events(services)
        for headers, expected in [
            ({}, 401),
            ({"Authorization": "Basic dXNlcjpwdw=="}, 401),
            ({"Authorization": "Bearer not.a.jwt"}, 401),
            ({"Authorization": f"Bearer {forged}"}, 401),
            (
                {"Authorization": "Bearer " + expired_token(keys)},
                401,
            ),
        ]:
            status, problem, response_headers = await api.call(
                "POST", "/v1/certificates", role=None, headers=headers, body=body
            )
            assert status == expected, problem
            assert response_headers["Content-Type"].startswith("application/problem+json")
            assert "WWW-Authenticate" in response_headers
        status, problem, _ = await api.call("POST", "/v1/certificates", role=Role.WINDOW, body=body)
        assert (status, problem["title"]) == (403, "Forbidden")
        status, problem, _ = await api.call("POST", "/v1/certificates", province="320000", body=body)
        assert status == 403
        assert "310000" in problem["detail"]
        assert events(services) == before

    run(services, keys, scenario)


def expired_token(keys: Keys) -> str:
    return mint_token(
        load_private_key(keys.data_dir / "token-issuer.key"),
        province="310000",
        office_code="O1",
        operator_id="op-1",
        role=Role.ISSUER,
        ttl=timedelta(minutes=1),
        now=datetime.now(UTC) - timedelta(hours=1),
    )


@pytest.mark.parametrize(
    ("mutate", "status", "pointer"),
    [
        (lambda b: {**b, "surprise": 1}, 422, "/surprise"),
        (lambda b: {**b, "holder_id": 110105194912310020}, 422, "/holder_id"),
        (lambda b: {**b, "holder_id": "11010519491231002Y"}, 422, "/holder_id"),
        (lambda b: {**b, "valid_to": "2026-13-01"}, 422, "/valid_to"),
        (lambda b: {k: v for k, v in b.items() if k != "issuer_code"}, 422, "/issuer_code"),
        (lambda b: {**b, "issuer_code": "11220000013544541K"}, 422, "/issuer_code"),
        (lambda b: {**b, "holder_name": "x" * 101}, 422, "/holder_name"),
        (lambda b: [b], 422, ""),
    ],
)
def test_invalid_bodies_are_refused_with_a_pointer_and_write_nothing(
    services: Services, keys: Keys, mutate: Callable[[dict[str, Any]], Any], status: int, pointer: str
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        before = events(services)
        answered, problem, headers = await api.call("POST", "/v1/certificates", body=mutate(issue_body()))
        assert (answered, problem["pointer"]) == (status, pointer), problem
        assert headers["Content-Type"].startswith("application/problem+json")
        assert problem["request_id"] == headers["X-Request-Id"]
        assert issue_body()["holder_id"] not in json.dumps(problem)
        assert events(services) == before

    run(services, keys, scenario)


def test_malformed_requests(services: Services, keys: Keys) -> None:
    async def scenario(api: Api, app: web.Application) -> None:
        status, problem, _ = await api.call(
            "POST", "/v1/certificates", raw=b"{not json", headers={"Content-Type": "application/json"}
        )
        assert (status, problem["type"].rsplit("/", 1)[1]) == (400, "malformed-json")
        status, _, _ = await api.call(
            "POST", "/v1/certificates", raw=b"a=b", headers={"Content-Type": "text/plain"}
        )
        assert status == 415
        huge = json.dumps({**issue_body(), "name": "x" * 2_000_000}).encode()
        status, problem, _ = await api.call(
            "POST", "/v1/certificates", raw=huge, headers={"Content-Type": "application/json"}
        )
        assert status == 413
        status, problem, _ = await api.call("GET", "/v1/nowhere")
        assert (status, problem["status"]) == (404, 404)
        status, problem, _ = await api.call("GET", "/v1/certificates/not-an-identifier")
        assert (status, problem["pointer"]) == (422, "/identifier")
        status, problem, _ = await api.call(
            "POST",
            "/v1/verifications",
            body={
                **USE,
                "identifier": "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F",
                "as_of": "2026-01-01T00:00:00",
            },
        )
        assert (status, problem["pointer"]) == (422, "/as_of")
        status, problem, headers = await api.call(
            "GET", "/healthz", headers={"X-Request-Id": "trace-12345678"}
        )
        assert (status, headers["X-Request-Id"]) == (200, "trace-12345678")

    run(services, keys, scenario)


def test_verify_of_an_unknown_certificate_is_a_signed_negative(services: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        identifier = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"
        status, answer, _ = await api.call(
            "POST", "/v1/verifications", role=Role.WINDOW, body={**USE, "identifier": identifier}
        )
        assert status == 200
        assert (answer["assertion"]["authentic"], answer["assertion"]["problem"]) == (False, "NOT_FOUND")
        [key] = services.certificates.public_keys()
        assert key.verify(
            base64.b64decode(answer["signature"]["payload"]), base64.b64decode(answer["signature"]["value"])
        )
        assert json.loads(base64.b64decode(answer["signature"]["payload"])) == answer["assertion"]

    run(services, keys, scenario)


def test_operations_endpoints_and_metrics(services: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        assert (await api.call("GET", "/healthz", role=None))[0] == 200
        status, ready, _ = await api.call("GET", "/readyz", role=None)
        assert (status, ready["checks"]["store"]) == (200, "ok")
        await api.call("POST", "/v1/certificates", body=issue_body())
        async with api.session.get(api.base + "/metrics") as response:
            text = await response.text()
        assert 'tongban_http_requests_total{method="POST",route="/v1/certificates",status="201"} 1.0' in text
        # Issued, its number Claimed, and the holder index Opened + Added
        assert "tongban_events_appended_total 4.0" in text
        assert issue_body()["holder_id"] not in text

    run(services, keys, scenario)


def test_openapi_documents_every_route_and_is_valid(services: Services, keys: Keys) -> None:
    async def scenario(api: Api, app: web.Application) -> None:
        validate_openapi(api.document)
        served = {
            (route.method, route.resource.canonical)
            for route in app.router.routes()
            if route.method != "HEAD" and route.resource is not None
        }
        documented = {(m.upper(), path) for path, ops in api.document["paths"].items() for m in ops}
        assert served == documented

    run(services, keys, scenario)


IDENTIFIER_IN_NO_STORE = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"


def test_an_identifier_in_lower_case_or_padded_finds_the_certificate(services: Services, keys: Keys) -> None:
    """GB/T 36904 identifiers parse case-insensitively; every entry point must find the canonical record."""

    async def scenario(api: Api, _app: web.Application) -> None:
        status, created, _ = await api.call("POST", "/v1/certificates", body=issue_body())
        assert status == 201
        identifier = created["identifier"]
        lower = identifier.lower()
        assert lower != identifier
        status, read, _ = await api.call("GET", f"/v1/certificates/{lower}", role=Role.WINDOW)
        assert (status, read["identifier"]) == (200, identifier)
        status, answer, _ = await api.call(
            "POST",
            "/v1/verifications",
            role=Role.HANDLER,
            province="340000",
            body={**USE, "identifier": f"  {lower} "},
        )
        assert status == 200
        assert (answer["assertion"]["authentic"], answer["assertion"]["problem"]) == (True, None)
        assert answer["assertion"]["identifier"] == identifier
        status, suspended, _ = await api.call(
            "POST", f"/v1/certificates/{lower}/suspend", body={"reason": "暂扣"}
        )
        assert (status, suspended["identifier"], suspended["status"]) == (200, identifier, "SUSPENDED")
        status, history, _ = await api.call("GET", f"/v1/certificates/{lower}/history", role=Role.AUDITOR)
        assert (status, history["identifier"], len(history["entries"])) == (200, identifier, 3)  # a use

    run(services, keys, scenario)


def test_transfer_in_of_a_certificate_recorded_here_is_refused(services: Services, keys: Keys) -> None:
    """Within one province, a transfer-out is taken back with undo-transfer-out, not by a transfer-in."""

    async def scenario(api: Api, _app: web.Application) -> None:
        status, created, _ = await api.call("POST", "/v1/certificates", body=issue_body())
        identifier = created["identifier"]
        await api.call(
            "POST",
            f"/v1/certificates/{identifier}/transfer-out",
            body={"reason": "迁出", "destination_province": "320000"},
        )
        before = events(services)
        for previous in (identifier, identifier.lower()):
            status, problem, _ = await api.call(
                "POST",
                "/v1/certificates/transfer-in",
                body={**issue_body(1), "previous_identifier": previous},
            )
            assert (status, problem["pointer"]) == (422, "/previous_identifier"), problem
            assert "undo-transfer-out" in problem["detail"]
        assert events(services) == before
        # another province's certificate is checked at its origin: a node with no federation cannot
        status, problem, _ = await api.call(
            "POST",
            "/v1/certificates/transfer-in",
            body={**issue_body(1), "previous_identifier": IDENTIFIER_IN_NO_STORE.lower()},
        )
        assert (status, problem["pointer"]) == (422, "/previous_identifier"), problem
        assert events(services) == before

    run(services, keys, scenario)


def test_an_issuer_may_issue_only_for_its_own_province(services: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        before = events(services)
        status, problem, _ = await api.call(
            "POST", "/v1/certificates", body=issue_body(jurisdiction_code="320583")
        )
        assert (status, problem["pointer"]) == (422, "/jurisdiction_code"), problem
        assert events(services) == before
        status, created, _ = await api.call(
            "POST", "/v1/certificates", body=issue_body(jurisdiction_code="310115")
        )
        assert status == 201
        status, problem, _ = await api.call(
            "POST",
            f"/v1/certificates/{created['identifier']}/transfer-out",
            body={"reason": "迁出", "destination_province": "190000"},
        )
        assert (status, problem["pointer"]) == (422, "/destination_province"), problem

    run(services, keys, scenario)


@pytest.mark.parametrize(
    ("as_of", "status"),
    [
        ("2026-03-02t09:00:00z", 200),  # RFC 3339 allows lower-case t and z
        ("2026-03-02T09:00:00.123456789+08:00", 200),  # nanoseconds
        ("2026-12-31T23:59:60Z", 422),  # a leap second: valid RFC 3339, not a Python datetime
        ("2026-02-30T00:00:00Z", 422),
        ("2026-01-01T00:00:00+24:00", 422),
        ("0001-01-01T00:00:00+09:00", 422),  # before year 1 in China
        ("9999-12-31T23:59:59-01:00", 422),  # after year 9999 in UTC, and in the future anyway
        ("2999-01-01T00:00:00Z", 422),  # the future: a node cannot attest it
    ],
)
def test_verification_as_of_is_parsed_robustly(
    services: Services, keys: Keys, as_of: str, status: int
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        answered, answer, _ = await api.call(
            "POST", "/v1/verifications", body={**USE, "identifier": IDENTIFIER_IN_NO_STORE, "as_of": as_of}
        )
        assert answered == status, answer
        if status == 422:
            assert answer["pointer"] == "/as_of"
        else:
            assert answer["assertion"]["problem"] == "NOT_FOUND"

    run(services, keys, scenario)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (b'{"reason": "\\ud800"}', "surrogate"),  # a lone surrogate escape: UTF-8 cannot hold it
        (b'{"reason": "ok", "x\\udfff": 1}', "surrogate"),  # in a key
        (b'{"reason": "a", "reason": "b"}', "repeats a key"),
        (b"[" * 100_000 + b"]" * 100_000, ""),  # nesting deeper than the parser's recursion limit
        (b'{"reason": 1' + b"0" * 5000 + b"}", ""),  # an integer of more digits than Python converts
        (b'{"reason": "\xff"}', "UTF-8"),
    ],
)
def test_bodies_that_cannot_be_read_are_400_not_500(
    services: Services, keys: Keys, raw: bytes, detail: str
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        _, created, _ = await api.call("POST", "/v1/certificates", body=issue_body())
        before = events(services)
        for path in (f"/v1/certificates/{created['identifier']}/suspend", "/v1/certificates"):
            status, problem, _ = await api.call(
                "POST", path, raw=raw, headers={"Content-Type": "application/json"}
            )
            assert (status, problem["type"].rsplit("/", 1)[1]) == (400, "malformed-json"), problem
            assert detail in problem["detail"]
        assert events(services) == before

    run(services, keys, scenario)


@pytest.mark.parametrize("field", ["holder_name", "name", "number", "definer"])
@pytest.mark.parametrize("value", ["王小明\u0000伪造", "王小明\n", "\t王小明", "王小明\u007f"])
def test_control_characters_in_text_are_refused_without_echoing_the_value(
    services: Services, keys: Keys, field: str, value: str
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        before = events(services)
        status, problem, _ = await api.call("POST", "/v1/certificates", body={**issue_body(), field: value})
        assert (status, problem["pointer"]) == (422, f"/{field}"), problem
        assert "control characters" in problem["detail"]
        assert "王小明" not in json.dumps(problem, ensure_ascii=False)
        status, problem, _ = await api.call(
            "POST",
            "/v1/certificates/" + IDENTIFIER_IN_NO_STORE + "/suspend",
            body={"reason": "line one\nline two"},
        )
        assert (status, problem["pointer"]) == (422, "/reason"), problem
        assert events(services) == before

    run(services, keys, scenario)


def test_each_missing_field_is_listed_once(services: Services, keys: Keys) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        status, problem, _ = await api.call("POST", "/v1/certificates", body={})
        assert status == 422
        pointers = [e["pointer"] for e in problem["errors"]]
        assert len(pointers) == len(set(pointers)) == 14
        assert set(pointers) == {
            f"/{name}" for name in issue_body() if name not in ("valid_to", "service_item_code")
        }
        assert {e["detail"] for e in problem["errors"]} == {"is required"}

    run(services, keys, scenario)


def test_access_log_lines_name_the_acting_office_and_never_client_chosen_keys(
    services: Services, keys: Keys
) -> None:
    async def scenario(api: Api, _app: web.Application) -> None:
        with structlog.testing.capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
            await api.call("POST", "/v1/certificates", body=issue_body())
            await api.call("GET", "/healthz", role=None)  # the same keep-alive connection, no token
            await api.call("POST", "/v1/certificates", body={**issue_body(), "王小明的身份证号": 1})
            await api.call("POST", "/v1/certificates", body={**issue_body(), "holder_id": 110105194912310020})
        issued, health = [line for line in logs if line["event"] == "http.request"][:2]
        assert (issued["route"], issued["status"]) == ("/v1/certificates", 201)
        assert {k: issued[k] for k in ("province", "office_code", "operator_id", "role")} == {
            "province": "310000",
            "office_code": "OFFICE01",
            "operator_id": "op-001",
            "role": "issuer",
        }
        assert health["route"] == "/healthz"
        assert not {"province", "office_code", "operator_id", "role"} & set(health)
        unknown_field, bad_holder = [line for line in logs if line["event"] == "http.refused"]
        assert (unknown_field["problem"], unknown_field["pointer"]) == ("invalid-body", None)
        assert "王小明" not in repr(logs)
        assert bad_holder["pointer"] == "/holder_id"  # a documented field: its name is ours, not the client's

    run(services, keys, scenario)
