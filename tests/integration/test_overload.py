"""Overload, over real HTTP and gRPC on 127.0.0.1: past its limit of requests in flight, a node sheds the
excess at once (REST 429 problem+json with Retry-After, gRPC RESOURCE_EXHAUSTED with a retry-after trailer),
writes nothing for it, and takes it when it is sent again later; health, readiness and metrics are never shed.

The requests in flight are held deterministically: a gate in front of the node's store holds every save until
the test opens it, so a request that reached its save stays in flight for as long as the test wants.
"""

from __future__ import annotations

import asyncio
import http.client
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import pytest
import structlog
from grpc_health.v1 import health_pb2, health_pb2_grpc
from tongban.federation.v1 import federation_pb2 as pb
from tongban.federation.v1 import federation_pb2_grpc as pb_grpc

from aggregates.responsibility import Actor
from federation import servicer
from federation.client import PeerClients
from federation.errors import PeerUnavailable
from federation.handshake import channel_credentials
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.services import Services
from node.settings import load_settings
from node.usecases.case_commands import ATTACH_MATERIAL, FORWARD, RECEIVE
from simulators.sample_data import sample_catalogue
from tests.builders import CONSENT, issue_body
from tests.integration.served_node import JS, SH, ServedNode, served_node

LIMIT, EXCESS = 2, 3  # N requests in flight allowed, k more sent at once
BOUND_S = 60.0  # generous: how long a test waits for a condition before it fails
APPLICANT = {"name": "赵敏", "id_type": "111", "id_number": "11010519491231002X"}
_NUMBERS = itertools.count()  # each certificate the module issues is a sample of its own
CASE = {"item_province": SH, "item_code": "RS-0001", "mode": "FULL_ONLINE", "applicant": APPLICANT}


class Gate:
    """Stands in front of the node's ``save``. Open, it lets every save through; closed, it holds each save
    until the test opens it again, so a request that reached its save stays in flight."""

    def __init__(self, save: Callable[..., Any]) -> None:
        self._save = save
        self._opened = threading.Event()
        self._opened.set()
        self._arrived = threading.Semaphore(0)

    def save(self, *args: Any, **kwargs: Any) -> Any:
        if not self._opened.is_set():
            self._arrived.release()
            if not self._opened.wait(BOUND_S):
                raise TimeoutError("the test never opened the gate")
        return self._save(*args, **kwargs)

    def close(self) -> None:
        """Hold the saves from now on; only while nothing is in flight."""
        self._arrived = threading.Semaphore(0)
        self._opened.clear()

    def wait_for_held(self, count: int) -> None:
        for _ in range(count):
            assert self._arrived.acquire(timeout=BOUND_S), "a request never reached its save"

    def open(self) -> None:
        self._opened.set()


@pytest.fixture(scope="module")
def node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServedNode]:
    env = {"TONGBAN_HTTP_MAX_IN_FLIGHT": str(LIMIT), "TONGBAN_GRPC_MAX_IN_FLIGHT": str(LIMIT)}
    with served_node(tmp_path_factory.mktemp("overload"), federation=True, env=env) as served:
        yield served


@pytest.fixture
def gate(node: ServedNode, monkeypatch: pytest.MonkeyPatch) -> Iterator[Gate]:
    gate = Gate(node.services.app.save)
    monkeypatch.setattr(node.services.app, "save", gate.save)
    # The federation servicer bounds a verification's store work by 5 s; a held one must outlast that.
    monkeypatch.setattr(servicer, "VERIFY_TIMEOUT_S", BOUND_S)
    yield gate
    gate.open()  # whatever failed, release what is still held


def _post(node: ServedNode, path: str, body: Any, token: str, key: str) -> tuple[int, dict[str, str], Any]:
    """One request on a connection of its own: the tests send several at once."""
    connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=BOUND_S)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token}", "Idempotency-Key": key}
    try:
        connection.request("POST", path, body=json.dumps(body).encode(), headers=headers)
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, json.loads(response.read())
    finally:
        connection.close()


def _get(node: ServedNode, path: str) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", node.http_port, timeout=BOUND_S)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _shed_total(node: ServedNode, surface: str) -> float:
    value = node.services.metrics.registry.get_sample_value(
        "tongban_shed_requests_total", {"surface": surface}
    )
    return value or 0.0


