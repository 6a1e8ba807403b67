"""Electronic certificates (电子证照): metadata per GB/T 36903 and the status lifecycle.

A certificate is identified by its GB/T 36904 identifier. Renewal (换证), change (变更) and transfer-in (迁入)
create a NEW certificate that links the previous identifier; the old one records its successor.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.certificate_types import certificate_type, holder_kind
from aggregates.clock import CHINA, china_date
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
    # Never recorded: the effective status of a VALID certificate before its valid_from (尚未生效).
    NOT_YET_VALID = "NOT_YET_VALID"


# What events record; NOT_YET_VALID is only ever read (effective_status).
RECORDED_STATUSES = tuple(status for status in Status if status is not Status.NOT_YET_VALID)


# The holder ID types by code (declared once in aggregates.identifiers.HOLDER_ID_KINDS).
HOLDER_ID_TYPES: dict[str, HolderIdKind] = {kind.code: kind for kind in HOLDER_ID_KINDS}


class Link(StrEnum):
    """Why a certificate carries a previous identifier (关联证照标识)."""

    RENEWED = "RENEWED"
    CHANGED = "CHANGED"
    TRANSFERRED_IN = "TRANSFERRED_IN"


# The national status codes (证照状态代码) of certificate platforms, one per recorded status;
# "99" (其他) for a status the list has no code for (NOT_YET_VALID). The seeds do not list the codes:
# these follow the order in which GB/T 36903's statuses are listed
# (有效, 暂扣, 撤销, 注销, 失效, 吊销, 办理转出), to be checked against the national list (docs/domain.md).
NATIONAL_STATUS_CODES: dict[Status, str] = {
    Status.VALID: "01",
    Status.SUSPENDED: "02",
    Status.ANNULLED: "03",
    Status.CANCELLED: "04",
    Status.EXPIRED: "05",
    Status.REVOKED: "06",
    Status.TRANSFERRED_OUT: "07",
}
OTHER_NATIONAL_STATUS = "99"


def national_status_code(status: Status) -> str:
    return NATIONAL_STATUS_CODES.get(status, OTHER_NATIONAL_STATUS)


# What a signed verification answer (核验结果) says of a certificate besides its status, declared once: the
# REST answer carries these keys, and both gRPC answers a string field of each name ("" for null;
# tests/unit/test_verification_answer.py holds the protos to it).
ANSWER_DETAILS = (
    "valid_from",
    "valid_to",
    "national_status_code",
    "successor_identifier",
    "successor_link",
    "destination_province",
    "destination_identifier",
)

# Which statuses each status operation may start from; anything else is an illegal transition. The status
# checked is the one the certificate acts from on the day of the operation (``_acting_status``).
TRANSITIONS: dict[str, tuple[frozenset[Status], Status]] = {
    "suspend": (frozenset({Status.VALID}), Status.SUSPENDED),
    "release": (frozenset({Status.SUSPENDED}), Status.VALID),
    # 行政许可法 第70条: a licence annulled (撤销), revoked (吊销) or lapsed is then cancelled (注销).
    "cancel": (
        frozenset({Status.VALID, Status.SUSPENDED, Status.ANNULLED, Status.REVOKED, Status.EXPIRED}),
        Status.CANCELLED,
    ),
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
_CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_-]{22}")  # 16 random bytes, base64url
_THUMBPRINT = re.compile(r"[A-Za-z0-9_-]{43}")  # SHA-256, base64url
# A credential of a certificate without end lasts no longer than this after its issue: it is refreshed.
_OPEN_ENDED_CREDENTIAL = timedelta(days=365)


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


def _registered_province(credit_code: str) -> str | None:
    """The province of the division a credit code carries (characters 3-8, GB 32100); None for a central
    body (100000) or a division of no province."""
    try:
        return province_of(credit_code[2:8])
    except InvalidIdentifier:
        return None


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
        declared = certificate_type(type_code)
        if declared is None:
            raise InvalidField("type_code", "names no certificate type of the catalogue")
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
        if start < issued and not declared.starts_before_issue:
            raise InvalidField("valid_from", "must not be before issue_date for this certificate type")
        if given["valid_to"] is None and not declared.open_ended:
            raise InvalidField("valid_to", "this certificate type's validity ends: give valid_to")
        validate_digest("file_digest", given["file_digest"])
        if previous_identifier is not None:
            try:
                previous_identifier = str(CertificateIdentifier.parse(previous_identifier))
            except InvalidIdentifier as e:
                raise InvalidField("previous_identifier", f"{e.part}: {e.message}") from None
        texts = {name: _text(name, given[name], limit) for name, limit in _TEXT_LIMITS.items()}
        # the catalogue's name and definer of the type, never another's (GB/T 36902)
        for name, declared_value in (("type_name", declared.name), ("definer", declared.definer)):
            if texts[name] != declared_value:
                raise InvalidField(name, f"must be the catalogue's {declared_value} for this type code")
        holder_id = validate_holder_id(given["holder_id_type"], given["holder_id"])
        if holder_kind(given["holder_id_type"]) not in declared.holder_kinds:
            raise InvalidField("holder_id_type", "this certificate type is not issued to that kind of holder")
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

    class TransferAccepted(Aggregate.Event):
        """迁入: the destination province transferred this certificate in as ``destination_identifier``.

        The destination's node asked for it (the federation acted); from then on the transfer-out is final.
        """

        destination_province: str
        destination_identifier: str

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

    class IssuedForCase(Aggregate.Event):
        """关联事项: issued because a case of this node concluded ISSUED (上海市"一网通办"决定 第七条).
        ``case_reference`` is the case's number (its item is the content's ``service_item_code``).
        ``paper_counterpart_digest``: a paper certificate (实体证照) was issued together with it, bearing the
        content whose SHA-256 this is, the signed content's (同步发放, 信息一致); None: no paper one."""

        case_reference: str
        paper_counterpart_digest: str | None
        office_code: str
        operator_id: str

    class CredentialIssued(Aggregate.Event):
        """亮证: a credential of this certificate was issued to a holder's device (docs/credentials.md).

        Who asked (the holder's platform), when, the device key's thumbprint (RFC 7638) and the credential's
        entry in the status list; never the credential itself nor anything personal.
        """

        credential_id: str
        status_index: int
        device_key_thumbprint: str
        expires_at: datetime
        requester_province: str
        office_code: str
        operator_id: str

    class CredentialRefreshed(Aggregate.Event):
        """A credential issued again to the device it is bound to, with a later expiry: a short-lived
        credential is refreshed, keeping its id, its status list entry and its device key
        (docs/credentials.md)."""

        credential_id: str
        expires_at: datetime
        requester_province: str
        office_code: str
        operator_id: str

    class CredentialRevoked(Aggregate.Event):
        """One credential revoked on its own (a lost or stolen device); the certificate is untouched."""

        credential_id: str
        reason: str
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
        listed_issuers: frozenset[str] = frozenset(),
    ) -> Certificate:
        """``listed_issuers``: the credit codes of bodies registered elsewhere (a central body, division
        100000) that the node's configuration lets issue through this province (``extra_issuers``)."""
        province = _province("province", actor.province)
        if province_of(content.jurisdiction_code) != province:
            raise InvalidField(
                "jurisdiction_code", f"must lie in the issuing province {province}: a node issues its own"
            )
        if (
            content.issuer_code not in listed_issuers
            and _registered_province(content.issuer_code) != province
        ):
            # the identifier names the issuer, so verifiers would ask another province's node (GB/T 36904)
            raise InvalidField(
                "issuer_code",
                f"must be registered in the issuing province {province} (its credit code's division) or be "
                "listed in this node's extra_issuers",
            )
        if date.fromisoformat(content.issue_date) > china_date(at):
            raise InvalidField("issue_date", "must not be in the future")
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
        self.successor_link: str | None = None
        self.destination_province: str | None = None
        self.destination_identifier: str | None = None
        self.case_reference: str | None = None  # IssuedForCase
        self.paper_counterpart_digest: str | None = None
        # credential id -> its status list entry, of each credential issued; and those revoked on their own
        self.credentials: dict[str, int] = {}
        self.credential_devices: dict[str, str] = {}  # credential id -> the device key's thumbprint
        self.revoked_credentials: set[str] = set()

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
        status = self._acting_status(at)
        # recording that a certificate lapsed by date is what "expire" is for
        if status not in allowed_from and not (operation == "expire" and self.status in allowed_from):
            raise IllegalTransition(self.identifier, operation, status.value)
        if operation == "undo_transfer_out" and self.destination_identifier is not None:
            state = f"TRANSFERRED_OUT and transferred in as {self.destination_identifier}"
            raise IllegalTransition(self.identifier, operation, state)
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
        status = self._acting_status(at)
        if status not in SUPERSEDABLE[link]:
            raise IllegalTransition(self.identifier, operation, status.value)
        self._superseded(
            successor_identifier=successor_identifier,
            link=link.value,
            status=(Status.EXPIRED if self.status is Status.VALID else self.status).value,
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    def accept_transfer(
        self, destination_province: str, destination_identifier: str, holder: str, at: datetime
    ) -> bool:
        """The destination province transfers this certificate in (迁入) as ``destination_identifier``.

        Only a certificate TRANSFERRED_OUT to that province, into a certificate of the same type and to the
        same holder (``holder``: the :func:`holder_digest` of the destination's holder). False when that
        very transfer-in was recorded already (a retry).
        """
        try:
            destination = CertificateIdentifier.parse(destination_identifier)
        except InvalidIdentifier as e:
            raise InvalidField("destination_identifier", f"{e.part}: {e.message}") from None
        destination_identifier = str(destination)
        if self.destination_identifier is not None:
            if (destination_province, destination_identifier) == (
                self.destination_province,
                self.destination_identifier,
            ):
                return False
            raise IllegalTransition(self.identifier, "transfer in", "transferred in already")
        if self.status is not Status.TRANSFERRED_OUT:
            raise IllegalTransition(self.identifier, "transfer in", self.status.value)
        if destination_province != self.destination_province:
            raise IllegalTransition(self.identifier, "transfer in", "TRANSFERRED_OUT to another province")
        if destination.issuing_province != destination_province:
            raise InvalidField("destination_identifier", "must be issued by the destination province")
        if destination.type_code != self.content.type_code:
            raise InvalidField("type_code", "must be the type of the certificate transferred out")
        if holder != holder_digest(self.content.holder_id_type, self.content.holder_id):
            raise InvalidField("holder_id", "must be the holder of the certificate transferred out")
        self._transfer_accepted(
            destination_province=destination_province,
            destination_identifier=destination_identifier,
            timestamp=at,
        )
        return True

    @event(TransferAccepted)
    def _transfer_accepted(
        self, destination_province: str, destination_identifier: str, timestamp: datetime
    ) -> None:
        self.destination_identifier = destination_identifier

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

    def link_case(self, case_reference: str, *, paper_counterpart: bool, actor: Actor, at: datetime) -> None:
        """Record, with its issue, the case it was issued for and the paper counterpart issued with it."""
        if self.version != 1 or self.case_reference is not None:
            raise IllegalTransition(self.identifier, "link a case to", "no longer as issued")
        digest = "sha256:" + hashlib.sha256(self.content.signing_payload()).hexdigest()
        self._issued_for_case(
            case_reference=_text("case_reference", case_reference, 64),
            paper_counterpart_digest=digest if paper_counterpart else None,
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    @event(IssuedForCase)
    def _issued_for_case(
        self,
        case_reference: str,
        paper_counterpart_digest: str | None,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.case_reference = case_reference
        self.paper_counterpart_digest = paper_counterpart_digest

    def effective_status(self, on: date) -> Status:
        """The status every reader sees on a day: a VALID certificate is NOT_YET_VALID before ``valid_from``
        and EXPIRED after ``valid_to`` (行政许可法 第70条: a licence lapses when its term ends, recorded or
        not); any other recorded status is itself.

        ``on`` is a date in China (``aggregates.clock.china_date``): validity ends at midnight CST, not UTC.
        """
        if self.status is not Status.VALID:
            return self.status
        if date.fromisoformat(self.content.valid_from) > on:
            return Status.NOT_YET_VALID
        if self.content.valid_to and date.fromisoformat(self.content.valid_to) < on:
            return Status.EXPIRED
        return Status.VALID

    def _acting_status(self, at: datetime) -> Status:
        """The status a transition starts from at ``at``: a lapse by date counts (a lapsed certificate
        cannot be suspended or transferred out); one not yet in force is acted on as recorded (it can be
        annulled)."""
        status = self.effective_status(china_date(at))
        return self.status if status is Status.NOT_YET_VALID else status

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
        self.successor_link = link
        self.status = Status(status)

    def issue_credential(
        self,
        credential_id: str,
        status_index: int,
        device_key_thumbprint: str,
        expires_at: datetime,
        *,
        actor: Actor,
        at: datetime,
    ) -> None:
        """Record a credential issued to a holder's device: only of a certificate in force at ``at``, and
        never valid past the certificate's own last day (its end in China)."""
        self._require_in_force(at, "issue a credential of")
        if not _CREDENTIAL_ID.fullmatch(credential_id) or credential_id in self.credentials:
            raise InvalidField("credential_id", "must be a new id of 22 base64url characters")
        if status_index < 0:
            raise InvalidField("status_index", "must not be negative")
        if not _THUMBPRINT.fullmatch(device_key_thumbprint):
            raise InvalidField("device_key_thumbprint", "must be an RFC 7638 SHA-256 thumbprint")
        self._check_credential_expiry(expires_at, at)
        self._credential_issued(
            credential_id=credential_id,
            status_index=status_index,
            device_key_thumbprint=device_key_thumbprint,
            expires_at=expires_at,
            requester_province=_province("requester_province", actor.province),
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    def live_credential(self, device_key_thumbprint: str) -> str | None:
        """The credential of this certificate bound to that device and not revoked (the latest), or None."""
        live = [
            credential_id
            for credential_id, device in self.credential_devices.items()
            if device == device_key_thumbprint and credential_id not in self.revoked_credentials
        ]
        return live[-1] if live else None

    def refresh_credential(
        self, credential_id: str, expires_at: datetime, *, actor: Actor, at: datetime
    ) -> None:
        """Record a credential issued again to its own device with a later expiry: only of a certificate in
        force at ``at``, only a credential not revoked, never valid past the certificate's own last day."""
        self._require_in_force(at, "refresh a credential of")
        if credential_id not in self.credentials:
            raise InvalidField("credential_id", "names no credential of this certificate")
        if credential_id in self.revoked_credentials:
            raise IllegalTransition(self.identifier, "refresh the credential of", "revoked")
        self._check_credential_expiry(expires_at, at)
        self._credential_refreshed(
            credential_id=credential_id,
            expires_at=expires_at,
            requester_province=_province("requester_province", actor.province),
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    @event(CredentialRefreshed)
    def _credential_refreshed(
        self,
        credential_id: str,
        expires_at: datetime,
        requester_province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        """The credential's id, entry and device stay as they were: nothing of the state changes."""

    def _require_in_force(self, at: datetime, doing: str) -> None:
        status = self.effective_status(china_date(at))
        if status is not Status.VALID:
            raise IllegalTransition(self.identifier, doing, status.value)

    def _check_credential_expiry(self, expires_at: datetime, at: datetime) -> None:
        if expires_at <= at or expires_at > self.credential_limit(at):
            raise InvalidField("expires_at", "must lie after now and within the certificate's validity")

    def credential_limit(self, at: datetime) -> datetime:
        """The latest instant a credential of this certificate may be valid to: the end of its ``valid_to``
        day in China, or far ahead for a certificate without end."""
        if self.content.valid_to is None:
            return at + _OPEN_ENDED_CREDENTIAL
        last_day = date.fromisoformat(self.content.valid_to)
        return datetime.combine(last_day + timedelta(days=1), time(), CHINA)

    @event(CredentialIssued)
    def _credential_issued(
        self,
        credential_id: str,
        status_index: int,
        device_key_thumbprint: str,
        expires_at: datetime,
        requester_province: str,
        office_code: str,
        operator_id: str,
        timestamp: datetime,
    ) -> None:
        self.credentials[credential_id] = status_index
        self.credential_devices[credential_id] = device_key_thumbprint

    def revoke_credential(self, credential_id: str, reason: str, *, actor: Actor, at: datetime) -> None:
        if credential_id not in self.credentials:
            raise InvalidField("credential_id", "names no credential of this certificate")
        if credential_id in self.revoked_credentials:
            raise IllegalTransition(self.identifier, "revoke the credential of", "revoked already")
        self._credential_revoked(
            credential_id=credential_id,
            reason=_text("reason", reason, 500),
            office_code=actor.office_code,
            operator_id=actor.operator_id,
            timestamp=at,
        )

    @event(CredentialRevoked)
    def _credential_revoked(
        self, credential_id: str, reason: str, office_code: str, operator_id: str, timestamp: datetime
    ) -> None:
        self.revoked_credentials.add(credential_id)


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
