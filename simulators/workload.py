"""A seeded cross-province workload and the history of every operation it sent.

The plan draws, from one seed:
- the applicants: a population of citizens (each with an ID card their province issued) and companies per
  province;
- each case's mode and service item from the sample catalogue, with a mix of modes:
  - PROXY (异地代收代办): a receiving province's window files it for a handling province, attaches the
    materials, receives and forwards it; the handling province accepts it once its replica shows it forwarded;
  - FULL_ONLINE (全程网办): the handling province's platform files it for an applicant of another province,
    whose ID card it verifies at the issuing province (a certificate use, 用证);
  - JOINT (多地联办): the receiving province accepts it, and two other provinces conclude a part each;
- the behaviour: a supplement round (补正), an extension (延期), a rating (好差评) once concluded, the
  outcome, and cases left open once accepted so that their deadlines run out under simulated time.
Every operation goes to the node of the officer's own province; its answer (or its failure) is recorded in
the history the checker reads.

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
from simulators.sample_data import consent_reference, extension_approval, sample_catalogue

PROFILES = ("steady", "ramp", "burst")
REPLICA_WAIT_S = 60.0
RETRY_S = 20.0
MODE_MIX = (("PROXY", 0.5), ("FULL_ONLINE", 0.35), ("JOINT", 0.15))
SUPPLEMENT_SHARE, EXTENSION_SHARE, RATING_SHARE, COMPANY_SHARE = 0.2, 0.1, 0.6, 0.2


@dataclass
class Operation:
    case_index: int
    name: str
    province: str
    started_s: float
    acked: bool = False
    version: int = 0  # the case's version the node answered with (0: not acknowledged)
    error: str = ""
    retries: int = 0


@dataclass
class CaseRun:
    index: int
    mode: str  # PROXY, FULL_ONLINE or JOINT
    item_code: str
    receiving: (
        str  # where the case is filed: the window (PROXY, JOINT) or the handling platform (FULL_ONLINE)
    )
    handling: str  # the province that decides; JOINT: the receiving one, with parts elsewhere
    applicant: tuple[str, int]  # (home province, index in its population)
    outcome: str  # ISSUED or RETURNED
    parts: dict[str, str] = field(default_factory=dict)  # JOINT: part code -> the province concluding it
    supplement: bool = False
    extension_days: int = 0  # 0: no extension
    rating: int = 0  # 0: not rated
    stall: bool = False  # left open once accepted: its deadlines run out (under simulated time)
    case_id: str = ""
    shared: bool = False  # other provinces hold a replica (PROXY: forwarded; JOINT: accepted)
    concluded: bool = False

    def holders(self) -> tuple[str, ...]:
        """The provinces whose node holds the case: its writer, and the others once it reached them."""
        if not self.shared:
            return (self.receiving,)
        return tuple(dict.fromkeys((self.receiving, self.handling, *self.parts.values())))


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


@dataclass(frozen=True)
class Population:
    """Per province: its citizens (ID card holders) first, then its companies (no ID card)."""

    people: dict[str, list[Applicant]]

    def of(self, key: tuple[str, int]) -> Applicant:
        province, index = key
        return self.people[province][index]


def items_by_mode() -> dict[str, list[tuple[str, int]]]:
    """(code, extension days allowed) of the sample catalogue's items that offer each mode."""
    found: dict[str, list[tuple[str, int]]] = {mode: [] for mode, _share in MODE_MIX}
    for item in sample_catalogue()["items"]:
        for mode in item["modes"]:
            found[mode].append((item["code"], item["extension_days"]))
    return found


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
    def __init__(self, fed: Federation, population: Population, history: History, started: float) -> None:
        self._fed, self._population, self._history, self._started = fed, population, history, started

    @staticmethod
    def plan(
        provinces: tuple[str, ...],
        count: int,
        rng: random.Random,
        stall_share: float = 0.0,
        citizens: int = 4,
        companies: int = 1,
    ) -> list[CaseRun]:
        items = items_by_mode()
        mix = [(m, share) for m, share in MODE_MIX if m != "JOINT" or len(provinces) >= 3]
        runs = []
        for index in range(count):
            mode = rng.choices([m for m, _ in mix], [share for _, share in mix])[0]
            a, b, *others = rng.sample(provinces, min(len(provinces), 3))
            company = rng.random() < COMPANY_SHARE and mode != "FULL_ONLINE"  # online: a citizen's ID card
            item_code, extension_allowed = rng.choice(items[mode])
            run = CaseRun(
                index,
                mode,
                item_code,
                receiving=b if mode == "FULL_ONLINE" else a,
                handling=a if mode == "JOINT" else b,
                applicant=(a, citizens + rng.randrange(companies) if company else rng.randrange(citizens)),
                outcome=rng.choice(("ISSUED", "ISSUED", "RETURNED")),
                parts={"P1": a, "P2": others[0], "P3": b} if mode == "JOINT" else {},
                supplement=mode == "PROXY" and rng.random() < SUPPLEMENT_SHARE,
                extension_days=min(5, extension_allowed) if rng.random() < EXTENSION_SHARE else 0,
                stall=rng.random() < stall_share,
            )
            run.rating = rng.choice((2, 4, 5, 5)) if rng.random() < RATING_SHARE else 0
            runs.append(run)
        return runs

    async def run_case(self, run: CaseRun) -> None:
        try:
            if run.mode == "PROXY":
                await self._proxy(run)
            elif run.mode == "FULL_ONLINE":
                await self._full_online(run)
            else:
                await self._joint(run)
        except (DemoError, aiohttp.ClientError, TimeoutError, OSError):
            return  # recorded by _op; the flow of this case ends here

    async def _proxy(self, run: CaseRun) -> None:
        a, b, fed = run.receiving, run.handling, self._fed
        path = await self._file_and_attach(run, Role.WINDOW)
        await self._op(run, "receive", a, lambda: fed.post(a, path + "/receive", Role.WINDOW))
        forwarded_at = time.monotonic()
        await self._op(run, "forward", a, lambda: fed.post(a, path + "/forward", Role.WINDOW))
        run.shared = True
        await self._replicated(f"{a}→{b}", b, run.case_id, ("FORWARDED", "ACCEPTED"), forwarded_at)
        accepted_at = time.monotonic()
        await self._op(run, "accept", b, lambda: fed.post(b, path + "/accept", Role.HANDLER))
        await self._replicated(f"{b}→{a}", a, run.case_id, ("ACCEPTED",), accepted_at)
        if run.supplement:
            await self._supplement(run, path)
        await self._decide(run, path)

    async def _full_online(self, run: CaseRun) -> None:
        b, fed = run.handling, self._fed
        path = await self._file_and_attach(run, Role.PLATFORM)  # verifies the ID card at its issuer: a use
        await self._op(run, "accept", b, lambda: fed.post(b, path + "/accept", Role.HANDLER))
        await self._decide(run, path)

    async def _joint(self, run: CaseRun) -> None:
        a, fed = run.receiving, self._fed
        path = await self._file_and_attach(run, Role.WINDOW)
        await self._op(run, "receive", a, lambda: fed.post(a, path + "/receive", Role.WINDOW))
        accepted_at = time.monotonic()
        await self._op(run, "accept", a, lambda: fed.post(a, path + "/accept", Role.HANDLER))
        run.shared = True
        if run.stall:
            return
        for part, province in run.parts.items():
            if province != a:
                await self._replicated(f"{a}→{province}", province, run.case_id, ("ACCEPTED",), accepted_at)
            await self._op(run, f"conclude {part}", province, self._part_concluded(province, path, part))
        await self._decide(run, path)

    def _part_concluded(self, province: str, path: str, part: str) -> Callable[[], Awaitable[dict[str, Any]]]:
        body = {"result": "ISSUED"}
        return lambda: self._fed.post(province, path + f"/parts/{part}/conclude", Role.HANDLER, body)

    async def _file_and_attach(self, run: CaseRun, role: Role) -> str:
        a, fed = run.receiving, self._fed
        applicant = self._population.of(run.applicant)
        item_province = run.handling
        key = f"sim-{self._started:.0f}-{run.index}"  # a filing sent again is the same filing

        def file() -> Awaitable[dict[str, Any]]:
            parts = run.parts or None
            return fed.file_case(a, role, item_province, run.item_code, run.mode, applicant, parts, key)

        case = await self._op(run, "file", a, file, idempotent=True)
        run.case_id = str(case["case_id"])
        consent = consent_reference(a, f"SIM-{run.index}")
        await self._op(run, "attach", a, lambda: attach_required(fed, a, role, case, applicant, consent))
        return f"/v1/cases/{run.case_id}"

    async def _supplement(self, run: CaseRun, path: str) -> None:
        """补正 through the receiving window: the handling province asks, the window attaches and supplies."""
        a, b, fed = run.receiving, run.handling, self._fed
        case = await fed.get(b, path, Role.HANDLER)
        missing = sorted(case["materials"])[:1]
        notice = {"missing": missing, "reason": "材料不清晰"}
        asked_at = time.monotonic()
        await self._op(
            run,
            "supplement-request",
            b,
            lambda: fed.post(b, path + "/supplement-request", Role.HANDLER, notice),
        )
        await self._replicated(f"{b}→{a}", a, run.case_id, ("SUPPLEMENT_REQUESTED",), asked_at)
        again = {"material_code": missing[0], "file_digest": "sha256:" + "5" * 64}
        await self._op(run, "attach again", a, lambda: fed.post(a, path + "/materials", Role.WINDOW, again))
        await self._op(run, "supplement", a, lambda: fed.post(a, path + "/supplement", Role.WINDOW))

    async def _decide(self, run: CaseRun, path: str) -> None:
        """At the handling province: maybe an extension, the review, the conclusion; then a rating at the
        province where the case was filed, once its replica shows the conclusion."""
        a, b, fed = run.receiving, run.handling, self._fed
        if run.stall:
            return
        if run.extension_days:
            body = {
                "days": run.extension_days,
                "reason": "需要现场核查",
                **extension_approval(b, f"延告-{run.case_id[:8]}"),
            }
            await self._op(run, "extend", b, lambda: fed.post(b, path + "/extend", Role.HANDLER, body))
        await self._op(run, "review", b, lambda: _approved(fed, b, run.case_id))
        concluded_at = time.monotonic()
        result = {"result": run.outcome}
        await self._op(run, "conclude", b, lambda: fed.post(b, path + "/conclude", Role.HANDLER, result))
        run.concluded = True
        if not run.rating:
            return
        if a != b:
            await self._replicated(f"{b}→{a}", a, run.case_id, ("CONCLUDED",), concluded_at)
        rating = {"score": run.rating, "channel": "ONLINE"}
        await self._op(run, "rate", a, lambda: fed.post(a, path + "/rating", Role.PLATFORM, rating))

    async def _op(
        self,
        run: CaseRun,
        name: str,
        province: str,
        send: Callable[[], Awaitable[dict[str, Any]]],
        idempotent: bool = False,
    ) -> dict[str, Any]:
        """Send one operation, as a platform would: again while the node refuses connections (it is down,
        so the operation never reached it), and, when ``idempotent``, after any failure; for at most
        ``RETRY_S``. Anything else ends the case's flow, the operation not acknowledged."""
        op = Operation(run.index, name, province, time.monotonic() - self._started)
        self._history.operations.append(op)
        deadline = time.monotonic() + RETRY_S
        while True:
            try:
                answer = await send()
            except (DemoError, aiohttp.ClientError, TimeoutError, OSError) as e:
                refused = isinstance(e, DemoError) and 400 <= e.status < 500  # sending again changes nothing
                retry = isinstance(e, aiohttp.ClientConnectorError) or (idempotent and not refused)
                if retry and time.monotonic() < deadline:
                    op.retries += 1
                    await asyncio.sleep(0.5)
                    continue
                op.error = f"{type(e).__name__}: {e}"[:300]
                raise
            op.acked, op.version = True, int(answer.get("version", 0))
            return answer

    async def _replicated(
        self, link: str, province: str, case_id: str, states: tuple[str, ...], since: float
    ) -> None:
        """Wait (bounded) until ``province``'s replica shows the case in one of ``states``; note the delay."""
        deadline, pause = time.monotonic() + REPLICA_WAIT_S, 0.02
        while time.monotonic() < deadline:
            try:
                case = await self._fed.get(province, f"/v1/cases/{case_id}")
            except (DemoError, aiohttp.ClientError, OSError):
                case = {}
            if case.get("state") in states:
                self._history.link_latencies.setdefault(link, []).append(time.monotonic() - since)
                return
            # Polls back off, so that many waiting cases do not load the nodes more than the cases do;
            # the nodes measure the apply delay exactly themselves (simulators/apply_latency.py).
            await asyncio.sleep(pause)
            pause = min(pause * 1.5, 0.25)
        raise TimeoutError(
            f"{province} did not show {case_id} in {'/'.join(states)} within {REPLICA_WAIT_S}s"
        )


async def _approved(fed: Federation, province: str, case_id: str) -> dict[str, Any]:
    await approve(fed, province, case_id)
    return await fed.get(province, f"/v1/cases/{case_id}", Role.HANDLER)