def _first_done(futures: Sequence[Any], count: int) -> list[Any]:
    """Wait (bounded) until ``count`` of ``futures`` are done: those (the others are held at the gate)."""
    finished: list[Any] = []
    lock, enough = threading.Lock(), threading.Event()

    def done(future: Any) -> None:
        with lock:
            finished.append(future)
            if len(finished) >= count:
                enough.set()

    for future in futures:
        future.add_done_callback(done)
    assert enough.wait(BOUND_S), "the excess requests were not answered"
    with lock:
        return list(finished)


def test_rest_sheds_exactly_the_excess_with_429_and_retry_after_and_writes_nothing_for_it(
    node: ServedNode, gate: Gate
) -> None:
    token = node.token(Role.PLATFORM)
    before = node.events()
    status, _, _ = _post(node, "/v1/cases", CASE, token, "overload-calibration")
    per_filing = node.events() - before  # how many events one filing writes
    assert status == 201
    assert per_filing >= 1
    shed_before, before = _shed_total(node, "rest"), node.events()
    keys = [f"overload-{i}" for i in range(LIMIT + EXCESS)]
    gate.close()
    with ThreadPoolExecutor(LIMIT + EXCESS) as pool, structlog.testing.capture_logs() as logs:
        futures = [pool.submit(_post, node, "/v1/cases", CASE, token, key) for key in keys]
        gate.wait_for_held(LIMIT)  # LIMIT filings are in flight, held at their save
        answered = _first_done(futures, EXCESS)
        assert len(answered) == EXCESS  # the others are held: they cannot have answered
        assert node.events() == before
        gate.open()
        shed = [f.result() for f in answered]
        admitted = [f.result() for f in futures if f not in answered]
    for status, headers, problem in shed:
        assert status == 429
        assert headers["content-type"].startswith("application/problem+json")
        assert headers["retry-after"] == "1"
        assert (problem["status"], problem["type"].rsplit("/", 1)[-1]) == (429, "overloaded")
    assert [status for status, _, _ in admitted] == [201] * LIMIT
    assert node.events() == before + LIMIT * per_filing  # the shed ones wrote nothing
    assert _shed_total(node, "rest") == shed_before + EXCESS
    # each shed request logged once: the surface, the route template and the limit, nothing the caller sent
    shed_lines = [line for line in logs if line["event"] == "overload.shed"]
    assert [(line["surface"], line["route"], line["limit"]) for line in shed_lines] == [
        ("rest", "/v1/cases", LIMIT)
    ] * EXCESS
    assert not any(APPLICANT["id_number"] in str(line) or APPLICANT["name"] in str(line) for line in logs)
    # Sent again once the node has room, with the same Idempotency-Keys: each is filed, once.
    again = [_post(node, "/v1/cases", CASE, token, keys[futures.index(f)]) for f in answered]
    assert [status for status, _, _ in again] == [201] * EXCESS
    assert node.events() == before + (LIMIT + EXCESS) * per_filing
    assert len({body["case_id"] for _, _, body in (*admitted, *again)}) == LIMIT + EXCESS


def _issued(node: ServedNode, count: int) -> list[str]:
    """``count`` certificates issued here: one per verification, so held verifications record their uses on
    certificates of their own."""
    identifiers = []
    for n in itertools.islice(_NUMBERS, count):
        body = issue_body(n, issue_date="2025-01-02", valid_from="2025-01-02")
        answer = node.call("POST", "/v1/certificates", body=body)
        assert answer.status == 201, answer.body
        identifiers.append(answer.body["identifier"])
    return identifiers


def _verify(identifier: str) -> pb.VerifyCertificateRequest:
    return pb.VerifyCertificateRequest(
        identifier=identifier, case_reference="JS-1", purpose="失业登记", consent_reference=CONSENT
    )


