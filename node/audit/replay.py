"""`tongban audit replay`: the node's state as of an instant, rebuilt from the stored events alone.

For one case or certificate: its events up to the instant, folded by the aggregate itself, shown as the live
API showed it then, with the chain of who did what (the province, office and operator of every step, the
other provinces' steps included). For the whole log: every event up to the instant, streamed from the event
table one aggregate at a time, each aggregate folded, counted by kind and state, and forgotten, so memory
stays flat however long the log. Read models play no part, so a replay checks them as much as it reads
history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate
from eventsourcing.persistence import ApplicationRecorder, Mapper, StoredEvent

from aggregates.clock import china_date
from aggregates.errors import InvalidField
from node.presentation.cases import case_json_as_of, timeline_entry_json
from node.presentation.certificates import certificate_json, history_entry_json
from node.services import Services
from node.store.stored_records import stored_records_by_aggregate


def replay_case(services: Services, case_id: str, as_of: datetime) -> dict[str, Any]:
    case = services.cases.case_as_of(case_id, as_of)
    if case is None:
        raise InvalidField("as_of", f"case {case_id} was not filed yet at {as_of.isoformat()}")
    chain = [timeline_entry_json(e) for e in services.cases.timeline(case_id) if e.at <= as_of]
    return {
        "as_of": as_of.isoformat(),
        "case": case_json_as_of(case, services.cases, as_of),
        "chain": chain,
    }


def replay_certificate(services: Services, identifier: str, as_of: datetime) -> dict[str, Any]:
    certificate = services.certificates.certificate_as_of(identifier, as_of)
    if certificate is None:
        raise InvalidField("as_of", f"certificate {identifier} was not issued yet at {as_of.isoformat()}")
    history = services.certificates.history(identifier)
    return {
        "as_of": as_of.isoformat(),
        "certificate": certificate_json(certificate, china_date(as_of)),
        "chain": [history_entry_json(e) for e in history if e.at <= as_of],
    }


@dataclass
class LogReplay:
    as_of: str
    events_read: int = 0
    events_replayed: int = 0
    aggregates: Counter[str] = field(default_factory=Counter)  # by kind
    states: dict[str, Counter[str]] = field(default_factory=dict)  # kind -> state or status -> how many

    def as_json(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of,
            "events_read": self.events_read,
            "events_replayed": self.events_replayed,
            "aggregates": dict(sorted(self.aggregates.items())),
            "states": {kind: dict(sorted(c.items())) for kind, c in sorted(self.states.items())},
        }


def replay_log(
    recorder: ApplicationRecorder,
    mapper: Mapper[UUID],
    as_of: datetime,
    progress: Callable[[int], None] = lambda _done: None,
) -> LogReplay:
    """Fold every event recorded up to ``as_of``. An aggregate's events are in time order, so its first
    event after the instant ends it: what follows happened later too."""
    result = LogReplay(as_of.isoformat())
    current: Aggregate | None = None
    current_id, ended = "", False
    for batch in stored_records_by_aggregate(recorder):
        for _position, originator_id, version, topic, state in batch:
            result.events_read += 1
            if originator_id != current_id:  # the first event of the next aggregate
                _count(result, current)
                current, current_id, ended = None, originator_id, False
            if ended:
                continue
            event = mapper.to_domain_event(StoredEvent(UUID(originator_id), version, topic, state))
            if event.timestamp > as_of:  # type: ignore[attr-defined]
                ended = True
                continue
            current = event.mutate(current)  # type: ignore[attr-defined]
            result.events_replayed += 1
        progress(result.events_read)
    _count(result, current)
    return result


def _count(result: LogReplay, aggregate: Aggregate | None) -> None:
    if aggregate is None:
        return
    kind = type(aggregate).__name__
    result.aggregates[kind] += 1
    state = getattr(aggregate, "state", None) or getattr(aggregate, "status", None)
    if state is not None:
        result.states.setdefault(kind, Counter())[str(getattr(state, "value", state))] += 1
