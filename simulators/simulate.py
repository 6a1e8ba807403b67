"""`tongban simulate`: a local federation under a seeded cross-province load, with faults on a schedule, to a
correctness verdict and a report. Or, with ``Scenario.running``, the same load and verdict on a federation
that is already running (no faults: the simulator does not own its processes or links).

The simulator starts one node process per province (SQLite or PostgreSQL) and puts a link proxy
(``simulators/link_proxy.py``) on every directed link between two nodes: node A reaches node B's federation
port only through the proxy "A>B" (``peer_endpoints``), so a fault can cut or slow one direction of one link.
It drives the workload (``simulators/workload.py``) through each province's REST API, applies the faults,
heals everything, and lets the checker (``simulators/checker.py``) compare every node's view with the history.
"""

from __future__ import annotations

import asyncio
import random
import signal
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import aiohttp
import psycopg

from simulators.apply_latency import apply_latency
from simulators.checker import check
from simulators.faults import Fault
from simulators.federated_flows import Applicant, Federation
from simulators.federation_cluster import FederatedCluster, free_ports
from simulators.link_proxy import LinkProxy
from simulators.node_cpu import cpu_report, readings
from simulators.private_postgres import PrivatePostgres
from simulators.report import latency_table, summary, write
from simulators.rest import DemoError
from simulators.running_nodes import RunningNode
from simulators.sample_data import credit_code
from simulators.shed_load import shed_by_nodes
from simulators.workload import CaseRun, History, Population, Workload, arrival_times

CONVERGE_BOUND_S = 90.0
CITIZENS, COMPANIES = 4, 1  # per province
RESTART_ATTEMPTS = 30
SETUP_ATTEMPTS = 30


@dataclass
class Scenario:
    provinces: tuple[str, ...]
    data_dir: Path
    report_dir: Path
    cases: int = 40
    rate: float = 4.0
    profile: str = "steady"
    seed: int = 1
    faults: list[Fault] = field(default_factory=list)
    postgres_url: str = ""  # empty: SQLite (unless private_postgres)
    private_postgres: bool = False  # a PostgreSQL server of the simulator's own, which pgrestart crashes
    time_scale: float = 0.0  # 0: the wall clock; else simulated seconds per real second (86400: a day)
    start_date: date | None = None  # the simulated clock starts at 09:00 China time that day (default today)
    stall_share: float = 0.0  # cases left open once accepted, so that their deadlines run out
    crash_points: str = ""  # the nodes' forced crash points (node/crash_points.py), e.g. "reply:0.01"
    hold_s: float = 0.0  # keep the federation running this long after the load, for the timers
    # Settings of every node, as their environment (TONGBAN_KEY: value), e.g. a lower http_max_in_flight
    node_settings: dict[str, str] = field(default_factory=dict)
    # A federation already running (simulators/running_nodes.py), loaded with tokens of this issuer key,
    # instead of one the simulator starts: then nothing is started, stopped or faulted.
    running: dict[str, RunningNode] | None = None
    issuer_key: Path | None = None