def test_the_federation_port_sheds_exactly_the_excess_with_resource_exhausted_and_writes_nothing_for_it(
    node: ServedNode, gate: Gate
) -> None:
    calibration, *identifiers = _issued(node, 1 + LIMIT + EXCESS)
    with node.federation_channel(JS) as channel:
        stub = pb_grpc.FederationServiceStub(channel)
        before = node.events()
        stub.VerifyCertificate(_verify(calibration), timeout=BOUND_S)
        per_use = node.events() - before  # a verification records the use (用证记录)
        assert per_use >= 1
        shed_before, before = _shed_total(node, "grpc"), node.events()
        gate.close()
        futures = [stub.VerifyCertificate.future(_verify(i), timeout=BOUND_S) for i in identifiers]
        gate.wait_for_held(LIMIT)
        answered = _first_done(futures, EXCESS)
        assert len(answered) == EXCESS
        assert node.events() == before
        gate.open()
        for future in answered:
            error: Any = future.exception()
            assert error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
            trailers = dict(error.trailing_metadata())
            assert (trailers["retry-after"], trailers["grpc-retry-pushback-ms"]) == ("1", "1000")
        for future in futures:
            if future not in answered:
                assert future.result().signed_payload
        assert node.events() == before + LIMIT * per_use  # the shed ones wrote nothing
        assert _shed_total(node, "grpc") == shed_before + EXCESS
        for future in answered:  # sent again once the node has room: each is answered, its use recorded
            stub.VerifyCertificate(_verify(identifiers[futures.index(future)]), timeout=BOUND_S)
        assert node.events() == before + (LIMIT + EXCESS) * per_use


def test_health_readiness_and_metrics_are_never_shed(node: ServedNode, gate: Gate) -> None:
    identifiers = _issued(node, LIMIT)
    token = node.token(Role.PLATFORM)
    gate.close()
    with (
        node.federation_channel(JS) as channel,
        ThreadPoolExecutor(LIMIT) as pool,
    ):
        stub = pb_grpc.FederationServiceStub(channel)
        held_rest = [
            pool.submit(_post, node, "/v1/cases", CASE, token, f"overload-held-{i}") for i in range(LIMIT)
        ]
        held_grpc = [stub.VerifyCertificate.future(_verify(i), timeout=BOUND_S) for i in identifiers]
        gate.wait_for_held(2 * LIMIT)
        # both are at their limit: one more of either is shed ...
        assert _post(node, "/v1/cases", CASE, token, "overload-one-more")[0] == 429
        with pytest.raises(grpc.RpcError) as refused:
            stub.VerifyCertificate(_verify(identifiers[0]), timeout=BOUND_S)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        # ... but never liveness, readiness, metrics, nor the federation port's health
        assert _get(node, "/healthz")[0] == 200
        assert _get(node, "/readyz")[0] == 200
        status, metrics = _get(node, "/metrics")
        assert status == 200
        assert f'tongban_requests_in_flight{{listener="rest"}} {float(LIMIT)}' in metrics
        assert f'tongban_requests_in_flight{{listener="federation"}} {float(LIMIT)}' in metrics
        assert 'tongban_shed_requests_total{surface="rest"}' in metrics
        health_stub: Any = health_pb2_grpc.HealthStub(channel)  # the stubs package types this stub loosely
        health = health_stub.Check(health_pb2.HealthCheckRequest(), timeout=BOUND_S)
        assert health.status == health_pb2.HealthCheckResponse.SERVING
        gate.open()
        assert [f.result()[0] for f in held_rest] == [201] * LIMIT
        assert all(f.result().signed_payload for f in held_grpc)


def test_the_federation_client_takes_resource_exhausted_as_retry_later(node: ServedNode, gate: Gate) -> None:
    """The client's channel tries a shed call again after the wait the node asks for (gRPC's retry policy
    honours grpc-retry-pushback-ms), a bounded number of times within the call's deadline; it then reports
    the peer busy (or, on a machine too slow for every try, out of time), and the same call succeeds once the
    node has room."""
    *held, asked = _issued(node, LIMIT + 1)
    fed = node.directory / "federation"
    clients = PeerClients(
        JS,
        node.services.federation.manifest.current,  # type: ignore[union-attr]
        channel_credentials(
            (fed / JS / "node.key").read_bytes(),
            (fed / JS / "node.pem").read_bytes(),
            (fed / "ca.pem").read_bytes(),
        ),
        endpoints={SH: f"127.0.0.1:{node.federation_port}"},
        clock=node.services.cases.now,
    )
    try:
        with node.federation_channel(JS) as channel:
            stub = pb_grpc.FederationServiceStub(channel)
            gate.close()
            futures = [stub.VerifyCertificate.future(_verify(i), timeout=BOUND_S) for i in held]
            gate.wait_for_held(LIMIT)
            shed_before, before = _shed_total(node, "grpc"), node.events()
            with pytest.raises(PeerUnavailable):  # PeerBusy, after the last try the deadline allowed
                clients.verify(SH, asked, "JS-1", "失业登记", CONSENT, "")
            # tried again after a refusal (the first try and at least one more; the deadline bounds them)
            assert _shed_total(node, "grpc") - shed_before >= 2
            assert node.events() == before
            gate.open()
            assert all(f.result().signed_payload for f in futures)
        answer = clients.verify(SH, asked, "JS-1", "失业登记", CONSENT, "")
        assert answer.assertion["identifier"] == asked
    finally:
        clients.close()


