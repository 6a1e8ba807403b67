"""Benchmark of case submissions through REST: real node processes on PostgreSQL (fsync on, group commit on)
take POST /v1/cases from an aiohttp load client, next to two baselines measured in the same run: a trivial
aiohttp JSON handler in a process of its own, driven by the same client, and raw psycopg inserts of rows of
the same size, 100 per transaction. One run per count of node processes (``--processes 1,2``): they share one
schema and, with share_ports, the same ports, and the CPU seconds that the nodes, the load client and
PostgreSQL used show what limits the scaling. Also reports the nodes' peak resident memory.

    python -m benchmarks.rest --postgres URL [--seconds 10] [--connections 64] [--processes 1,2]
"""

from __future__ import annotations

import argparse
import asyncio
import select
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import psycopg

from aggregates.responsibility import Actor
from benchmarks.group_commit import raw_inserts_per_second
from benchmarks.process_cpu import cpu_seconds, machine_busy_seconds, pids_named, used_since
from node.auth import Role
from node.bootstrap import build_services, close_services
from node.settings import load_settings
from simulators.cluster import NodeProcess, prepare_keys, token_for
from simulators.sample_data import citizen_id, sample_catalogue

SH, JS = "310000", "320000"
# The first step; 2,000/s is the moonshot, shown as a plain figure.
TARGET_PER_S = 1000.0
TARGET_SHARE = 0.25
MOONSHOT_PER_S = 2000.0
RSS_LIMIT_MB = 300.0


@dataclass(frozen=True)
class Run:
    """One load on ``processes`` node processes sharing their ports; CPU seconds used during it."""

    processes: int
    rate: float
    failures: int
    node_cpu: list[float]
    client_cpu: float
    postgres_cpu: float
    machine_busy: float
    machine_total: float
    peak_rss_mb: float | None


async def drive(url: str, headers: dict[str, str], seconds: float, connections: int) -> tuple[float, int]:
    """(answered 201 per second, failures) for ``connections`` clients posting cases for ``seconds``."""
    done, failures, stop = 0, 0, time.monotonic() + seconds

    async def client(session: aiohttp.ClientSession, worker: int) -> None:
        nonlocal done, failures
        n = 0
        while time.monotonic() < stop:
            applicant = {
                "name": "张伟",
                "id_type": "111",
                "id_number": citizen_id("310101", "19900101", (worker * 997 + n) % 1000),
            }
            body = {"item_province": JS, "item_code": "GA-0003", "mode": "PROXY", "applicant": applicant}
            async with session.post(url, json=body, headers=headers) as response:
                await response.read()
                if response.status == 201:
                    done += 1
                else:
                    failures += 1
            n += 1

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=60)) as session:
        started = time.monotonic()
        await asyncio.gather(*(client(session, w) for w in range(connections)))
        return done / (time.monotonic() - started), failures


