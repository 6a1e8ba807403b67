"""Electronic certificates (电子证照): metadata per GB/T 36903 and the status lifecycle.

A certificate is identified by its GB/T 36904 identifier. Renewal (换证), change (变更) and transfer-in (迁入)
create a NEW certificate that links the previous identifier; the old one records its successor.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.clock import china_date
from aggregates.consent import UseChannel, validate_consent_reference
from aggregates.errors import IllegalTransition, InvalidField
from aggregates.identifiers import (
    HOLDER_ID_KINDS,
    CertificateIdentifier,
    HolderIdKind,
    InvalidIdentifier,
    province_of,
    validate_division_code,
    validate_province,
)
from aggregates.responsibility import Actor

CERTIFICATE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:certificate")


class Status(StrEnum):
    VALID = "VALID"  # 有效
    SUSPENDED = "SUSPENDED"  # 暂扣
    ANNULLED = "ANNULLED"  # 撤销
    CANCELLED = "CANCELLED"  # 注销
    EXPIRED = "EXPIRED"  # 失效
    REVOKED = "REVOKED"  # 吊销
    TRANSFERRED_OUT = "TRANSFERRED_OUT"  # 办理转出


# The holder ID types by code (declared once in aggregates.identifiers.HOLDER_ID_KINDS).
HOLDER_ID_TYPES: dict[str, HolderIdKind] = {kind.code: kind for kind in HOLDER_ID_KINDS}


class Link(StrEnum):
    """Why a certificate carries a previous identifier (关联证照标识)."""

    RENEWED = "RENEWED"
    CHANGED = "CHANGED"
    TRANSFERRED_IN = "TRANSFERRED_IN"


# Which statuses each status operation may start from; anything else is an illegal transition.
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "suspend": (frozenset({Status.VALID}), Status.SUSPENDED),
    "release": (frozenset({Status.SUSPENDED}), Status.VALID),
    "cancel": (frozenset({Status.VALID, Status.SUSPENDED}), Status.CANCELLED),
    "annul": (frozenset({Status.VALID, Status.SUSPENDED}), Status.ANNULLED),
    "revoke": (frozenset({Status.VALID, Status.SUSPENDED}), Status.REVOKED),
    "expire": (frozenset({Status.VALID, Status.SUSPENDED}), Status.EXPIRED),
    "transfer_out": (frozenset({Status.VALID}), Status.TRANSFERRED_OUT),
    "undo_transfer_out": (frozenset({Status.TRANSFERRED_OUT}), Status.VALID),
}
SUPERSEDABLE = {
    Link.RENEWED: frozenset({Status.VALID, Status.EXPIRED}),
    Link.CHANGED: frozenset({Status.VALID}),
}
# The operation named in a refusal ("cannot renew ...").
_SUPERSEDING_OPERATION = {Link.RENEWED: "renew", Link.CHANGED: "change"}

_DIGEST = re.compile(r"^(sha256:[0-9a-f]{64}|sm3:[0-9a-f]{64})$")
_TYPE_CODE = re.compile(r"^[0-9A-Z]{18}[0-9]{3}$")
# C0 controls and DEL: never part of a name, a number or a reason (they break logs, files and displays).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def certificate_id(identifier: str) -> UUID:
    """The aggregate id: stable for an identifier, so a second issue of the same identifier conflicts."""
    return uuid5(CERTIFICATE_NAMESPACE, identifier)


def canonical_json(document: dict[str, Any]) -> bytes:
    """The exact bytes a node signs: sorted keys, no spaces, UTF-8."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _text(field: str, value: str, max_length: int = 200) -> str:
    value = value.strip()
    if not value or len(value) > max_length:
        raise InvalidField(field, f"must be 1 to {max_length} characters")
    if _CONTROL.search(value):
        raise InvalidField(field, "must not contain control characters")
    return value


def _province(field: str, value: str) -> str:
    try:
        return validate_province(value)
    except InvalidIdentifier as e:
        raise InvalidField(field, f"must be a province-level code such as 310000 ({e.message})") from None


