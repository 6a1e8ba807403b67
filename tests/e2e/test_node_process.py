"""End to end: ``tongban node`` as a real subprocess, driven over HTTP and gRPC on 127.0.0.1."""

from __future__ import annotations

import base64
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc
from tongban.certificates.v1 import certificates_pb2 as pb
from tongban.certificates.v1 import certificates_pb2_grpc as pb_grpc
from tongban.common.v1 import certificate_status_pb2 as common_pb

from node.auth import Role
from node.signing import PublicKey
from simulators.cluster import NodeProcess, prepare_keys, token_for
from simulators.sample_data import citizen_id, sample_certificates
from tests.builders import CONSENT
from tests.conftest import drop_schema
from tests.dates import TEST_DATE
from tests.e2e import http_client as http

# A verification is a use of the certificate (用证): it names a purpose and the holder's consent
USE = {"purpose": "核验", "consent_reference": CONSENT}

pytestmark = pytest.mark.e2e
PROVINCE = "320000"
EXAMPLE = "1.2.156.3005.2.11100000000013338W032.11220000013544541J.2430599.001.F"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def node(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[NodeProcess]:
    prepare_keys(tmp_path, (PROVINCE,))
    extra: dict[str, str] = {}
    schema = ""
    if request.param == "postgres":
        schema = f"e2e_{uuid.uuid4().hex[:12]}"
        extra = {
            "TONGBAN_POSTGRES_URL": request.getfixturevalue("postgres_url"),
            "TONGBAN_POSTGRES_SCHEMA": schema,
        }
    process = NodeProcess(PROVINCE, tmp_path, extra)
    process.start()
    yield process
    process.stop()
    if schema:
        drop_schema(schema)


def bearer(node: NodeProcess, role: Role, province: str = PROVINCE) -> str:
    return "Bearer " + token_for(node.data_dir / "token-issuer.key", province, role)


def post_raw(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    """POST exact bytes (duplicate keys, lone surrogate escapes) that a JSON encoder would not produce."""
    sent = {**headers, "Content-Type": "application/json"}
    request = urllib.request.Request(url, data=data, method="POST", headers=sent)  # noqa: S310 - loopback
    try:
        with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


# A real-looking name and ID numbers that the refusal paths below carry; none may reach a log line.
REFUSED_NAME = "欧阳振华"
REFUSED_ID = citizen_id("320102", "19800715", 123)
BAD_CHECK_ID = REFUSED_ID[:17] + ("0" if REFUSED_ID[17] != "0" else "1")


def send_refused_requests(node: NodeProcess, identifier: str) -> list[str]:
    """Requests refused (422) or that used to crash the node (500); returns the personal data they held."""
    issuer = {"Authorization": bearer(node, Role.ISSUER)}
    url = f"{node.http_url}/v1/certificates"
    body = {**sample_certificates(PROVINCE, 1, seed=99, today=TEST_DATE)[0], "holder_name": REFUSED_NAME}
    answers = [
        # 422: a bad check character, with a real-looking name beside it
        (422, http.post_json(url, {**body, "holder_id": BAD_CHECK_ID}, issuer)),
        # 422: an unknown field whose NAME is personal data
        (
            422,
            http.post_json(url, {**body, "holder_id": REFUSED_ID, f"{REFUSED_NAME}{REFUSED_ID}": 1}, issuer),
        ),
        # 422: a control character in the name
        (
            422,
            http.post_json(
                url, {**body, "holder_id": REFUSED_ID, "holder_name": REFUSED_NAME + "\n"}, issuer
            ),
        ),
        # used to be 500: a lone surrogate cannot be signed (UTF-8)
        (
            400,
            http.post_json(
                url, {**body, "holder_id": REFUSED_ID, "holder_name": REFUSED_NAME + "\ud800"}, issuer
            ),
        ),
        # used to be 500: RFC 3339 allows lower case t and z; a leap second is valid RFC 3339 but no datetime
        (
            200,
            http.post_json(
                f"{node.http_url}/v1/verifications",
                {"identifier": identifier, "as_of": "2026-01-01t00:00:00z", **USE},
                issuer,
            ),
        ),
        (
            422,
            http.post_json(
                f"{node.http_url}/v1/verifications",
                {"identifier": identifier, "as_of": "2026-12-31T23:59:60Z", **USE},
                issuer,
            ),
        ),
        # 400: duplicate keys, the second one carrying the ID number
        (
            400,
            post_raw(
                url,
                json.dumps({**body, "holder_id": REFUSED_ID})[:-1].encode()
                + f', "holder_id": "{REFUSED_ID}"}}'.encode(),
                issuer,
            ),
        ),
        # used to be 500: a lone surrogate in a status reason could not be stored
        (
            400,
            post_raw(
                f"{url}/{identifier}/suspend", f'{{"reason": "{REFUSED_NAME}\\ud800"}}'.encode(), issuer
            ),
        ),
    ]
    for expected, (status, answer) in answers:
        assert status == expected, answer
    return [REFUSED_NAME, REFUSED_ID, BAD_CHECK_ID]


def test_rest_and_grpc_serve_the_same_certificates(node: NodeProcess) -> None:  # noqa: PLR0915
    bodies = sample_certificates(PROVINCE, 3, seed=11, today=TEST_DATE)
    issuer = {"Authorization": bearer(node, Role.ISSUER)}
    identifiers = []
    for body in bodies:
        status, created = http.post_json(f"{node.http_url}/v1/certificates", body, issuer)
        assert status == 201, created
        identifiers.append(created["identifier"])
    status, _ = http.post_json(
        f"{node.http_url}/v1/certificates/{identifiers[0]}/revoke", {"reason": "吊销"}, issuer
    )
    assert status == 200

    with grpc.insecure_channel(node.grpc_target) as channel:
        health: Any = health_pb2_grpc.HealthStub(channel)  # the stubs package types this stub loosely
        for service in ("", "tongban.certificates.v1.CertificateService"):
            answer = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert answer.status == health_pb2.HealthCheckResponse.SERVING

        reflection: Any = reflection_pb2_grpc.ServerReflectionStub(channel)
        [listing] = list(
            reflection.ServerReflectionInfo(
                iter([reflection_pb2.ServerReflectionRequest(list_services="")]), timeout=5
            )
        )
        names = {s.name for s in listing.list_services_response.service}
        assert {"tongban.certificates.v1.CertificateService", "grpc.health.v1.Health"} <= names

        stub = pb_grpc.CertificateServiceStub(channel)
        handler = (("authorization", bearer(node, Role.HANDLER, "310000")),)
        revoked = stub.VerifyCertificate(
            pb.VerifyCertificateRequest(identifier=identifiers[0], purpose="核验", consent_reference=CONSENT),
            metadata=handler,
        )
        assert (revoked.authentic, revoked.status) == (True, common_pb.CERTIFICATE_STATUS_REVOKED)
        valid = stub.VerifyCertificate(
            pb.VerifyCertificateRequest(
                identifier=identifiers[1],
                file_digest=bodies[1]["file_digest"],
                purpose="核验",
                consent_reference=CONSENT,
            ),
            metadata=handler,
        )
        assert (valid.authentic, valid.status, valid.verifier_province) == (
            True,
            common_pb.CERTIFICATE_STATUS_VALID,
            PROVINCE,
        )
        assert json.loads(valid.signed_payload)["identifier"] == identifiers[1]
        # the answer's details, as in the signed payload (national codes: docs/domain.md)
        assert (revoked.national_status_code, valid.national_status_code) == ("06", "01")
        assert (valid.valid_from, valid.valid_to) == (bodies[1]["valid_from"], bodies[1]["valid_to"] or "")

        status, keys = http.get_json(f"{node.http_url}/v1/keys")
        assert keys["keys"][0]["key_id"] == valid.key_id
        status, rest = http.post_json(
            f"{node.http_url}/v1/verifications", {"identifier": identifiers[1], **USE}, issuer
        )
        assert rest["assertion"]["status"] == "VALID"

        own = (("authorization", bearer(node, Role.WINDOW)),)
        got = stub.GetCertificate(pb.GetCertificateRequest(identifier=identifiers[2]), metadata=own)
        assert (got.certificate.identifier, got.certificate.holder_id) == (
            identifiers[2],
            bodies[2]["holder_id"],
        )

        get = pb.GetCertificateRequest(identifier=identifiers[2])
        refusals: list[tuple[grpc.StatusCode, Callable[[], object]]] = [
            (grpc.StatusCode.UNAUTHENTICATED, lambda: stub.GetCertificate(get)),
            (grpc.StatusCode.PERMISSION_DENIED, lambda: stub.GetCertificate(get, metadata=handler)),
            (
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: stub.GetCertificate(pb.GetCertificateRequest(identifier="nonsense"), metadata=own),
            ),
            (
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: stub.VerifyCertificate(
                    pb.VerifyCertificateRequest(
                        identifier="1.2.3", purpose="核验", consent_reference=CONSENT
                    ),
                    metadata=own,
                ),
            ),
            (  # every verification is a use: without the holder's consent it is refused
                grpc.StatusCode.INVALID_ARGUMENT,
                lambda: stub.VerifyCertificate(
                    pb.VerifyCertificateRequest(identifier=identifiers[1], purpose="核验"), metadata=own
                ),
            ),
        ]
        for code, call in refusals:
            with pytest.raises(grpc.RpcError) as refused:
                call()
            assert refused.value.code() == code

        # The certificate message carries what a peer needs to check it: signature, algorithm, key id, link.
        certificate = got.certificate
        [published] = keys["keys"]
        assert (certificate.signature_algorithm, certificate.signing_key_id) == (
            published["algorithm"],
            published["key_id"],
        )
        assert (certificate.link, certificate.destination_province) == ("", "")
        status, rest_certificate = http.get_json(f"{node.http_url}/v1/certificates/{identifiers[2]}", issuer)
        key = PublicKey(published["algorithm"], published["key_id"], published["public_key_pem"])
        assert certificate.signature == base64.b64decode(rest_certificate["signature"]["value"])
        assert key.verify(canonical_content(rest_certificate), certificate.signature)
        revoked_certificate = stub.GetCertificate(
            pb.GetCertificateRequest(identifier=identifiers[0].lower()), metadata=own
        ).certificate
        assert revoked_certificate.identifier == identifiers[0]

        # as_of out of Timestamp's range, or in the future: INVALID_ARGUMENT, with no internal text.
        for as_of in (
            Timestamp(seconds=2**62),
            Timestamp(seconds=0, nanos=-5),
            Timestamp(seconds=32503680000),
        ):
            with pytest.raises(grpc.RpcError) as refused:
                stub.VerifyCertificate(
                    pb.VerifyCertificateRequest(
                        identifier=identifiers[1], as_of=as_of, purpose="核验", consent_reference=CONSENT
                    ),
                    metadata=handler,
                )
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            assert "as_of" in (refused.value.details() or "")
            assert "Error" not in (refused.value.details() or "")

    personal = send_refused_requests(node, identifiers[1])

    # Personal data (holder names and ID numbers) never reaches a log line, refused requests included.
    assert node.stop() == 0
    log = "\n".join(node.lines)
    assert '"node.stopped"' in log
    assert "unexpected_error" not in log
    for body in bodies:
        assert body["holder_id"] not in log
        assert body["holder_name"] not in log
    for value in personal:
        assert value not in log

    # Every access line of an authenticated call names who acted: province, office, operator, role (ids only).
    lines = [json.loads(line) for line in node.lines if line.startswith("{")]
    issued = [line for line in lines if line["event"] == "http.request" and line.get("status") == 201]
    assert issued
    assert {
        (line["province"], line["office_code"], line["operator_id"], line["role"]) for line in issued
    } == {(PROVINCE, "OFFICE01", "op-001", "issuer")}
    got_lines = [
        line
        for line in lines
        if line["event"] == "grpc.request" and line["method"].endswith("/GetCertificate")
    ]
    assert ("window", PROVINCE) in {(line.get("role"), line.get("province")) for line in got_lines}
    health = [line for line in lines if line["event"] == "http.request" and line["route"] == "/v1/keys"]
    assert health
    assert all("operator_id" not in line for line in health)


def canonical_content(certificate: dict[str, Any]) -> bytes:
    """The signed bytes of a certificate's content, rebuilt from its REST form (as a peer would)."""
    from aggregates.certificate import canonical_json  # noqa: PLC0415

    names = [
        "identifier",
        "type_code",
        "type_name",
        "name",
        "number",
        "issuer_name",
        "issuer_code",
        "definer",
        "issue_date",
        "valid_from",
        "valid_to",
        "jurisdiction_code",
        "service_item_code",
        "file_digest",
        "previous_identifier",
        "link",
    ]
    holder = certificate["holder"]
    content = {name: certificate[name] for name in names}
    content.update(holder_name=holder["name"], holder_id_type=holder["id_type"], holder_id=holder["id"])
    return canonical_json(content)


def test_sigterm_stops_gracefully_and_a_restart_keeps_the_data(node: NodeProcess) -> None:
    issuer = {"Authorization": bearer(node, Role.ISSUER)}
    status, created = http.post_json(
        f"{node.http_url}/v1/certificates", sample_certificates(PROVINCE, 1, today=TEST_DATE)[0], issuer
    )
    assert status == 201
    assert node.stop(signal.SIGTERM) == 0
    assert any('"node.stopping"' in line for line in node.lines)
    node.start()
    status, read = http.get_json(f"{node.http_url}/v1/certificates/{created['identifier']}", issuer)
    assert (status, read) == (200, created)
    status, ready = http.get_json(f"{node.http_url}/readyz")
    assert (status, ready["status"]) == (200, "ready")


def test_sigterm_lets_an_in_flight_request_finish(tmp_path: Path) -> None:
    """A request held inside the store when SIGTERM lands is answered, durably, before the node exits."""
    prepare_keys(tmp_path, (PROVINCE,))
    node = NodeProcess(PROVINCE, tmp_path, {"TONGBAN_LOG_LEVEL": "debug"})
    node.start()
    try:
        body = json.dumps(sample_certificates(PROVINCE, 1, seed=5, today=TEST_DATE)[0]).encode()
        head = (
            "POST /v1/certificates HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {bearer(node, Role.ISSUER)}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
        ).encode()
        blocker = sqlite3.connect(tmp_path / PROVINCE / "events.sqlite3", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")  # the node's write now waits inside the store
        with socket.create_connection(("127.0.0.1", node.http_port), timeout=30) as sock:
            sock.sendall(head + body)
            assert node.wait_for_line('"http.request.received"')
            node.send_signal(signal.SIGTERM)
            assert node.wait_for_line('"node.stopping"')
            blocker.execute("COMMIT")
            response = b""
            while chunk := sock.recv(65536):
                response += chunk
        blocker.close()
        assert response.startswith(b"HTTP/1.1 201"), response[:300]
        assert node.stop() == 0
        identifier = json.loads(response.split(b"\r\n\r\n", 1)[1])["identifier"]
        node.start()
        status, _ = http.get_json(
            f"{node.http_url}/v1/certificates/{identifier}", {"Authorization": bearer(node, Role.ISSUER)}
        )
        assert status == 200
    finally:
        node.stop()


def test_a_node_without_keys_refuses_to_start_with_a_clear_message(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "node", "node", "--province", "310000"],
        env={"TONGBAN_DATA_DIR": str(tmp_path), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert "tongban keys" in result.stderr


def test_the_node_ignores_the_callers_tongban_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A developer's exported TONGBAN_POSTGRES_URL must not switch a launched SQLite node to PostgreSQL."""
    monkeypatch.setenv("TONGBAN_POSTGRES_URL", "postgresql://nobody@127.0.0.1:1/nowhere")
    monkeypatch.setenv("TONGBAN_MAX_BODY_BYTES", "1")
    prepare_keys(tmp_path, (PROVINCE,))
    node = NodeProcess(PROVINCE, tmp_path)
    node.start()
    try:
        status, ready = http.get_json(f"{node.http_url}/readyz")
        assert (status, ready["checks"]["store_kind"]) == (200, "sqlite")
        status, _ = http.post_json(
            f"{node.http_url}/v1/certificates",
            sample_certificates(PROVINCE, 1, today=TEST_DATE)[0],
            {"Authorization": bearer(node, Role.ISSUER)},
        )
        assert status == 201
    finally:
        assert node.stop() == 0
