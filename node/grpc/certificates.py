"""The public CertificateService (tongban.certificates.v1) over the application service."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc
import structlog
from tongban.certificates.v1 import certificates_pb2 as pb
from tongban.certificates.v1 import certificates_pb2_grpc as pb_grpc

from aggregates.certificate import Certificate
from aggregates.errors import InvalidField
from node.auth import CERTIFICATE_READERS, Principal
from node.services import Services
from node.signing import unb64


def _principal(services: Services, context: grpc.aio.ServicerContext[Any, Any]) -> Principal:
    """The caller's principal; from here on every log line of the RPC names the acting office."""
    metadata = {key: value for key, value in context.invocation_metadata() or () if isinstance(value, str)}
    principal = services.tokens.verify(metadata.get("authorization"))
    structlog.contextvars.bind_contextvars(**principal.log_context())
    return principal


def _as_of(request: pb.VerifyCertificateRequest) -> datetime | None:
    if not request.HasField("as_of"):
        return None
    try:
        return request.as_of.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidField(
            "as_of", "must be a Timestamp from 0001-01-01 to 9999-12-31 with nanos in 0..999999999"
        ) from None


def _status(value: str | None) -> pb.CertificateStatus.ValueType:
    return (
        pb.CertificateStatus.Value(f"CERTIFICATE_STATUS_{value}")
        if value
        else pb.CERTIFICATE_STATUS_UNSPECIFIED
    )


class CertificateServicer(pb_grpc.CertificateServiceServicer):
    def __init__(self, services: Services) -> None:
        self._services = services

    async def VerifyCertificate(
        self, request: pb.VerifyCertificateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.VerifyCertificateResponse:
        _principal(self._services, context)
        as_of = _as_of(request)
        signed = await asyncio.to_thread(
            self._services.certificates.verify,
            request.identifier,
            file_digest=request.file_digest or None,
            as_of=as_of,
        )
        a = signed.assertion
        response = pb.VerifyCertificateResponse(
            identifier=a["identifier"],
            authentic=a["authentic"],
            problem=pb.VerificationProblem.Value(f"VERIFICATION_PROBLEM_{a['problem']}")
            if a["problem"]
            else pb.VERIFICATION_PROBLEM_UNSPECIFIED,
            status=_status(a["status"]),
            valid_until=a["valid_until"] or "",
            verifier_province=a["verifier_province"],
            signed_payload=signed.payload,
            signature=signed.signature,
            signature_algorithm=signed.algorithm,
            key_id=signed.key_id,
        )
        response.as_of.FromJsonString(a["as_of"])
        return response

    async def GetCertificate(
        self, request: pb.GetCertificateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetCertificateResponse:
        _principal(self._services, context).require(*CERTIFICATE_READERS, province=self._services.province)
        certificate = await asyncio.to_thread(self._services.certificates.certificate, request.identifier)
        return pb.GetCertificateResponse(certificate=_certificate_message(certificate))


def _certificate_message(certificate: Certificate) -> pb.Certificate:
    c = certificate.content
    return pb.Certificate(
        identifier=c.identifier,
        status=_status(certificate.status.value),
        type_code=c.type_code,
        type_name=c.type_name,
        name=c.name,
        number=c.number,
        issuer_name=c.issuer_name,
        issuer_code=c.issuer_code,
        definer=c.definer,
        issue_date=c.issue_date,
        valid_from=c.valid_from,
        valid_to=c.valid_to or "",
        jurisdiction_code=c.jurisdiction_code,
        holder_name=c.holder_name,
        holder_id_type=c.holder_id_type,
        holder_id=c.holder_id,
        service_item_code=c.service_item_code or "",
        file_digest=c.file_digest,
        previous_identifier=c.previous_identifier or "",
        successor_identifier=certificate.successor_identifier or "",
        province=certificate.province,
        version=certificate.version,
        link=c.link or "",
        destination_province=certificate.destination_province or "",
        signature=unb64(certificate.signature),
        signature_algorithm=certificate.signature_algorithm,
        signing_key_id=certificate.signing_key_id,
    )
