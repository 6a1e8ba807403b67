"""One province on several node processes and one PostgreSQL schema, under load: every process serves the API,
exactly one runs the background workers (it holds the worker lease), and when that one is killed (SIGKILL)
another takes the lease and the workers over. No acknowledged case is lost, none is applied twice by the read
models, and the transparency tree covers every event once. With share_ports the processes listen on the same
ports, and connections to them land on each."""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import psycopg
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aggregates.responsibility import Actor
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.cli import main as cli
from node.settings import load_settings
from simulators.cluster import NodeProcess, prepare_keys, token_for, wait_for_any_line
from simulators.sample_data import citizen_id, sample_catalogue
from tests.e2e import http_client as http
from tests.e2e.federation_support import poll_http

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]
SH, JS = "310000", "320000"
CASES = 60
KILL_AT = 20
WAIT_S = 30.0


@pytest.fixture
def store(postgres_url: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    schema = f"scale_{uuid.uuid4().hex[:8]}"
    env = {"TONGBAN_POSTGRES_URL": postgres_url, "TONGBAN_POSTGRES_SCHEMA": schema}
    prepare_keys(tmp_path, (SH,))
    services = build_services(load_settings(province=SH, environ={"TONGBAN_DATA_DIR": str(tmp_path), **env}))
    try:
        services.catalogue.load(sample_catalogue(), JS, Actor(JS, "CAT", "loader"))
    finally:
        close_services(services)
    yield env
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


def test_the_workers_move_to_a_standby_when_their_process_dies(
    store: dict[str, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    extra = {**store, "TONGBAN_LEASE_RETRY_S": "0.3", "TONGBAN_FOLLOW_INTERVAL_S": "0.2"}
    nodes = [NodeProcess(SH, tmp_path, extra) for _ in range(3)]
    for node in nodes:
        node.start()
    try:
        [leader] = wait_for_any_line(nodes, [0, 0, 0], '"workers.lease_acquired"', timeout_s=WAIT_S)
        survivors = [n for n in nodes if n is not leader]
        marks = [len(n.lines) for n in survivors]
        headers = {"Authorization": "Bearer " + token_for(tmp_path / "token-issuer.key", SH, Role.WINDOW)}
        acked, refused_by = asyncio.run(_load(nodes, leader, headers))
        [successor] = wait_for_any_line(survivors, marks, '"workers.lease_acquired"', timeout_s=WAIT_S)
        assert set(refused_by) <= {id(leader)}  # only filings sent to the killed process went unanswered
        assert len(acked) + len(refused_by) == CASES

        auditor = {"Authorization": "Bearer " + token_for(tmp_path / "token-issuer.key", SH, Role.AUDITOR)}
        for node in survivors:
            status, ready = http.get_json(f"{node.http_url}/readyz", auditor)
            assert ready["checks"]["workers"] == ("leader" if node is successor else "standby")
        for case_id in acked:  # every acknowledged case is there, and its read model saw it once
            status, case = http.get_json(f"{survivors[0].http_url}/v1/cases/{case_id}", auditor)
            assert (status, case["version"]) == (200, 1), case

            def projected(cid: str = case_id) -> dict[str, Any] | None:
                code, view = http.get_json(f"{survivors[1].http_url}/v1/case-views/{cid}", auditor)
                return view if code == 200 else None

            view = poll_http(f"case view of {case_id}", projected)
            assert [e["version"] for e in view["entries"]] == [1]
    finally:
        for node in nodes:
            node.stop()
    # the tree covers every stored event once, and every signed head verifies
    monkeypatch.setenv("TONGBAN_DATA_DIR", str(tmp_path))
    for name, value in store.items():
        monkeypatch.setenv(name, value)
    assert cli.main(["audit", "verify", "--province", SH]) == 0


def test_processes_sharing_their_ports_all_serve_and_the_survivor_takes_the_workers(
    store: dict[str, str], tmp_path: Path
) -> None:
    extra = {**store, "TONGBAN_SHARE_PORTS": "true", "TONGBAN_LEASE_RETRY_S": "0.3"}
    first = NodeProcess(SH, tmp_path, extra)
    first.start()
    ports = {"TONGBAN_HTTP_PORT": str(first.http_port), "TONGBAN_GRPC_PORT": str(first.grpc_port)}
    second = NodeProcess(SH, tmp_path, {**extra, **ports})
    nodes = [first, second]
    try:
        second.start()  # binds the first one's ports: without SO_REUSEPORT on both, it would fail to start
        assert (second.http_port, second.grpc_port) == (first.http_port, first.grpc_port)
        [leader] = wait_for_any_line(nodes, [0, 0], '"workers.lease_acquired"', timeout_s=WAIT_S)
        [survivor] = [n for n in nodes if n is not leader]
        shared = first.http_url

        # Each request opens a connection of its own, and the kernel spreads connections over both processes.
        roles: set[str] = set()
        for _ in range(200):
            roles.add(http.get_json(f"{shared}/readyz")[1]["checks"]["workers"])
            if len(roles) == 2:
                break
        assert roles == {"leader", "standby"}
        with grpc.insecure_channel(first.grpc_target) as channel:
            health: Any = health_pb2_grpc.HealthStub(channel)  # the stubs package types this stub loosely
            answer = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING

        issuer_key = tmp_path / "token-issuer.key"
        window = {"Authorization": "Bearer " + token_for(issuer_key, SH, Role.WINDOW)}
        auditor = {"Authorization": "Bearer " + token_for(issuer_key, SH, Role.AUDITOR)}
        case_ids = [_file_case(shared, window, n) for n in range(10)]
        for (
            case_id
        ) in case_ids:  # whichever process answers reads the shared store, and the leader's read model
            status, case = http.get_json(f"{shared}/v1/cases/{case_id}", auditor)
            assert (status, case["version"]) == (200, 1), case
            poll_http(f"case view of {case_id}", _case_view(shared, case_id, auditor))

        mark = len(survivor.lines)
        leader.stop(signal.SIGKILL)
        assert survivor.wait_for_line('"workers.lease_acquired"', since=mark, timeout_s=WAIT_S)
        assert (
            http.get_json(f"{shared}/readyz")[1]["checks"]["workers"] == "leader"
        )  # only the survivor listens
        case_id = _file_case(shared, window, 10)
        poll_http(f"case view of {case_id}", _case_view(shared, case_id, auditor))
    finally:
        for node in nodes:
            node.stop()


def _file_case(url: str, headers: dict[str, str], n: int) -> str:
    applicant = {"name": "张伟", "id_type": "111", "id_number": citizen_id("310101", "19900101", n)}
    body = {"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": applicant}
    status, answer = http.post_json(f"{url}/v1/cases", body, headers)
    assert status == 201, answer
    case_id: str = answer["case_id"]
    return case_id


def _case_view(url: str, case_id: str, headers: dict[str, str]) -> Callable[[], dict[str, Any] | None]:
    def projected() -> dict[str, Any] | None:
        code, view = http.get_json(f"{url}/v1/case-views/{case_id}", headers)
        return view if code == 200 else None

    return projected


async def _load(
    nodes: list[NodeProcess], leader: NodeProcess, headers: dict[str, str]
) -> tuple[list[str], list[int]]:
    """File cases round-robin over the three processes, six at a time; kill the leader on the way. Returns
    the acknowledged case ids, and the process (its id()) of each filing left unanswered."""
    acked: list[str] = []
    refused_by: list[int] = []
    gate = asyncio.Semaphore(6)

    async def file(session: aiohttp.ClientSession, n: int) -> None:
        node = nodes[n % 3]
        applicant = {"name": "张伟", "id_type": "111", "id_number": citizen_id("310101", "19900101", n)}
        body = {"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": applicant}
        async with gate:
            if n == KILL_AT:
                await asyncio.to_thread(leader.stop, signal.SIGKILL)
            try:
                async with session.post(f"{node.http_url}/v1/cases", json=body, headers=headers) as response:
                    assert response.status == 201, await response.text()
                    acked.append((await response.json())["case_id"])
            except aiohttp.ClientError:
                refused_by.append(id(node))

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
        await asyncio.gather(*(file(session, n) for n in range(CASES)))
    return acked, refused_by
