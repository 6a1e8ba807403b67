"""One node built by the composition root and served for real on 127.0.0.1 (OS-picked ports): REST, the
public gRPC port and, with a federation directory, the mutual-TLS federation port. The servers run on an
event loop in a thread of their own, so synchronous tests (Hypothesis) call them with blocking clients, each
call bounded by a timeout. For the fuzzers, the authorisation matrix and the limits tests, which need one
node for many calls (module scope) rather than one per test.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

import grpc
from aiohttp import web

from aggregates.responsibility import Actor
from federation.handshake import channel_credentials
from federation.pki import create_dev_federation, node_name
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.grpc.server import build_federation_server, build_server
from node.http.app import create_app
from node.services import Services
from node.settings import PROVINCES, load_settings
from simulators.cluster import prepare_keys, token_for
from simulators.sample_data import sample_catalogue
from tests.builders import FakeClock

SH, JS, ZJ, AH = "310000", "320000", "330000", "340000"
CALL_TIMEOUT_S = 10.0
T = TypeVar("T")


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: Any  # parsed JSON, or None when the body is not JSON

    @property
    def problem_type(self) -> str:
        return str(self.body.get("type", "")).rsplit("/", 1)[-1] if isinstance(self.body, dict) else ""


class ServedNode:
    def __init__(self, services: Services, directory: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.services, self.directory, self._loop = services, directory, loop
        self.http_port = self.grpc_port = self.federation_port = 0
        self._tokens: dict[tuple[Role, str, str], str] = {}
        self._http: http.client.HTTPConnection | None = None

    def run(self, coroutine: Coroutine[Any, Any, T], timeout_s: float = CALL_TIMEOUT_S) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout_s)

    def events(self) -> int:
        """How many events the node's store holds (its last notification id)."""
        return self.services.app.recorder.max_notification_id() or 0

    # REST

    def token(self, role: Role, province: str = SH, operator: str = "op-001") -> str:
        key = (role, province, operator)
        if key not in self._tokens:
            self._tokens[key] = token_for(
                self.directory / "token-issuer.key", province, role, operator=operator
            )
        return self._tokens[key]

    def call(
        self,
        method: str,
        path: str,
        *,
        role: Role | None = Role.ISSUER,
        province: str = SH,
        body: Any = None,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
        operator: str = "op-001",
    ) -> Answer:
        """One request on a kept-alive connection (a new one after any failure), bounded by a timeout."""
        sent = {"Content-Type": "application/json", **(headers or {})}
        if role is not None:
            sent["Authorization"] = f"Bearer {self.token(role, province, operator)}"
        data = raw if raw is not None else None if body is None else json.dumps(body).encode()
        if self._http is None:
            self._http = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=CALL_TIMEOUT_S)
        try:
            self._http.request(method, path, body=data, headers=sent)
            response = self._http.getresponse()
            payload = response.read()
        except Exception:
            self._http.close()
            self._http = None
            raise
        if response.getheader("Connection", "").lower() == "close":
            self._http.close()
            self._http = None
        try:
            parsed = json.loads(payload) if payload else None
        except ValueError:
            parsed = None
        return Answer(response.status, {k.lower(): v for k, v in response.getheaders()}, parsed)

    # gRPC

    def public_channel(self) -> grpc.Channel:
        return grpc.insecure_channel(f"127.0.0.1:{self.grpc_port}")

    def federation_channel(self, province: str) -> grpc.Channel:
        """A channel to the federation port as ``province``'s node (its key and certificate)."""
        fed = self.directory / "federation"
        credentials = channel_credentials(
            (fed / province / "node.key").read_bytes(),
            (fed / province / "node.pem").read_bytes(),
            (fed / "ca.pem").read_bytes(),
        )
        return grpc.secure_channel(
            f"127.0.0.1:{self.federation_port}",
            credentials,
            options=[("grpc.ssl_target_name_override", node_name(SH))],
        )


@contextmanager
def served_node(
    directory: Path, *, federation: bool = False, env: dict[str, str] | None = None
) -> Iterator[ServedNode]:
    """A Shanghai node on SQLite, on a fake clock (2025-09-24 09:00 China time), with the sample catalogue of
    Shanghai, Jiangsu and Zhejiang; with ``federation``, a federation of 310000, 320000 and 330000."""
    provinces = (SH, JS, ZJ)
    prepare_keys(directory, provinces)
    environ = {
        "TONGBAN_DATA_DIR": str(directory),
        "TONGBAN_HTTP_PORT": "0",
        "TONGBAN_GRPC_PORT": "0",
        **(env or {}),
    }
    if federation:
        # The peers' endpoints are closed ports: this node never reaches them in these tests.
        create_dev_federation(
            directory / "federation",
            dict.fromkeys(provinces, "127.0.0.1:9"),
            {p: PROVINCES[p] for p in provinces},
            {p: (directory / p / "signing.pub").read_text() for p in provinces},
        )
        environ |= {"TONGBAN_FEDERATION_DIR": str(directory / "federation"), "TONGBAN_FEDERATION_PORT": "0"}
    settings = load_settings(province=SH, environ=environ)
    clock = FakeClock(datetime.fromisoformat("2025-09-24T09:00:00+08:00"))
    services = build_services(settings, clock=clock)
    for province in provinces:
        services.catalogue.load(sample_catalogue(), province, Actor(province, "CAT", "loader"))
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="served-node", daemon=True)
    thread.start()
    node = ServedNode(services, directory, loop)
    runner = web.AppRunner(create_app(services), access_log=None)
    servers: list[grpc.aio.Server] = []

    async def start() -> None:
        # grpc.aio servers belong to the loop they are made on: make them on the node's loop
        grpc_server, _health = build_server(services)
        federation_server, _federation_health = build_federation_server(services)
        servers.extend((grpc_server, federation_server))
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        node.http_port = runner.addresses[0][1]
        node.grpc_port = grpc_server.add_insecure_port("127.0.0.1:0")
        await grpc_server.start()
        if services.federation is not None:
            node.federation_port = federation_server.add_secure_port(
                "127.0.0.1:0", services.federation.credentials
            )
            await federation_server.start()

    async def stop() -> None:
        await asyncio.gather(*(server.stop(None) for server in servers), runner.cleanup())

    try:
        node.run(start(), 30)
        yield node
    finally:
        node.run(stop(), 30)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
        close_services(services)
