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
    """An event class's personal fields; ``id_type`` and ``id_number`` name the person (and stay the key)."""

    kind: str
    sealed: tuple[str, ...]
    id_type: str
    id_number: str


PERSONAL_FIELDS: dict[str, PersonalFields] = {
    get_topic(Applicant.Registered): PersonalFields(
        "applicant", ("name", "id_number"), "id_type", "id_number"
    ),
    get_topic(Certificate.Issued): PersonalFields(
        "certificate", ("holder_name", "holder_id"), "holder_id_type", "holder_id"
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
        if fields is None or state[fields.id_number] == ERASED:  # nothing personal (left) to seal
            return super().to_stored_event(domain_event)
        originator_id = state.pop("originator_id")
        originator_version = state.pop("originator_version")
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        origin = _origin.get() or self._province
        person = self.keys.person(origin, state[fields.id_type], state[fields.id_number])
        key_id, key = self.keys.sealing_key(person, origin, str(originator_id), fields.kind)
        personal = {name: state.pop(name) for name in fields.sealed}
        nonce = secrets.token_bytes(NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(
            nonce, self.transcoder.encode(personal), _bound_to(topic, originator_id, originator_version)
        )
        state[SEALED] = {"key": key_id, "nonce": _b64(nonce), "ciphertext": _b64(ciphertext)}
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
            state.update(self._opened(sealed, fields, stored_event))
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

    def _opened(self, sealed: dict[str, str], fields: PersonalFields, stored: StoredEvent) -> dict[str, Any]:
        key = self.keys.opening_key(sealed["key"])
        if key is not None:
            try:
                bound_to = _bound_to(stored.topic, stored.originator_id, stored.originator_version)
                plaintext = AESGCM(key).decrypt(
                    _unb64(sealed["nonce"]), _unb64(sealed["ciphertext"]), bound_to
                )
            except (
                InvalidTag
            ):  # sealed for another record, or altered: it reads as erased, never as something else
                return dict.fromkeys(fields.sealed, ERASED)
            opened: dict[str, Any] = self.transcoder.decode(plaintext)
            return opened
        return dict.fromkeys(fields.sealed, ERASED)


def _bound_to(topic: str, originator_id: object, version: int) -> bytes:
    """Associated data: a sealed envelope opens only in the record it was made for."""
    return f"{topic}|{originator_id}|{version}".encode()


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: str) -> bytes:
    return base64.b64decode(text)
