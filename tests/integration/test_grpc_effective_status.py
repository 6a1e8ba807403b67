"""The public gRPC port answers the effective status at the instant of the call, like REST: a certificate
whose validity has not begun reads and verifies as CERTIFICATE_STATUS_NOT_YET_VALID."""

from __future__ import annotations

from pathlib import Path

from tongban.certificates.v1 import certificates_pb2 as public_pb
from tongban.certificates.v1 import certificates_pb2_grpc as public_grpc
from tongban.common.v1 import certificate_status_pb2 as common_pb

from node.auth import Role
from tests.builders import CONSENT, node_issue_body
from tests.integration.served_node import served_node


def test_get_and_verify_answer_the_status_at_the_instant(tmp_path: Path) -> None:
    with served_node(tmp_path) as node:  # its clock: 2025-09-24 in China
        body = node_issue_body(2, valid_from="2025-10-01", valid_to="2026-09-30")
        created = node.call("POST", "/v1/certificates", role=Role.ISSUER, body=body)
        assert (created.status, created.body["status"]) == (201, "NOT_YET_VALID"), created.body
        identifier = created.body["identifier"]
        metadata = (("authorization", f"Bearer {node.token(Role.ISSUER)}"),)
        with node.public_channel() as channel:
            stub = public_grpc.CertificateServiceStub(channel)
            read = stub.GetCertificate(
                public_pb.GetCertificateRequest(identifier=identifier), timeout=10, metadata=metadata
            )
            verified = stub.VerifyCertificate(
                public_pb.VerifyCertificateRequest(
                    identifier=identifier, purpose="核验", consent_reference=CONSENT
                ),
                timeout=10,
                metadata=metadata,
            )
        assert read.certificate.status == common_pb.CERTIFICATE_STATUS_NOT_YET_VALID
        assert verified.status == common_pb.CERTIFICATE_STATUS_NOT_YET_VALID
        assert verified.authentic