def _iso_date(field: str, value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise InvalidField(field, "must be a date as YYYY-MM-DD") from None


def validate_digest(field: str, value: str) -> str:
    if not _DIGEST.match(value):
        raise InvalidField(field, "must be sha256:<64 hex> or sm3:<64 hex>")
    return value


def _other_holders(given: Any, holder: tuple[str, str]) -> list[dict[str, str]]:
    """The other holders, each validated like the holder; no person twice, the holder included."""
    if not isinstance(given, list) or len(given) > MAX_OTHER_HOLDERS:
        raise InvalidField("other_holders", f"must be a list of at most {MAX_OTHER_HOLDERS} holders")
    seen, holders = {holder}, []
    for n, other in enumerate(given):
        if not isinstance(other, dict) or set(other) != set(HOLDER_KEYS):
            raise InvalidField(f"other_holders/{n}", f"must have exactly {', '.join(HOLDER_KEYS)}")
        try:
            number = validate_holder_id(other["id_type"], other["id"])
            name = _text("holder_name", other["name"], _TEXT_LIMITS["holder_name"])
        except InvalidField as e:
            field = {"holder_id_type": "id_type", "holder_id": "id", "holder_name": "name"}[e.field]
            raise InvalidField(f"other_holders/{n}/{field}", e.message) from None
        if (other["id_type"], number) in seen:
            raise InvalidField(f"other_holders/{n}/id", "names a holder the certificate names already")
        seen.add((other["id_type"], number))
        holders.append({"name": name, "id_type": other["id_type"], "id": number})
    return holders


def validate_holder_id(id_type: str, holder_id: str) -> str:
    """The holder's ID number, normalised, by the rule of its type. Errors never repeat the number."""
    kind = HOLDER_ID_TYPES.get(id_type)
    if kind is None:
        raise InvalidField("holder_id_type", f"must be one of {', '.join(HOLDER_ID_TYPES)}")
    try:
        return kind.validate(holder_id)
    except InvalidIdentifier as e:
        raise InvalidField("holder_id", f"{e.part}: {e.message}") from None


@dataclass(frozen=True)
class CertificateFields:
    """A certificate's GB/T 36903 metadata, declared once.

    Everything else derives from these fields or is held to them by a test
    (tests/unit/test_certificate_declaration.py): the signed content (:class:`CertificateContent`), the
    ``Issued`` event and so the stored events, the aggregate's state, the REST JSON
    (node/presentation/certificates.py), the gRPC ``Certificate`` message (node/grpc/certificates.py) and the
    proto. Stored ``Issued`` events carry these names and this order forever: add a field with an upcaster;
    never rename or reorder one.
    """

    identifier: str  # GB/T 36904, derived from type_code, issuer_code, the serial and the version
    type_code: str
    type_name: str
    name: str
    number: str
    issuer_name: str
    issuer_code: str
    definer: str
    issue_date: str
    valid_from: str
    valid_to: str | None
    jurisdiction_code: str
    holder_name: str
    holder_id_type: str
    holder_id: str
    service_item_code: str | None
    file_digest: str
    previous_identifier: str | None
    link: str | None
    # The certificate's other holders (结婚证, jointly held property), each {"name", "id_type", "id"} like the
    # holder_* fields; empty for one holder. Left out of the signed content when empty, so certificates signed
    # before it existed verify as they were signed.
    other_holders: list[dict[str, str]]


# The keys of each other holder, in their order: the holder_* fields without their prefix.
HOLDER_KEYS = ("name", "id_type", "id")
MAX_OTHER_HOLDERS = 20
DECLARED_FIELDS = tuple(f.name for f in fields(CertificateFields))
# What an issuer gives: the node derives the identifier, and a renewal, change or transfer-in sets the link.
INPUT_FIELDS = tuple(
    name for name in DECLARED_FIELDS if name not in ("identifier", "previous_identifier", "link")
)
# The free-text fields and their longest length; validated in this (declaration) order.
_TEXT_LIMITS = {
    "type_name": 200,
    "name": 200,
    "number": 64,
    "issuer_name": 200,
    "definer": 200,
    "holder_name": 100,
}


@dataclass(frozen=True)
class CertificateContent(CertificateFields):
    """The signed content of a certificate. Build it with :meth:`create`."""

    @classmethod
    def create(
        cls,
        *,
        serial: str,
        version: int = 1,
        previous_identifier: str | None = None,
        link: Link | None = None,
        **given: Any,
    ) -> CertificateContent:
        """Validates every field of :data:`INPUT_FIELDS` (all required but ``other_holders``, none by
        default; valid_to and service_item_code may be None) and derives the identifier. Raises
        :class:`InvalidField`."""
        given = {"other_holders": [], **given}
        if missing := [name for name in INPUT_FIELDS if name not in given]:
            raise TypeError(f"CertificateContent.create() missing fields: {', '.join(missing)}")
        if unknown := sorted(given.keys() - set(INPUT_FIELDS)):
            raise TypeError(f"CertificateContent.create() got unknown fields: {', '.join(unknown)}")
        type_code, jurisdiction_code = given["type_code"], given["jurisdiction_code"]
        if not _TYPE_CODE.match(type_code):
            raise InvalidField("type_code", "must be the definer's 18-character credit code + 3 digits")
        try:
            validate_division_code(jurisdiction_code)
        except InvalidIdentifier as e:
            raise InvalidField("jurisdiction_code", e.message) from None
        try:
            identifier = CertificateIdentifier.build(type_code, given["issuer_code"], serial, version)
        except InvalidIdentifier as e:
            field = {"issuer_code": "issuer_code", "serial": "serial"}.get(e.part, "type_code")
            raise InvalidField(field, e.message) from None
        issued = _iso_date("issue_date", given["issue_date"])
        start = _iso_date("valid_from", given["valid_from"])
        if given["valid_to"] is not None and _iso_date("valid_to", given["valid_to"]) < start:
            raise InvalidField("valid_to", "must not be before valid_from")
        if start < issued:
            raise InvalidField("valid_from", "must not be before issue_date")
        validate_digest("file_digest", given["file_digest"])
        if previous_identifier is not None:
            try:
                previous_identifier = str(CertificateIdentifier.parse(previous_identifier))
            except InvalidIdentifier as e:
                raise InvalidField("previous_identifier", f"{e.part}: {e.message}") from None
        texts = {name: _text(name, given[name], limit) for name, limit in _TEXT_LIMITS.items()}
        holder_id = validate_holder_id(given["holder_id_type"], given["holder_id"])
        return cls(
            **{
                **given,
                **texts,
                "identifier": str(identifier),
                "holder_id": holder_id,
                "other_holders": _other_holders(given["other_holders"], (given["holder_id_type"], holder_id)),
                "previous_identifier": previous_identifier,
                "link": link.value if link else None,
            }
        )

    @classmethod
    def of(cls, recorded: CertificateFields) -> CertificateContent:
        """The content as recorded (an ``Issued`` event): taken as it is, not validated again."""
        return cls(**{name: getattr(recorded, name) for name in DECLARED_FIELDS})

    def signing_payload(self) -> bytes:
        document = asdict(self)
        if not document["other_holders"]:
            del document["other_holders"]  # the bytes of a one-holder certificate are those signed before
        return canonical_json(document)

    def holders(self) -> list[tuple[str, str]]:
        """Every holder's (ID type, ID number), the holder first."""
        return [(self.holder_id_type, self.holder_id)] + [(h["id_type"], h["id"]) for h in self.other_holders]


class Certificate(Aggregate):
    """One electronic certificate and its status history."""

    class Issued(CertificateFields, Aggregate.Created):
        """Issued, renewed, changed or transferred in: ``link`` and ``previous_identifier`` say which.

        The declared fields (:class:`CertificateFields`, first, in their order), then who signed and who
        issued. Version 2 added ``other_holders``: a version 1 certificate had its one holder.
        """

        class_version = 2

        signature: str
        signature_algorithm: str
        signing_key_id: str
        province: str
        office_code: str
        operator_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Issued before several holders: the holder alone."""
            state["other_holders"] = []

        def apply(self, aggregate: Certificate) -> None:
            aggregate.content = CertificateContent.of(self)
            aggregate.signature = self.signature
            aggregate.signature_algorithm = self.signature_algorithm
            aggregate.signing_key_id = self.signing_key_id
            aggregate.province = self.province

    class StatusChanged(Aggregate.Event):
        """Every status operation; ``operation`` names it (suspend, revoke, transfer_out, ...)."""

        operation: str
        status: str
        reason: str
        destination_province: str | None
        office_code: str
        operator_id: str

    class Used(Aggregate.Event):
        """用证记录: the certificate was verified for a use, with the holder's consent.

        Version 2 records uses over every channel (``channel``: a peer's federation call, this node's REST or
        gRPC API, a case of this province), who asked (``office_code``, ``operator_id``), and a use outside
        any case (``case_reference`` None). A version 1 event was a peer's federation call for its case.
        """

        class_version = 2

        requester_province: str
        case_reference: str | None
        purpose: str
        consent_reference: str
        channel: str
        office_code: str
        operator_id: str

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Recorded when only peers' federation calls were uses: the federation, for that province."""
            state["channel"] = UseChannel.FEDERATION.value
            state["office_code"] = "FEDERATION"
            state["operator_id"] = state["requester_province"]

    class Superseded(Aggregate.Event):
        """A renewal or change replaced this certificate with ``successor_identifier``.

        ``status`` is the status the certificate has from then on (a valid one expires).
        """

        successor_identifier: str
        link: str
        status: str
        office_code: str
        operator_id: str

    @classmethod
    def issue(
        cls,
        content: CertificateContent,
        *,
        signature: str,
        signature_algorithm: str,
        signing_key_id: str,
        actor: Actor,
        at: datetime,
    ) -> Certificate:
        province = _province("province", actor.province)
        if province_of(content.jurisdiction_code) != province:
            raise InvalidField(
                "jurisdiction_code", f"must lie in the issuing province {province}: a node issues its own"
            )
        if not signature:
            raise InvalidField("signature", "an issued certificate must be signed")
        return cls._create(
            cls.Issued,
            **asdict(content),
            signature=signature,
            signature_algorithm=signature_algorithm,
            signing_key_id=signing_key_id,
            province=province,
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    @staticmethod
    def create_id(identifier: str, **_: Any) -> UUID:
        return certificate_id(identifier)

    def __init__(self) -> None:
        # The state before Issued.apply sets what the event recorded: the Issued event alone makes one, and
        # eventsourcing calls this with none of its fields (they are all applied by the event).
        self.content: CertificateContent
        self.signature: str
        self.signature_algorithm: str
        self.signing_key_id: str
        self.province: str
        self.status = Status.VALID
        # How many times provinces verified it for a case. A count, not the list: a much used certificate's
        # state stays small; the uses themselves are the Used events (and the certificate-uses read model).
        self.use_count = 0
        self.successor_identifier: str | None = None
        self.destination_province: str | None = None

    @property
    def identifier(self) -> str:
        return self.content.identifier

    def change_status(
        self,
        operation: str,
        *,
        reason: str,
        actor: Actor,
        at: datetime,
        destination_province: str | None = None,
    ) -> None:
        """Suspend, release, cancel, annul, revoke, expire, transfer out or undo a transfer-out."""
        try:
            allowed_from, to = TRANSITIONS[operation]
        except KeyError:
            raise InvalidField("operation", f"must be one of {', '.join(TRANSITIONS)}") from None
        if self.status not in allowed_from:
            raise IllegalTransition(self.identifier, operation, self.status.value)
        reason = _text("reason", reason, 500)
        if operation == "transfer_out":
            if destination_province is None:
                raise InvalidField("destination_province", "a transfer-out names its destination province")
            destination_province = _province("destination_province", destination_province)
            if destination_province == self.province:
                raise InvalidField("destination_province", "must be another province")
        elif destination_province is not None:
            raise InvalidField("destination_province", "only a transfer-out names a destination")
        self._status_changed(
            operation=operation,
            status=to.value,
            reason=reason,
            destination_province=destination_province,
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    def supersede(self, successor_identifier: str, link: Link, *, actor: Actor, at: datetime) -> None:
        """Record that a renewal or change replaced this certificate; a valid one expires."""
        operation = _SUPERSEDING_OPERATION[link]
        if self.successor_identifier is not None:
            raise IllegalTransition(self.identifier, operation, f"superseded by {self.successor_identifier}")
        if self.status not in SUPERSEDABLE[link]:
            raise IllegalTransition(self.identifier, operation, self.status.value)
        self._superseded(
            successor_identifier=successor_identifier,
            link=link.value,
            status=(Status.EXPIRED if self.status is Status.VALID else self.status).value,
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    def record_use(
        self,
        requester: Actor,
        channel: UseChannel,
        *,
        case_reference: str | None,
        purpose: str,
        consent_reference: str,
        at: datetime,
    ) -> None:
        """Record that the certificate was verified for a purpose, with the holder's consent (用证记录)."""
        self._used(
            **checked_use(
                requester,
                channel,
                case_reference=case_reference,
                purpose=purpose,
                consent_reference=consent_reference,
                at=at,
            ),
            timestamp=at,
        )

    @event(Used)
    def _used(
        self,
        requester_province: str,
        case_reference: str | None,
        purpose: str,
        consent_reference: str,
        channel: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.use_count += 1

    def effective_status(self, on: date) -> Status:
        """The status a verifier should see on a day: a valid certificate past ``valid_to`` has lapsed.

        ``on`` is a date in China (``aggregates.clock.china_date``): validity ends at midnight CST, not UTC.
        """
        if (
            self.status is Status.VALID
            and self.content.valid_to
            and date.fromisoformat(self.content.valid_to) < on
        ):
            return Status.EXPIRED
        return self.status

    @event(StatusChanged)
    def _status_changed(
        self,
        operation: str,
        status: str,
        reason: str,
        destination_province: str | None,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.status = Status(status)
        self.destination_province = destination_province

    @event(Superseded)
    def _superseded(
        self,
        successor_identifier: str,
        link: str,
        status: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.successor_identifier = successor_identifier
        self.status = Status(status)


def checked_use(
    requester: Actor,
    channel: UseChannel,
    *,
    case_reference: str | None,
    purpose: str,
    consent_reference: str,
    at: datetime,
) -> dict[str, Any]:
    """A use's fields as ``Certificate.Used`` records them, or :class:`InvalidField`: also for a certificate
    that is not there, so that a use is refused the same way whether or not anything could be written."""
    return {
        "requester_province": _province("requester_province", requester.province),
        "case_reference": None if case_reference is None else _text("case_reference", case_reference, 64),
        "purpose": _text("purpose", purpose, 200),
        "consent_reference": validate_consent_reference(consent_reference, china_date(at)),
        "channel": UseChannel(channel).value,
        "office_code": _text("office_code", requester.office_code, 64),
        "operator_id": _text("operator_id", requester.operator_id, 64),
    }


HOLDER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:holder")


class HolderCertificates(Aggregate):
    """The certificates issued to one holder, so that a holder's list needs no table scan.

    Its id is derived from the holder's id; its events carry no personal data. It is saved atomically
    with each certificate it lists.
    """

    class Opened(Aggregate.Created):
        pass

    class CertificateAdded(Aggregate.Event):
        identifier: str

    @classmethod
    def open(cls, holder_id_type: str, holder_id: str, at: datetime) -> HolderCertificates:
        return cls._create(cls.Opened, id=cls.id_for(holder_id_type, holder_id), timestamp=at)

    @staticmethod
    def id_for(holder_id_type: str, holder_id: str) -> UUID:
        return uuid5(HOLDER_NAMESPACE, f"{holder_id_type}:{holder_id}")

    @event(Opened)
    def __init__(self) -> None:
        self.identifiers: list[str] = []

    def add(self, identifier: str, at: datetime) -> None:
        if identifier not in self.identifiers:
            self._certificate_added(identifier=identifier, timestamp=at)

    @event(CertificateAdded)
    def _certificate_added(self, identifier: str, timestamp: datetime) -> None:
        self.identifiers.append(identifier)


def holder_digest(id_type: str, id_number: str) -> str:
    """SHA-256 of "<id type>:<id number>": an issuing province checks a holder without the number in clear."""
    return hashlib.sha256(f"{id_type}:{id_number}".encode()).hexdigest()
