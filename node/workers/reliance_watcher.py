"""Revocation push, the receiving end: flags each open case whose attached certificate left VALID.

It follows this node's log for certificates attached to cases and for status changes: of this node's own
certificates, and of other provinces' certificates as their issuers announced them (``ForeignCertificate``,
recorded by the federation inbox). Whichever comes first, the attachment or the status change, the case is
flagged when both are known, by the province that writes the case then, exactly once per case and status (the
aggregate refuses a repeat, so a restart that reads the log again adds nothing).

A certificate also lapses by date, with no event: past the ``valid_until`` its verification answered when it
was attached, its effective status is EXPIRED. Each tick reads the node's clock and flags the cases relying on
the certificates that lapsed since, in China's date (``aggregates.clock.china_date``).
"""

from __future__ import annotations

import contextlib
import heapq
from collections import defaultdict
from collections.abc import Sequence
from datetime import date
from uuid import UUID

import structlog
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from aggregates.case import Case
from aggregates.certificate import Certificate, Status
from aggregates.clock import china_date
from aggregates.foreign_certificate import ForeignCertificate
from infra.log_follower import LogFollower, MemoryPositions
from node.store.application import Clock, NodeApplication, utc_now
from node.usecases.case_timers import CaseTimers, FlagOutcome

log = structlog.get_logger("tongban.reliance")
ATTACHED = get_topic(Case.MaterialAttached)
OWN_STATUS = frozenset({get_topic(Certificate.StatusChanged), get_topic(Certificate.Superseded)})
ANNOUNCED = get_topic(ForeignCertificate.StatusAnnounced)


class RelianceWatcher:
    def __init__(
        self, app: NodeApplication, timers: CaseTimers, batch_size: int, clock: Clock = utc_now
    ) -> None:
        self._app = app
        self._timers = timers
        self._clock = clock
        # What it knows is kept in memory, so is the position: a restart reads the log again to learn it.
        self._log = LogFollower(
            app.recorder,
            "reliance_watcher",
            (ATTACHED, *OWN_STATUS, ANNOUNCED),
            batch_size,
            MemoryPositions(),
            self._follow,
        )
        self._relying: dict[str, set[str]] = defaultdict(set)  # certificate identifier -> case ids
        self._status: dict[str, str] = {}  # certificate identifier -> its latest known status
        # when relied-on certificates lapse (their last valid day), soonest first; and those that have
        self._lapsing: list[tuple[date, str]] = []
        self._lapsed: set[str] = set()
        self._identifiers: dict[UUID, str] = {}
        # (case, certificate) to flag: made due by the log, or still pending until this node writes the case
        self._due: set[tuple[str, str]] = set()

    def tick(self) -> int:
        """Catch up with the log and flag what became due; returns how many cases were flagged.

        A pair stays pending while another province writes the case (it may flag it, or the case may come
        here) and after an error, until it is flagged or moot."""
        self._log.catch_up()
        self._due |= self._lapsed_by(china_date(self._clock()))
        due, self._due = self._due, set()
        flagged = 0
        for case_id, identifier in sorted(due):
            status = self._effective(identifier)
            try:
                outcome = self._timers.flag_relied_certificate(case_id, identifier, status)
            except Exception as e:  # the store, a concurrent change: try again next tick
                log.warning("reliance.flag_failed", case_id=case_id, error_type=type(e).__name__)
                outcome = FlagOutcome.ELSEWHERE
            if outcome == FlagOutcome.FLAGGED:
                flagged += 1
                log.info("reliance.case_flagged", case_id=case_id, status=status)
            elif outcome == FlagOutcome.ELSEWHERE:
                self._due.add((case_id, identifier))
        return flagged

    def _follow(self, _tx: None, notifications: Sequence[Notification]) -> None:
        for notification in notifications:
            self._due |= self._read(notification.topic, self._app.mapper.to_domain_event(notification))

    def _read(self, topic: str, event: object) -> set[tuple[str, str]]:
        """The (case, certificate) pairs this event makes due for a flag."""
        if topic == ATTACHED:
            assert isinstance(event, Case.MaterialAttached)  # noqa: S101 - selected by topic
            identifier = event.certificate_identifier
            if identifier is None:
                return set()
            case_id = str(event.originator_id)
            if not self._relying[identifier]:
                self._watch_validity(identifier, event.verification)
            self._relying[identifier].add(case_id)
            return {(case_id, identifier)} if self._effective(identifier) != Status.VALID else set()
        identifier = self._identifier(event.originator_id)  # type: ignore[attr-defined]
        status = event.status  # type: ignore[attr-defined]
        self._status[identifier] = status
        if self._effective(identifier) == Status.VALID:
            return set()
        return {(case_id, identifier) for case_id in self._relying.get(identifier, ())}

    def _effective(self, identifier: str) -> str:
        """The certificate's status as far as this watcher knows: a VALID one past its last day EXPIRED."""
        status = self._status.get(identifier, Status.VALID)
        return Status.EXPIRED if status == Status.VALID and identifier in self._lapsed else status

    def _watch_validity(self, identifier: str, verification: dict[str, object] | None) -> None:
        """Note when a certificate a case now relies on lapses, from the answer it was attached with."""
        valid_until = (verification or {}).get("valid_until")
        # an answer that gives no date (open-ended validity, or not one this node can read): nothing to watch
        if isinstance(valid_until, str):
            with contextlib.suppress(ValueError):
                heapq.heappush(self._lapsing, (date.fromisoformat(valid_until), identifier))

    def _lapsed_by(self, today: date) -> set[tuple[str, str]]:
        """The (case, certificate) pairs whose certificate lapsed by ``today`` since the last tick."""
        due: set[tuple[str, str]] = set()
        while self._lapsing and self._lapsing[0][0] < today:
            _, identifier = heapq.heappop(self._lapsing)
            self._lapsed.add(identifier)
            if self._effective(identifier) != Status.VALID:
                due |= {(case_id, identifier) for case_id in self._relying[identifier]}
        return due

    def _identifier(self, aggregate_id: UUID) -> str:
        """The identifier of a certificate (own or foreign), from the first event of its stream."""
        known = self._identifiers.get(aggregate_id)
        if known is None:
            first = next(iter(self._app.events.get(aggregate_id, lte=1)))
            known = str(first.identifier)  # type: ignore[attr-defined]
            self._identifiers[aggregate_id] = known
        return known