@pytest.fixture
def jiangsu(node: ServedNode) -> Iterator[Services]:
    """Jiangsu's node, whose puller streams Shanghai's outbox from the served node's federation port."""
    environ = {
        "TONGBAN_DATA_DIR": str(node.directory),
        "TONGBAN_HTTP_PORT": "0",
        "TONGBAN_GRPC_PORT": "0",
        "TONGBAN_FEDERATION_DIR": str(node.directory / "federation"),
        "TONGBAN_FEDERATION_PORT": "0",
        "TONGBAN_PEER_ENDPOINTS": f"{SH}=127.0.0.1:{node.federation_port}",
    }
    built = build_services(load_settings(province=JS, environ=environ), clock=node.services.cases.now)
    built.catalogue.load(sample_catalogue(), JS, Actor(JS, "CAT", "loader"))
    yield built
    close_services(built)


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + BOUND_S
    while not condition():
        assert time.monotonic() < deadline, f"never {what}"
        time.sleep(0.05)


async def _settled() -> None:
    """Wait until every other task of the loop has finished (a cancelled puller unwinds its session)."""
    others = [task for task in asyncio.all_tasks() if task is not asyncio.current_task()]
    await asyncio.gather(*others, return_exceptions=True)


def test_replication_takes_resource_exhausted_as_transient_and_applies_each_event_once(
    node: ServedNode, gate: Gate, jiangsu: Services
) -> None:
    """A peer's puller shed by a node at its limit (its handshake refused with RESOURCE_EXHAUSTED) changed
    nothing there or here; it pulls again after the wait asked, and then applies every event once."""
    window = Actor(SH, "SH-WINDOW", "window-1")
    cases = node.services.cases
    case = cases.submit(window, item_province=JS, item_code="GA-0003", mode="PROXY", applicant=APPLICANT)
    case_id = str(case.id)
    for material in case.missing_materials():
        cases.run(ATTACH_MATERIAL, case_id, window, material_code=material, file_digest="sha256:" + "ab" * 32)
    cases.run(RECEIVE, case_id, window)
    cases.run(FORWARD, case_id, window)  # Jiangsu, the handling province, is to get the case
    written = len(node.services.app.recorder.select_events(case.id))
    held = _issued(node, LIMIT)
    status = jiangsu.federation.statuses[SH]  # type: ignore[union-attr]
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="jiangsu", daemon=True)
    thread.start()
    with node.federation_channel(JS) as channel:
        stub = pb_grpc.FederationServiceStub(channel)
        gate.close()
        futures = [stub.VerifyCertificate.future(_verify(i), timeout=BOUND_S) for i in held]
        gate.wait_for_held(LIMIT)
        shed_before = _shed_total(node, "grpc")
        pulling = asyncio.run_coroutine_threadsafe(jiangsu.workers.pullers[SH].run(), loop)
        try:
            _until(lambda: "RESOURCE_EXHAUSTED" in (status.last_error or ""), "shed")
            assert status.position == 0
            assert _shed_total(node, "grpc") > shed_before
            assert not jiangsu.app.recorder.select_events(case.id)
            gate.open()
            assert all(f.result().signed_payload for f in futures)
            _until(lambda: len(jiangsu.app.recorder.select_events(case.id)) >= written, "replicated")
            _until(lambda: status.position >= status.head > 0, "caught up")
        finally:
            pulling.cancel()
            asyncio.run_coroutine_threadsafe(_settled(), loop).result(BOUND_S)
            loop.call_soon_threadsafe(loop.stop)
            thread.join(BOUND_S)
            loop.close()
    assert len(jiangsu.app.recorder.select_events(case.id)) == written  # each event once
    assert jiangsu.cases.case(case_id).version == cases.case(case_id).version
