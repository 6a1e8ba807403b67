"""An offline check (亮证核验) that a verifier kit recorded and uploaded to its own node: which scenario,
which verifier, when, the verdict and its reason, and which credential of which issuing province; never the
disclosed values.

The kit's node records it once (its id is the kit's record id, so an upload repeated after a lost answer
records nothing new), and the federation carries it to the issuing province, which adds it to the
certificate's use log (用证记录), once.
"""

from __future__ import annotations

import re
from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.credential_scenarios import SCENARIO_CODES
from aggregates.errors import InvalidField
from aggregates.verifier import VERIFIER_ID_PATTERN

OFFLINE_CHECK_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:offline-check")
VERDICTS = ("ACCEPT", "ACCEPT_STALE", "REFUSE")
_VERIFIER_ID = re.compile(VERIFIER_ID_PATTERN)
_REASON = re.compile(r"[A-Z][A-Z_]{1,63}")
_CREDENTIAL_ID = re.compile(r"[A-Za-z0-9_-]{22}")
_ISSUER = re.compile(r"([1-8][0-9]0000)\.node\.tongban")  # federation.pki.node_name's form


class OfflineCheck(Aggregate):
    class Recorded(Aggregate.Created):
        record_id: str
        province: str  # the province whose kit checked (and whose node recorded it)
        verifier_id: str
        scenario: str
        checked_at: datetime
        verdict: str
        reason: str
        issuer_province: str  # "" when the presentation named no issuer this federation knows
        credential_id: str  # "" likewise

    @staticmethod
    def id_for(record_id: UUID) -> UUID:
        return uuid5(OFFLINE_CHECK_NAMESPACE, str(record_id))

    @classmethod
    def record(
        cls,
        record_id: UUID,
        province: str,
        verifier_id: str,
        scenario: str,
        checked_at: datetime,
        verdict: str,
        reason: str,
        issuer: str,
        credential_id: str,
        at: datetime,
    ) -> OfflineCheck:
        """``issuer`` is the presentation's ``iss`` as the kit read it; it names the issuing province."""
        if not _VERIFIER_ID.fullmatch(verifier_id) or not verifier_id.startswith(f"{province}."):
            raise InvalidField("verifier_id", "must be a verifier registered by this province")
        if scenario not in SCENARIO_CODES:
            raise InvalidField("scenario", f"must be one of {', '.join(sorted(SCENARIO_CODES))}")
        if verdict not in VERDICTS:
            raise InvalidField("verdict", f"must be one of {', '.join(VERDICTS)}")
        if not _REASON.fullmatch(reason):
            raise InvalidField("reason", "must be a reason code such as OK or REVOKED")
        if checked_at.tzinfo is None or checked_at > at:
            raise InvalidField("checked_at", "must be a time with an offset, not in the future")
        named = _ISSUER.fullmatch(issuer)
        if issuer and named is None:
            raise InvalidField("issuer", "must be a province node's name, such as 310000.node.tongban")
        if credential_id and not _CREDENTIAL_ID.fullmatch(credential_id):
            raise InvalidField("credential_id", "must be a credential id of 22 base64url characters")
        return cls._create(
            cls.Recorded,
            id=cls.id_for(record_id),
            record_id=str(record_id),
            province=province,
            verifier_id=verifier_id,
            scenario=scenario,
            checked_at=checked_at,
            verdict=verdict,
            reason=reason,
            issuer_province=named.group(1) if named else "",
            credential_id=credential_id,
            timestamp=at,
        )

    @event(Recorded)
    def __init__(
        self,
        record_id: str,
        province: str,
        verifier_id: str,
        scenario: str,
        checked_at: datetime,
        verdict: str,
        reason: str,
        issuer_province: str,
        credential_id: str,
    ) -> None:
        self.record_id = record_id
        self.province = province
        self.issuer_province = issuer_province
        self.credential_id = credential_id


class UseRecordClaim(Aggregate):
    """An offline check applied to its certificate's use log: saved with the certificate's ``Used``, so that a
    record applied twice is refused by the store."""

    class Claimed(Aggregate.Created):
        record_id: str

    @staticmethod
    def id_for(record_id: str) -> UUID:
        return uuid5(OFFLINE_CHECK_NAMESPACE, f"use:{record_id}")

    @classmethod
    def claim(cls, record_id: str, at: datetime) -> UseRecordClaim:
        return cls._create(cls.Claimed, id=cls.id_for(record_id), record_id=record_id, timestamp=at)

    @event(Claimed)
    def __init__(self, record_id: str) -> None:
        self.record_id = record_id