class Simulation:
    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.schemas: dict[str, str] = {}
        self.pg = PrivatePostgres(free_ports(1)[0]) if scenario.private_postgres else None
        self.postgres_url = self.pg.url if self.pg else scenario.postgres_url
        store_env: dict[str, dict[str, str]] = {}
        if self.postgres_url:
            run = uuid.uuid4().hex[:8]
            self.schemas = {p: f"sim_{run}_{p}" for p in scenario.provinces}
            store_env = {
                p: {"TONGBAN_POSTGRES_URL": self.postgres_url, "TONGBAN_POSTGRES_SCHEMA": schema}
                for p, schema in self.schemas.items()
            }
        extra = {
            "TONGBAN_WITNESS_INTERVAL_S": "2",
            **scenario.node_settings,
            **simulated_time(scenario.time_scale, scenario.start_date),
        }
        if scenario.crash_points:
            extra["TONGBAN_CRASH_POINTS"] = scenario.crash_points
        self.cluster = FederatedCluster(scenario.data_dir, scenario.provinces, store_env, extra)
        self.proxies: dict[str, LinkProxy] = {}
        self.history = History()
        self.kills = 0
        self.crashes = 0  # forced crash points reached (each node restarted by the supervisor)
        self._node_locks = {p: asyncio.Lock() for p in scenario.provinces}
        self._checked = False
        self.partitions = 0
        self._load_done = False

    async def run(self) -> dict[str, Any]:
        if self.scenario.running is not None and self.scenario.issuer_key is not None:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                today = nodes_today(self.scenario.start_date)
                report = await self._drive(
                    Federation(session, self.scenario.running, self.scenario.issuer_key, today)
                )
            write(report, self.scenario.report_dir)
            return report
        if self.pg is not None:
            await asyncio.to_thread(self.pg.start)
        await asyncio.to_thread(self.cluster.prepare)
        await self._start_proxies()
        try:
            await asyncio.to_thread(self.cluster.start)
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
                fed = Federation(
                    session,
                    self.cluster.nodes,
                    self.cluster.issuer_key,
                    nodes_today(self.scenario.start_date),
                )
                report = await self._drive(fed)
        finally:
            await asyncio.to_thread(self.cluster.stop)
            for proxy in self.proxies.values():
                await proxy.stop()
            if self.pg is not None:
                await asyncio.to_thread(self.pg.stop)  # the server and every schema in it
            else:
                self._drop_schemas()
        write(report, self.scenario.report_dir)
        return report

    async def _start_proxies(self) -> None:
        provinces = self.scenario.provinces
        for a in provinces:
            for b in provinces:
                if a != b:
                    proxy = LinkProxy("127.0.0.1", self.cluster.ports[b])
                    await proxy.start()
                    self.proxies[f"{a}>{b}"] = proxy
            routes = ",".join(f"{b}=127.0.0.1:{self.proxies[f'{a}>{b}'].port}" for b in provinces if b != a)
            self.cluster.nodes[a].extra_env["TONGBAN_PEER_ENDPOINTS"] = routes

    async def _drive(self, fed: Federation) -> dict[str, Any]:
        background: list[asyncio.Task[Any]] = []
        try:
            return await self._drive_with(fed, background)
        finally:
            # On a failure (a fault that raised, a node that would not restart) the supervisor must not live
            # on: it would start again the nodes the cluster is stopping, and they would outlive the run.
            for task in background:
                task.cancel()
            await asyncio.gather(*background, return_exceptions=True)

    async def _drive_with(self, fed: Federation, background: list[asyncio.Task[Any]]) -> dict[str, Any]:
        scenario = self.scenario
        rng = random.Random(scenario.seed)
        own_nodes = scenario.running is None  # a running federation's processes are not the simulator's
        supervisor = asyncio.create_task(self._supervise()) if own_nodes else None
        background += [supervisor] if supervisor is not None else []
        population = await self._population(fed)
        events_before = await _events_recorded(fed)  # the catalogues and the population's certificates
        runs = Workload.plan(
            scenario.provinces, scenario.cases, rng, scenario.stall_share, CITIZENS, COMPANIES
        )
        self.history.cases = runs
        times = arrival_times(scenario.cases, scenario.rate, scenario.profile, rng)
        metrics_before = await _metrics(fed)
        cpu_before = readings(metrics_before)
        started = time.monotonic()
        workload = Workload(fed, population, self.history, started)
        progress = asyncio.create_task(self._progress(fed, started))
        faults = [asyncio.create_task(self._fault(f, started)) for f in scenario.faults]
        background += [progress, *faults]
        await asyncio.gather(
            *(self._arrive(workload, run, at, started) for run, at in zip(runs, times, strict=True))
        )
        await asyncio.gather(*faults)
        load_s = time.monotonic() - started
        cpu_after = readings(await _metrics(fed))  # before the hold and the checks, which are not the load's
        await asyncio.sleep(scenario.hold_s)
        self._load_done = True
        await progress
        self._heal_all()
        print("load done; checking every node's view against the history ...", file=sys.stderr, flush=True)
        verdict = await check(fed, self.history, CONVERGE_BOUND_S)
        report = self._report(verdict.as_json(), load_s, await self._deadline_compliance(fed))
        report["shed"] = fed.shed
        metrics = await _metrics(fed)
        report["apply_latency"] = apply_latency(metrics, metrics_before)
        report["shed_by_nodes"] = shed_by_nodes(metrics)
        report["cpu"] = cpu_report(cpu_before, cpu_after, report["acked"], list(scenario.provinces))
        report["events"] = await _events_recorded(fed) - events_before
        self._checked = True
        if supervisor is not None:
            await supervisor
            differ = await asyncio.to_thread(self._rebuilds_differ)
            report["verdict"]["rebuilt_differ"] = differ
            report["verdict"]["correct"] = report["verdict"]["correct"] and not differ
        return report

    async def _population(self, fed: Federation) -> Population:
        """Each province's citizens, with the ID cards it issued them, and its companies."""
        seed, people = self.scenario.seed, {}
        for p in self.scenario.provinces:
            citizens = [await _issued(fed, p, f"sim-{seed}-{p}-{n}") for n in range(CITIZENS)]
            companies = [
                Applicant(f"{p}示例企业{n}有限公司", credit_code(p, 7000 + n), "", "001")
                for n in range(COMPANIES)
            ]
            people[p] = citizens + companies
        return Population(people)

    async def _arrive(self, workload: Workload, run: CaseRun, at: float, started: float) -> None:
        await asyncio.sleep(max(0.0, started + at - time.monotonic()))
        await workload.run_case(run)

    async def _fault(self, fault: Fault, started: float) -> None:
        await asyncio.sleep(max(0.0, started + fault.start_s - time.monotonic()))
        print(f"fault: {fault.describe()}", file=sys.stderr, flush=True)
        if fault.kind in ("pgrestart", "pgpause"):
            await self._server_fault(fault)
            return
        if fault.kind == "kill":
            node = self.cluster.nodes[fault.source]
            self.kills += 1
            async with self._node_locks[fault.source]:  # the supervisor leaves it down meanwhile
                await asyncio.to_thread(node.stop, signal.SIGKILL)
                await asyncio.sleep(fault.duration_s)
                await self._restart(fault.source)
            return
        self.partitions += fault.kind in ("cut", "flap", "isolate")
        if fault.kind == "isolate":
            links = [p for link, p in self.proxies.items() if fault.source in link.split(">")]
            for proxy in links:
                proxy.cut()
            await asyncio.sleep(fault.duration_s)
            for proxy in links:
                proxy.heal()
            return
        proxy = self.proxies[f"{fault.source}>{fault.target}"]
        if fault.kind == "cut":
            proxy.cut()
            await asyncio.sleep(fault.duration_s)
        elif fault.kind == "slow":
            proxy.slow(fault.parameter)
            await asyncio.sleep(fault.duration_s)
        else:  # flap
            end = time.monotonic() + fault.duration_s
            while time.monotonic() < end:
                proxy.cut()
                await asyncio.sleep(fault.parameter / 2)
                proxy.heal()
                await asyncio.sleep(fault.parameter / 2)
        proxy.heal()

    def _rebuilds_differ(self) -> list[str]:
        """With every node stopped: each read model rebuilt from the whole log must equal the live one. The
        ``province:read model`` pairs that differ."""
        self.cluster.stop()
        print("rebuilding every read model to compare it with the live one ...", file=sys.stderr, flush=True)
        return [
            f"{province}:{name}"
            for province in self.scenario.provinces
            for name in self.cluster.rebuilds_differ(province)
        ]

    async def _supervise(self) -> None:
        """Start again, as a supervisor (systemd) would, a node that died on its own: one that reached a
        forced crash point (``Scenario.crash_points``). A node a fault killed is the fault's to restart."""
        while not self._checked:
            await asyncio.sleep(0.2)
            for province, node in self.cluster.nodes.items():
                lock = self._node_locks[province]
                if node.running or lock.locked():
                    continue
                async with lock:
                    if not node.running:
                        self.crashes += 1
                        print(f"node {province} crashed; restarting it", file=sys.stderr, flush=True)
                        await self._restart(province)

    async def _server_fault(self, fault: Fault) -> None:
        if self.pg is None:
            raise ValueError(f"{fault.kind} needs the simulator's own PostgreSQL (--private-postgres)")
        if fault.kind == "pgrestart":
            await asyncio.to_thread(self.pg.crash)
            await asyncio.sleep(fault.duration_s)
            await asyncio.to_thread(self.pg.restart_after_crash)
            return
        await asyncio.to_thread(self.pg.pause)
        try:
            await asyncio.sleep(fault.duration_s)
        finally:
            await asyncio.to_thread(self.pg.resume)

    async def _restart(self, province: str) -> None:
        """Start a killed node again, as a supervisor (systemd) would: a node refuses to start while its
        store is away (a PostgreSQL restart under way), so try again every second, for a while."""
        node = self.cluster.nodes[province]
        for _attempt in range(RESTART_ATTEMPTS):
            try:
                await asyncio.to_thread(node.start)
            except RuntimeError:
                print(f"restart of {province} failed; trying again", file=sys.stderr, flush=True)
                await asyncio.sleep(1.0)
            else:
                return
        raise RuntimeError(f"node {province} did not start again in {RESTART_ATTEMPTS} attempts")

    def _heal_all(self) -> None:
        for proxy in self.proxies.values():
            proxy.heal()

    async def _progress(self, fed: Federation, started: float) -> None:
        """One line a second on stderr: time, cases, operations, errors, shed answers, rate, links down."""
        last_acked, last_at = 0, time.monotonic()
        while not self._load_done:
            await asyncio.sleep(1.0)
            now, acked = time.monotonic(), self.history.acked()
            rate = (acked - last_acked) / max(now - last_at, 1e-9)
            last_acked, last_at = acked, now
            down = sorted(link for link, p in self.proxies.items() if p.cut_now or p.delay_s)
            lags = {link: f"{max(v):.2f}s" for link, v in self.history.link_latencies.items() if v}
            print(
                f"t={now - started:5.1f}s cases={sum(bool(r.case_id) for r in self.history.cases)}"
                f"/{self.scenario.cases} acked={acked} errors={self.history.errors()} "
                f"shed={fed.shed} rate={rate:.1f} ops/s "
                f"links_faulty={','.join(down) or '-'} max_lag={lags or '-'}",
                file=sys.stderr,
                flush=True,
            )

    async def _deadline_compliance(self, fed: Federation) -> dict[str, Any]:
        """Each handling province's share of concluded cases within the promised limit (its statistics)."""
        shares: dict[str, Any] = {}
        for province in self.scenario.provinces:
            try:
                body = await fed.get(province, "/v1/statistics?group_by=handling_province")
            except (aiohttp.ClientError, OSError, ValueError):
                continue
            for group in body["groups"]:
                if group["group"].get("handling_province") == province:
                    shares[province] = group["handling"]["within_promised_rate"]
        return shares

    def _report(self, verdict: dict[str, Any], load_s: float, compliance: dict[str, Any]) -> dict[str, Any]:
        scenario, history = self.scenario, self.history
        acked = [op for op in history.operations if op.acked]
        per_second = Counter(int(op.started_s) for op in acked)
        return {
            "provinces": list(scenario.provinces),
            "store": "running nodes" if scenario.running else "postgres" if self.postgres_url else "sqlite",
            "seed": scenario.seed,
            "cases": scenario.cases,
            "profile": scenario.profile,
            "rate": scenario.rate,
            "faults": [f.describe() for f in scenario.faults],
            "operations": len(history.operations),
            "acked": len(acked),
            "errors": history.errors(),
            "errors_by_operation": dict(Counter(op.name for op in history.operations if op.error)),
            "error_samples": list(dict.fromkeys(op.error for op in history.operations if op.error))[:10],
            "kills": self.kills,
            "crashes": self.crashes,
            "crash_points": scenario.crash_points,
            "node_settings": scenario.node_settings,
            "partitions": self.partitions,
            "pg_restarts": self.pg.restarts if self.pg else 0,
            "pg_pauses": self.pg.pauses if self.pg else 0,
            "load_s": round(load_s, 2),
            "throughput_ops_s": round(len(acked) / load_s, 1) if load_s else 0.0,
            "mix": mix(history.cases),
            "cases_filed": sum(bool(run.case_id) for run in history.cases),
            "cases_concluded": sum(run.concluded for run in history.cases),
            "latency": latency_table(history.link_latencies),
            "deadline_compliance_within_promised": compliance,
            "time_scale": scenario.time_scale,
            "cases_stalled": sum(run.stall for run in history.cases),
            "ops_per_second": [per_second.get(s, 0) for s in range(int(load_s) + 1)],
            "verdict": verdict,
        }

    def _drop_schemas(self) -> None:
        if not self.schemas:
            return
        with psycopg.connect(self.postgres_url, autocommit=True) as conn:
            for schema in self.schemas.values():
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


