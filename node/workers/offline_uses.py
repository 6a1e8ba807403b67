"""Adds the offline checks of this node's credentials to their certificates' use logs (用证记录).

It follows this node's log for offline checks: those its own verifier kits uploaded, and those other
provinces' nodes recorded and the federation carried here because this province issued the credential. The
position is kept in memory: after a restart it reads the log again, and each record's claim
(``UseRecordClaim``, saved with the use) lets none apply twice.
"""

from __future__ import annotations

from collections.abc import Sequence

import structlog
from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from aggregates.offline_check import OfflineCheck
from infra.log_follower import LogFollower, MemoryPositions
from node.store.application import NodeApplication
from node.usecases.offline_checks import OfflineCheckService

log = structlog.get_logger("tongban.offline_uses")
RECORDED = get_topic(OfflineCheck.Recorded)


class OfflineUses:
    def __init__(self, app: NodeApplication, checks: OfflineCheckService, batch_size: int) -> None:
        self._app = app
        self._checks = checks
        self._log = LogFollower(
            app.recorder, "offline_uses", (RECORDED,), batch_size, MemoryPositions(), self._follow
        )
        self.applied = 0

    def tick(self) -> int:
        """Catch up with the log; how many uses it added."""
        before = self.applied
        self._log.catch_up()
        return self.applied - before

    def _follow(self, _tx: None, notifications: Sequence[Notification]) -> None:
        for notification in notifications:
            check = self._app.mapper.to_domain_event(notification)
            assert isinstance(check, OfflineCheck.Recorded)  # noqa: S101 - the follower's only topic
            if self._checks.apply_use(check):
                self.applied += 1
                log.info("offline_uses.applied", record_id=check.record_id, scenario=check.scenario)