def trivial_rate(seconds: float, connections: int) -> float:
    server = subprocess.Popen(
        [sys.executable, "-m", "benchmarks.trivial_server"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None  # noqa: S101 - piped above
        ready, _w, _x = select.select([server.stdout], [], [], 30)
        if not ready:
            raise RuntimeError("the trivial server did not start within 30 s")
        port = int(server.stdout.readline())
        rate, _failures = asyncio.run(drive(f"http://127.0.0.1:{port}/v1/cases", {}, seconds, connections))
        return rate
    finally:
        server.terminate()
        server.wait(10)


def _verdict(passed: bool) -> str:
    return "PASS" if passed else "FAIL"


def run_nodes(args: argparse.Namespace, data_dir: Path, processes: int) -> Run:
    """Drive ``processes`` node processes of one province on one fresh schema, sharing one HTTP port."""
    schema = f"bench_rest_{uuid.uuid4().hex[:8]}"
    store = {
        "TONGBAN_POSTGRES_URL": args.postgres,
        "TONGBAN_POSTGRES_SCHEMA": schema,
        "TONGBAN_SHARE_PORTS": "true",
    }
    services = build_services(
        load_settings(province=SH, environ={"TONGBAN_DATA_DIR": str(data_dir), **store})
    )
    try:
        services.catalogue.load(sample_catalogue(), JS, Actor(JS, "CAT", "bench"))
    finally:
        close_services(services)
    nodes = [NodeProcess(SH, data_dir, store)]
    try:
        nodes[0].start()
        ports = {"TONGBAN_HTTP_PORT": str(nodes[0].http_port), "TONGBAN_GRPC_PORT": str(nodes[0].grpc_port)}
        for _ in range(processes - 1):
            nodes.append(NodeProcess(SH, data_dir, {**store, **ports}))
            nodes[-1].start()
        pids = [node.pid for node in nodes if node.pid is not None]
        headers = {"Authorization": "Bearer " + token_for(data_dir / "token-issuer.key", SH, Role.WINDOW)}
        nodes_before, postgres_before = cpu_seconds(pids), cpu_seconds(pids_named("postgres"))
        client_before, (busy_before, total_before) = time.process_time(), machine_busy_seconds()
        rate, failures = asyncio.run(
            drive(f"{nodes[0].http_url}/v1/cases", headers, args.seconds, args.connections)
        )
        busy, total = machine_busy_seconds()
        client_cpu = time.process_time() - client_before
        nodes_after, postgres_after = cpu_seconds(pids), cpu_seconds(pids_named("postgres"))
        rss = [mb for mb in (node.peak_rss_mb() for node in nodes) if mb is not None]
    finally:
        for node in nodes:
            node.stop()
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    return Run(
        processes=processes,
        rate=rate,
        failures=failures,
        node_cpu=[nodes_after.get(pid, 0.0) - nodes_before.get(pid, 0.0) for pid in pids],
        client_cpu=client_cpu,
        postgres_cpu=used_since(postgres_before, postgres_after),
        machine_busy=busy - busy_before,
        machine_total=total - total_before,
        peak_rss_mb=max(rss, default=None),
    )


def main(args: argparse.Namespace) -> None:
    counts = [int(n) for n in args.processes.split(",")]
    data_dir = Path(tempfile.mkdtemp(prefix="tongban-bench-rest-"))
    prepare_keys(data_dir, (SH,))
    trivial = trivial_rate(args.seconds, args.connections)
    raw = raw_inserts_per_second(args.postgres, 100, args.seconds / 2)
    runs = [run_nodes(args, data_dir, n) for n in counts]
    print(f"trivial aiohttp JSON handler: {trivial:,.0f} requests/s; raw psycopg: {raw:,.0f} rows/s")
    for run in runs:
        nodes = " + ".join(f"{seconds:.1f}" for seconds in run.node_cpu)
        done = max(run.rate * args.seconds, 1.0)
        print(
            f"{run.processes} node process(es): {run.rate:,.0f} case submissions/s ({run.failures} not 201); "
            f"{run.rate / trivial:.3f} of the trivial handler, {run.rate / raw:.3f} of raw inserts (100 rows "
            f"per transaction)"
        )
        others = run.machine_busy - sum(run.node_cpu) - run.client_cpu - run.postgres_cpu
        print(
            f"  CPU seconds in {args.seconds:g} s: node(s) {nodes}, load client {run.client_cpu:.1f}, "
            f"PostgreSQL {run.postgres_cpu:.1f}, other processes {others:.1f}; the machine was busy "
            f"{run.machine_busy:.1f} of {run.machine_total:.1f}, {1000 * sum(run.node_cpu) / done:.2f} ms "
            f"of node CPU a case"
        )
    by_count = {run.processes: run for run in runs}
    if 1 in by_count and 2 in by_count:
        print(f"scaling from 1 to 2 processes: {by_count[2].rate / by_count[1].rate:.2f}x")
    best = max(runs, key=lambda run: run.rate)
    per_s = _verdict(best.rate >= TARGET_PER_S)
    print(f"first step {TARGET_PER_S:,.0f}/s ({best.processes} process(es)): {per_s}")
    print(
        f"first step {TARGET_SHARE} of the trivial handler ({best.processes} process(es)): "
        f"{_verdict(best.rate / trivial >= TARGET_SHARE)}"
    )
    print(f"moonshot {MOONSHOT_PER_S:,.0f}/s: {best.rate / MOONSHOT_PER_S:.2f} of it")
    for run in runs:
        if run.peak_rss_mb is not None:
            print(
                f"node peak RSS, {run.processes} process(es): {run.peak_rss_mb:.0f} MB (limit "
                f"{RSS_LIMIT_MB:.0f}): {_verdict(run.peak_rss_mb <= RSS_LIMIT_MB)}"
            )
    print(f"{args.connections} connections, {args.seconds:g} s each; the client runs on the same cores")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", required=True, help="PostgreSQL URL")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument(
        "--processes",
        default="1,2",
        help="node processes sharing the ports (share_ports) on one schema, one run per count: e.g. 1,2",
    )
    main(parser.parse_args())
