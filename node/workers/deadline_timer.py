"""The deadline timer: records lapsed supplements (for the handling office to decide), deadline warnings and
breaches as time passes.

It follows the node's notification log for filed and ended cases (so it needs no table scan, and a restart
simply reads the log again), and asks the case service to check each open case. Each record happens at most
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

from aggregates.case import ENDINGS, Case
from infra.log_follower import LogFollower, MemoryPositions
from node.store.application import NodeApplication
from node.usecases.case_timers import CaseTimers

log = structlog.get_logger("tongban.timer")


class DeadlineTimer:
    def __init__(self, app: NodeApplication, timers: CaseTimers, batch_size: int) -> None:
        self._timers = timers
        self._open: set[str] = set()
        self._filed = get_topic(Case.Submitted)
        ended = tuple(get_topic(cls) for cls in ENDINGS)
        # The open cases are kept in memory, so is the position: a restart reads the log again to find them.
        self._log = LogFollower(
            app.recorder, "deadline_timer", (self._filed, *ended), batch_size, MemoryPositions(), self._read
        )
        self._lock = threading.Lock()  # the worker loop and a calendar reload may tick at once

    def tick(self) -> Counter[str]:
        """One pass: catch up with the log, then check every open case. Returns what was recorded."""
        recorded: Counter[str] = Counter()
        with self._lock:
            self._log.catch_up()
            for case_id in sorted(self._open):
                recorded.update(self._timers.check_timers(case_id))
        if recorded:
            log.info("timer.recorded", **recorded)
        return recorded

    def _read(self, _tx: None, notifications: Sequence[Notification]) -> None:
        for notification in notifications:
            case_id = str(notification.originator_id)
            if notification.topic == self._filed:
                self._open.add(case_id)
            else:
                self._open.discard(case_id)
