"""The applicant's identity (personal data), kept apart from the workflow facts of their cases.

Cases refer to an applicant by id only, so a later change can encrypt these events per person and erase
them (crypto-shredding) while every case history stays intact.
"""

from __future__ import annotations

from datetime import datetime
from uuid import uuid4

from eventsourcing.domain import Aggregate, event

from aggregates.certificate import validate_holder_id
from aggregates.errors import InvalidField


class Applicant(Aggregate):
    class Registered(Aggregate.Created):
        name: str
        id_type: str
        id_number: str

    @classmethod
    def register(cls, name: str, id_type: str, id_number: str, at: datetime) -> Applicant:
        name = name.strip()
        if not name or len(name) > 100:
            raise InvalidField("applicant/name", "must be 1 to 100 characters")
        try:
            number = validate_holder_id(id_type, id_number)
        except InvalidField as e:
            raise InvalidField(
                f"applicant/{'id_type' if e.field == 'holder_id_type' else 'id_number'}", e.message
            ) from None
        return cls._create(
            cls.Registered,
            id=uuid4(),
            name=name,
            id_type=id_type,
            id_number=number,
            timestamp=at,
        )

    @event(Registered)
    def __init__(self, name: str, id_type: str, id_number: str) -> None:
        self.name = name
        self.id_type = id_type
        self.id_number = id_number
