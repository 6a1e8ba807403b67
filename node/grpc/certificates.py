"""The public CertificateService (tongban.certificates.v1) over the application service."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from datetime import UTC, date, datetime
from typing import Any

import grpc
import structlog
from tongban.certificates.v1 import certificates_pb2 as pb
from tongban.certificates.v1 import certificates_pb2_grpc as pb_grpc
from tongban.common.v1 import certificate_status_pb2 as common_pb

from aggregates.certificate import ANSWER_DETAILS, Certificate, Status
from aggregates.consent import UseChannel
from aggregates.errors import InvalidField
from federation.proto_enums import CERTIFICATE_STATUS
from node.auth import CERTIFICATE_READERS, Principal
from node.services import Services
from node.signing import unb64
from node.usecases.certificates import Use, VerificationProblem

# Each domain value and its proto value, named (tests/unit/test_proto_enums.py holds both ways).
VERIFICATION_PROBLEM: dict[VerificationProblem, pb.VerificationProblem.ValueType] = {
    VerificationProblem.NOT_FOUND: pb.VERIFICATION_PROBLEM_NOT_FOUND,
    VerificationProblem.NOT_YET_ISSUED: pb.VERIFICATION_PROBLEM_NOT_YET_ISSUED,
    VerificationProblem.SIGNATURE_INVALID: pb.VERIFICATION_PROBLEM_SIGNATURE_INVALID,
    VerificationProblem.DIGEST_MISMATCH: pb.VERIFICATION_PROBLEM_DIGEST_MISMATCH,
    VerificationProblem.HOLDER_ERASED: pb.VERIFICATION_PROBLEM_HOLDER_ERASED,
}


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


def _status(value: str | None) -> common_pb.CertificateStatus.ValueType:
    return CERTIFICATE_STATUS[Status(value)] if value else common_pb.CERTIFICATE_STATUS_UNSPECIFIED


class CertificateServicer(pb_grpc.CertificateServiceServicer):
    def __init__(self, services: Services) -> None:
        self._services = services

    async def VerifyCertificate(
        self, request: pb.VerifyCertificateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.VerifyCertificateResponse:
        principal = _principal(self._services, context)
        as_of = _as_of(request)
        # proto3 has no absent string: an empty purpose or consent is refused as one (INVALID_ARGUMENT)
        use = Use(
            principal.actor,
            UseChannel.GRPC,
            request.purpose,
            request.consent_reference,
            request.case_reference or None,
        )
        signed = await asyncio.to_thread(
            self._services.certificates.verify_for_use,
            request.identifier,
            use,
            file_digest=request.file_digest or None,
            as_of=as_of,
        )
        a = signed.assertion
        response = pb.VerifyCertificateResponse(
            identifier=a["identifier"],
            authentic=a["authentic"],
            problem=VERIFICATION_PROBLEM[VerificationProblem(a["problem"])]
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
        for name in ANSWER_DETAILS:
            setattr(response, name, a[name] or "")
        response.as_of.FromJsonString(a["as_of"])
        return response

    async def GetCertificate(
        self, request: pb.GetCertificateRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> pb.GetCertificateResponse:
        _principal(self._services, context).require(*CERTIFICATE_READERS, province=self._services.province)
        registry = self._services.certificates
        certificate = await asyncio.to_thread(registry.certificate, request.identifier)
        return pb.GetCertificateResponse(certificate=certificate_message(certificate, registry.today()))


def certificate_message(certificate: Certificate, on: date) -> pb.Certificate:
    """Every declared field under the proto field of its name (tests/unit/test_certificate_declaration.py
    holds the message to the declaration); proto3 has no null, so an absent value is the empty string.
    ``status`` is the effective status on ``on``, a date in China."""
    content = certificate.content
    declared = {name: "" if value is None else value for name, value in asdict(content).items()}
    del declared["other_holders"]  # a repeated message, not text
    others = [pb.Holder(**holder) for holder in content.other_holders]
    return pb.Certificate(
        **declared,
        other_holders=others,
        status=CERTIFICATE_STATUS[certificate.effective_status(on)],
        successor_identifier=certificate.successor_identifier or "",
        province=certificate.province,
        version=certificate.version,
        destination_province=certificate.destination_province or "",
        destination_identifier=certificate.destination_identifier or "",
        signature=unb64(certificate.signature),
        signature_algorithm=certificate.signature_algorithm,
        signing_key_id=certificate.signing_key_id,
    )
