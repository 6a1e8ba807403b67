"""The runner in-process: ports that cannot be bound fail clearly and leave nothing listening."""

from __future__ import annotations

import asyncio
import socket
import uuid
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager

import grpc
import psycopg
import pytest

from federation.pki import create_dev_federation
from node.runner import PortUnavailable, serve
from node.settings import PROVINCES, Settings, load_settings
from node.signing import Ed25519Signer
from tests.conftest import PROVINCE, Keys


def free_port() -> int:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with closing(socket.socket()) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


@contextmanager
def occupied() -> Iterator[int]:
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def node_settings(keys: Keys, http_port: int, grpc_port: int) -> Settings:
    return load_settings(
        province=PROVINCE,
        environ={
            "TONGBAN_DATA_DIR": str(keys.data_dir),
            "TONGBAN_HTTP_PORT": str(http_port),
            "TONGBAN_GRPC_PORT": str(grpc_port),
            "TONGBAN_SHUTDOWN_GRACE_S": "1",
        },
    )


async def serve_briefly(settings: Settings, seconds: float = 10.0) -> BaseException | None:
    """Run the node until it fails or ``seconds`` pass; the exception it failed with, or None."""
    stop = asyncio.Event()
    task = asyncio.create_task(serve(settings, stop))
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if not done:
        stop.set()
        await task
        return None
    return task.exception()


def test_an_http_port_in_use_raises_port_unavailable_naming_it(keys: Keys) -> None:
    with occupied() as port:
        failure = asyncio.run(serve_briefly(node_settings(keys, port, 0)))
    assert isinstance(failure, PortUnavailable), failure
    assert f"127.0.0.1:{port}" in str(failure)
    assert "HTTP" in str(failure)


def test_a_grpc_port_in_use_raises_and_closes_the_http_listener_first(keys: Keys) -> None:
    http_port = free_port()
    with occupied() as grpc_port:
        failure = asyncio.run(serve_briefly(node_settings(keys, http_port, grpc_port)))
    assert isinstance(failure, PortUnavailable), failure
    assert f"127.0.0.1:{grpc_port}" in str(failure)
    assert port_is_free(http_port), "the HTTP listener outlived the failed start"


def test_a_grpc_port_held_by_another_grpc_server_is_not_shared(keys: Keys) -> None:
    """grpc binds with SO_REUSEPORT by default: a second node on the same port would silently share it."""

    async def scenario() -> BaseException | None:
        other = grpc.aio.server()  # default options, as another grpc process would have
        grpc_port = other.add_insecure_port("127.0.0.1:0")
        await other.start()
        try:
            return await serve_briefly(node_settings(keys, free_port(), grpc_port), seconds=5)
        finally:
            await other.stop(None)

    failure = asyncio.run(scenario())
    assert isinstance(failure, PortUnavailable), failure


def test_a_clean_start_and_stop_uses_no_deprecated_shutdown_parameter(keys: Keys) -> None:
    http_port = free_port()

    async def scenario() -> None:
        stop, started = asyncio.Event(), asyncio.Event()
        task = asyncio.create_task(serve(node_settings(keys, http_port, 0), stop, started))
        await asyncio.wait_for(started.wait(), timeout=30)
        assert not port_is_free(http_port)
        stop.set()
        await task

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        asyncio.run(scenario())
    assert not [w for w in caught if "shutdown_timeout" in str(w.message)]
    assert port_is_free(http_port)


@pytest.mark.postgres
def test_share_ports_lets_two_nodes_of_one_schema_bind_all_three_ports(keys: Keys, postgres_url: str) -> None:
    """REST, gRPC and federation: the second node binds the first one's ports (two servers of a process share
    them as two processes do), and a node without share_ports is still refused."""
    peer = Ed25519Signer.generate()
    peer.write_key_pair(keys.data_dir / "320000" / "signing.key", keys.data_dir / "320000" / "signing.pub")
    federation = keys.data_dir / "federation"
    provinces = (PROVINCE, "320000")
    create_dev_federation(
        federation,
        dict.fromkeys(provinces, "127.0.0.1:9"),  # a closed port: the peer is never reached here
        {p: PROVINCES[p] for p in provinces},
        {p: (keys.data_dir / p / "signing.pub").read_text() for p in provinces},
    )
    schema = f"share_{uuid.uuid4().hex[:8]}"
    environ = {
        "TONGBAN_DATA_DIR": str(keys.data_dir),
        "TONGBAN_POSTGRES_URL": postgres_url,
        "TONGBAN_POSTGRES_SCHEMA": schema,
        "TONGBAN_FEDERATION_DIR": str(federation),
        "TONGBAN_SHUTDOWN_GRACE_S": "1",
        **{f"TONGBAN_{name}_PORT": str(free_port()) for name in ("HTTP", "GRPC", "FEDERATION")},
    }
    sharing = load_settings(province=PROVINCE, environ={**environ, "TONGBAN_SHARE_PORTS": "true"})

    async def scenario() -> BaseException | None:
        stop = asyncio.Event()
        nodes: list[asyncio.Task[None]] = []
        try:
            for _ in range(2):  # one after the other: the first start creates the schema's tables
                started = asyncio.Event()
                nodes.append(asyncio.create_task(serve(sharing, stop, started)))
                await _started_or_ended(nodes[-1], started)
            return await serve_briefly(load_settings(province=PROVINCE, environ=environ), seconds=10)
        finally:
            stop.set()
            await asyncio.gather(*nodes)  # a node that failed to start raises here

    try:
        failure = asyncio.run(scenario())
    finally:
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    assert isinstance(failure, PortUnavailable), failure


async def _started_or_ended(node: asyncio.Task[None], started: asyncio.Event) -> None:
    waiter = asyncio.create_task(started.wait())
    await asyncio.wait({node, waiter}, timeout=30, return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    assert started.is_set() or node.done(), "the node neither started nor failed within 30 s"
