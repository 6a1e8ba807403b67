"""Electronic certificates (电子证照): issue, status operations, verification (核验), holder lists."""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, Protocol

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from aggregates.certificate import (
    ANSWER_DETAILS,
    INPUT_FIELDS,
    Certificate,
    CertificateContent,
    HolderCertificates,
    Link,
    Status,
    canonical_json,
    certificate_id,
    checked_use,
    national_status_code,
    validate_digest,
    validate_holder_id,
)
from aggregates.certificate import (
    holder_digest as certificate_holder_digest,
)
from aggregates.certificate_number import CertificateNumber
from aggregates.clock import china_date
from aggregates.consent import UseChannel
from aggregates.erasure import ERASED
from aggregates.errors import InvalidField
from aggregates.identifiers import CertificateIdentifier, InvalidIdentifier
from aggregates.responsibility import Actor
from node.signing import PublicKey, Signer, b64, unb64
from node.store.application import AlreadyExists, Clock, NodeApplication, NotFound, utc_now
from node.store.idempotency import Idempotency

_SAVE_ATTEMPTS = 5


class TransferOrigins(Protocol):
    """The federation as a transfer-in (迁入) needs it: the origin province checks and records it."""

    def accept_transfer(
        self, origin: str, previous_identifier: str, destination_identifier: str, holder_digest: str
    ) -> None:
        """Raises the peer's refusal (RemoteConflict, RemoteInvalid, RemoteNotFound) or PeerUnavailable."""


@dataclass(frozen=True, slots=True)
class SignedAssertion:
    """A verification answer (核验结果) and the node's signature over its exact bytes."""

    assertion: dict[str, Any]
    payload: bytes
    signature: bytes
    algorithm: str
    key_id: str


class VerificationProblem(StrEnum):
    """Why a verification answers "not authentic" (``problem`` of the signed assertion)."""

    NOT_FOUND = "NOT_FOUND"
    NOT_YET_ISSUED = "NOT_YET_ISSUED"
    SIGNATURE_INVALID = "SIGNATURE_INVALID"
    DIGEST_MISMATCH = "DIGEST_MISMATCH"
    # The holder was forgotten: the content the signature covers is gone, so it cannot be checked.
    HOLDER_ERASED = "HOLDER_ERASED"


@dataclass(frozen=True, slots=True)
class Use:
    """A verification as a use of the certificate (用证): who asks, how, why, with which consent."""

    requester: Actor
    channel: UseChannel
    purpose: str
    consent_reference: str
    case_reference: str | None = None

    def checked(self, at: datetime) -> None:
        """Refuse a use that could not be recorded (:class:`InvalidField`), although nothing is."""
        checked_use(self.requester, self.channel, **self._given(), at=at)

    def record_on(self, certificate: Certificate, at: datetime) -> None:
        certificate.record_use(self.requester, self.channel, **self._given(), at=at)

    def _given(self) -> dict[str, Any]:
        return {
            "case_reference": self.case_reference,
            "purpose": self.purpose,
            "consent_reference": self.consent_reference,
        }


@dataclass(frozen=True, slots=True)
class HistoryEntry:
    version: int
    at: datetime
    event: str
    status: Status
    office_code: str
    operator_id: str
    detail: dict[str, str | None]


