"""A person's personal data erased on this node (crypto-shredding), recorded as a fact of the node's log.

The erasure destroys data keys outside the log; this event says so inside it, so that every follower of the
log learns it in order and exactly once: the read models scrub what they derived from the person, and the
federation outbox tells the peers that received the person's data. It holds no personal data itself: key ids
are random, and the aggregates it names are known by their ids only.
"""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from eventsourcing.domain import Aggregate, event

from aggregates.errors import InvalidField
from aggregates.responsibility import Actor

# What a personal field reads as once its key is destroyed: in replays, read models, the API and exports.
ERASED = "[erased]"


class Erasure(Aggregate):
    class Recorded(Aggregate.Created):
        origin: str  # whose data was erased: this province's own, or the copy of a peer that asked
        key_ids: list[str]
        applicant_ids: list[str]
        certificate_ids: list[str]
        province: str
        office_code: str
        operator_id: str

    @classmethod
    def record(
        cls,
        *,
        origin: str,
        key_ids: list[str],
        applicant_ids: list[str],
        certificate_ids: list[str],
        actor: Actor,
        at: datetime,
    ) -> Erasure:
        if not key_ids:
            raise InvalidField("key_ids", "an erasure destroys at least one data key")
        return cls._create(
            cls.Recorded,
            id=uuid4(),
            origin=origin,
            key_ids=sorted(key_ids),
            applicant_ids=sorted(applicant_ids),
            certificate_ids=sorted(certificate_ids),
            timestamp=at,
            **actor.event_fields(),
        )

    @event(Recorded)
    def __init__(
        self,
        origin: str,
        key_ids: list[str],
        applicant_ids: list[str],
        certificate_ids: list[str],
        province: str,
        office_code: str,
        operator_id: str,
    ) -> None:
        self.origin = origin
        self.key_ids = key_ids
        self.applicant_ids = applicant_ids
        self.certificate_ids = certificate_ids
