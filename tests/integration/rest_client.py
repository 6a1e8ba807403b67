"""A REST client for in-process apps on a real socket: every JSON answer is checked against the OpenAPI
document the app publishes, for the route and status it answered."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer
from jsonschema import Draft202012Validator
from multidict import CIMultiDict

from node.auth import Role
from node.http.app import create_app
from node.services import Services
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
        operator: str = "op-001",
    ) -> tuple[int, dict[str, Any], CIMultiDict[str]]:
        sent = dict(headers or {})
        if role is not None:
            sent.update(self.keys.bearer(role, province, operator))
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