class CertificateService:
    """Issues, changes and verifies the electronic certificates of one province."""

    def __init__(
        self,
        app: NodeApplication,
        *,
        signer: Signer,
        public_keys: list[PublicKey],
        province: str,
        clock: Clock = utc_now,
        extra_issuers: frozenset[str] = frozenset(),
        origins: TransferOrigins | None = None,
    ) -> None:
        """``extra_issuers``: credit codes of bodies registered outside the province (central bodies) that
        issue through this node (the ``extra_issuers`` setting)."""
        self._app = app
        self._origins = origins
        self._signer = signer
        self._public_keys = {key.key_id: key for key in public_keys}
        self.province = province
        self._clock = clock
        self._extra_issuers = extra_issuers
        self._holder_locks = tuple(threading.Lock() for _ in range(64))

    # Commands

    def issue(
        self,
        actor: Actor,
        *,
        serial: str | None = None,
        idempotency: Idempotency | None = None,
        **fields: Any,
    ) -> Certificate:
        """Issue a new certificate. Without a serial the node draws a random unused one. A retry with the
        same Idempotency-Key gets the certificate the first try issued."""
        for _ in range(_SAVE_ATTEMPTS):
            earlier = idempotency.replayed(self._app) if idempotency else None
            if earlier is not None:
                return self.certificate(earlier)
            content = CertificateContent.create(serial=serial or _random_serial(), **fields)
            if self._exists(content.identifier):
                if serial:
                    raise AlreadyExists(f"certificate {content.identifier} was already issued")
                continue
            certificate = self._signed(content, actor)
            number = self._number(content, certificate.created_on)
            recorded = [idempotency.record(content.identifier, certificate.created_on)] if idempotency else []
            if self._save_with_holder(certificate, number, *recorded):
                return certificate
        raise AlreadyExists("could not record the certificate: concurrent writes; retry")

    def reissue(self, identifier: str, link: Link, actor: Actor, **changes: Any) -> Certificate:
        """Renew (new validity) or change (new metadata) a certificate as its next version."""
        identifier = canonical_identifier(identifier)
        for _ in range(_SAVE_ATTEMPTS):
            old = self.certificate(identifier)
            fields = {**_reissuable_fields(old.content), **changes}
            next_id = CertificateIdentifier.parse(identifier).next_version()
            content = CertificateContent.create(
                **fields,
                serial=next_id.serial,
                version=next_id.version,
                previous_identifier=identifier,
                link=link,
            )
            now = self._clock()
            old.supersede(content.identifier, link, actor=actor, at=now)
            successor = self._signed(content, actor, now)
            if self._save_with_holder(successor, old, self._number(content, now, predecessor=identifier)):
                return successor
        raise AlreadyExists(f"certificate {identifier} changed concurrently; retry")

    def issued_for_case(
        self,
        content: CertificateContent,
        *,
        case_reference: str,
        paper_counterpart: bool,
        actor: Actor,
        at: datetime,
    ) -> list[Aggregate]:
        """The certificate a case's conclusion issues (一网通办决定 第七条): signed, linked to the case, with
        its holder's index. Not saved here: the case service saves them with the conclusion, in one record."""
        certificate = self._signed(content, actor, at)
        certificate.link_case(case_reference, paper_counterpart=paper_counterpart, actor=actor, at=at)
        # the issuing rules hold as for any issue: the signature checks type and issuer, the claim the number
        return [certificate, *self._holder_indexes(certificate), self._number(content, at)]

    def transfer_in(
        self, actor: Actor, *, previous_identifier: str, serial: str | None = None, **fields: Any
    ) -> Certificate:
        """Issue the receiving province's certificate for one transferred out to it (迁入).

        The previous certificate lives on the origin province's node, which checks that it was transferred
        out to this province, to the same holder, and that the new certificate is of its type, and records
        the transfer-in (``TransferAccepted``) before this node records the new certificate: from then on
        the origin cannot undo its transfer-out. Without a serial the new certificate's serial derives from
        the previous identifier, so a retry after a lost answer names the same certificate.
        """
        previous_identifier = canonical_identifier(previous_identifier, field="previous_identifier")
        origin = CertificateIdentifier.parse(previous_identifier).issuing_province
        if self._exists(previous_identifier) or origin == self.province:
            raise InvalidField(
                "previous_identifier",
                f"certificate {previous_identifier} is this province's: a transfer-in links another "
                "province's certificate; to take back this node's transfer-out, use undo-transfer-out",
            )
        if self._origins is None:
            raise InvalidField(
                "previous_identifier",
                "a transfer-in is checked at the origin province: this node has no federation",
            )
        if origin is None:
            # a central body issues through a province that its identifier does not name
            raise InvalidField(
                "previous_identifier", "issued by a central body: the identifier names no origin province"
            )
        content = CertificateContent.create(
            serial=serial or _transfer_serial(previous_identifier),
            previous_identifier=previous_identifier,
            link=Link.TRANSFERRED_IN,
            **fields,
        )
        if self._exists(content.identifier):
            raise AlreadyExists(f"certificate {content.identifier} was already issued")
        # every local check (the issuing rules, the 证照编号) before the origin records anything
        certificate = self._signed(content, actor)
        number = self._number(content, certificate.created_on)
        self._origins.accept_transfer(
            origin,
            previous_identifier,
            content.identifier,
            certificate_holder_digest(content.holder_id_type, content.holder_id),
        )
        if not self._save_with_holder(certificate, number):
            raise AlreadyExists(f"certificate {content.identifier} was issued concurrently")
        return certificate

    def accept_transfer(
        self, previous_identifier: str, destination_province: str, destination_identifier: str, holder: str
    ) -> SignedAssertion | None:
        """The origin's side of a transfer-in: record it (once), answer signed. None: not issued here."""
        identifier = canonical_identifier(previous_identifier, field="previous_identifier")
        for _ in range(_SAVE_ATTEMPTS):
            try:
                certificate = self.certificate(identifier)
            except NotFound:
                return None
            if certificate.accept_transfer(
                destination_province, destination_identifier, holder, self._clock()
            ):
                try:
                    self._app.save(certificate)
                except IntegrityError:
                    continue
            return self.verify(identifier)
        raise AlreadyExists(f"certificate {identifier} changed concurrently; retry")

    def change_status(
        self,
        identifier: str,
        operation: str,
        actor: Actor,
        *,
        reason: str,
        destination_province: str | None = None,
    ) -> Certificate:
        identifier = canonical_identifier(identifier)
        for _ in range(_SAVE_ATTEMPTS):
            certificate = self.certificate(identifier)
            certificate.change_status(
                operation,
                reason=reason,
                actor=actor,
                at=self._clock(),
                destination_province=destination_province,
            )
            try:
                self._app.save(certificate)
            except IntegrityError:
                continue
            return certificate
        raise AlreadyExists(f"certificate {identifier} changed concurrently; retry")

    # Queries

    def today(self) -> date:
        """The date in China now, on the node's clock: the day every reader's effective status is read on."""
        return china_date(self._clock())

    def certificate(self, identifier: str) -> Certificate:
        identifier = canonical_identifier(identifier)
        try:
            certificate: Certificate = self._app.repository.get(certificate_id(identifier))
        except AggregateNotFoundError:
            raise NotFound(f"no certificate {identifier} on this node") from None
        return certificate

    def _current_or_as_of(self, identifier: str, at: datetime) -> Certificate | None:
        """As of ``at``: the current certificate when nothing happened to it since, which the aggregate
        cache serves without reading its stream; else rebuilt from the events up to ``at``."""
        current = self.certificate(identifier)
        if current.modified_on <= at:
            return current
        return self.certificate_as_of(identifier, at)

    def certificate_as_of(self, identifier: str, as_of: datetime) -> Certificate | None:
        """The certificate as it stood at ``as_of``, or None if it was not yet issued then."""
        identifier = canonical_identifier(identifier)
        version = None
        for stored in self._stored_events(identifier):
            if stored.timestamp > as_of:
                break
            version = stored.originator_version
        if version is None:
            return None
        certificate: Certificate = self._app.repository.get(certificate_id(identifier), version=version)
        return certificate

    def history(self, identifier: str) -> list[HistoryEntry]:
        """Who did what to a certificate, in order (责任追溯)."""
        entries = []
        status = Status.VALID
        for stored in self._stored_events(identifier):
            detail: dict[str, str | None]
            if isinstance(stored, Certificate.Issued):
                status = Status.VALID
                detail = {"link": stored.link, "previous_identifier": stored.previous_identifier}
            elif isinstance(stored, Certificate.StatusChanged):
                status = Status(stored.status)
                detail = {
                    "operation": stored.operation,
                    "reason": stored.reason,
                    "destination_province": stored.destination_province,
                }
            elif isinstance(stored, Certificate.Superseded):
                status = Status(stored.status)  # recorded by the event, not re-derived here
                detail = {"link": stored.link, "successor_identifier": stored.successor_identifier}
            elif isinstance(stored, Certificate.TransferAccepted):
                detail = {
                    "destination_province": stored.destination_province,
                    "destination_identifier": stored.destination_identifier,
                }
            elif isinstance(stored, Certificate.IssuedForCase):
                detail = {
                    "case_reference": stored.case_reference,
                    "paper_counterpart_digest": stored.paper_counterpart_digest,
                }
            elif isinstance(stored, Certificate.Used):
                detail = {
                    "requester_province": stored.requester_province,
                    "channel": stored.channel,
                    "case_reference": stored.case_reference,
                    "purpose": stored.purpose,
                    "consent_reference": stored.consent_reference,
                }
            elif isinstance(stored, Certificate.CredentialIssued):
                detail = {
                    "credential_id": stored.credential_id,
                    "device_key_thumbprint": stored.device_key_thumbprint,
                    "expires_at": stored.expires_at.isoformat(),
                    "requester_province": stored.requester_province,
                }
            elif isinstance(stored, Certificate.CredentialRefreshed):
                detail = {
                    "credential_id": stored.credential_id,
                    "expires_at": stored.expires_at.isoformat(),
                    "requester_province": stored.requester_province,
                }
            elif isinstance(stored, Certificate.CredentialRevoked):
                detail = {"credential_id": stored.credential_id, "reason": stored.reason}
            else:
                continue
            # a transfer-in is recorded on the destination node's request: the federation, for it, acted
            peer = stored.destination_province if isinstance(stored, Certificate.TransferAccepted) else None
            entries.append(
                HistoryEntry(
                    version=stored.originator_version,
                    at=stored.timestamp,
                    event=type(stored).__name__,
                    status=status,
                    office_code="FEDERATION" if peer else stored.office_code,
                    operator_id=peer or stored.operator_id,
                    detail=detail,
                )
            )
        return entries

    def holder_certificates(self, holder_id_type: str, holder_id: str) -> list[Certificate]:
        holder_id = validate_holder_id(holder_id_type, holder_id)
        try:
            index: HolderCertificates = self._app.repository.get(
                HolderCertificates.id_for(holder_id_type, holder_id)
            )
        except AggregateNotFoundError:
            return []
        return [self.certificate(identifier) for identifier in index.identifiers]

    def verify_for_peer(
        self,
        identifier: str,
        requester_province: str,
        case_reference: str,
        purpose: str,
        consent_reference: str,
        holder_digest: str = "",
    ) -> SignedAssertion | None:
        """核验 for another province's case: record the use (用证记录), then answer signed. None: not issued
        here (and nothing recorded).

        ``holder_digest`` (see ``aggregates.certificate.holder_digest``) lets the answer say whether the
        requesting case's applicant holds the certificate, without the ID number crossing in clear.
        """
        use = Use(
            Actor(requester_province, "FEDERATION", requester_province),
            UseChannel.FEDERATION,
            purpose,
            consent_reference,
            case_reference,
        )
        if not self.issued_here(identifier):
            use.checked(self._clock())
            return None
        return self.verify_for_use(identifier, use, holder_digest=holder_digest or None)

    def verify_for_use(
        self,
        identifier: str,
        use: Use,
        *,
        file_digest: str | None = None,
        as_of: datetime | None = None,
        holder_digest: str | None = None,
    ) -> SignedAssertion:
        """核验 as a use (用证): the use is checked and recorded on the certificate, then :meth:`verify`
        answers. Anything refused (the use, the digest, ``as_of``) is refused before anything is written; a
        certificate not issued here has nothing to record it on, and verifies as not found."""
        identifier = canonical_identifier(identifier)
        if file_digest is not None:
            validate_digest("file_digest", file_digest)
        if as_of is not None:
            _checked_as_of(as_of, self._clock())
        if self._exists(identifier):
            self.record_use(identifier, use)
        else:
            use.checked(self._clock())
        return self.verify(identifier, file_digest=file_digest, as_of=as_of, holder_digest=holder_digest)

    def record_use(self, identifier: str, use: Use) -> Certificate:
        """Record a use of a certificate issued here (用证记录); :class:`InvalidField` writes nothing."""
        identifier = canonical_identifier(identifier)
        for _ in range(_SAVE_ATTEMPTS):
            certificate = self.certificate(identifier)
            use.record_on(certificate, self._clock())
            try:
                self._app.save(certificate)
            except IntegrityError:
                continue
            return certificate
        raise AlreadyExists(f"certificate {identifier} changed concurrently; retry")

    def verify(
        self,
        identifier: str,
        *,
        file_digest: str | None = None,
        as_of: datetime | None = None,
        holder_digest: str | None = None,
    ) -> SignedAssertion:
        """Whether a certificate is authentic, and its status now or as of a time; signed by this node.

        ``as_of`` must carry a time zone and must not lie in the future: a node attests only what it knows.
        Validity is judged on the date in China (UTC+8) at that instant.
        """
        identifier = canonical_identifier(identifier)
        if file_digest is not None:
            validate_digest("file_digest", file_digest)
        now = self._clock()
        at = now if as_of is None else _checked_as_of(as_of, now)
        certificate: Certificate | None = None
        problem: VerificationProblem | None = VerificationProblem.NOT_FOUND
        if self._exists(identifier):
            certificate = self._current_or_as_of(identifier, at)
            problem = VerificationProblem.NOT_YET_ISSUED if certificate is None else None
        if certificate is not None and any(n == ERASED for _, n in certificate.content.holders()):
            problem = VerificationProblem.HOLDER_ERASED
        elif certificate is not None and not self._signature_valid(certificate):
            problem = VerificationProblem.SIGNATURE_INVALID
        if (
            certificate is not None
            and file_digest is not None
            and file_digest != certificate.content.file_digest
        ):
            problem = VerificationProblem.DIGEST_MISMATCH
        status = certificate.effective_status(china_date(at)) if certificate else None
        assertion: dict[str, Any] = {
            "identifier": identifier,
            "authentic": problem is None,
            "problem": problem.value if problem else None,
            "status": status.value if status else None,
            "as_of": at.isoformat(),
            "valid_until": certificate.content.valid_to if certificate else None,
            "issuer_code": certificate.content.issuer_code if certificate else None,
            "type_code": certificate.content.type_code if certificate else None,
            "digest_checked": file_digest is not None,
            "verified_at": now.isoformat(),
            "verifier_province": self.province,
            **_answer_details(certificate, status),
        }
        if holder_digest is not None:
            content = certificate.content if certificate else None
            assertion["holder_matches"] = content is not None and any(
                id_number != ERASED and holder_digest == certificate_holder_digest(id_type, id_number)
                for id_type, id_number in content.holders()
            )
        payload = canonical_json(assertion)
        return SignedAssertion(
            assertion=assertion,
            payload=payload,
            signature=self._signer.sign(payload),
            algorithm=self._signer.algorithm,
            key_id=self._signer.key_id,
        )

    def public_keys(self) -> list[PublicKey]:
        return list(self._public_keys.values())

    # Internals

    def _signed(self, content: CertificateContent, actor: Actor, at: datetime | None = None) -> Certificate:
        return Certificate.issue(
            content,
            signature=b64(self._signer.sign(content.signing_payload())),
            signature_algorithm=self._signer.algorithm,
            signing_key_id=self._signer.key_id,
            actor=actor,
            at=at or self._clock(),
            listed_issuers=self._extra_issuers,
        )

    def _number(
        self, content: CertificateContent, at: datetime, predecessor: str | None = None
    ) -> CertificateNumber:
        """The claim on the certificate's 证照编号, to save with it: a new one, or the predecessor's passed on
        to its renewal or change. A number another certificate of the type and issuer holds is a conflict.
        (Certificates issued before numbers were claimed hold none: their numbers are not guarded.)"""
        number_id = CertificateNumber.id_for(content.type_code, content.issuer_code, content.number)
        try:
            claim: CertificateNumber = self._app.repository.get(number_id)
        except AggregateNotFoundError:
            return CertificateNumber.claim(
                content.type_code, content.issuer_code, content.number, content.identifier, at
            )
        if claim.identifier != predecessor:
            raise AlreadyExists("a certificate of this type and issuer already has that number (证照编号)")
        claim.pass_on(claim.identifier, content.identifier, at)
        return claim

    def _signature_valid(self, certificate: Certificate) -> bool:
        key = self._public_keys.get(certificate.signing_key_id)
        if key is None or key.algorithm != certificate.signature_algorithm:
            return False
        return key.verify(certificate.content.signing_payload(), unb64(certificate.signature))

    def _save_with_holder(self, certificate: Certificate, *others: Aggregate) -> bool:
        """Save the certificate with the index of each of its holders in one transaction; False on a
        concurrent write."""
        holders = [HolderCertificates.id_for(*holder) for holder in certificate.content.holders()]
        # Writers in this process take turns per holder; other processes still meet optimistic concurrency.
        # The locks are taken in one order, so two certificates of the same holders cannot wait on each other.
        locks = sorted({index_id.int % len(self._holder_locks) for index_id in holders})
        with contextlib.ExitStack() as held:
            for lock in locks:
                held.enter_context(self._holder_locks[lock])
            try:
                self._app.save(certificate, *self._holder_indexes(certificate), *others)
            except IntegrityError:
                return False
            return True

    def _holder_indexes(self, certificate: Certificate) -> list[HolderCertificates]:
        """Each holder's index with the certificate added (saved with it by the caller)."""
        indexes = []
        for id_type, id_number in certificate.content.holders():
            try:
                index: HolderCertificates = self._app.repository.get(
                    HolderCertificates.id_for(id_type, id_number)
                )
            except AggregateNotFoundError:
                index = HolderCertificates.open(id_type, id_number, certificate.created_on)
            index.add(certificate.identifier, certificate.created_on)
            indexes.append(index)
        return indexes

    def issued_here(self, identifier: str) -> bool:
        return self._exists(canonical_identifier(identifier))

    def _exists(self, identifier: str) -> bool:
        return bool(self._app.recorder.select_events(certificate_id(identifier), limit=1))

    def _stored_events(self, identifier: str) -> Iterator[Any]:
        identifier = canonical_identifier(identifier)
        found = False
        for stored in self._app.events.get(certificate_id(identifier)):
            found = True
            yield stored
        if not found:
            raise NotFound(f"no certificate {identifier} on this node")


