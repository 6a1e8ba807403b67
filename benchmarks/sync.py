"""Benchmark of cross-province sync: latency from commit in A to visible in B, and the catch-up rate of a
peer that returns after a stop. Real node processes, mutual TLS on loopback, SQLite or PostgreSQL.

Each figure is printed with a raw baseline measured in the same run, because these machines are noisy:
- latency against a raw gRPC round trip over mutual TLS on loopback (an echo of the same size);
- catch-up against raw inserts of the same number of rows, in transactions of the same batch size, into a
  plain table of the same store kind (sqlite3, or psycopg for PostgreSQL).

    python -m benchmarks.sync [--cases 200] [--backlog 1000] [--postgres URL]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sqlite3
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import psycopg

from federation.handshake import channel_credentials, server_credentials
from node.auth import Role
from simulators.federated_flows import Applicant, Federation
from simulators.federation_cluster import FederatedCluster
from simulators.sample_data import consent_reference
from simulators.simulate import nodes_today

SH, JS = "310000", "320000"
BATCH_EVENTS = 500
SENDERS = 16  # cases the backlog records at a time
CATCH_UP_PER_S, CATCH_UP_SHARE = 10_000.0, 0.5  # the first step: events/s, and of raw batched inserts


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


async def measure_latency(fed: Federation, applicant: Applicant, cases: int) -> list[float]:
    """Per case: forward at A (the answer comes after the commit), then poll B until it shows FORWARDED."""
    latencies = []
    for n in range(cases):
        case_id = await fed.received_proxy_case(
            SH, JS, applicant, consent=consent_reference(SH, f"BENCH-{n}")
        )
        await fed.post(SH, f"/v1/cases/{case_id}/forward", Role.WINDOW)
        committed = time.perf_counter()
        url = f"{fed.nodes[JS].http_url}/v1/cases/{case_id}"
        headers = fed.headers(JS, Role.AUDITOR)
        while True:
            async with fed.session.get(url, headers=headers) as response:
                if response.status == 200 and (await response.json())["state"] == "FORWARDED":
                    break
            if time.perf_counter() - committed > 30:
                raise RuntimeError(f"case {case_id} did not reach {JS} in 30s")
        latencies.append(time.perf_counter() - committed)
    return latencies


async def _echo(request: bytes, context: Any) -> bytes:
    return request


async def raw_grpc_round_trips(directory: Path, count: int) -> list[float]:
    """The baseline: a trivial unary echo over mutual TLS on loopback, with the federation's certificates."""
    ca = (directory / "ca.pem").read_bytes()
    server = grpc.aio.server()
    handler: grpc.RpcMethodHandler[bytes, bytes] = grpc.unary_unary_rpc_method_handler(_echo)  # raw bytes
    server.add_generic_rpc_handlers([grpc.method_handlers_generic_handler("bench.Echo", {"Ping": handler})])
    own = server_credentials(
        (directory / SH / "node.key").read_bytes(), (directory / SH / "node.pem").read_bytes(), ca
    )
    port = server.add_secure_port("127.0.0.1:0", own)
    await server.start()
    peer = channel_credentials(
        (directory / JS / "node.key").read_bytes(), (directory / JS / "node.pem").read_bytes(), ca
    )
    try:
        async with grpc.aio.secure_channel(f"127.0.0.1:{port}", peer) as channel:
            ping: Any = channel.unary_unary("/bench.Echo/Ping")
            message = b"x" * 512
            await ping(message, timeout=10)
            times = []
            for _ in range(count):
                started = time.perf_counter()
                await ping(message, timeout=10)
                times.append(time.perf_counter() - started)
            return times
    finally:
        await server.stop(None)


def _replication(cluster: FederatedCluster) -> dict[str, Any]:
    import urllib.request  # noqa: PLC0415 - only this step reads /readyz

    with urllib.request.urlopen(f"{cluster.nodes[JS].http_url}/readyz", timeout=10) as response:  # noqa: S310
        ready: dict[str, Any] = json.loads(response.read())
    return dict(ready["checks"]["replication"][SH])


async def measure_catch_up(
    cluster: FederatedCluster, fed: Federation, applicant: Applicant, backlog: int
) -> tuple[int, float]:
    """Stop B, let A record ``backlog`` forwarded cases, start B: events it applies per second until in step
    (timed from the moment the restarted node reports itself started)."""
    # The backlog is recorded SENDERS cases at a time (it is not what is measured), each sender with an
    # applicant of its own: attaching an ID card records a use of it, and two cases using one card at the same
    # moment would meet a 409 (the certificate changed concurrently).
    applicants: asyncio.Queue[Applicant] = asyncio.Queue()
    applicants.put_nowait(applicant)
    for n in range(1, SENDERS):
        applicants.put_nowait(await fed.issue_id_card(SH, seed=f"backlog-{n}"))
    await asyncio.to_thread(cluster.nodes[JS].stop)

    async def forwarded(n: int) -> None:
        sender = await applicants.get()
        try:
            case_id = await fed.received_proxy_case(
                SH, JS, sender, consent=consent_reference(SH, f"BENCH-BACKLOG-{n}")
            )
            await fed.post(SH, f"/v1/cases/{case_id}/forward", Role.WINDOW)
        finally:
            applicants.put_nowait(sender)

    await asyncio.gather(*(forwarded(n) for n in range(backlog)))
    await asyncio.to_thread(cluster.nodes[JS].start)
    started = time.perf_counter()
    while True:
        status = _replication(cluster)  # a new process: its applied_total counts this catch-up only
        if status["connected"] and status["lag_events"] == 0 and status["applied_total"]:
            return int(status["applied_total"]), time.perf_counter() - started
        if time.perf_counter() - started > 300:
            raise RuntimeError("no catch-up within 300s")
        await asyncio.sleep(0.01)


