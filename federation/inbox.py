"""The inbox: applies a peer's batch to this node's aggregates together with the peer's position, in ONE
transaction, so each event is applied exactly once whatever crashes or redeliveries happen.

Nothing from a peer is trusted as given. Every event of a batch is checked before any is stored: its topic
must be a case or applicant event (never resolved before that check), its fields must decode and match the
event class, its version must follow the stream this node holds (an event already held, e.g. received from
the case's other full holder, is skipped), the sender must hold the case in full (its receiving or handling
province), and the event must apply to the aggregate. An event refused for any reason (one of these checks,
or an unexpected error) holds back its own stream only: it and every later event of that stream from that
peer go to the quarantine (``federation/quarantine.py``), and the other streams apply with the position, so
the rest of the feed keeps flowing. An operator retries a held stream after a fix (``retry``). A fault of the
batch itself (positions out of order, an erasure notice beyond the batch) still refuses the whole batch.

A peer's copy of a person's identity is sealed with keys of that copy (``data_from``), apart from this node's
own data about the same person; an erasure notice from the peer destroys only those keys.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

import structlog
from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import (
    IntegrityError,
    Mapper,
    PersistenceError,
    Recording,
    StoredEvent,
    Tracking,
)
from eventsourcing.utils import get_topic
from tongban.federation.v1 import federation_pb2 as pb

from aggregates.applicant import Applicant
from aggregates.case import Case
from aggregates.certificate import Status
from aggregates.erasure import Erasure
from aggregates.foreign_certificate import ForeignCertificate
from aggregates.identifiers import CertificateIdentifier, InvalidIdentifier
from aggregates.offline_check import OfflineCheck
from federation.errors import BatchRejected
from federation.outbox import (
    APPLICANT_TOPIC,
    BROADCAST_EVENTS,
    BROADCAST_TOPICS,
    CASE_TOPICS,
    OFFLINE_CHECK_TOPIC,
)
from federation.proto_enums import STATUS_OF_PROTO
from federation.quarantine import NOTICE_TOPIC, HeldEvent, QuarantineStore

log = structlog.get_logger("tongban.federation")

ALLOWED_TOPICS = CASE_TOPICS | BROADCAST_TOPICS | {APPLICANT_TOPIC, OFFLINE_CHECK_TOPIC}
# A broadcast stream's first event -> the topic of the aggregate it starts; every broadcast event -> its kind
_BROADCAST_STARTS = {events[0]: get_topic(owned) for owned, events in BROADCAST_EVENTS.items()}
_BROADCAST_KIND = {cls: owned for owned, events in BROADCAST_EVENTS.items() for cls in events}
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
    """What one batch did: events stored, events skipped as already held, certificate statuses recorded, and
    events newly quarantined."""

    stored: int = 0
    skipped: int = 0
    notices: int = 0
    position: int = 0
    quarantined: int = 0
    latencies_s: list[float] = field(default_factory=list)  # commit at the source → applied here


@dataclass
class Retried:
    """What an operator's retry did: held events applied (or found held here already), and still held."""

    released: int = 0
    still_held: int = 0
    reasons: dict[str, str] = field(default_factory=dict)  # stream still held -> why


class _Holding:
    """The events one pass over a batch holds back: a refused event and every later event of its stream."""

    def __init__(self, peer: str, blocked: set[str]) -> None:
        self.peer = peer
        self.blocked: dict[str, int] = dict.fromkeys(blocked, 0)  # stream -> version refused (0: before)
        self.events: list[HeldEvent] = []
        self.first_reasons: dict[str, str] = {}

    def holds(self, stream_id: str) -> bool:
        return stream_id in self.blocked

    def hold(
        self, stream_id: str, version: int, position: int, topic: str, state: bytes, reason: str
    ) -> None:
        if stream_id in self.blocked:
            refused = self.blocked[stream_id]
            reason = (
                f"held behind version {refused}" if refused else "held behind an earlier quarantined event"
            )
        else:
            self.blocked[stream_id] = version
            self.first_reasons[stream_id] = reason
        topic = topic if topic in ALLOWED_TOPICS or topic == NOTICE_TOPIC else "unknown"  # never echo input
        self.events.append(HeldEvent(self.peer, stream_id, version, position, topic, reason, state))


def _reason(error: Exception) -> str:
    """The inbox's own words, or the error's class only: a store's or decoder's message could quote data."""
    if isinstance(error, BatchRejected):
        return error.reason
    return f"an unexpected error ({type(error).__name__})"


