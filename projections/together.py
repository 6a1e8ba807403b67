"""Every read model of a node caught up together: one read of the log, each event decoded once, one
transaction of the view store for the batch.

Each read model followed alone (``projections.follower``) reads the log for its own topics, decodes every
event it reads (the JSON transcoder, the personal-data mapper, the upcasters) and commits its rows with its
position: nine read models cost nine reads, up to nine decodes of the same event and nine commits for each
new stretch of the log. Together, a batch is the log's notifications of any of their topics from the lowest
of their positions; each notification is decoded at most once, when the first read model that has not
applied it wants it, and every read model's rows and position commit in one transaction, so a crash leaves
all of them as they were and the batch is read again. Exactly once and in order, as alone.

A read model whose handler fails would hold back the others in a shared transaction: the caller then ticks
each alone (:meth:`ReadModels.tick_each`), so the healthy ones move on and the failing one is named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from uuid import UUID

from eventsourcing.application import Application
from eventsourcing.persistence import Notification

from infra.log_follower import in_batches
from infra.view_store import Transaction, ViewStore, advance
from infra.view_store import positions as stored_positions
from projections.follower import ProjectionFollower


class ReadModels:
    def __init__(
        self,
        app: Application[UUID],
        store: ViewStore,
        followers: Mapping[str, ProjectionFollower],
        batch_size: int,
        before_commit: Callable[[], None] = lambda: None,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"a batch holds at least one event, not {batch_size}")
        self._app = app
        self._store = store
        self._followers = dict(followers)
        self._batch_size = batch_size
        self._before_commit = before_commit  # the chaos suite's forced crash point, as for one alone
        topics = [follower.projection.topics for follower in self._followers.values()]
        # a read model of every topic makes the batch every topic; else the union of theirs
        every = any(not t for t in topics)
        self._topics: tuple[str, ...] = () if every else tuple(sorted(set().union(*topics)))

    def tick(self) -> int:
        """Apply what the log holds beyond each read model's position, batch by batch, all in step; returns
        how many notifications were read."""
        return in_batches(self._head, self._store.transaction, self._batch)

    def _head(self) -> int:
        return self._app.recorder.max_notification_id() or 0

    def tick_each(self) -> dict[str, Exception]:
        """Each read model alone, so that one whose handler fails holds back none of the others; returns the
        failures by read model."""
        failed: dict[str, Exception] = {}
        for name, follower in self._followers.items():
            try:
                follower.tick()
            except Exception as e:  # reported to the caller, which logs it by type
                failed[name] = e
        return failed

    def _batch(self, tx: Transaction, head: int) -> tuple[int, bool]:
        positions = stored_positions(tx, list(self._followers))
        start = min(positions.values(), default=head)
        if start >= head:
            return 0, True
        notifications = self._app.recorder.select_notifications(
            start=start + 1, limit=self._batch_size, stop=head, topics=self._topics
        )
        full = len(notifications) == self._batch_size
        # a short batch holds everything of these topics up to the head: every read model moves there
        end = notifications[-1].id if full else head
        decoded: dict[int, Any] = {}
        for name, follower in self._followers.items():
            at = positions[name]
            if at >= end:
                continue
            wanted = follower.projection.topics
            events = [
                self._event(notification, decoded)
                for notification in notifications
                if notification.id > at and (not wanted or notification.topic in wanted)
            ]
            follower.apply_events(tx, events)
            advance(tx, name, at, end)
        self._before_commit()
        return len(notifications), not full

    def _event(self, notification: Notification, decoded: dict[int, Any]) -> Any:
        event = decoded.get(notification.id)
        if event is None:
            event = decoded[notification.id] = self._app.mapper.to_domain_event(notification)
        return event
