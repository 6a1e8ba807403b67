"""The correctness verdict: every node's view of every case against the history of acknowledged operations.

After the load, with every fault healed, the checker reads each case's timeline (its stored events, in
version order) at every province that holds it (where it was filed and, once shared, the handling and part
provinces), until they agree or a bound passes. Then it counts:

- lost: acknowledged operations whose version no holder of the case has;
- duplicated: versions that a timeline holds more than once;
- reordered: timelines whose versions do not run 1, 2, 3 ... in order;
- diverged: cases whose holders still disagree (another event at a version, or a different length).

Every count must be 0.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass
from typing import Any

import aiohttp

from simulators.federated_flows import Federation
from simulators.rest import DemoError
from simulators.workload import History

Timeline = list[tuple[int, str]]


@dataclass
class Verdict:
    cases_checked: int
    lost: int
    duplicated: int
    reordered: int
    diverged: int
    converge_s: float
    deadline_events: dict[str, int]  # DeadlineWarned and DeadlineBreached the timers recorded
    stalled_warned: int  # cases left open that the timers warned, and that they found in breach
    stalled_breached: int

    @property
    def correct(self) -> bool:
        return not (self.lost or self.duplicated or self.reordered or self.diverged)

    def as_json(self) -> dict[str, Any]:
        return {**self.__dict__, "correct": self.correct}


async def _timeline(fed: Federation, province: str, case_id: str) -> Timeline | None:
    try:
        body = await fed.get(province, f"/v1/cases/{case_id}/timeline")
    except (DemoError, aiohttp.ClientError, OSError):
        return None
    return [(int(e["version"]), str(e["event"])) for e in body["entries"]]


async def check(fed: Federation, history: History, bound_s: float) -> Verdict:
    """Wait (at most ``bound_s``) for the holders of every case to agree, then count the anomalies."""
    holders = {run.case_id: run.holders() for run in history.cases if run.case_id}
    started = time.monotonic()
    views: dict[str, dict[str, Timeline | None]] = {}
    while True:
        views = {
            case_id: {p: await _timeline(fed, p, case_id) for p in provinces}
            for case_id, provinces in holders.items()
        }
        if all(_agree(view) for view in views.values()) or time.monotonic() - started > bound_s:
            break
        await asyncio.sleep(0.2)
    converge_s = time.monotonic() - started
    lost = duplicated = reordered = diverged = 0
    timers: Counter[str] = Counter()
    stalled_warned = stalled_breached = 0
    for run in history.cases:
        if not run.case_id:
            continue
        view = views[run.case_id]
        lengths = [len({v for v, _e in t}) if t else 0 for t in view.values()]
        acked = [op.version for op in history.operations if op.case_index == run.index and op.acked]
        lost += sum(1 for version in acked if version > min(lengths))
        for timeline in view.values():
            versions = [v for v, _e in timeline or []]
            duplicated += len(versions) - len(set(versions))
            unique = list(dict.fromkeys(versions))
            reordered += unique != list(range(1, len(unique) + 1))
        diverged += not _agree(view)
        first = next(iter(view.values())) or []
        fired = Counter(event for _v, event in first if event in ("DeadlineWarned", "DeadlineBreached"))
        timers.update(fired)
        stalled_warned += run.stall and bool(fired["DeadlineWarned"])
        stalled_breached += run.stall and bool(fired["DeadlineBreached"])
    return Verdict(
        len(holders),
        lost,
        duplicated,
        reordered,
        diverged,
        round(converge_s, 2),
        dict(timers),
        stalled_warned,
        stalled_breached,
    )


def _agree(view: dict[str, Timeline | None]) -> bool:
    timelines = list(view.values())
    return all(t is not None for t in timelines) and all(t == timelines[0] for t in timelines)