def _reason_code(reason: str) -> str:
    if reason.startswith("held behind"):
        return "held_behind"
    if reason.startswith("an unexpected error"):
        return "unexpected_error"
    return "refused"


def stream_key(originator_id: str) -> str:
    """A stream's id as the quarantine names it: the UUID, or a digest of an id that is not one (never the
    peer's text itself)."""
    try:
        return str(UUID(originator_id))
    except ValueError:
        return "invalid-" + hashlib.sha256(originator_id.encode()).hexdigest()[:16]


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
        # One peer's batches and an operator's retry of its held streams, one at a time: a retry releasing a
        # stream while a batch judges the same stream against what is held would hold its next event again.
        self._peer_locks: dict[str, threading.Lock] = {}
        self.quarantine = QuarantineStore(
            app.factory.datastore,  # type: ignore[attr-defined]
            app.data_keys.keyring,  # type: ignore[attr-defined]  # held events are sealed with the master key
        )

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

    def _lock(self, peer: str) -> threading.Lock:
        return self._peer_locks.setdefault(peer, threading.Lock())  # setdefault: one lock, whoever asks first

    def apply(self, peer: str, batch: pb.PullEventsResponse) -> Applied:
        with self._lock(peer):
            return self._apply(peer, batch)

    def _apply(self, peer: str, batch: pb.PullEventsResponse) -> Applied:
        position = self.position(peer)
        outcome = Applied(position=position)
        if batch.next_position <= position:
            return outcome  # a batch already applied (a redelivery after a lost acknowledgement)
        if batch.head_position < batch.next_position:
            raise BatchRejected(peer, "next_position lies beyond the head position")
        tracking = Tracking(tracking_name(peer), batch.next_position)
        blocked = self.quarantine.stream_ids(peer)
        # first assume that a stream starting in the batch is new here: no read per stream
        holding = _Holding(peer, blocked)
        events = self._events(peer, batch, outcome, holding, assume_new=True)
        recordings = None
        if not holding.events:
            with contextlib.suppress(IntegrityError):
                recordings = self._put(peer, events, tracking)
        if recordings is None:  # a stream was held (from this or another source), or another puller won, or
            # an event was refused: check every stream against what is held before judging any
            outcome = Applied(position=self._stored_position(peer))
            if batch.next_position <= outcome.position:
                return outcome
            holding = _Holding(peer, blocked)
            events = self._events(peer, batch, outcome, holding, assume_new=False)
            # held first, then applied with the position: a crash between holds them again on redelivery,
            # and an event is never past the position without being stored or held
            outcome.quarantined = self._hold(holding)
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

    def retry(self, peer: str, stream_ids: Sequence[str] | None = None) -> Retried:
        """Apply the peer's held events again (of these streams, or all), in the order of the peer's log,
        through the same checks; those that apply (or are held here already) leave the quarantine, the others
        stay with the new reason. The position does not move: these events lie behind it."""
        with self._lock(peer):
            return self._retry(peer, stream_ids)

    def _retry(self, peer: str, stream_ids: Sequence[str] | None) -> Retried:
        held = self.quarantine.held(peer, stream_ids)
        outcome = Retried()
        if not held:
            return outcome
        batch = pb.PullEventsResponse()
        for h in held:
            if h.topic == NOTICE_TOPIC:
                notice = batch.certificate_notices.add()
                notice.ParseFromString(h.state)
            else:
                batch.events.add(
                    position=h.position,
                    originator_id=h.stream_id,
                    originator_version=h.version,
                    topic=h.topic,
                    state=h.state,
                )
        batch.next_position = batch.head_position = max(h.position for h in held)
        others = self.quarantine.stream_ids(peer) - {h.stream_id for h in held}
        holding = _Holding(peer, others)
        events = self._events(peer, batch, Applied(), holding, assume_new=False)
        recordings = self._put(peer, events, None)
        self._on_recorded(recordings)
        at = self._clock().isoformat()
        again = {(e.stream_id, e.version): e for e in holding.events}
        for h in held:
            if (h.stream_id, h.version) in again:
                self.quarantine.refused_again(h, again[(h.stream_id, h.version)].reason, at)
        released = [h for h in held if (h.stream_id, h.version) not in again]
        self.quarantine.release(released)  # after the events are stored: a crash between skips them next time
        outcome.released, outcome.still_held = len(released), len(held) - len(released)
        outcome.reasons = dict(holding.first_reasons)
        for stream_id in {h.stream_id for h in released} - {e.stream_id for e in holding.events}:
            log.info("federation.stream_released", peer=peer, stream=stream_id)
        return outcome

    def _hold(self, holding: _Holding) -> int:
        if not holding.events:
            return 0
        was_held = self.quarantine.stream_ids(holding.peer)
        new = self.quarantine.hold(holding.events, self._clock().isoformat())
        for event in new:
            if event.stream_id not in was_held:
                was_held.add(event.stream_id)
                log.warning(
                    "federation.stream_quarantined",
                    peer=holding.peer,
                    stream=event.stream_id,
                    version=event.version,
                    reason=_reason_code(event.reason),
                )
        return len(new)

    def _put(self, peer: str, events: list[Any], tracking: Tracking | None) -> list[Recording[UUID]]:
        if not events:  # nothing new: no transaction (see ``position``)
            return []
        with self._data_from(peer):
            recordings: list[Recording[UUID]] = self._app.events.put(events, tracking=tracking)
        return recordings

    def _events(
        self,
        peer: str,
        batch: pb.PullEventsResponse,
        outcome: Applied,
        holding: _Holding,
        *,
        assume_new: bool,
    ) -> list[Any]:
        events = self._checked_events(peer, batch, outcome, holding, assume_new=assume_new)
        for aggregate in self._certificate_notices(peer, batch, holding):
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
            self.quarantine.forget(peer, applicant_ids)
            erasure = self._personal_data and self._personal_data.erase_copies(peer, applicant_ids)
            if erasure:
                erasures.append(erasure)
                log.info("federation.copy_erased", peer=peer, erasure_id=str(erasure.id))
        return erasures

    # Events

    def _checked_events(
        self,
        peer: str,
        batch: pb.PullEventsResponse,
        outcome: Applied,
        holding: _Holding,
        *,
        assume_new: bool,
    ) -> list[Any]:
        streams: dict[UUID, Aggregate | None] = {}
        accepted: list[tuple[Any, pb.ReplicatedEvent]] = []
        applicants: dict[UUID, int] = {}  # applicant stream -> position it came with
        handed_over: dict[int, set[str]] = {}  # position -> applicant ids of cases handed to this node there
        previous = 0
        for replicated in batch.events:
            if not previous <= replicated.position <= batch.next_position:
                raise BatchRejected(peer, "event positions out of order or beyond next_position")
            previous = replicated.position
            key = stream_key(replicated.originator_id)
            if holding.holds(key):  # never applied before the refused event of its stream
                self._hold_event(holding, key, replicated, "")
                continue
            try:
                event = self._checked_event(peer, replicated, streams, outcome, handed_over, assume_new)
            except PersistenceError:  # the store, not the event: the whole batch comes again later
                raise
            except Exception as e:  # refused, or an error checking it: hold its stream, keep the others
                self._hold_event(holding, key, replicated, _reason(e))
                continue
            if event is None:
                continue
            if isinstance(event, Applicant.Registered):
                applicants[event.originator_id] = replicated.position
            accepted.append((event, replicated))
        refused_applicants = {
            str(applicant_id)
            for applicant_id, position in applicants.items()
            if str(applicant_id) not in handed_over.get(position, set())
        }
        kept = []
        for event, replicated in accepted:
            key = str(event.originator_id)
            if key in refused_applicants:
                reason = "an applicant's identity came without a case handed to this node"
                self._hold_event(holding, key, replicated, reason)
            else:
                kept.append(event)
        return kept

    @staticmethod
    def _hold_event(holding: _Holding, key: str, replicated: pb.ReplicatedEvent, reason: str) -> None:
        holding.hold(
            key,
            replicated.originator_version,
            replicated.position,
            replicated.topic,
            replicated.state,
            reason,
        )

    def _checked_event(
        self,
        peer: str,
        replicated: pb.ReplicatedEvent,
        streams: dict[UUID, Aggregate | None],
        outcome: Applied,
        handed_over: dict[int, set[str]],
        assume_new: bool,
    ) -> Any:
        """The event, checked against its stream (which it then moves on); None when held here already."""
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
            return None
        if event.originator_version != held + 1:
            raise BatchRejected(peer, f"a gap in a stream: version {event.originator_version} after {held}")
        try:
            self._authorise(peer, event, current)
            streams[stream_id] = event.mutate(current)
        except BatchRejected:
            raise
        except Exception as e:  # a payload that does not fit the aggregate: refuse, never store
            raise BatchRejected(peer, f"an event does not apply ({type(e).__name__})") from None
        self._note_hand_over(peer, streams[stream_id], replicated.position, handed_over)
        return event

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
        append to a case this node writes (one writer per case). What a province owns and broadcasts comes
        from that province only."""
        if isinstance(event, OfflineCheck.Recorded) or isinstance(current, OfflineCheck):
            self._authorise_offline_check(peer, event)
            return
        if type(event) in _BROADCAST_KIND or (current is not None and type(current) in BROADCAST_EVENTS):
            self._authorise_broadcast(peer, event, current)
            return
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

    def _authorise_offline_check(self, peer: str, event: Any) -> None:
        """A peer's verifier checked a credential this province issued: recorded there, for here, once."""
        if not isinstance(event, OfflineCheck.Recorded) or event.originator_version != 1:
            raise BatchRejected(peer, "an offline check is recorded once and never changed")
        if event.originator_topic != get_topic(OfflineCheck):
            raise BatchRejected(peer, "a stream that does not start as its kind does")
        if event.province != peer or event.issuer_province != self._province:
            raise BatchRejected(peer, "an offline check not recorded by the sender for this province")

    def _authorise_broadcast(self, peer: str, event: Any, current: Aggregate | None) -> None:
        if event.originator_version == 1:
            if _BROADCAST_STARTS.get(type(event)) != getattr(event, "originator_topic", None):
                raise BatchRejected(peer, "a stream that does not start as its kind does")
            owner = event.province
        elif current is None or _BROADCAST_KIND.get(type(event)) is not type(current):
            raise BatchRejected(peer, "an event of another kind than its stream")
        else:
            owner = getattr(current, "province", None)
        if owner != peer:
            raise BatchRejected(peer, "a province's own record sent by another province")

    def _load(self, stream_id: UUID) -> Aggregate | None:
        try:
            found: Aggregate = self._app.repository.get(stream_id)
        except AggregateNotFoundError:
            return None
        return found

    # Certificate status notices (like CRL entries)

    def _certificate_notices(
        self, peer: str, batch: pb.PullEventsResponse, holding: _Holding
    ) -> list[ForeignCertificate]:
        changed: dict[str, ForeignCertificate] = {}
        for notice in batch.certificate_notices:
            key = self._notice_stream(notice.identifier)
            if holding.holds(key):
                self._hold_notice(holding, key, notice, "")
                continue
            try:
                certificate = self._noticed(peer, notice, changed)
            except PersistenceError:  # the store, not the notice: the whole batch comes again later
                raise
            except Exception as e:  # refused, or an error reading it: hold this certificate's notices only
                self._hold_notice(holding, key, notice, _reason(e))
                continue
            changed[str(certificate.identifier)] = certificate
        return [c for c in changed.values() if c.pending_events]

    @staticmethod
    def _notice_stream(identifier: str) -> str:
        try:
            return str(ForeignCertificate.id_for(str(CertificateIdentifier.parse(identifier))))
        except Exception:  # an identifier that does not parse: named by its digest
            return stream_key(identifier)

    @staticmethod
    def _hold_notice(holding: _Holding, key: str, notice: pb.CertificateStatusNotice, reason: str) -> None:
        holding.hold(key, notice.position, notice.position, NOTICE_TOPIC, notice.SerializeToString(), reason)

    def _noticed(
        self, peer: str, notice: pb.CertificateStatusNotice, changed: dict[str, ForeignCertificate]
    ) -> ForeignCertificate:
        try:
            identifier = CertificateIdentifier.parse(notice.identifier)
        except InvalidIdentifier:
            raise BatchRejected(peer, "a certificate notice with an invalid identifier") from None
        # a central body's certificate (issuer division 100000) names no province: the peer issued it
        # through its own (its extra_issuers), and only the peer announces it
        if identifier.issuing_province not in (peer, None):
            raise BatchRejected(peer, "a certificate notice for a certificate another province issued")
        status = STATUS_OF_PROTO.get(notice.status)
        # protobuf keeps a number its enum does not know; UNSPECIFIED names nothing; NOT_YET_VALID is read
        # at an instant, never recorded, so never announced
        if status is None or status is Status.NOT_YET_VALID:
            raise BatchRejected(peer, "a certificate notice with an unknown status")
        key = str(identifier)
        certificate = changed.get(key) or self._foreign(key, peer)
        certificate.announce(status.value, datetime.fromtimestamp(notice.changed_at_unix_ms / 1000, UTC))
        return certificate

    def _foreign(self, identifier: str, issuing_province: str) -> ForeignCertificate:
        try:
            found: ForeignCertificate = self._app.repository.get(ForeignCertificate.id_for(identifier))
        except AggregateNotFoundError:
            return ForeignCertificate.observe(identifier, issuing_province)
        return found
