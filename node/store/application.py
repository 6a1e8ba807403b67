"""The node's application: ONE event store and notification log, shared by the use-case services.

One log per node keeps every event in one order (the audit tree numbers them), and lets one transaction
save several aggregates. Services (``node/usecases/certificates.py``, ``node/usecases/cases.py``, ...) are
the use cases as verbs; entrypoints call them from a worker thread, because eventsourcing is synchronous.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import DomainEventProtocol, MutableOrImmutableAggregate
from eventsourcing.persistence import ApplicationRecorder, EventStore, Mapper, Notification, Recording

from node.store.data_keys import DataKeyStore
from node.store.group_commit import GroupCommitter
from node.store.master_key import MasterKeyring
from node.store.personal_mapper import PersonalDataMapper

Clock = Callable[[], datetime]


class NotFound(Exception):
    """The addressed resource does not exist on this node (HTTP 404)."""


class AlreadyExists(Exception):
    """A resource with that identity was already recorded, or changed concurrently (HTTP 409)."""


def utc_now() -> datetime:
    return datetime.now(UTC)


# Recently used aggregates stay in memory and are brought up to date with only the events stored since
# (eventsourcing's fast-forward), so a command on a long-lived aggregate, a much used certificate, does not
# read its whole stream again. Fast-forward reads the store, so other processes' saves are seen; commands
# get a deep copy, so a refused command leaves the cached aggregate as it was.
AGGREGATE_CACHE = {"AGGREGATE_CACHE_MAXSIZE": "2000", "AGGREGATE_CACHE_FASTFORWARD": "y"}
# The node's master key file and province, passed with the store settings (``Settings.eventsourcing_env``).
MASTER_KEY_ENV = "TONGBAN_MASTER_KEY"
PROVINCE_ENV = "TONGBAN_PROVINCE"


class SealingEventStore(EventStore[UUID]):
    """Maps a batch of events, sealing their personal fields, writes the key rows the sealing made in one
    transaction, then stores the events: per batch, not per event (``DataKeyStore.rows_written_together``)."""

    def put(self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any) -> list[Recording[UUID]]:
        mapper = self.mapper
        assert isinstance(mapper, PersonalDataMapper)  # noqa: S101 - NodeApplication.construct_mapper makes it
        with mapper.keys.rows_written_together():
            stored = [mapper.to_stored_event(event) for event in domain_events]
        ids = self.recorder.insert_events(stored, **kwargs)
        if not ids:  # a recorder that does not number its records (as EventStore.put)
            return []
        return [
            Recording(
                event,
                Notification(
                    originator_id=s.originator_id,
                    originator_version=s.originator_version,
                    topic=s.topic,
                    state=s.state,
                    id=n,
                ),
            )
            for event, s, n in zip(domain_events, stored, ids, strict=True)
        ]


class NodeApplication(Application[UUID]):
    def __init__(
        self,
        *,
        env: dict[str, str],
        on_recorded: Callable[[int], None] = lambda _: None,
        group_commit: bool = True,
    ) -> None:
        super().__init__(env={**AGGREGATE_CACHE, **env})
        self._on_recorded = on_recorded
        self.committer = GroupCommitter(self._record) if group_commit else None

    def save(
        self, *objs: MutableOrImmutableAggregate[UUID] | DomainEventProtocol[UUID] | None, **kwargs: Any
    ) -> list[Recording[UUID]]:
        """Save the aggregates' new events; with group commit, in one transaction with the saves of other
        threads that arrive meanwhile (``node/store/group_commit.py``). Returns once the events are
        durable."""
        if self.committer is None or kwargs:
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        processing_event.collect_events(*objs)
        recordings = self.committer.commit(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def construct_mapper(self) -> Mapper[UUID]:
        """Personal fields sealed per person, with data keys kept in this store
        (node/store/personal_mapper.py)."""
        plain = super().construct_mapper()
        master_key, province = self.env.get(MASTER_KEY_ENV), self.env.get(PROVINCE_ENV)
        if not master_key or not province:
            raise ValueError(f"the store settings lack {MASTER_KEY_ENV} or {PROVINCE_ENV}")
        keys = DataKeyStore(self.factory.datastore, MasterKeyring.load_or_create(Path(master_key)))  # type: ignore[attr-defined]
        return PersonalDataMapper(plain.transcoder, keys, province)

    @property
    def data_keys(self) -> DataKeyStore:
        assert isinstance(self.mapper, PersonalDataMapper)  # noqa: S101 - construct_mapper makes it
        return self.mapper.keys

    def evict(self, aggregate_ids: Iterable[str]) -> None:
        """Drop aggregates from the in-memory cache: their personal fields were erased in the store."""
        cache = self.repository.cache
        if cache is None:
            return
        for aggregate_id in aggregate_ids:
            with contextlib.suppress(KeyError):
                cache.get(UUID(aggregate_id), evict=True)

    def construct_event_store(self) -> EventStore[UUID]:
        return SealingEventStore(mapper=self.mapper, recorder=self.recorder)

    def construct_recorder(self) -> ApplicationRecorder:
        # A process recorder: the federation inbox stores a peer's batch and the peer's position together.
        return self.factory.process_recorder()

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        self.notify_recorded(recordings)

    def notify_recorded(self, recordings: list[Recording[UUID]]) -> None:
        """Tell the followers (metrics, the federation streams) that the log grew."""
        self._on_recorded(len(recordings))

    def store_reachable(self) -> bool:
        """Readiness: one cheap read through the store."""
        self.recorder.max_notification_id()
        return True
