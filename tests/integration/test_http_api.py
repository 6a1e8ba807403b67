"""The REST API over real HTTP on 127.0.0.1 (OS-picked port), on both stores.

Every JSON answer is checked against the schema the OpenAPI document publishes for that route and status.
"""

from __future__ import annotations

import asyncio
import base64
import json
import re
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from jsonschema import Draft202012Validator
from multidict import CIMultiDict
from openapi_spec_validator import validate as validate_openapi

from node.auth import Role, load_private_key, mint_token
from node.http.app import create_app
from node.services import Services
from node.signing import Ed25519Signer
from tests.builders import issue_body
from tests.conftest import Keys


class Api:
    """A client bound to one running app; each call checks the answer against the OpenAPI document."""

    def __init__(self, session: ClientSession, base: str, document: dict[str, Any], keys: Keys) -> None:
        self.session, self.base, self.document, self.keys = session, base, document, keys

    async def call(
        self,
        method: str,
        path: str,
        *,
        role: Role | None = Role.ISSUER,
        province: str = "310000",
        body: Any = None,
        headers: dict[str, str] | None = None,
        raw: bytes | None = None,
    ) -> tuple[int, dict[str, Any], CIMultiDict[str]]:
        sent = dict(headers or {})
        if role is not None:
            sent.update(self.keys.bearer(role, province))
        kwargs: dict[str, Any] = (
            {"data": raw} if raw is not None else {"json": body} if body is not None else {}
        )
        async with self.session.request(method, self.base + path, headers=sent, **kwargs) as response:
            payload = await response.json(content_type=None)
            self._check_documented(method, path, response.status, response.content_type, payload)
            return response.status, payload, CIMultiDict(response.headers)

    def _check_documented(self, method: str, path: str, status: int, content_type: str, payload: Any) -> None:
        template = next(
            (t for t in self.document["paths"] if re.fullmatch(re.sub(r"{\w+}", "[^/]+", t), path)), None
        )
        if template is None:
            return  # unknown routes answer a 404 problem, checked by the tests themselves
        responses = self.document["paths"][template][method.lower()]["responses"]
        assert str(status) in responses, f"{method} {template} answered undocumented {status}"
        content = responses[str(status)]["content"]
        assert content_type in content, f"{method} {template} {status}: undocumented {content_type}"
        schema = content[content_type]["schema"]
        if "$ref" in schema:
            schema = self.document["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
        Draft202012Validator(schema).validate(payload)


def run(services: Services, keys: Keys, scenario: Callable[[Api, web.Application], Awaitable[None]]) -> None:
    async def main() -> None:
        app = create_app(services)
        server = TestServer(app, host="127.0.0.1", port=0)
        await server.start_server()
        try:
            async with ClientSession() as session:
                document = await (await session.get(f"{server.make_url('/openapi.json')}")).json()
                await asyncio.wait_for(
                    scenario(Api(session, str(server.make_url("")), document, keys), app), 60
                )
        finally:
            await server.close()

    asyncio.run(main())


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
            "POST", "/v1/verifications", role=Role.HANDLER, province="340000", body={"identifier": identifier}
        )
        assert status == 200
        assert (answer["assertion"]["authentic"], answer["assertion"]["status"]) == (True, "SUSPENDED")
        status, answer, _ = await api.call(
            "POST",
            "/v1/verifications",
            role=Role.HANDLER,
            body={"identifier": identifier, "as_of": created["issued_at"]},
        )
        assert answer["assertion"]["status"] == "VALID"

        status, renewed, _ = await api.call(
            "POST",
            f"/v1/certificates/{identifier}/release",
            body={"reason": "解除暂扣"},
        )
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
            "StatusChanged",
            "Superseded",
        ]

        holder = {"holder_id_type": "111", "holder_id": issue_body()["holder_id"]}
        status, listed, _ = await api.call("POST", "/v1/holder-certificates", role=Role.AUDITOR, body=holder)
        assert [c["identifier"] for c in listed["items"]] == [identifier, renewed["identifier"]]
        status, _, _ = await api.call("POST", "/v1/holder-certificates", role=Role.WINDOW, body=holder)
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
            "POST", "/v1/verifications", role=Role.WINDOW, body={"identifier": identifier}
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
        assert "tongban_events_appended_total 3.0" in text  # Issued, and the holder index Opened + Added
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