def canonical_identifier(identifier: str, *, field: str = "identifier") -> str:
    """The one spelling a certificate is recorded under (upper case, no surrounding spaces).

    Every entry point normalises with this before it looks anything up, so ``1.2.156...001.f`` finds the
    certificate recorded as ``1.2.156...001.F``. Raises :class:`InvalidField` naming ``field``.
    """
    try:
        return str(CertificateIdentifier.parse(identifier))
    except InvalidIdentifier as e:
        raise InvalidField(field, f"{e.part}: {e.message}") from None


def _checked_as_of(as_of: datetime, now: datetime) -> datetime:
    if as_of.tzinfo is None or as_of.utcoffset() is None:
        raise InvalidField("as_of", "must include a time zone offset")
    try:
        china_date(as_of)
        as_of.astimezone(UTC)
    except OverflowError:
        raise InvalidField("as_of", "is out of the supported range of dates") from None
    if as_of > now:
        raise InvalidField("as_of", "must not be in the future: a node attests only what has happened")
    return as_of


def _answer_details(certificate: Certificate | None, status: Status | None) -> dict[str, str | None]:
    """The :data:`ANSWER_DETAILS` of a certificate as it stood: its validity, its national status code, and
    where it went: the successor of a renewal or change, the destination of a transfer-out."""
    if certificate is None or status is None:
        return dict.fromkeys(ANSWER_DETAILS)
    transferred = status is Status.TRANSFERRED_OUT
    return {
        "valid_from": certificate.content.valid_from,
        "valid_to": certificate.content.valid_to,
        "national_status_code": national_status_code(status),
        "successor_identifier": certificate.successor_identifier,
        "successor_link": certificate.successor_link,
        "destination_province": certificate.destination_province if transferred else None,
        "destination_identifier": certificate.destination_identifier if transferred else None,
    }


def _transfer_serial(previous_identifier: str) -> str:
    """The serial of a transfer-in without one: the same for the same previous certificate."""
    digest = hashlib.sha256(f"transfer-in:{previous_identifier}".encode()).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 10**10:010d}"


def _random_serial() -> str:
    return f"{secrets.randbelow(10**10):010d}"


def _reissuable_fields(content: CertificateContent) -> dict[str, Any]:
    return {name: getattr(content, name) for name in INPUT_FIELDS}
