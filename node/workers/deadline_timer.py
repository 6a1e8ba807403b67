"""The deadline timer: records lapsed supplements (for the handling office to decide), deadline warnings and
breaches as time passes.

It follows the node's notification log for filed and ended cases (so it needs no table scan, and a restart
simply reads the log again), and asks the case service to check each case some clock of which may run: an
open case (its decision limits), a decision not yet delivered (行政许可法 第44条) and a 差评's open
rectification. The aggregate says whether a clock runs (``Case.clock_runs``); these sets only spare the
timer from loading cases none of whose clocks can run. Each record happens at most
once per case because the Case aggregate refuses a repeat, and a concurrent timer in another process meets
optimistic concurrency: restarts and several processes cause no duplicates.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Sequence

import structlog
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from aggregates.case import ENDINGS, AppealOutcome, Case
from infra.log_follower import LogFollower, MemoryPositions
from node.store.application import NodeApplication
from node.usecases.case_timers import CaseTimers

log = structlog.get_logger("tongban.timer")


class DeadlineTimer:
    def __init__(self, app: NodeApplication, timers: CaseTimers, batch_size: int) -> None:
        self._timers = timers
        self._app = app
        self._open: set[str] = set()
        self._undelivered: set[str] = set()  # decided under the delivery clock, not delivered yet
        self._rectifying: set[str] = set()  # rated with a rectification not yet closed
        self._filed = get_topic(Case.Submitted)
        self._ended = frozenset(get_topic(cls) for cls in ENDINGS)
        # these few are decoded for their fields: whether a delivery clock or a rectification runs
        self._read_events = frozenset(
            get_topic(cls)
            for cls in (
                Case.Concluded,
                Case.Delivered,
                Case.Rated,
                Case.RectificationResponded,
                Case.RatingAppealDecided,
            )
        )
        # The cases are kept in memory, so is the position: a restart reads the log again to find them.
        self._log = LogFollower(
            app.recorder,
            "deadline_timer",
            tuple(sorted({self._filed, *self._ended, *self._read_events})),
            batch_size,
            MemoryPositions(),
            self._read,
        )
        self._lock = threading.Lock()  # the worker loop and a calendar reload may tick at once

    def tick(self) -> Counter[str]:
        """One pass: catch up with the log, then check every case a clock of which may run. Returns what was
        recorded."""
        recorded: Counter[str] = Counter()
        with self._lock:
            self._log.catch_up()
            for case_id in sorted(self._open | self._undelivered | self._rectifying):
                recorded.update(self._timers.check_timers(case_id))
        if recorded:
            log.info("timer.recorded", **recorded)
        return recorded

    def _read(self, _tx: None, notifications: Sequence[Notification]) -> None:
        for notification in notifications:
            case_id = str(notification.originator_id)
            if notification.topic == self._filed:
                self._open.add(case_id)
                continue
            if notification.topic in self._ended:
                self._open.discard(case_id)
            if notification.topic in self._read_events:
                self._follow(case_id, self._app.mapper.to_domain_event(notification))

    def _follow(self, case_id: str, event: object) -> None:
        """Start or stop following the delivery clock and the rectification of a case."""
        if isinstance(event, Case.Concluded) and event.delivery_limit_days is not None:
            self._undelivered.add(case_id)
        elif isinstance(event, Case.Delivered):
            self._undelivered.discard(case_id)
        elif isinstance(event, Case.Rated) and event.rectification_due_on is not None:
            self._rectifying.add(case_id)
        elif isinstance(event, Case.RectificationResponded) or (
            isinstance(event, Case.RatingAppealDecided) and event.outcome == AppealOutcome.UPHELD
        ):
            self._rectifying.discard(case_id)
