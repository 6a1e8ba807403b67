"""The outbox: what one peer may see of this node's event log, cut into batches for ``PullEvents``.

Each peer's outbox is a projection of this node's log, computed as the peer reads it: a filter and a
minimisation that depend only on the log itself and on facts that never change once recorded (who the
parties of a case are is fixed when it is filed). It therefore never disagrees with the log, needs no second
write, and survives any crash with the log. What a peer gets:

- the events of every case to which both provinces are a party, when this node is the case's receiving or
  handling province (the two that hold a case in full); a province handling only a part of a joint case never
  learns who the applicant is, nor the applicant's rating comment;
- the applicant's identity, only when the case passes to its handling province (forwarded, or filed online
  there), and only to that province;
- every status change of this node's certificates, as a notice naming the certificate and never its holder;
- every erasure of a person whose identity this node holds in its own right, as a notice naming the erased
  applicants by id, to every peer: a peer that received one of them destroys its copy's key, the others
  hold none and ignore it (an applicant id is a random number that says nothing to them);
- the events of what this province owns and every province keeps a copy of (``BROADCAST_EVENTS``: the
  verifiers it registered, the status lists it published), to every peer; a copy of another province's never
  goes further;
- the offline checks its verifier kits recorded of a credential another province issued, to that province
  only (it adds them to the certificate's use log).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic
from tongban.federation.v1 import federation_pb2 as pb

from aggregates.applicant import Applicant
from aggregates.case import CASE_EVENTS, Case
from aggregates.catalogue import Mode
from aggregates.certificate import Certificate, Status
from aggregates.erasure import Erasure
from aggregates.offline_check import OfflineCheck
from aggregates.status_list import StatusListPublication
from aggregates.verifier import VerifierRegistration
from federation.proto_enums import CERTIFICATE_STATUS

CASE_TOPICS = frozenset(get_topic(cls) for cls in CASE_EVENTS)
# What a province owns and every province keeps a copy of: the aggregate's class, and its events. The owner is
# the ``province`` its first event records; no other province may append to it.
BROADCAST_EVENTS: dict[type, tuple[type, ...]] = {
    StatusListPublication: (StatusListPublication.Started, StatusListPublication.Published),
    VerifierRegistration: (
        VerifierRegistration.Registered,
        VerifierRegistration.Changed,
        VerifierRegistration.Withdrawn,
    ),
}
BROADCAST_TOPICS = frozenset(get_topic(cls) for events in BROADCAST_EVENTS.values() for cls in events)
OFFLINE_CHECK_TOPIC = get_topic(OfflineCheck.Recorded)
APPLICANT_TOPIC = get_topic(Applicant.Registered)
STATUS_TOPICS = frozenset({get_topic(Certificate.StatusChanged), get_topic(Certificate.Superseded)})
ERASURE_TOPIC = get_topic(Erasure.Recorded)
FORWARDED_TOPIC = get_topic(Case.Forwarded)
# 行政许可法 第32条: a deemed acceptance hands a case a window still held to the handling province
DEEMED_TOPIC = get_topic(Case.AcceptanceDeemed)
# ... and so does the lapse of a notice the window gave: the handling province decides on it
LAPSED_TOPIC = get_topic(Case.SupplementLapsed)
SUBMITTED_TOPIC = get_topic(Case.Submitted)
# Fields a province that handles only a part of a joint case does not need.
PART_REDACTIONS: dict[str, dict[str, Any]] = {
    SUBMITTED_TOPIC: {"applicant_id": ""},
    get_topic(Case.Rated): {"comment": ""},
}
DEFAULT_BATCH_EVENTS = 500
MAX_BATCH_EVENTS = 2000


@dataclass(frozen=True, slots=True)
class CaseParties:
    receiving: str
    handling: str
    parts: frozenset[str]
    applicant_id: str
    filed_online: bool

    def includes(self, province: str) -> bool:
        return province in (self.receiving, self.handling) or province in self.parts

    def holds_in_full(self, province: str) -> bool:
        return province in (self.receiving, self.handling)


class Outbox:
    def __init__(self, app: Application[UUID], province: str, scan_limit: int = 1000) -> None:
        self._app = app
        self._province = province
        self._scan_limit = scan_limit
        self._topics = sorted(
            CASE_TOPICS | STATUS_TOPICS | BROADCAST_TOPICS | {ERASURE_TOPIC, OFFLINE_CHECK_TOPIC}
        )
        # Stored records that are the transcoded state as it is (no cipher, no compression): case events
        # can then be sent without decoding them (``_route``).
        self._plain_records = app.mapper.cipher is None and app.mapper.compressor is None
        self._parties: dict[UUID, CaseParties] = {}
        self._identifiers: dict[UUID, str] = {}
        self._owners: dict[UUID, str] = {}  # a broadcast stream -> the province that owns it

    def head(self) -> int:
        return self._app.recorder.max_notification_id() or 0

    def batch(self, peer: str, after: int, max_events: int) -> pb.PullEventsResponse:
        """The peer's next batch after position ``after``: at most ``max_events`` events."""
        head = self.head()
        batch = pb.PullEventsResponse(head_position=head)
        position = after
        while position < head and self.size(batch) < max_events:
            notifications = self._app.recorder.select_notifications(
                start=position + 1, limit=self._scan_limit, stop=head, topics=self._topics
            )
            if not notifications:
                position = head
                break
            for notification in notifications:
                self._route(peer, notification, batch)
                position = notification.id
                if self.size(batch) >= max_events:
                    break
            if len(notifications) < self._scan_limit and self.size(batch) < max_events:
                position = head  # nothing else for anyone up to the head
        batch.next_position = position
        batch.sent_at_unix_ms = time.time_ns() // 1_000_000
        return batch

    @staticmethod
    def size(batch: pb.PullEventsResponse) -> int:
        """Events and notices both count towards a batch's limit, so no batch outgrows the message size."""
        return len(batch.events) + len(batch.certificate_notices) + len(batch.erasure_notices)

    def _route(self, peer: str, notification: Notification, batch: pb.PullEventsResponse) -> None:
        if notification.topic in STATUS_TOPICS:
            batch.certificate_notices.append(self._notice(notification))
            return
        if notification.topic == ERASURE_TOPIC:
            erasure: Any = self._app.mapper.to_domain_event(notification)
            # only the node's own data: an erased copy of a peer's data is that peer's to tell
            if erasure.origin == self._province and erasure.applicant_ids:
                batch.erasure_notices.append(
                    pb.ErasureNotice(position=notification.id, applicant_ids=erasure.applicant_ids)
                )
            return
        if notification.topic == OFFLINE_CHECK_TOPIC:
            check: Any = self._app.mapper.to_domain_event(notification)
            if check.province == self._province and check.issuer_province == peer:
                batch.events.append(self._replicated(notification.id, check, {}))
            return
        if notification.topic in BROADCAST_TOPICS:
            if peer != self._province and self._owner(notification) == self._province:
                event: Any = self._app.mapper.to_domain_event(notification)
                batch.events.append(self._replicated(notification.id, event, {}))
            return
        case_id = UUID(str(notification.originator_id))
        event = None
        if notification.topic == SUBMITTED_TOPIC and case_id not in self._parties:
            event = self._app.mapper.to_domain_event(notification)  # its parties, without another read
            self._remember(case_id, event)
        parties = self.parties(case_id)
        if not (parties.includes(peer) and parties.holds_in_full(self._province)) or peer == self._province:
            return
        if (
            peer == parties.handling
            and parties.receiving == self._province
            and self._hands_over(notification.topic, parties)
        ):
            applicant_events: Any = self._app.events.get(UUID(parties.applicant_id))
            for applicant_event in applicant_events:
                batch.events.append(self._replicated(notification.id, applicant_event, {}))
        redactions = {} if parties.holds_in_full(peer) else PART_REDACTIONS.get(notification.topic, {})
        if redactions or not self._plain_records:
            event = event or self._app.mapper.to_domain_event(notification)
            batch.events.append(self._replicated(notification.id, event, redactions))
            return
        # A case event's stored state is its replicated state: no personal field is sealed in it, so the
        # record goes as it is, not decoded and encoded again (the peer decodes and checks it all the same).
        batch.events.append(
            pb.ReplicatedEvent(
                position=notification.id,
                originator_id=str(notification.originator_id),
                originator_version=notification.originator_version,
                topic=notification.topic,
                state=notification.state,
            )
        )

    @staticmethod
    def _hands_over(topic: str, parties: CaseParties) -> bool:
        """Whether this event passes the case to its handling province, which then needs the applicant."""
        if parties.receiving == parties.handling:
            return False
        return topic in (FORWARDED_TOPIC, DEEMED_TOPIC, LAPSED_TOPIC) or (
            topic == SUBMITTED_TOPIC and parties.filed_online
        )

    def parties(self, case_id: UUID) -> CaseParties:
        """Who is a party to a case: fixed when it is filed, so cached for good."""
        known = self._parties.get(case_id)
        if known is None:
            filed = next(iter(self._app.events.get(case_id, lte=1)))
            assert isinstance(filed, Case.Submitted)  # noqa: S101 - a case stream starts with Submitted
            known = self._remember(case_id, filed)
        return known

    def _remember(self, case_id: UUID, filed: Case.Submitted) -> CaseParties:
        parties = CaseParties(
            receiving=filed.receiving_province,
            handling=filed.handling_province,
            parts=frozenset(p["province"] for p in filed.parts),
            applicant_id=filed.applicant_id,
            filed_online=filed.mode == Mode.FULL_ONLINE,
        )
        if len(self._parties) > 100_000:
            self._parties.clear()
        self._parties[case_id] = parties
        return parties

    def _replicated(self, position: int, event: Any, redactions: dict[str, Any]) -> pb.ReplicatedEvent:
        state = dict(vars(event))
        originator_id = state.pop("originator_id")
        version = state.pop("originator_version")
        class_version = getattr(type(event), "class_version", 1)
        if class_version > 1:
            state["class_version"] = class_version
        state.update(redactions)
        return pb.ReplicatedEvent(
            position=position,
            originator_id=str(originator_id),
            originator_version=version,
            topic=get_topic(type(event)),
            state=self._app.mapper.transcoder.encode(state),
        )

    def _owner(self, notification: Notification) -> str:
        """The province that owns a broadcast stream: fixed by its first event, so cached for good."""
        stream_id = UUID(str(notification.originator_id))
        known = self._owners.get(stream_id)
        if known is None:
            first = next(iter(self._app.events.get(stream_id, lte=1)))
            known = str(first.province)  # type: ignore[attr-defined]
            if len(self._owners) > 100_000:
                self._owners.clear()
            self._owners[stream_id] = known
        return known

    def _notice(self, notification: Notification) -> pb.CertificateStatusNotice:
        event: Any = self._app.mapper.to_domain_event(notification)
        return pb.CertificateStatusNotice(
            position=notification.id,
            identifier=self._identifier(UUID(str(notification.originator_id))),
            status=CERTIFICATE_STATUS[Status(event.status)],
            changed_at_unix_ms=int(event.timestamp.timestamp() * 1000),
        )

    def _identifier(self, certificate_id: UUID) -> str:
        known = self._identifiers.get(certificate_id)
        if known is None:
            issued = next(iter(self._app.events.get(certificate_id, lte=1)))
            known = str(issued.identifier)  # type: ignore[attr-defined]
            if len(self._identifiers) > 100_000:
                self._identifiers.clear()
            self._identifiers[certificate_id] = known
        return known
