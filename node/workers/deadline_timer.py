"""The deadline timer: records supplement timeouts, deadline warnings and breaches as time passes.

It follows the node's notification log for filed and ended cases (so it needs no table scan, and a restart
simply reads the log again), and asks the case service to check each open case. Each record happens at most
once per case because the Case aggregate refuses a repeat, and a concurrent timer in another process meets
optimistic concurrency: restarts and several processes cause no duplicates.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import Counter
from typing import Protocol

import structlog
from eventsourcing.utils import get_topic

from aggregates.case import Case
from node.store.application import NodeApplication
from node.usecases.cases import CaseService

log = structlog.get_logger("tongban.timer")


class DeadlineTimer:
    def __init__(self, app: NodeApplication, cases: CaseService, batch_size: int = 500) -> None:
        self._app = app
        self._cases = cases
        self._batch_size = batch_size
        self._position = 0  # the last notification id read; ids may have gaps
        self._open: set[str] = set()
        self._filed = get_topic(Case.Submitted)
        self._ended = {get_topic(Case.Concluded), get_topic(Case.Refused), get_topic(Case.Withdrawn)}
        self._lock = threading.Lock()  # the worker loop and a calendar reload may tick at once

    def tick(self) -> Counter[str]:
        """One pass: catch up with the log, then check every open case. Returns what was recorded."""
        recorded: Counter[str] = Counter()
        with self._lock:
            self._follow_log()
            for case_id in sorted(self._open):
                recorded.update(self._cases.check_timers(case_id))
        if recorded:
            log.info("timer.recorded", **recorded)
        return recorded

    def _follow_log(self) -> None:
        while True:
            notifications = self._app.recorder.select_notifications(
                start=self._position + 1, limit=self._batch_size, topics=[self._filed, *self._ended]
            )
            for notification in notifications:
                case_id = str(notification.originator_id)
                if notification.topic == self._filed:
                    self._open.add(case_id)
                else:
                    self._open.discard(case_id)
                self._position = notification.id
            if len(notifications) < self._batch_size:
                return


class Ticking(Protocol):
    def tick(self) -> object: ...


async def run_until_stopped(follower: Ticking, interval_s: float, stop: asyncio.Event) -> None:
    """Tick now and then every ``interval_s`` until ``stop`` is set; a failed tick is logged and retried."""
    while not stop.is_set():
        try:
            await asyncio.to_thread(follower.tick)
        except Exception as e:  # the store may be briefly unreachable: keep the node up, try again later
            log.warning("follower.tick_failed", follower=type(follower).__name__, error_type=type(e).__name__)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=interval_s)