def raw_insert_rate(events: int, postgres_url: str | None, directory: Path) -> float:
    """The baseline: ``events`` rows of ~1 KiB, in transactions of the batch size, into a plain table."""
    payload = b"x" * 1024
    batches = [list(range(i, min(i + BATCH_EVENTS, events))) for i in range(0, events, BATCH_EVENTS)]
    if postgres_url:
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(postgres_url, autocommit=True) as conn:
            conn.execute(f"CREATE SCHEMA {schema}")
            conn.execute(f"CREATE TABLE {schema}.raw (id BIGINT PRIMARY KEY, state BYTEA)")
            started = time.perf_counter()
            for batch in batches:
                with conn.transaction(), conn.cursor() as cursor:
                    cursor.executemany(
                        f"INSERT INTO {schema}.raw VALUES (%s, %s)",  # noqa: S608 - our own schema name
                        [(i, payload) for i in batch],
                    )
            elapsed = time.perf_counter() - started
            conn.execute(f"DROP SCHEMA {schema} CASCADE")
        return events / elapsed
    db = sqlite3.connect(directory / "raw.sqlite3", isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("CREATE TABLE raw (id INTEGER PRIMARY KEY, state BLOB)")
    started = time.perf_counter()
    for batch in batches:
        db.execute("BEGIN")
        db.executemany("INSERT INTO raw VALUES (?, ?)", [(i, payload) for i in batch])
        db.execute("COMMIT")
    elapsed = time.perf_counter() - started
    db.close()
    return events / elapsed


async def main(args: argparse.Namespace) -> None:
    directory = Path(tempfile.mkdtemp(prefix="tongban-bench-"))
    store_env: dict[str, dict[str, str]] = {}
    if args.postgres:
        run = uuid.uuid4().hex[:8]
        store_env = {
            p: {"TONGBAN_POSTGRES_URL": args.postgres, "TONGBAN_POSTGRES_SCHEMA": f"bench_{run}_{p}"}
            for p in (SH, JS)
        }
    cluster = FederatedCluster(directory, (SH, JS), store_env)
    print(
        f"store: {'PostgreSQL' if args.postgres else 'SQLite'}; nodes {SH} → {JS}; data under {directory}",
        flush=True,
    )
    cluster.prepare()
    cluster.start()
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=30)) as session:
            fed = Federation(session, cluster.nodes, cluster.issuer_key, nodes_today(None))
            applicant = await fed.issue_id_card(SH, seed="bench")
            latencies = await measure_latency(fed, applicant, args.cases)
            raw = await raw_grpc_round_trips(cluster.federation_dir, args.cases)
            p50, p99 = percentile(latencies, 50) * 1000, percentile(latencies, 99) * 1000
            r50, r99 = percentile(raw, 50) * 1000, percentile(raw, 99) * 1000
            print(f"sync latency, commit in {SH} → visible over REST in {JS} ({args.cases} cases):")
            print(
                f"  p50 {p50:7.2f} ms   p99 {p99:7.2f} ms   mean {statistics.mean(latencies) * 1000:7.2f} ms"
            )
            print(
                f"  raw gRPC mTLS round trip: p50 {r50:6.3f} ms, p99 {r99:6.3f} ms"
                f"  → ratio p50 {p50 / r50:.1f}×, p99 {p99 / r99:.1f}×"
            )
            applied, elapsed = await measure_catch_up(cluster, fed, applicant, args.backlog)
            rate = applied / elapsed
            baseline = raw_insert_rate(applied, args.postgres, directory)
            print(
                f"catch-up after a stop: {applied} events applied in {elapsed:.2f} s = {rate:,.0f} events/s"
            )
            print(
                f"  raw batched inserts of as many rows: {baseline:,.0f} rows/s → ratio {rate / baseline:.2f}"
            )
            reached = rate >= CATCH_UP_PER_S and rate / baseline >= CATCH_UP_SHARE
            print(
                f"target catch-up >= {CATCH_UP_PER_S:,.0f} events/s and >= {CATCH_UP_SHARE} of raw batched "
                f"inserts: {'PASS' if reached else 'FAIL'}"
            )
    finally:
        cluster.stop()
        if args.postgres:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                for env in store_env.values():
                    conn.execute(f'DROP SCHEMA IF EXISTS "{env["TONGBAN_POSTGRES_SCHEMA"]}" CASCADE')


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=200, help="cases timed one by one for the latency")
    parser.add_argument("--backlog", type=int, default=1000, help="cases recorded while the peer is stopped")
    parser.add_argument("--postgres", help="PostgreSQL URL: run both nodes on PostgreSQL instead of SQLite")
    asyncio.run(main(parser.parse_args()))