async def _issued(fed: Federation, province: str, seed: str) -> Applicant:
    """An ID card for the population, asked for again while the node is down (a forced crash point may
    end it at any moment, and the supervisor starts it again): the same seed gives the same card."""
    for _attempt in range(SETUP_ATTEMPTS):
        try:
            return await fed.issue_id_card(province, seed=seed)
        except (aiohttp.ClientError, OSError):
            await asyncio.sleep(1.0)
    return await fed.issue_id_card(province, seed=seed)


async def _events_recorded(fed: Federation) -> int:
    """Events in every node's log (its own and the replicas it holds), as its latest signed tree head
    counts them: a head is signed whenever the log grows, so it lags by a moment at most. The report gives
    those the load added."""
    total = 0
    for province in fed.nodes:
        for _attempt in range(SETUP_ATTEMPTS):  # a node restarting after a crash answers a moment later
            try:
                head = await fed.get(province, "/v1/transparency/head")
            except (DemoError, aiohttp.ClientError, OSError):
                await asyncio.sleep(1.0)
            else:
                total += int(head["tree_size"])
                break
    return total


async def _metrics(fed: Federation) -> dict[str, str]:
    """Each reachable node's /metrics text."""
    texts = {}
    for province, node in fed.nodes.items():
        try:
            async with fed.session.get(node.http_url + "/metrics") as response:
                texts[province] = await response.text()
        except (aiohttp.ClientError, OSError):
            continue
    return texts


