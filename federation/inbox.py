"""The inbox: applies a peer's batch to this node's aggregates together with the peer's position, in ONE
transaction, so each event is applied exactly once whatever crashes or redeliveries happen.

Nothing from a peer is trusted as given. Every event of a batch is checked before any is stored: its topic
must be a case or applicant event (never resolved before that check), its fields must decode and match the
event class, its version must follow the stream this node holds (an event already held, e.g. received from
the case's other full holder, is skipped), the sender must hold the case in full (its receiving or handling
province), and the event must apply to the aggregate. One bad event rejects the whole batch: nothing is
applied and the position stays, so the batch is asked for again later (and keeps failing, visibly, until the
peer is fixed).

A peer's copy of a person's identity is sealed with keys of that copy (``data_from``), apart from this node's
own data about the same person; an erasure notice from the peer destroys only those keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Mapper, Recording, StoredEvent, Tracking
from eventsourcing.utils import get_topic
from tongban.federation.v1 import federation_pb2 as pb

from aggregates.applicant import Applicant
from aggregates.case import Case
from aggregates.erasure import Erasure
from aggregates.foreign_certificate import ForeignCertificate
from aggregates.identifiers import CertificateIdentifier, InvalidIdentifier
from federation.errors import BatchRejected
from federation.outbox import APPLICANT_TOPIC, CASE_TOPICS
from federation.proto_enums import STATUS_OF_PROTO

log = structlog.get_logger("tongban.federation")

ALLOWED_TOPICS = CASE_TOPICS | {APPLICANT_TOPIC}
CASE_TOPIC = get_topic(Case)
APPLICANT_AGGREGATE_TOPIC = get_topic(Applicant)
MAX_STATE_BYTES = 256 * 1024
MAX_ERASED_APPLICANTS = 1000  # applicant ids one erasure notice may name


class PersonalDataCopies(Protocol):
    """How this node keeps the personal data peers send (``node/usecases/erasure.py``,
    ``node/store/personal_mapper.py``)."""

    def data_from(self, peer: str) -> AbstractContextManager[None]:
        """Events stored inside the block are the peer's copy: sealed with that copy's keys."""

    def erase_copies(self, peer: str, applicant_ids: Sequence[str]) -> Erasure | None:
        """Destroy the keys of the peer's copies of these applicants; the erasure to record, if any."""


def tracking_name(peer: str) -> str:
    return f"federation:{peer}"


@dataclass
class Applied:
    """What one batch did: events stored, events skipped as already held, certificate statuses recorded."""

    stored: int = 0
    skipped: int = 0
    notices: int = 0
    position: int = 0
    latencies_s: list[float] = field(default_factory=list)  # commit at the source → applied here


