"""What this node knows of another province's certificate: the statuses its issuer announced (like a CRL).

The issuing province pushes each status change of its certificates to every peer; a node records the ones it
receives here, so that its open cases relying on such a certificate can be flagged (``Case.flag_relied_
certificate``) whichever arrives first, the certificate's attachment or its status change.
"""

from __future__ import annotations

from datetime import datetime
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate, event

from aggregates.certificate import Status
from aggregates.errors import InvalidField

FOREIGN_CERTIFICATE_NAMESPACE = uuid5(NAMESPACE_URL, "urn:tongban:foreign-certificate")


class ForeignCertificate(Aggregate):
    class Observed(Aggregate.Created):
        identifier: str
        issuing_province: str

    class StatusAnnounced(Aggregate.Event):
        status: str
        changed_at: datetime

    @staticmethod
    def id_for(identifier: str) -> UUID:
        return uuid5(FOREIGN_CERTIFICATE_NAMESPACE, identifier)

    @classmethod
    def observe(cls, identifier: str, issuing_province: str) -> ForeignCertificate:
        return cls._create(
            cls.Observed,
            id=cls.id_for(identifier),
            identifier=identifier,
            issuing_province=issuing_province,
        )

    @event(Observed)
    def __init__(self, identifier: str, issuing_province: str) -> None:
        self.identifier = identifier
        self.issuing_province = issuing_province
        self.status: str | None = None

    def announce(self, status: str, changed_at: datetime) -> bool:
        """Record the issuer's announced status; False when it is the status already known."""
        if status not in Status.__members__:
            raise InvalidField("status", f"must be one of {', '.join(Status)}")
        if status == self.status:
            return False
        self._status_announced(status=status, changed_at=changed_at)
        return True

    @event(StatusAnnounced)
    def _status_announced(self, status: str, changed_at: datetime) -> None:
        self.status = status
