"""The event store's mapper, sealing personal fields per person (AES-256-GCM with the person's data key).

The aggregates and their event shapes stay as they are: only the stored record changes. For an event class
that carries personal fields, the stored state holds those fields in one envelope instead,
``"sealed": {"key": <data key id>, "nonce": ..., "ciphertext": ...}``, and everything else in clear. Reading
opens the envelope with the key, or, once the key is destroyed, gives each sealed field the value ``ERASED``.
Records stored in clear before this existed read as they always did (a stored event is a schema forever).

The transparency tree hashes the stored bytes, ciphertext included, so destroying a key later changes no leaf.
"""

from __future__ import annotations

import base64
import contextvars
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent, Transcoder
from eventsourcing.utils import get_topic, resolve_topic

from aggregates.applicant import Applicant
from aggregates.certificate import Certificate
from aggregates.erasure import ERASED
from node.store.data_keys import DataKeyStore

SEALED = "sealed"
NONCE_BYTES = 12


@dataclass(frozen=True, slots=True)
class PersonalFields:
    """An event class's personal fields; ``id_type`` and ``id_number`` name the person (and stay the key).

    ``others`` names a list field of further persons (a certificate's other holders), each a dict with
    ``id_type``, ``id`` and ``name``: each entry's ``id`` and ``name`` are sealed in an envelope of their own,
    with that person's key, so that each person is forgotten alone, as the first one is.
    """

    kind: str
    sealed: tuple[str, ...]
    id_type: str
    id_number: str
    others: str | None = None


# An other person's sealed keys, in an entry of ``PersonalFields.others``.
OTHER_SEALED = ("name", "id")


PERSONAL_FIELDS: dict[str, PersonalFields] = {
    get_topic(Applicant.Registered): PersonalFields(
        "applicant", ("name", "id_number"), "id_type", "id_number"
    ),
    get_topic(Certificate.Issued): PersonalFields(
        "certificate", ("holder_name", "holder_id"), "holder_id_type", "holder_id", others="other_holders"
    ),
}

# Whose data an event being stored is: this node's own (None), or the copy a peer sent (its province).
_origin: contextvars.ContextVar[str | None] = contextvars.ContextVar("personal_data_origin", default=None)


@contextmanager
def data_from(peer: str) -> Iterator[None]:
    """Events stored inside this block came from ``peer``: they are sealed with keys of that peer's copy."""
    token = _origin.set(peer)
    try:
        yield
    finally:
        _origin.reset(token)


class PersonalDataMapper(Mapper[UUID]):
    def __init__(self, transcoder: Transcoder, keys: DataKeyStore, province: str) -> None:
        super().__init__(transcoder=transcoder)
        self.keys = keys
        self._province = province

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        topic = get_topic(type(domain_event))
        fields = PERSONAL_FIELDS.get(topic)
        state = dict(vars(domain_event))
        if fields is None or not _personal(state, fields):  # nothing personal (left) to seal
            return super().to_stored_event(domain_event)
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        origin = _origin.get() or self._province
        bound_to = _bound_to(topic, originator_id, originator_version)

        def seal(id_type: str, id_number: str, personal: dict[str, Any], where: bytes) -> dict[str, str]:
            person = self.keys.person(origin, id_type, id_number)
            key_id, key = self.keys.sealing_key(person, origin, str(originator_id), fields.kind)
            nonce = secrets.token_bytes(NONCE_BYTES)
            ciphertext = AESGCM(key).encrypt(nonce, self.transcoder.encode(personal), where)
            return {"key": key_id, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}

        if state[fields.id_number] != ERASED:
            personal = {name: state.pop(name) for name in fields.sealed}
            state[SEALED] = seal(state[fields.id_type], personal[fields.id_number], personal, bound_to)
        if fields.others is not None:
            state[fields.others] = [
                other
                if other["id"] == ERASED
                else {
                    "id_type": other["id_type"],
                    SEALED: seal(
                        other["id_type"],
                        other["id"],
                        {key: other[key] for key in OTHER_SEALED},
                        _bound_to_other(bound_to, fields.others, n),
                    ),
                }
                for n, other in enumerate(state[fields.others])
            ]
        return StoredEvent(
            originator_id=originator_id,
            originator_version=originator_version,
            topic=topic,
            state=self.transcoder.encode(state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        fields = PERSONAL_FIELDS.get(stored_event.topic)
        if fields is None:
            return super().to_domain_event(stored_event)
        try:
            state: dict[str, Any] = self.transcoder.decode(stored_event.state)
        except Exception as e:
            raise MapperDeserialisationError(f"cannot decode a stored {stored_event.topic}: {e}") from e
        sealed = state.pop(SEALED, None)
        if sealed is not None:
            state.update(self._opened(sealed, fields.sealed, _bound_to_stored(stored_event)))
        if fields.others is not None and fields.others in state:
            state[fields.others] = [
                self._opened_other(other, _bound_to_other(_bound_to_stored(stored_event), fields.others, n))
                for n, other in enumerate(state[fields.others])
            ]
        cls = resolve_topic(stored_event.topic)
        state["originator_id"] = stored_event.originator_id
        if not isinstance(state["originator_id"], UUID):
            state["originator_id"] = UUID(str(state["originator_id"]))
        state["originator_version"] = stored_event.originator_version
        from_version, class_version = state.pop("class_version", 1), getattr(cls, "class_version", 1)
        while from_version < class_version:
            getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(state)
            from_version += 1
        domain_event = object.__new__(cls)
        object.__setattr__(domain_event, "__dict__", state)
        return cast(DomainEventProtocol[UUID], domain_event)

    def _opened(self, sealed: dict[str, str], names: tuple[str, ...], bound_to: bytes) -> dict[str, Any]:
        key = self.keys.opening_key(sealed["key"])
        if key is not None:
            try:
                plaintext = AESGCM(key).decrypt(
                    _unb64(sealed["nonce"]), _unb64(sealed["ciphertext"]), bound_to
                )
            except (
                InvalidTag
            ):  # sealed for another record, or altered: it reads as erased, never as something else
                return dict.fromkeys(names, ERASED)
            opened: dict[str, Any] = self.transcoder.decode(plaintext)
            return opened
        return dict.fromkeys(names, ERASED)

    def _opened_other(self, other: dict[str, Any], bound_to: bytes) -> dict[str, Any]:
        """One other person of a list, as the event carries them: name, ID type, ID number."""
        sealed = other.get(SEALED)
        if sealed is None:  # stored in clear (already erased when stored)
            return other
        opened = self._opened(sealed, OTHER_SEALED, bound_to)
        return {"name": opened["name"], "id_type": other["id_type"], "id": opened["id"]}


def _personal(state: dict[str, Any], fields: PersonalFields) -> bool:
    """Whether the event still holds personal data of anyone."""
    others = state.get(fields.others, []) if fields.others else []
    return state[fields.id_number] != ERASED or any(other["id"] != ERASED for other in others)


def _bound_to_stored(stored: StoredEvent) -> bytes:
    return _bound_to(stored.topic, stored.originator_id, stored.originator_version)


def _bound_to_other(bound_to: bytes, field: str, n: int) -> bytes:
    """An other person's envelope opens only in its own place of the list of its own record."""
    return bound_to + f"|{field}/{n}".encode()


def _bound_to(topic: str, originator_id: object, version: int) -> bytes:
    """Associated data: a sealed envelope opens only in the record it was made for."""
    return f"{topic}|{originator_id}|{version}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