class Inbox:
    def __init__(
        self,
        app: Application[UUID],
        province: str,
        clock: Callable[[], datetime],  # the node's clock: what the inbox records itself is stamped with it
        on_recorded: Any = None,
        personal_data: PersonalDataCopies | None = None,  # None: replication alone (some tests)
    ) -> None:
        self._app = app
        self._positions: dict[str, int] = {}  # peer -> position dealt with (``position``)
        self._personal_data = personal_data
        self._province = province
        self._mapper: Mapper[UUID] = Mapper(transcoder=app.mapper.transcoder)  # the wire has no cipher
        self._on_recorded = on_recorded or (lambda recordings: None)
        self._clock = clock

    def position(self, peer: str) -> int:
        """The peer's log position this node has dealt with up to. Kept in memory once read: one puller per
        peer applies (the worker lease), so nobody else moves it meanwhile; a batch of events held here
        already (each event a holder of a case sends comes back from the other holder) moves it in memory
        only, and after a restart those come again and are skipped again."""
        known = self._positions.get(peer)
        if known is None:
            known = self._app.recorder.max_tracking_id(tracking_name(peer)) or 0  # type: ignore[attr-defined]
            self._positions[peer] = known
        return known

    def _stored_position(self, peer: str) -> int:
        self._positions.pop(peer, None)
        return self.position(peer)

    def resume_position(self, peer: str) -> int:
        """Where a new pull session starts: the stored position, or the one in memory when further (this
        process may have held the worker lease, lost it and taken it again meanwhile)."""
        in_memory = self._positions.get(peer, 0)
        self._positions[peer] = max(in_memory, self._stored_position(peer))
        return self._positions[peer]

    def apply(self, peer: str, batch: pb.PullEventsResponse) -> Applied:
        position = self.position(peer)
        outcome = Applied(position=position)
        if batch.next_position <= position:
            return outcome  # a batch already applied (a redelivery after a lost acknowledgement)
        if batch.head_position < batch.next_position:
            raise BatchRejected(peer, "next_position lies beyond the head position")
        tracking = Tracking(tracking_name(peer), batch.next_position)
        try:  # first assume that a stream starting in the batch is new here: no read per stream
            events = self._events(peer, batch, outcome, assume_new=True)
            recordings = self._put(peer, events, tracking)
        except (IntegrityError, BatchRejected):  # a stream was held (from this or another source), or
            # another puller won: check every stream against what is held before judging the batch
            outcome = Applied(position=self._stored_position(peer))
            if batch.next_position <= outcome.position:
                return outcome
            events = self._events(peer, batch, outcome, assume_new=False)
            recordings = self._put(peer, events, tracking)
        self._positions[peer] = batch.next_position
        self._on_recorded(recordings)
        outcome.notices = sum(isinstance(e, ForeignCertificate.Event) for e in events)
        now = self._clock()
        replicated = [e for e in events if not isinstance(e, ForeignCertificate.Event | Erasure.Event)]
        outcome.stored = len(replicated)
        outcome.latencies_s = [(now - e.timestamp).total_seconds() for e in replicated]
        outcome.position = batch.next_position
        return outcome

    def _put(self, peer: str, events: list[Any], tracking: Tracking) -> list[Recording[UUID]]:
        if not events:  # nothing new: no transaction (see ``position``)
            return []
        with self._data_from(peer):
            recordings: list[Recording[UUID]] = self._app.events.put(events, tracking=tracking)
        return recordings

    def _events(
        self, peer: str, batch: pb.PullEventsResponse, outcome: Applied, *, assume_new: bool
    ) -> list[Any]:
        events = self._checked_events(peer, batch, outcome, assume_new=assume_new)
        for aggregate in self._certificate_notices(peer, batch):
            events.extend(aggregate.collect_events())
        for erasure in self._erasures(peer, batch):
            events.extend(erasure.collect_events())
        return events

    def _data_from(self, peer: str) -> AbstractContextManager[None]:
        return nullcontext() if self._personal_data is None else self._personal_data.data_from(peer)

    # Erasure notices: the peer forgot a person whose identity it sent here

    def _erasures(self, peer: str, batch: pb.PullEventsResponse) -> list[Erasure]:
        erasures = []
        for notice in batch.erasure_notices:
            if notice.position > batch.next_position or len(notice.applicant_ids) > MAX_ERASED_APPLICANTS:
                raise BatchRejected(peer, "an erasure notice beyond next_position or naming too many")
            try:
                applicant_ids = [str(UUID(a)) for a in notice.applicant_ids]
            except ValueError:
                raise BatchRejected(peer, "an erasure notice naming an id that is not a UUID") from None
            erasure = self._personal_data and self._personal_data.erase_copies(peer, applicant_ids)
            if erasure:
                erasures.append(erasure)
                log.info("federation.copy_erased", peer=peer, erasure_id=str(erasure.id))
        return erasures

    # Events

    def _checked_events(
        self, peer: str, batch: pb.PullEventsResponse, outcome: Applied, *, assume_new: bool
    ) -> list[Any]:
        streams: dict[UUID, Aggregate | None] = {}
        accepted: list[Any] = []
        applicants: dict[UUID, int] = {}  # applicant stream -> position it came with
        handed_over: dict[int, set[str]] = {}  # position -> applicant ids of cases handed to this node there
        previous = 0
        for replicated in batch.events:
            if not previous <= replicated.position <= batch.next_position:
                raise BatchRejected(peer, "event positions out of order or beyond next_position")
            previous = replicated.position
            event = self._decode(peer, replicated)
            stream_id = event.originator_id
            if stream_id not in streams:
                # a stream's first event: new here unless held (then the insert fails and all is checked)
                new = assume_new and event.originator_version == 1
                streams[stream_id] = None if new else self._load(stream_id)
            current = streams[stream_id]
            held = current.version if current is not None else 0
            if event.originator_version <= held:  # held already (from this peer before, or another)
                self._check_same(peer, stream_id, replicated)
                outcome.skipped += 1
                self._note_hand_over(peer, current, replicated.position, handed_over)
                continue
            if event.originator_version != held + 1:
                raise BatchRejected(
                    peer, f"a gap in a stream: version {event.originator_version} after {held}"
                )
            try:
                self._authorise(peer, event, current)
                streams[stream_id] = event.mutate(current)
            except BatchRejected:
                raise
            except Exception as e:  # a payload that does not fit the aggregate: reject, never store
                raise BatchRejected(peer, f"an event does not apply ({type(e).__name__})") from None
            if isinstance(event, Applicant.Registered):
                applicants[stream_id] = replicated.position
            self._note_hand_over(peer, streams[stream_id], replicated.position, handed_over)
            accepted.append(event)
        for applicant_id, position in applicants.items():
            if str(applicant_id) not in handed_over.get(position, set()):
                raise BatchRejected(peer, "an applicant's identity came without a case handed to this node")
        return accepted

    def _check_same(self, peer: str, stream_id: UUID, replicated: pb.ReplicatedEvent) -> None:
        """An event held already must be the same kind at the same version: else the replicas diverged."""
        version = replicated.originator_version
        [held] = self._app.recorder.select_events(stream_id, gt=version - 1, lte=version)
        if held.topic != replicated.topic:
            log.error("federation.divergence", peer=peer, stream=str(stream_id), version=version)
            raise BatchRejected(peer, f"version {version} of a stream differs from the one held here")

    def _note_hand_over(
        self, peer: str, aggregate: Aggregate | None, position: int, handed_over: dict[int, set[str]]
    ) -> None:
        """A case the sender received and this node handles: its applicant may come at that position."""
        if (
            isinstance(aggregate, Case)
            and aggregate.handling_province == self._province
            and aggregate.receiving_province == peer
        ):
            handed_over.setdefault(position, set()).add(aggregate.applicant_id)

    def _decode(self, peer: str, replicated: pb.ReplicatedEvent) -> Any:
        if replicated.topic not in ALLOWED_TOPICS:
            raise BatchRejected(peer, "an event of a kind that is not replicated")
        if len(replicated.state) > MAX_STATE_BYTES:
            raise BatchRejected(peer, "an event larger than the limit")
        try:
            stream_id = UUID(replicated.originator_id)
        except ValueError:
            raise BatchRejected(peer, "an originator id that is not a UUID") from None
        if replicated.originator_version < 1:
            raise BatchRejected(peer, "an originator version below 1")
        stored = StoredEvent(stream_id, replicated.originator_version, replicated.topic, replicated.state)
        try:
            event = self._mapper.to_domain_event(stored)
        except Exception:  # malformed JSON, wrong shapes: the transcoder's errors vary
            raise BatchRejected(peer, "an event whose fields do not decode") from None
        expected = {f.name for f in dataclasses.fields(type(event))}  # type: ignore[arg-type]
        if set(vars(event)) != expected:
            raise BatchRejected(peer, "an event whose fields differ from its class")
        return event

    def _authorise(self, peer: str, event: Any, current: Aggregate | None) -> None:
        """The event's kind must fit the stream, and the sender must hold the case in full; no peer may
        append to a case this node writes (one writer per case)."""
        if event.originator_version == 1:
            kinds = {Case.Submitted: CASE_TOPIC, Applicant.Registered: APPLICANT_AGGREGATE_TOPIC}
            if kinds.get(type(event)) != getattr(event, "originator_topic", None):
                raise BatchRejected(peer, "a stream that does not start as a case or an applicant")
        elif not isinstance(current, Case) or isinstance(event, Applicant.Registered):
            raise BatchRejected(peer, "an event for a stream that is not a case held here")
        if isinstance(event, Applicant.Registered):
            return  # checked against the case that hands it over
        if isinstance(event, Case.Submitted):
            holders = {event.receiving_province, event.handling_province}
            parties = holders | {p["province"] for p in event.parts if isinstance(p, dict)}
        else:
            assert isinstance(current, Case)  # noqa: S101 - checked above
            if current.writer() == self._province:
                raise BatchRejected(peer, "an event for a case this node writes")
            holders = {current.receiving_province, current.handling_province}
            parties = holders | {p.province for p in current.parts.values()}
        if peer not in holders or self._province not in parties:
            raise BatchRejected(peer, "a case event from a province that does not hold the case")

    def _load(self, stream_id: UUID) -> Aggregate | None:
        try:
            found: Aggregate = self._app.repository.get(stream_id)
        except AggregateNotFoundError:
            return None
        return found

    # Certificate status notices (like CRL entries)

    def _certificate_notices(self, peer: str, batch: pb.PullEventsResponse) -> list[ForeignCertificate]:
        changed: dict[str, ForeignCertificate] = {}
        for notice in batch.certificate_notices:
            try:
                identifier = CertificateIdentifier.parse(notice.identifier)
            except InvalidIdentifier:
                raise BatchRejected(peer, "a certificate notice with an invalid identifier") from None
            if identifier.issuing_province != peer:
                raise BatchRejected(peer, "a certificate notice for a certificate another province issued")
            status = STATUS_OF_PROTO.get(notice.status)
            if status is None:  # protobuf keeps a number its enum does not know; UNSPECIFIED names nothing
                raise BatchRejected(peer, "a certificate notice with an unknown status")
            key = str(identifier)
            certificate = changed.get(key) or self._foreign(key, peer)
            certificate.announce(status.value, datetime.fromtimestamp(notice.changed_at_unix_ms / 1000, UTC))
            changed[key] = certificate
        return [c for c in changed.values() if c.pending_events]

    def _foreign(self, identifier: str, issuing_province: str) -> ForeignCertificate:
        try:
            found: ForeignCertificate = self._app.repository.get(ForeignCertificate.id_for(identifier))
        except AggregateNotFoundError:
            return ForeignCertificate.observe(identifier, issuing_province)
        return found
