"""A seeded cross-province workload and the history of every operation it sent.

Each case is a PROXY case (异地代收代办): a receiving province's window files it for a handling province,
attaches the materials, receives and forwards it; the handling province accepts it once its replica shows it
forwarded, reviews and concludes it; the receiving province sees the conclusion once it has pulled it back.
The provinces, the arrival times and the outcome (issued or returned) are drawn from one seed, so a scenario
runs again the same. Every operation goes to the node of the officer's own province; its answer (or its
failure) is recorded in the history the checker reads.

An operation that fails (a node killed, a link cut) ends its case's flow: the history says it was not
acknowledged, and the checker asks only that what WAS acknowledged is never lost.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from node.auth import Role
from simulators.federated_flows import Applicant, Federation, approve, attach_required
from simulators.rest import DemoError

PROFILES = ("steady", "ramp", "burst")
REPLICA_WAIT_S = 60.0


@dataclass
class Operation:
    case_index: int
    name: str
    province: str
    started_s: float
    acked: bool = False
    version: int = 0  # the case's version the node answered with (0: not acknowledged)
    error: str = ""


@dataclass
class CaseRun:
    index: int
    receiving: str
    handling: str
    outcome: str  # ISSUED or RETURNED
    stall: bool = False  # left open once accepted: its deadlines run out (under simulated time)
    case_id: str = ""
    forwarded: bool = False
    concluded: bool = False


@dataclass
class History:
    operations: list[Operation] = field(default_factory=list)
    cases: list[CaseRun] = field(default_factory=list)
    # "A→B" -> seconds from A's acknowledgement of a step to B's replica showing it (data flowing A to B,
    # which B pulls from A: through the proxy "B>A")
    link_latencies: dict[str, list[float]] = field(default_factory=dict)

    def acked(self) -> int:
        return sum(op.acked for op in self.operations)

    def errors(self) -> int:
        return sum(bool(op.error) for op in self.operations)


def arrival_times(count: int, rate: float, profile: str, rng: random.Random) -> list[float]:
    """Seconds from the start at which each case arrives."""
    if profile == "steady":
        return [i / rate for i in range(count)]
    if profile == "ramp":  # from a fifth of the rate up to the full rate
        times, at = [], 0.0
        for i in range(count):
            times.append(at)
            at += 1 / (rate * (0.2 + 0.8 * i / max(count - 1, 1)))
        return times
    # burst: groups of up to 2 s worth of cases arrive together, with quiet gaps between
    group = max(int(rate * 2), 1)
    return [(i // group) * 4.0 + rng.uniform(0, 0.05) for i in range(count)]


class Workload:
    def __init__(
        self,
        fed: Federation,
        applicants: dict[str, Applicant],
        history: History,
        started: float,
    ) -> None:
        self._fed, self._applicants, self._history, self._started = fed, applicants, history, started

    @staticmethod
    def plan(
        provinces: tuple[str, ...], count: int, rng: random.Random, stall_share: float = 0.0
    ) -> list[CaseRun]:
        runs = []
        for index in range(count):
            receiving, handling = rng.sample(provinces, 2)
            outcome = rng.choice(("ISSUED", "ISSUED", "RETURNED"))
            runs.append(CaseRun(index, receiving, handling, outcome, stall=rng.random() < stall_share))
        return runs

    async def run_case(self, run: CaseRun) -> None:
        try:
            await self._flow(run)
        except (DemoError, aiohttp.ClientError, TimeoutError, OSError):
            return  # recorded by _op; the flow of this case ends here

    async def _flow(self, run: CaseRun) -> None:
        a, b, fed = run.receiving, run.handling, self._fed
        applicant = self._applicants[a]
        case = await self._op(
            run,
            "file",
            a,
            lambda: fed.file_case(a, Role.WINDOW, b, "GA-0003", "PROXY", applicant),
        )
        run.case_id = str(case["case_id"])
        path = f"/v1/cases/{run.case_id}"
        consent = f"CONSENT-SIM-{run.index}"
        await self._op(
            run, "attach", a, lambda: attach_required(fed, a, Role.WINDOW, case, applicant, consent)
        )
        await self._op(run, "receive", a, lambda: fed.post(a, path + "/receive", Role.WINDOW))
        forwarded_at = time.monotonic()
        await self._op(run, "forward", a, lambda: fed.post(a, path + "/forward", Role.WINDOW))
        run.forwarded = True
        await self._replicated(f"{a}→{b}", b, run.case_id, "FORWARDED", forwarded_at)
        accepted_at = time.monotonic()
        await self._op(run, "accept", b, lambda: fed.post(b, path + "/accept", Role.HANDLER))
        await self._replicated(f"{b}→{a}", a, run.case_id, "ACCEPTED", accepted_at)
        if run.stall:
            return
        await self._op(run, "review", b, lambda: _approved(fed, b, run.case_id))
        body = {"result": run.outcome}
        await self._op(run, "conclude", b, lambda: fed.post(b, path + "/conclude", Role.HANDLER, body))
        run.concluded = True

    async def _op(
        self, run: CaseRun, name: str, province: str, send: Callable[[], Awaitable[dict[str, Any]]]
    ) -> dict[str, Any]:
        op = Operation(run.index, name, province, time.monotonic() - self._started)
        self._history.operations.append(op)
        try:
            answer = await send()
        except (DemoError, aiohttp.ClientError, TimeoutError, OSError) as e:
            op.error = type(e).__name__
            raise
        op.acked, op.version = True, int(answer.get("version", 0))
        return answer

    async def _replicated(self, link: str, province: str, case_id: str, state: str, since: float) -> None:
        """Wait (bounded) until ``province``'s replica shows the case in ``state``; record the delay."""
        deadline = time.monotonic() + REPLICA_WAIT_S
        while time.monotonic() < deadline:
            try:
                case = await self._fed.get(province, f"/v1/cases/{case_id}")
            except (DemoError, aiohttp.ClientError, OSError):
                case = {}
            if case.get("state") == state or (state == "FORWARDED" and case.get("state") == "ACCEPTED"):
                self._history.link_latencies.setdefault(link, []).append(time.monotonic() - since)
                return
            await asyncio.sleep(0.02)
        raise TimeoutError(f"{province} did not show {case_id} {state} within {REPLICA_WAIT_S}s")


async def _approved(fed: Federation, province: str, case_id: str) -> dict[str, Any]:
    await approve(fed, province, case_id)
    return await fed.get(province, f"/v1/cases/{case_id}", Role.HANDLER)
