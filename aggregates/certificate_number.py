"""证照编号: one printed number per certificate type and issuer.

The aggregate's id derives from the type, the issuer and the number, and it is saved in one transaction with
the certificate that takes the number: two issues of one number meet in the store (optimistic concurrency),
whichever process they run in. Its events carry the certificate identifier only, never the number, which can
be personal data (a 居民身份证's number is the citizen ID number).
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.errors import IllegalTransition

NUMBER_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:certificate-number")


class CertificateNumber(Aggregate):
    """Which certificate holds a number now: the one issued with it, or a renewal or change that kept it."""

    class Claimed(Aggregate.Created):
        identifier: str

    class PassedOn(Aggregate.Event):
        """A renewal or change (the successor, ``identifier``) kept its predecessor's number."""

        identifier: str

    @staticmethod
    def id_for(type_code: str, issuer_code: str, number: str) -> UUID:
        return uuid5(NUMBER_NAMESPACE, f"{type_code}:{issuer_code}:{number}")

    @classmethod
    def claim(
        cls, type_code: str, issuer_code: str, number: str, identifier: str, at: datetime
    ) -> CertificateNumber:
        return cls._create(
            cls.Claimed, id=cls.id_for(type_code, issuer_code, number), identifier=identifier, timestamp=at
        )

    @event(Claimed)
    def __init__(self, identifier: str) -> None:
        self.identifier = identifier

    def pass_on(self, predecessor: str, successor: str, at: datetime) -> None:
        """The successor of the certificate holding the number keeps it; no other certificate may."""
        if predecessor != self.identifier:
            raise IllegalTransition(successor, "keep the number", "held by another certificate")
        self._passed_on(identifier=successor, timestamp=at)

    @event(PassedOn)
    def _passed_on(self, identifier: str, timestamp: datetime) -> None:
        self.identifier = identifier