def mix(runs: list[CaseRun]) -> dict[str, Any]:
    """What the plan drew: modes, behaviours, and how many cases companies filed."""
    return {
        "modes": dict(sorted(Counter(run.mode for run in runs).items())),
        "supplements": sum(run.supplement for run in runs),
        "extensions": sum(bool(run.extension_days) for run in runs),
        "ratings": sum(bool(run.rating) for run in runs),
        "company_applicants": sum(run.applicant[1] >= CITIZENS for run in runs),
    }


def nodes_today(start: date | None) -> date:
    """The day the nodes' clocks start on: ``start``, else today in China (nodes on the wall clock)."""
    return start or datetime.now(timezone(timedelta(hours=8))).date()


def simulated_time(scale: float, start: date | None = None) -> dict[str, str]:
    """The node settings of a shared simulated clock from 09:00 China time on ``start`` (default today),
    ``scale`` times faster (1 when only the day is chosen); none for the wall clock."""
    if not scale and start is None:
        return {}
    day = nodes_today(start)
    china = timezone(timedelta(hours=8))
    origin = datetime(day.year, day.month, day.day, 9, tzinfo=china)
    return {
        "TONGBAN_TIME_ORIGIN": origin.isoformat(),
        "TONGBAN_TIME_ANCHOR": f"{time.time():.3f}",
        "TONGBAN_TIME_SCALE": f"{scale or 1:g}",
        "TONGBAN_DEADLINE_CHECK_INTERVAL_S": "0.5",
    }


def simulate(scenario: Scenario) -> dict[str, Any]:
    report = asyncio.run(Simulation(scenario).run())
    print(summary(report))
    return report
